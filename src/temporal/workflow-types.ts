/**
 * The workflow types as Temporal records them: the names the worker registers (the functions exported by
 * src/workflows/index.ts), checked against that module by the compiler. Visibility queries, the schedule and
 * the namespace check name workflows by these, never by a string of their own.
 */
import type * as workflows from '../workflows/index.ts';

export const WORKFLOW_TYPES = {
  prepay: 'prepayWorkflow',
  abandonedPrepay: 'abandonedPrepayWorkflow',
  subscription: 'subscriptionWorkflow',
  recharge: 'rechargeWorkflow',
  refund: 'refundWorkflow',
  creditTransfer: 'creditTransferWorkflow',
  reconcile: 'reconcileWorkflow',
  systemCheck: 'systemCheckWorkflow',
  webhookDelivery: 'webhookDeliveryWorkflow',
} as const satisfies Record<string, keyof typeof workflows>;
