/**
 * ReconcileWorkflow (decision 0080): what a crash can leave behind, found and repaired. Run by the
 * Temporal Schedule `reconcile` (src/temporal/schedules.ts) every few minutes with overlap SKIP, or by
 * hand (`temporal schedule trigger --schedule-id reconcile`). Deterministic: every read and repair is an
 * activity (src/activities/reconcile.ts); each repair re-checks its row and the workflow it concerns, so
 * a run repeated, overlapping or retried changes nothing twice.
 *
 * 1. prepays `awaiting_payment` without a workflow, older than the grace period: a card prepay (or a
 *    token prepay that never handed out its deposit address) is closed `payment_failed` / `abandoned`
 *    without charging; a token prepay whose address may receive money gets its workflow started;
 * 2. live subscriptions without their workflow: the workflow is started (same id, idempotent);
 * 3. prepays and subscriptions whose workflow closed (terminated, failed, timed out) while the row still
 *    says live: flagged (`workflow_closed_status`) for an operator;
 * 4. token transfers `signalled` to a prepay workflow that closed without crediting them: credited
 *    through CreditTransferWorkflow;
 * 5. webhook deliveries pending without an attempt for longer than the grace period (their workflow never
 *    started): started (decision 0098).
 *
 * Every repair records a `reconcile.*` event. One item that cannot be repaired is counted in `errors`
 * (its failure is in the history) and does not stop the others.
 */
import { ActivityFailure, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ReconcileInput, ReconcileResult, RepairOutcome } from '../activities/reconcile-contract.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';

export type { ReconcileInput, ReconcileResult } from '../activities/reconcile-contract.ts';

const steps = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function reconcileWorkflow(input: ReconcileInput = {}): Promise<ReconcileResult> {
  const candidates = await steps.findReconcileCandidates.executeWithOptions({ summary: activitySummary.findReconcileCandidates() }, [input]);
  const result: ReconcileResult = { checked: 0, repairs: [], errors: [] };
  const run = async (item: string, repair: () => Promise<RepairOutcome>): Promise<void> => {
    result.checked += 1;
    try {
      const outcome = await repair();
      if (outcome.action !== 'none') result.repairs.push(outcome);
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      log.error('reconcile: could not repair', { item, error: error.cause?.message ?? error.message });
      result.errors.push({ item, message: error.cause?.message ?? error.message });
    }
  };
  // each repair's summary names its item, as `result.errors` does
  const named = (item: string) => ({ summary: activitySummary.reconcile(item) });
  for (const prePayId of candidates.prepays) {
    const item = `prepay-${prePayId}`;
    await run(item, () => steps.reconcilePrepay.executeWithOptions(named(item), [{ ...input, prePayId }]));
  }
  for (const subscriptionId of candidates.subscriptions) {
    const item = `subscription-${subscriptionId}`;
    await run(item, () => steps.reconcileSubscription.executeWithOptions(named(item), [{ ...input, subscriptionId }]));
  }
  for (const transferId of candidates.transfers) {
    const item = `chain-transfer-${transferId}`;
    await run(item, () => steps.reconcileTransfer.executeWithOptions(named(item), [{ ...input, transferId }]));
  }
  // webhook deliveries whose workflow a crash never started (decision 0098)
  if (patched('webhook-outbox')) await run('webhook-outbox', () => steps.restartStaleWebhookDeliveries.executeWithOptions(named('webhook-outbox'), [input]));
  return result;
}
