/**
 * RefundWorkflow (`refund-{trans_id}`): reverse the movement in the ledger, then, for a card payment,
 * refund the charge at the gateway with the key `refund-{trans_id}`. Each step happens once.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';
import { detailsOf, failedWith, failureTypes } from './failures.ts';

export interface RefundInput {
  transId: string;
  reason: string;
}

export type RefundResult = { status: 'refunded'; gatewayRefundId: string | null } | { status: 'refused'; errorType: string; message: string };

const steps = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('refundRefused') },
});

export async function refundWorkflow(input: RefundInput): Promise<RefundResult> {
  let reversed: { paymentMethod: string; chargeId: string | null; amount: string };
  try {
    reversed = await steps.reverseMovement.executeWithOptions({ summary: activitySummary.reverseMovement(input.transId) }, [{ movementId: input.transId, reason: input.reason }]);
  } catch (error) {
    const refused = failedWith(error, 'refundRefused');
    if (refused) return { status: 'refused', errorType: detailsOf<{ errorType: string }>(refused).errorType ?? 'conflict', message: refused.message };
    throw error;
  }
  if (reversed.paymentMethod !== 'card' || !reversed.chargeId) return { status: 'refunded', gatewayRefundId: null };
  let refundId: string;
  try {
    const summary = activitySummary.refundCharge(reversed.amount, reversed.chargeId);
    ({ refundId } = await steps.refundCharge.executeWithOptions({ summary }, [
      { idempotencyKey: `refund-${input.transId}`, chargeId: reversed.chargeId, amount: reversed.amount },
    ]));
  } catch (error) {
    // The gateway refuses this refund for good (e.g. the charge was refunded at the gateway already): the
    // ledger's reversal is undone so the balance holds the money again, and the request is refused.
    const refused = failedWith(error, 'gatewayRefundRefused');
    if (!refused) throw error;
    await steps.undoMovementReversal.executeWithOptions({ summary: activitySummary.undoMovementReversal(input.transId) }, [
      { movementId: input.transId, reason: `the card gateway refused the refund: ${refused.message}` },
    ]);
    return {
      status: 'refused',
      errorType: 'gateway_refused',
      message: `The card gateway refused the refund (${refused.message}); nothing was refunded and the balance is as before.`,
    };
  }
  await steps.recordGatewayRefund.executeWithOptions({ summary: activitySummary.recordGatewayRefund(refundId) }, [{ movementId: input.transId, refundId }]);
  return { status: 'refunded', gatewayRefundId: refundId };
}
