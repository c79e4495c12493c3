/**
 * RefundWorkflow (`refund-{trans_id}`): reverse the movement in the ledger, then, for a card payment,
 * refund the charge at the gateway with the key `refund-{trans_id}`. Each step happens once.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';

export interface RefundInput {
  transId: string;
  reason: string;
}

export type RefundResult = { status: 'refunded'; gatewayRefundId: string | null } | { status: 'refused'; errorType: string; message: string };

const steps = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['RefundRefused'] },
});

export async function refundWorkflow(input: RefundInput): Promise<RefundResult> {
  let reversed: { paymentMethod: string; chargeId: string | null; amount: string };
  try {
    reversed = await steps.reverseMovement({ movementId: input.transId, reason: input.reason });
  } catch (error) {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === 'RefundRefused') {
      const details = (error.cause.details?.[0] ?? {}) as { errorType?: string };
      return { status: 'refused', errorType: details.errorType ?? 'conflict', message: error.cause.message };
    }
    throw error;
  }
  if (reversed.paymentMethod !== 'card' || !reversed.chargeId) return { status: 'refunded', gatewayRefundId: null };
  const { refundId } = await steps.refundCharge({ idempotencyKey: `refund-${input.transId}`, chargeId: reversed.chargeId, amount: reversed.amount });
  await steps.recordGatewayRefund({ movementId: input.transId, refundId });
  return { status: 'refunded', gatewayRefundId: refundId };
}
