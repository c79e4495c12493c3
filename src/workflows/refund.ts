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
  let refundId: string;
  try {
    ({ refundId } = await steps.refundCharge({ idempotencyKey: `refund-${input.transId}`, chargeId: reversed.chargeId, amount: reversed.amount }));
  } catch (error) {
    // The gateway refuses this refund for good (e.g. the charge was refunded at the gateway already): the
    // ledger's reversal is undone so the balance holds the money again, and the request is refused.
    if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === 'GatewayRefundRefused')) throw error;
    await steps.undoMovementReversal({ movementId: input.transId, reason: `the card gateway refused the refund: ${error.cause.message}` });
    return { status: 'refused', errorType: 'gateway_refused', message: `The card gateway refused the refund (${error.cause.message}); nothing was refunded and the balance is as before.` };
  }
  await steps.recordGatewayRefund({ movementId: input.transId, refundId });
  return { status: 'refunded', gatewayRefundId: refundId };
}
