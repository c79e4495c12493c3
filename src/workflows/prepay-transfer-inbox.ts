/**
 * The transfer inbox of a PrepayWorkflow run: every `tokenTransfer` signal is credited to the team's token
 * balance once per `(chain_id, tx_hash, log_index)`; while the payment window is open, those in the
 * prepay's token also count toward its payment.
 */
import { ActivityFailure, log } from '@temporalio/workflow';
import { Dec, type TokenCurrency } from '../domain/money.ts';
import { transferAmount, transferKey, type TokenTransferSignal } from '../domain/token-transfer.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';
import { credits } from './prepay-activities.ts';

/** Why a transfer went to the balance without counting toward a payment (`transfer.credited` events). */
export type UncountedReason = 'payment_window_closed' | 'token_mismatch';

export interface TransferInbox {
  /** the `tokenTransfer` signal's handler */
  receive(transfer: TokenTransferSignal): Promise<void>;
  /** no transfer counts toward the payment after this */
  closePayment(): void;
  /** the window closed at `deadline`, but transfers whose block time is at or before it still count */
  acceptMinedBefore(deadline: number): void;
  isPaymentOpen(): boolean;
  /** token units counted toward the payment and already on the balance */
  counted(): Dec;
  /** how many distinct transfers counted */
  countedTransfers(): number;
  /** no credit is in flight */
  idle(): boolean;
  /** transfers credited so far (in this run): a renewal waiting for money retries when it grows */
  deposits(): number;
}

/**
 * The inbox of one run. Its payment window starts open for the first cycle of a token prepay, so that a
 * transfer signalled before the workflow's first await counts too; later runs never count (the set of
 * seen transfers is per run: crediting is idempotent by the transfer's identity, so a duplicate signal
 * in a later run credits nothing, and nothing is counted there).
 */
export function createTransferInbox(options: {
  prePayId: number;
  tenantId: string;
  /** the prepay's token; null for a card prepay (any transfer only goes to the balance) */
  token: TokenCurrency | null;
  paymentOpen: boolean;
  /** after a counted transfer is on the balance (the workflow publishes its progress) */
  onCounted: () => Promise<void>;
}): TransferInbox {
  const seen = new Set<string>();
  let open = options.paymentOpen;
  /** after the deadline: transfers mined at or before this time (epoch ms) still count */
  let minedBefore: number | null = null;
  let counted = new Dec(0);
  let countedTransfers = 0;
  let inFlight = 0;
  let deposits = 0;

  async function receive(transfer: TokenTransferSignal): Promise<void> {
    const amount = transferAmount(transfer);
    if (amount === null || typeof transfer.txHash !== 'string' || !Number.isSafeInteger(transfer.chainId) || !Number.isSafeInteger(transfer.logIndex)) {
      log.error('tokenTransfer ignored: not a transfer the engine can credit', { prePayId: options.prePayId, transfer });
      return;
    }
    const key = transferKey(transfer);
    if (seen.has(key)) return;
    seen.add(key);
    const minedInTime = minedBefore !== null && typeof transfer.blockTime === 'string' && Date.parse(transfer.blockTime) <= minedBefore;
    const counts = (open || minedInTime) && transfer.token === options.token;
    inFlight += 1;
    try {
      // A counted transfer is reserved for this payment as it is credited: no other payment from the balance can take it.
      const summary = activitySummary.creditTokenTransfer(transfer, counts ? options.prePayId : undefined);
      await credits.creditTokenTransfer.executeWithOptions({ summary }, [{ transfer, tenantId: options.tenantId, ...(counts ? { reserveFor: options.prePayId } : {}) }]);
      if (counts) {
        counted = counted.plus(amount);
        countedTransfers += 1;
      } else {
        await recordUncounted(transfer, transfer.token === options.token ? 'payment_window_closed' : 'token_mismatch');
      }
      deposits += 1;
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      // Only a transfer the activity refuses for good lands here; failing the prepay for it would be worse.
      log.error('tokenTransfer could not be credited', { prePayId: options.prePayId, transferKey: key, error: error.message });
      return;
    } finally {
      inFlight -= 1;
    }
    if (counts) await options.onCounted();
  }

  async function recordUncounted(transfer: TokenTransferSignal, reason: UncountedReason): Promise<void> {
    // The same key as the credit workflow's event: one `transfer.credited` per transfer, whichever path credited it.
    await credits.recordEvent.executeWithOptions({ summary: activitySummary.recordEvent('transfer.credited') }, [
      {
        key: `transfer-${transferKey(transfer)}-credited`,
        tenantId: options.tenantId,
        type: 'transfer.credited',
        data: {
          pre_pay_id: options.prePayId,
          reason,
          chain_id: transfer.chainId,
          tx_hash: transfer.txHash,
          log_index: transfer.logIndex,
          token: transfer.token,
          amount: transfer.amount,
          from: transfer.from,
          to: transfer.to,
          block_number: transfer.blockNumber,
        },
      },
    ]);
  }

  return {
    receive,
    closePayment: () => {
      open = false;
      minedBefore = null;
    },
    acceptMinedBefore: (deadline) => {
      open = false;
      minedBefore = deadline;
    },
    isPaymentOpen: () => open,
    counted: () => counted,
    countedTransfers: () => countedTransfers,
    idle: () => inFlight === 0,
    deposits: () => deposits,
  };
}
