/**
 * RechargeWorkflow (`recharge-{trans_id}`): charge the card, then credit the ledger, exactly once.
 * The charge's idempotency key is the business key, so a retried or replayed activity never charges
 * twice; the credit is idempotent by the movement id, so a worker dying between the two steps only
 * delays the credit.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';
import { declineOf, failureTypes } from './failures.ts';

export interface RechargeInput {
  transId: string;
  tenantId: string;
  cardId: string;
  /** USD, decimal string */
  amount: string;
  description: string;
}

export type RechargeResult = { status: 'succeeded'; chargeId: string } | { status: 'declined'; declineCode: string; message: string };

const gateway = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Outages are retried with the same key for at most this long: within the 24 h for which gateways replay a key.
  scheduleToCloseTimeout: '23 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('cardDeclined') },
});
const ledger = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export const rechargeIdempotencyKey = (transId: string) => `recharge-${transId}`;

export async function rechargeWorkflow(input: RechargeInput): Promise<RechargeResult> {
  let chargeId: string;
  try {
    ({ chargeId } = await gateway.chargeCard.executeWithOptions({ summary: activitySummary.chargeCard(input.amount, input.cardId, `recharge ${input.transId}`) }, [
      {
        idempotencyKey: rechargeIdempotencyKey(input.transId),
        tenantId: input.tenantId,
        cardId: input.cardId,
        amount: input.amount,
        offSession: false,
        description: input.description,
      },
    ]));
  } catch (error) {
    const declined = declineOf(error);
    if (!declined) throw error;
    const summary = activitySummary.failMovement(input.transId, declined.declineCode);
    await ledger.failMovement.executeWithOptions({ summary }, [{ movementId: input.transId, code: declined.declineCode, message: declined.message }]);
    return { status: 'declined', ...declined };
  }
  // Money arrived: subscriptions in arrears retry their charge now, signalled by the credit's own activity
  // (decision 0111: one activity and one workflow task fewer). Histories recorded before that ran it as an
  // activity of its own, and histories recorded before 'signal-arrears-after-recharge' did not run it.
  if (patched('settle-resumes-unpaid-subscriptions')) {
    const summary = activitySummary.settleCredit(input.transId, input.amount, true);
    await ledger.settleCredit.executeWithOptions({ summary }, [{ movementId: input.transId, gatewayChargeId: chargeId, resumeUnpaidSubscriptions: true }]);
    return { status: 'succeeded', chargeId };
  }
  await ledger.settleCredit.executeWithOptions({ summary: activitySummary.settleCredit(input.transId, input.amount) }, [{ movementId: input.transId, gatewayChargeId: chargeId }]);
  if (patched('signal-arrears-after-recharge')) {
    await ledger.resumeUnpaidSubscriptions.executeWithOptions({ summary: activitySummary.resumeUnpaidSubscriptions(input.tenantId) }, [{ tenantId: input.tenantId }]);
  }
  return { status: 'succeeded', chargeId };
}
