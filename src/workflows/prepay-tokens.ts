/**
 * The token side of PrepayWorkflow:
 *
 * * the payment: wait until the transfers counted by the run's inbox (./prepay-transfer-inbox.ts) reach
 *   the token amount or the deadline passes, then move exactly the token amount from the balance to
 *   deferred revenue (an excess simply stays there);
 * * the renewal: convert the USD price at the current rate and pay it from the balance, else wait for a
 *   deposit (or the next scheduled check) until the grace period ends.
 */
import { condition, patched } from '@temporalio/workflow';
import { Dec, type TokenCurrency } from '../domain/money.ts';
import type { PrepayTimings } from '../domain/prepay.ts';
import { activitySummary, formatMoney, timerSummary } from '../domain/workflow-summaries.ts';
import { failedWith, refusal } from './failures.ts';
import { credits } from './prepay-activities.ts';
import type { PrepayResult, RenewalView } from './prepay-messages.ts';
import type { PrepayRun } from './prepay-run.ts';
import type { TransferInbox } from './prepay-transfer-inbox.ts';

/** The first payment of a token prepay; answers the prepay's result when it ended unpaid, undefined when paid. */
export async function payByTransfers(run: PrepayRun, currency: TokenCurrency): Promise<PrepayResult | undefined> {
  const { id, input, inbox } = run;
  const terms = input.tokenPayment;
  if (!terms) throw refusal('prepayInvalidRequest', `Token prepay ${id} started without its payment terms.`);
  const amount = new Dec(input.amount);
  const outcome = await awaitTokenPayment({
    prePayId: id,
    tenantId: input.tenantId,
    token: currency,
    amount,
    usd: new Dec(run.paidUsd),
    deadline: new Date(terms.deadline).getTime(),
    confirmationGraceMs: run.timings.tokenConfirmationGraceMs,
    inbox,
    canceled: () => run.cancelRequest !== undefined,
  });
  const received = outcome.received.toFixed();
  if (outcome.status === 'unpaid') {
    run.payment = { status: 'unpaid', prePayId: id, reason: outcome.reason };
    // Canceled before it was paid: nothing was booked, what arrived stays on the team's balance.
    if (outcome.reason === 'canceled') return run.finish('canceled');
    run.failureCode = outcome.reason;
    // What arrived is on the team's balance already (each transfer was credited when it came).
    await run.event('prepay.expired', 'expired', { reason: outcome.reason, token: currency, amount: input.amount, received, credited: received, deadline: terms.deadline });
    return run.finish('expired');
  }
  await run.publish('awaiting_binding');
  run.payment = { status: 'paid', prePayId: id, chargeId: outcome.ledgerTransactionId };
  await run.event('prepay.paid', 'paid', {
    usd: run.paidUsd,
    token: currency,
    amount: input.amount,
    received,
    excess_credited: outcome.excess.toFixed(),
    transfers: inbox.countedTransfers(),
  });
  return undefined;
}

