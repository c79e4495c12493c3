/**
 * CreditTransferWorkflow (`transfer-{chainId}-{txHash}-{logIndex}`): credits one token transfer to its
 * team's balance in that token, then records `transfer.credited`. Used when the transfer cannot count
 * toward a prepay: the prepay is closed or has no workflow (a late transfer is never lost), or the token
 * is not the prepay's. Each step is idempotent by the transfer's identity (movement id, ledger key
 * `movement-{id}`, event key), and the workflow id admits one run per transfer.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { failureTypes } from './failures.ts';
import { transferKey, type CreditTransferReason, type TokenTransferSignal } from '../domain/token-transfer.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';

export type { CreditTransferReason } from '../domain/token-transfer.ts';

export interface CreditTransferInput {
  transfer: TokenTransferSignal;
  tenantId: string;
  /** the prepay the deposit address belongs to */
  prePayId: number | null;
  reason: CreditTransferReason;
}

export interface CreditTransferResult {
  movementId: string;
  eventId: string;
}

// No maximum attempts: a credit that is owed must eventually land; only bad input fails for good.
const steps = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('invalidTransfer') },
});

export async function creditTransferWorkflow(input: CreditTransferInput): Promise<CreditTransferResult> {
  const credit = { summary: activitySummary.creditTokenTransfer(input.transfer) };
  const { movementId } = await steps.creditTokenTransfer.executeWithOptions(credit, [{ transfer: input.transfer, tenantId: input.tenantId }]);
  const { eventId } = await steps.recordEvent.executeWithOptions({ summary: activitySummary.recordEvent('transfer.credited') }, [
    {
      key: `transfer-${transferKey(input.transfer)}-credited`,
      tenantId: input.tenantId,
      type: 'transfer.credited',
      data: {
        trans_id: movementId,
        pre_pay_id: input.prePayId,
        reason: input.reason,
        chain_id: input.transfer.chainId,
        tx_hash: input.transfer.txHash,
        log_index: input.transfer.logIndex,
        token: input.transfer.token,
        amount: input.transfer.amount,
        from: input.transfer.from,
        to: input.transfer.to,
        block_number: input.transfer.blockNumber,
      },
    },
  ]);
  return { movementId, eventId };
}
