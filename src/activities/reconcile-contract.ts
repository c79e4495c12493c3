/** What ReconcileWorkflow and its activities exchange: a run's input, the candidates it found, and each repair's outcome. */
import type { PrepayTimings } from '../domain/prepay.ts';

export interface ReconcileInput {
  /** a row this old without its workflow is repaired (default 600 s) */
  graceSeconds?: number;
  /** only this tenant's rows (an operator's targeted run, and the tests) */
  tenantId?: string;
  /** at most this many rows of each kind per run; the rest waits for the next run (default 200) */
  limit?: number;
  /** the timings the API gives new prepays, for the token prepays the reconciler starts */
  prepayTimings?: Partial<PrepayTimings>;
}

export interface ReconcileCandidates {
  prepays: number[];
  subscriptions: string[];
  transfers: string[];
}

export type RepairAction = 'none' | 'prepay_abandoned' | 'prepay_started' | 'subscription_started' | 'workflow_closed' | 'transfer_credited' | 'webhook_deliveries_started';

export interface RepairOutcome {
  action: RepairAction;
  /** `prepay-12`, `subscription-sub_…`, `chain-transfer-7`, `webhook-outbox` */
  item: string;
  workflowId?: string;
  /** the workflow's close status, for `workflow_closed` */
  closeStatus?: string;
  eventId?: string;
  /** why nothing was done, for `none` */
  detail?: string;
}

export interface ReconcileResult {
  checked: number;
  repairs: RepairOutcome[];
  errors: { item: string; message: string }[];
}