/** A token prepay's renewal from the team's token balance. */
export async function renewWithTokens(run: PrepayRun, currency: TokenCurrency): Promise<PrepayResult> {
  const { cycle } = run;
  await run.publish('renewing');
  const usd = await run.priceOfRenewal();
  if (usd === null) return run.finish('expired');
  const renewal: RenewalView = { amount: usd, attempt: 0, attempts: 0, nextAttemptAt: null, lastDeclineCode: null, tokenAmount: null, graceEndsAt: null };
  run.renewal = renewal;
  const outcome = await renewFromTokenBalance({
    prePayId: run.id,
    tenantId: run.input.tenantId,
    token: currency,
    nextCycle: cycle + 1,
    usd,
    end: run.periodEnd()!.getTime(),
    timings: run.timings,
    inbox: run.inbox,
    renewal,
    canceled: () => run.cancelRequest !== undefined,
    autoRenewal: () => run.autoRenewal,
    setCharging: (value) => {
      run.charging = value;
    },
    failed: async (code) => {
      run.failureCode = code;
      await run.publish('past_due');
    },
  });
  if (outcome.status === 'canceled' || outcome.status === 'completed') return run.finish(outcome.status);
  if (outcome.status === 'expired') {
    run.failureCode = outcome.code;
    await run.event('prepay.expired', 'expired', {
      reason: `the team's ${currency} balance did not pay the renewal within the grace period`,
      code: outcome.code,
      usd,
      token: currency,
    });
    return run.finish('expired');
  }
  await run.event('prepay.renewed', 'renewed', { usd, token: currency, amount: outcome.amount, rate: outcome.rate, attempt: renewal.attempt }, cycle + 1);
  return run.nextCycle(outcome.amount, outcome.ledgerTransactionId, usd);
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
  const deadline = { summary: timerSummary.paymentDeadline(formatMoney(input.token, amount.toFixed())) };
  if (input.deadline > Date.now()) await condition(() => inbox.counted().gte(amount) || input.canceled(), input.deadline - Date.now(), deadline);
  // Underpaid at the deadline: a transfer mined before it may still be on its way to the confirmation depth.
  // For a while it counts; anything mined after the deadline does not (histories recorded before skip this).
  if (inbox.counted().lt(amount) && !input.canceled() && input.confirmationGraceMs > 0 && patched('count-transfers-mined-before-deadline')) {
    inbox.acceptMinedBefore(input.deadline);
    const graceEnd = input.deadline + input.confirmationGraceMs;
    const grace = { summary: timerSummary.confirmationGrace() };
    if (graceEnd > Date.now()) await condition(() => inbox.counted().gte(amount) || input.canceled(), graceEnd - Date.now(), grace);
  }
  inbox.closePayment();
  // A transfer signalled before the window closed counts even when its credit finishes after.
  await condition(() => inbox.idle());
  const received = inbox.counted();
  if (received.lt(amount)) return { status: 'unpaid', reason: input.canceled() ? 'canceled' : 'underpaid', received };
  try {
    const summary = activitySummary.bookTokenPrepayPayment(input.token, amount.toFixed(), input.usd.toFixed(), 1, 'token');
    const { ledgerTransactionId } = await credits.bookTokenPrepayPayment.executeWithOptions({ summary }, [
      {
        prePayId: input.prePayId,
        tenantId: input.tenantId,
        cycle: 1,
        currency: input.token,
        amount: amount.toFixed(),
        usd: input.usd.toFixed(),
        paidFrom: 'token',
        paidAt: new Date().toISOString(),
      },
    ]);
    return { status: 'paid', received, excess: received.minus(amount), ledgerTransactionId };
  } catch (error) {
    if (failedWith(error, 'insufficientBalance')) return { status: 'unpaid', reason: 'balance_spent', received };
    throw error;
  }
}

export type TokenRenewalOutcome =
  { status: 'renewed'; amount: string; rate: string; ledgerTransactionId: string } | { status: 'canceled' } | { status: 'completed' } | { status: 'expired'; code: string };

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
  const checks = [...new Set([...input.timings.renewalAttemptOffsetsMs.filter((offset) => offset < grace), grace])]
    .sort((left, right) => left - right)
    .map((offset) => input.end + offset);
  renewal.attempts = checks.length;
  renewal.graceEndsAt = new Date(input.end + grace).toISOString();
  let nextCheck = 0;
  let deposits = inbox.deposits();
  for (;;) {
    const at = checks[nextCheck]!;
    renewal.nextAttemptAt = new Date(at).toISOString();
    const timer = { summary: timerSummary.tokenRenewalTry(nextCheck + 1, checks.length, input.token) };
    if (at > Date.now()) await condition(() => input.canceled() || !input.autoRenewal() || inbox.deposits() !== deposits, at - Date.now(), timer);
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
      price = await credits.convertUsdToToken.executeWithOptions({ summary: activitySummary.convertUsdToToken(input.usd, input.token) }, [
        { currency: input.token, usd: input.usd },
      ]);
    } catch (error) {
      if (failedWith(error, 'priceUnavailable')) return 'price_unavailable';
      throw error;
    }
    renewal.tokenAmount = price.amount;
    input.setCharging(true);
    try {
      const summary = activitySummary.bookTokenPrepayPayment(input.token, price.amount, input.usd, input.nextCycle, 'balance');
      const { ledgerTransactionId } = await credits.bookTokenPrepayPayment.executeWithOptions({ summary }, [
        {
          prePayId: input.prePayId,
          tenantId: input.tenantId,
          cycle: input.nextCycle,
          currency: input.token,
          amount: price.amount,
          usd: input.usd,
          paidFrom: 'balance',
          paidAt: new Date().toISOString(),
        },
      ]);
      // Paid: `charging` stays set so that no cancel slips in before the next run starts.
      return { status: 'renewed', amount: price.amount, rate: price.rate, ledgerTransactionId };
    } catch (error) {
      if (!failedWith(error, 'insufficientBalance')) throw error;
      input.setCharging(false);
      return 'insufficient_balance';
    }
  }
}
