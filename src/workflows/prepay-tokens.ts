/**
 * The token side of PrepayWorkflow (DESIGN §5), as helpers of prepay.ts (not a workflow of its own):
 *
 * * the transfer inbox: every `tokenTransfer` signal is credited to the team's token balance once per
 *   `(chain_id, tx_hash, log_index)`; while the payment window is open, those in the prepay's token also
 *   count toward its payment;
 * * the payment: wait until the counted sum reaches the token amount or the deadline passes, then move
 *   exactly the token amount from the balance to deferred revenue (an excess simply stays there);
 * * the renewal: convert the USD price at the current rate and pay it from the balance, else wait for a
 *   deposit (or the next scheduled check) until the grace period ends.
 */
import { ActivityFailure, condition, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { Dec, type TokenCurrency } from '../domain/money.ts';
import type { PrepayTimings } from '../domain/prepay.ts';
import { transferAmount, transferKey, type TokenTransferSignal } from '../domain/token-transfer.ts';
import { failedWith, failureTypes } from './failures.ts';
import type { RenewalView } from './prepay-messages.ts';

// A credit that is owed must land: outages are retried without limit; only bad input fails for good.
const steps = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('invalidTransfer') },
});

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
      await steps.creditTokenTransfer({ transfer, tenantId: options.tenantId, ...(counts ? { reserveFor: options.prePayId } : {}) });
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
    await steps.recordEvent({
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
    });
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

export type TokenPaymentOutcome =
  | { status: 'paid'; received: Dec; excess: Dec; ledgerTransactionId: string }
  /** underpaid at the deadline, canceled while waiting, or the credits were spent before the payment was booked */
  | { status: 'unpaid'; reason: 'underpaid' | 'canceled' | 'balance_spent'; received: Dec };

/**
 * Waits for the first payment: until the counted transfers reach `amount`, the deadline passes, or an
 * operator cancels. Every counted transfer is on the team's balance before the outcome is decided.
 */
export async function awaitTokenPayment(input: {
  prePayId: number;
  tenantId: string;
  token: TokenCurrency;
  /** token units due */
  amount: Dec;
  usd: Dec;
  /** epoch ms, workflow time */
  deadline: number;
  /** how long after the deadline a transfer mined before it may still arrive and count */
  confirmationGraceMs: number;
  inbox: TransferInbox;
  canceled: () => boolean;
}): Promise<TokenPaymentOutcome> {
  const { inbox, amount } = input;
  if (input.deadline > Date.now()) await condition(() => inbox.counted().gte(amount) || input.canceled(), input.deadline - Date.now());
  // Underpaid at the deadline: a transfer mined before it may still be on its way to the confirmation depth.
  // For a while it counts; anything mined after the deadline does not (histories recorded before skip this).
  if (inbox.counted().lt(amount) && !input.canceled() && input.confirmationGraceMs > 0 && patched('count-transfers-mined-before-deadline')) {
    inbox.acceptMinedBefore(input.deadline);
    const graceEnd = input.deadline + input.confirmationGraceMs;
    if (graceEnd > Date.now()) await condition(() => inbox.counted().gte(amount) || input.canceled(), graceEnd - Date.now());
  }
  inbox.closePayment();
  // A transfer signalled before the window closed counts even when its credit finishes after.
  await condition(() => inbox.idle());
  const received = inbox.counted();
  if (received.lt(amount)) return { status: 'unpaid', reason: input.canceled() ? 'canceled' : 'underpaid', received };
  try {
    const { ledgerTransactionId } = await steps.bookTokenPrepayPayment({
      prePayId: input.prePayId,
      tenantId: input.tenantId,
      cycle: 1,
      currency: input.token,
      amount: amount.toFixed(),
      usd: input.usd.toFixed(),
      paidFrom: 'token',
      paidAt: new Date().toISOString(),
    });
    return { status: 'paid', received, excess: received.minus(amount), ledgerTransactionId };
  } catch (error) {
    if (failedWith(error, 'insufficientBalance')) return { status: 'unpaid', reason: 'balance_spent', received };
    throw error;
  }
}

export type TokenRenewalOutcome =
  | { status: 'renewed'; amount: string; rate: string; ledgerTransactionId: string }
  | { status: 'canceled' }
  | { status: 'completed' }
  | { status: 'expired'; code: string };

/**
 * Pays the next cycle (`usd` at current prices) from the team's token balance, converted at the current
 * rate at each try. Tries at the end of the period, at the dunning schedule's offsets within the grace
 * period, at its end, and whenever a transfer was credited meanwhile; when the try at the end of the
 * grace period fails too, the prepay expires. `renewal` is the status query's view, kept current.
 */
export async function renewFromTokenBalance(input: {
  prePayId: number;
  tenantId: string;
  token: TokenCurrency;
  nextCycle: number;
  usd: string;
  /** epoch ms: the end of the ended cycle */
  end: number;
  timings: PrepayTimings;
  inbox: TransferInbox;
  renewal: RenewalView;
  canceled: () => boolean;
  autoRenewal: () => boolean;
  setCharging: (charging: boolean) => void;
  /** a try failed (`insufficient_balance`, `price_unavailable`): the workflow shows it as past due */
  failed: (code: string) => Promise<void>;
}): Promise<TokenRenewalOutcome> {
  const { inbox, renewal } = input;
  const grace = input.timings.tokenRenewalGraceMs;
  const checks = [...new Set([...input.timings.renewalAttemptOffsetsMs.filter((offset) => offset < grace), grace])].sort((left, right) => left - right).map((offset) => input.end + offset);
  renewal.attempts = checks.length;
  renewal.graceEndsAt = new Date(input.end + grace).toISOString();
  let nextCheck = 0;
  let deposits = inbox.deposits();
  for (;;) {
    const at = checks[nextCheck]!;
    renewal.nextAttemptAt = new Date(at).toISOString();
    if (at > Date.now()) await condition(() => input.canceled() || !input.autoRenewal() || inbox.deposits() !== deposits, at - Date.now());
    // The ended cycle was fully served: a cancel or a switched-off renewal leaves nothing to refund.
    if (input.canceled()) return { status: 'canceled' };
    if (!input.autoRenewal()) return { status: 'completed' };
    deposits = inbox.deposits();
    while (nextCheck < checks.length && checks[nextCheck]! <= Date.now()) nextCheck += 1;
    renewal.attempt += 1;
    renewal.nextAttemptAt = null;

    const code = await tryRenewal();
    if (typeof code !== 'string') return code;
    renewal.lastDeclineCode = code;
    if (nextCheck >= checks.length) return { status: 'expired', code };
    await input.failed(code);
  }

  async function tryRenewal(): Promise<TokenRenewalOutcome | string> {
    let price: { amount: string; rate: string };
    try {
      price = await steps.convertUsdToToken({ currency: input.token, usd: input.usd });
    } catch (error) {
      if (failedWith(error, 'priceUnavailable')) return 'price_unavailable';
      throw error;
    }
    renewal.tokenAmount = price.amount;
    input.setCharging(true);
    try {
      const { ledgerTransactionId } = await steps.bookTokenPrepayPayment({
        prePayId: input.prePayId,
        tenantId: input.tenantId,
        cycle: input.nextCycle,
        currency: input.token,
        amount: price.amount,
        usd: input.usd,
        paidFrom: 'balance',
        paidAt: new Date().toISOString(),
      });
      // Paid: `charging` stays set so that no cancel slips in before the next run starts.
      return { status: 'renewed', amount: price.amount, rate: price.rate, ledgerTransactionId };
    } catch (error) {
      if (!failedWith(error, 'insufficientBalance')) throw error;
      input.setCharging(false);
      return 'insufficient_balance';
    }
  }
}
