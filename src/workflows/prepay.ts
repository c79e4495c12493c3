/**
 * PrepayWorkflow (`prepay-{pre_pay_id}`): one prepayment, from its payment to its last month
 * (DESIGN §5). One run per cycle: payment → awaiting binding (refunded after the binding timeout) → a
 * durable timer per calendar month that recognises that month's revenue → renewal at current prices
 * → continue-as-new into the next, already paid, cycle. A card prepay (`USD`) is charged, and renewed
 * with a dunning schedule; a token prepay is paid by transfers to its deposit address before a deadline
 * and renewed from the team's token balance with a grace period (./prepay-tokens.ts). The workflow is
 * the source of truth; the `prepays` row is its read model, written by `syncPrepay` after each change.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { EventType } from '../activities/events.ts';
import { monthBoundary, monthsStarted } from '../domain/calendar.ts';
import { CURRENCY_DECIMALS, Dec, type TokenCurrency } from '../domain/money.ts';
import {
  DEFAULT_PREPAY_TIMINGS,
  cancellationSplit,
  isTerminalPrepayStatus,
  monthlyShares,
  prepayKeys,
  sameApp,
  type PrepaySnapshot,
  type PrepayStatus,
  type PrepayTimings,
} from '../domain/prepay.ts';
import { awaitTokenPayment, createTransferInbox, renewFromTokenBalance } from './prepay-tokens.ts';
import { activityFailure, declineOf, failureTypes, refusal } from './failures.ts';
import {
  awaitPaymentUpdate,
  bindAppUpdate,
  cancelUpdate,
  changeCardUpdate,
  prepaySearchAttributes,
  requestAutoRenewalSignal,
  requestCancelSignal,
  setAutoRenewalUpdate,
  statusQuery,
  tokenTransferSignal,
  type PaymentOutcome,
  type PrepayInput,
  type PrepayResult,
  type PrepayView,
  type RenewalView,
  type TokenPaymentView,
} from './prepay-messages.ts';

export * from './prepay-messages.ts';

const charges = (timeoutMs: number, scheduleToCloseMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs,
    scheduleToCloseTimeout: scheduleToCloseMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('cardDeclined') },
  });
const steps = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});


export async function prepayWorkflow(input: PrepayInput): Promise<PrepayResult> {
  const timings: PrepayTimings = { ...DEFAULT_PREPAY_TIMINGS, renewalAttemptOffsetsMs: [...DEFAULT_PREPAY_TIMINGS.renewalAttemptOffsetsMs], ...input.timings };
  const id = input.prePayId;
  const continued = input.continued;
  /** set when the last run continued as new in the middle of this cycle */
  const resumed = continued?.resume;
  const cycle = continued?.cycle ?? 1;
  const monthOffset = continued?.monthOffset ?? 0;
  const gateway = charges(timings.chargeTimeoutMs, timings.chargeScheduleToCloseMs);
  const token: TokenCurrency | null = input.paymentType === 'USD' ? null : input.paymentType;
  /** the cycle's USD value: what the binding may cost at most, and what refunds give back in USD terms */
  const paidUsd = input.usd ?? input.amount;
  /** months are earned to the currency's smallest unit: cents, or the token's on-chain decimals */
  const shareDecimals = CURRENCY_DECIMALS[input.paymentType];

  const state = {
    status: (continued ? 'active' : 'awaiting_payment') as PrepayStatus,
    cardId: input.cardId,
    autoRenewal: input.autoRenewal,
    monthsRecognized: resumed?.monthsRecognized ?? 0,
    app: continued?.app ?? null,
    boundAt: continued?.boundAt ?? null,
    failureCode: null as string | null,
    renewal: null as RenewalView | null,
    refunded: new Dec(resumed?.refundedUsd ?? 0),
    /** in the payment currency (equal to `refunded` for cards) */
    refundedAmount: new Dec(resumed?.refundedAmount ?? 0),
  };
  let anchor: Date | null = continued ? new Date(continued.anchor) : null;
  let syncSeq = continued?.syncSeq ?? 0;
  let payment: PaymentOutcome | undefined = continued ? { status: 'paid', prePayId: id, chargeId: continued.chargeId } : undefined;
  let cancelRequest: { reason: string } | undefined;
  /** the API requests whose cancel this run accepted (their retries are answered, not refused as closed) */
  const acceptedCancels = new Set<string>();
  /** a charge is at the gateway (or a renewal is paid and the next cycle about to start): no cancel now */
  let charging = false;
  let activated = continued !== undefined;
  let closed = false;
  /**
   * Binding is possible until the binding deadline passes. It closes in the same activation in which the
   * deadline's timer fires, before the refund is scheduled, so no CallBackAppInfo is accepted for a
   * payment that is on its way back.
   */
  let bindingOpen = continued === undefined;

  const boundary = (month: number): Date => monthBoundary(anchor!, monthOffset + month);
  const periodEnd = (): Date | null => (anchor ? boundary(input.period) : null);
  const inbox = createTransferInbox({
    prePayId: id,
    tenantId: input.tenantId,
    token,
    paymentOpen: token !== null && !continued && input.tokenPayment !== undefined,
    onCounted: () => publish(),
  });
  /** a token prepay's first payment as it arrived (after a mid-cycle continue-as-new: as carried over) */
  const firstTokenPayment = (): TokenPaymentView | null => {
    if (resumed) return resumed.firstTokenPayment;
    if (!token || !input.tokenPayment || continued) return null;
    return { ...input.tokenPayment, amount: input.amount, received: inbox.counted().toFixed(), transfers: inbox.countedTransfers() };
  };
  const snapshot = (): PrepaySnapshot => ({
    prePayId: id,
    status: state.status,
    cycle,
    cardId: state.cardId,
    autoRenewal: state.autoRenewal,
    amount: input.amount,
    ...(token ? { usd: paidUsd } : {}),
    ...(firstTokenPayment() ? { received: firstTokenPayment()!.received } : {}),
    monthsRecognized: state.monthsRecognized,
    app: state.app,
    boundAt: state.boundAt,
    periodStart: anchor ? boundary(0).toISOString() : null,
    periodEnd: periodEnd()?.toISOString() ?? null,
    failureCode: state.failureCode,
  });
  const view = (): PrepayView => ({
    ...snapshot(),
    tenantId: input.tenantId,
    paymentType: input.paymentType,
    period: input.period,
    nextBoundary: anchor && state.status === 'active' && state.monthsRecognized < input.period ? boundary(state.monthsRecognized + 1).toISOString() : null,
    renewal: state.renewal,
    refundedUsd: state.refunded.toFixed(),
    refundedAmount: state.refundedAmount.toFixed(),
    usd: paidUsd,
    tokenPayment: firstTokenPayment(),
  });

  /** Keeps the search attributes and the read model current with the state. */
  async function publish(status?: PrepayStatus): Promise<void> {
    if (status) state.status = status;
    const end = periodEnd();
    const updates: SearchAttributeUpdatePair[] = [{ key: prepaySearchAttributes.status, value: state.status }];
    if (end) updates.push({ key: prepaySearchAttributes.periodEnd, value: end });
    upsertSearchAttributes(updates);
    syncSeq += 1;
    await steps.syncPrepay({ snapshot: snapshot(), seq: syncSeq });
  }
  const event = (type: EventType, step: string, data: Record<string, unknown> = {}, eventCycle = cycle) =>
    steps.recordEvent({ key: prepayKeys.event(id, eventCycle, step), tenantId: input.tenantId, type, data: { pre_pay_id: id, cycle: eventCycle, ...data } });
  async function finish(status: PrepayStatus): Promise<PrepayResult> {
    await publish(status);
    closed = true;
    await condition(allHandlersFinished);
    return { prePayId: id, status, cycle, refundedUsd: state.refunded.toFixed() };
  }
  /** Gives `amount` (payment currency; `usd` its USD value) back: to the card, or to the team's token balance. */
  async function refund(amount: Dec, idempotencyKey: string, reason: string, usd: Dec = amount): Promise<void> {
    if (amount.lte(0)) return;
    const step = idempotencyKey === prepayKeys.cancelRefund(id, cycle) ? 'cancel-refunded' : 'refunded';
    if (token) {
      const refundedAt = new Date().toISOString();
      await steps.returnTokenPrepay({ prePayId: id, tenantId: input.tenantId, cycle, amount: amount.toFixed(), usd: usd.toFixed(), idempotencyKey, reason, refundedAt });
    } else {
      await steps.refundPrepayCycle({ prePayId: id, tenantId: input.tenantId, cycle, amount: amount.toFixed(), idempotencyKey, reason, refundedAt: new Date().toISOString() });
    }
    state.refunded = state.refunded.plus(usd);
    state.refundedAmount = state.refundedAmount.plus(amount);
    await event('prepay.refunded', step, token ? { usd: usd.toFixed(), token, amount: amount.toFixed(), to: 'balance', reason } : { usd: amount.toFixed(), reason });
  }

  /** The workflow's own status goes with the refusal: the read model may not say it yet (the API answers from it). */
  const rejectClosed = () => refusal('prepayClosed', `Prepay ${id} is already ${state.status}.`, { status: state.status });
  /** A request for another tenant than this workflow's is refused before anything else (decision 0051). */
  const assertOwner = (request: { tenantId?: unknown } | undefined) => {
    if (request && request.tenantId !== undefined && request.tenantId !== input.tenantId) {
      throw refusal('prepayIdentityMismatch', `The workflow of prepay ${id} belongs to another tenant; the request was refused.`);
    }
  };
  const validateCancel = () => {
    if (closed || isTerminalPrepayStatus(state.status)) throw rejectClosed();
    // A token prepay may be canceled while its payment window is open: what arrived stays on the team's balance.
    const waitingForTransfers = token !== null && inbox.isPaymentOpen();
    if ((state.status === 'awaiting_payment' && !waitingForTransfers) || charging) {
      throw refusal('prepayNotCancelable', `Prepay ${id} is being charged right now; retry in a moment.`);
    }
  };
  const validateAutoRenewal = (request: { autoRenewal: boolean; tenantId?: string }) => {
    assertOwner(request);
    if (typeof request?.autoRenewal !== 'boolean') throw refusal('prepayInvalidRequest', 'autoRenewal must be true or false.');
    if (closed || isTerminalPrepayStatus(state.status)) throw rejectClosed();
    // The renewal is at the gateway (or paid, the next cycle about to start): "off" could not stop it, so
    // it is refused rather than answered 200 for a charge that then goes through (decision 0050).
    if (!request.autoRenewal && charging && (state.status === 'renewing' || state.status === 'past_due')) {
      throw refusal('prepayRenewalInProgress', `Prepay ${id} is being renewed right now; switch auto-renewal off for the next cycle in a moment.`);
    }
  };
  /** A request that changes nothing is answered without a read-model write (histories recorded before skip this). */
  const autoRenewalUnchanged = (request: { autoRenewal: boolean }) => request.autoRenewal === state.autoRenewal && patched('auto-renewal-unchanged-is-a-no-op');

  setHandler(statusQuery, view);
  setHandler(tokenTransferSignal, (transfer) => inbox.receive(transfer));
  /** The operators' signals (the Temporal UI's way to ask for a cancel or an auto-renewal switch). */
  const registerOperatorSignals = () => {
    setHandler(requestCancelSignal, (request) => {
      try {
        validateCancel();
        cancelRequest ??= { reason: String(request?.reason ?? 'operator request') };
      } catch (error) {
        log.warn('requestCancel ignored', { prePayId: id, reason: (error as Error).message });
      }
    });
    setHandler(requestAutoRenewalSignal, async (request) => {
      try {
        validateAutoRenewal(request);
      } catch (error) {
        log.warn('requestAutoRenewal ignored', { prePayId: id, reason: (error as Error).message });
        return;
      }
      if (autoRenewalUnchanged(request)) return;
      state.autoRenewal = request.autoRenewal;
      await publish();
    });
  };
  // Signals and updates that reached a new run before its first task (sent while the last run continued as
  // new) wait for their handlers and are delivered as each handler is set: the signals first, so that an
  // update's answer (what the API tells the client) is never undone by a signal sent before it (decision 0050).
  const operatorSignalsFirst = patched('operator-signals-before-updates');
  if (operatorSignalsFirst) registerOperatorSignals();
  setHandler(awaitPaymentUpdate, async (_request) => {
    await condition(() => payment !== undefined || closed);
    const unpaid: PaymentOutcome = { status: 'unpaid', prePayId: id, reason: state.failureCode ?? state.status };
    return payment ?? unpaid;
  }, {
    validator: (request) => {
      assertOwner(request);
      // A retry attaches to the prepay it started: the same terms (the first cycle's; later runs were renewed).
      const differs = request !== undefined && !continued && (request.paymentType !== input.paymentType || !new Dec(request.amount).eq(new Dec(input.amount)) || request.period !== input.period);
      if (differs) throw refusal('prepayIdentityMismatch', `Prepay ${id} runs with other terms than this request; the request was refused.`);
    },
  });
  setHandler(
    bindAppUpdate,
    async (request) => {
      if (state.app && !sameApp(state.app, request.app)) throw refusal('prepayAppAlreadyBound', `Prepay ${id} is already bound to app ${state.app.appId}.`);
      if (!state.app) {
        state.app = request.app;
        state.boundAt = new Date().toISOString();
      }
      await condition(() => activated || closed);
      return view();
    },
    {
      validator: (request) => {
        assertOwner(request);
        if (request.paymentType !== input.paymentType) throw refusal('prepayPaymentTypeMismatch', `Prepay ${id} is paid with ${input.paymentType}, not ${request.paymentType}.`);
        if (state.app) {
          if (sameApp(state.app, request.app)) return;
          throw refusal('prepayAppAlreadyBound', `Prepay ${id} is already bound to app ${state.app.appId}.`);
        }
        if (!bindingOpen || state.status !== 'awaiting_binding' || cancelRequest) throw refusal('prepayNotBindable', `Prepay ${id} is ${state.status} and cannot be bound to an app.`);
        if (new Dec(request.costUsd).gt(new Dec(paidUsd))) {
          throw refusal('prepayResourcesExceedPayment', `These resources cost ${request.costUsd} USD for ${input.period} months; the prepayment paid ${paidUsd} USD.`);
        }
      },
    },
  );
  setHandler(
    setAutoRenewalUpdate,
    async (request) => {
      if (autoRenewalUnchanged(request)) return view();
      state.autoRenewal = request.autoRenewal;
      await publish();
      return view();
    },
    { validator: validateAutoRenewal },
  );
  setHandler(
    changeCardUpdate,
    async (request) => {
      // Checked here, not in the validator: whether the card is the team's is in the database.
      if (!(await steps.isPrepayCardUsable({ tenantId: input.tenantId, cardId: request.cardId }))) {
        throw refusal('prepayInvalidRequest', `Card ${request.cardId} is not a card of team ${input.tenantId}.`);
      }
      state.cardId = request.cardId;
      await publish();
      return view();
    },
    {
      validator: (request) => {
        assertOwner(request);
        if (token) throw refusal('prepayInvalidRequest', `Prepay ${id} is paid in ${token}; it has no card.`);
        if (typeof request?.cardId !== 'string' || request.cardId === '') throw refusal('prepayInvalidRequest', 'cardId must name a card.');
        if (closed || isTerminalPrepayStatus(state.status)) throw rejectClosed();
      },
    },
  );
  setHandler(
    cancelUpdate,
    async (request) => {
      cancelRequest ??= { reason: request.reason };
      if (typeof request.requestId === 'string') acceptedCancels.add(request.requestId);
      await condition(() => closed);
      return view();
    },
    {
      validator: (request) => {
        assertOwner(request);
        if (typeof request?.requestId === 'string' && acceptedCancels.has(request.requestId)) return;
        validateCancel();
      },
    },
  );
  if (!operatorSignalsFirst) registerOperatorSignals();

  upsertSearchAttributes([
    { key: prepaySearchAttributes.teamId, value: input.tenantId },
    { key: prepaySearchAttributes.prePayId, value: id },
    { key: prepaySearchAttributes.paymentType, value: input.paymentType },
    { key: prepaySearchAttributes.status, value: state.status },
  ]);

  if (!continued && token) {
    // 1. Payment by token transfers; the API answered at once with the deposit address.
    const paid = await payByTransfers(token);
    if (paid) return paid;
  } else if (!continued) {
    // 1. Payment: the API waits for its outcome through `awaitPayment` (update-with-start).
    charging = true;
    let chargeId: string;
    try {
      ({ chargeId } = await gateway.chargeCard({
        idempotencyKey: prepayKeys.charge(id, cycle),
        tenantId: input.tenantId,
        cardId: state.cardId!,
        amount: input.amount,
        offSession: false,
        description: `Prepayment ${id}: ${input.period} months`,
      }));
    } catch (error) {
      const declined = declineOf(error);
      if (!declined) throw error;
      charging = false;
      state.failureCode = declined.declineCode;
      payment = { status: 'declined', prePayId: id, ...declined };
      return finish('payment_failed');
    }
    charging = false;
    await steps.bookPrepayPayment({ prePayId: id, tenantId: input.tenantId, cycle, amount: input.amount, cardId: state.cardId!, chargeId, paidAt: new Date().toISOString() });
    await publish('awaiting_binding');
    payment = { status: 'paid', prePayId: id, chargeId };
    await event('prepay.paid', 'paid', { usd: input.amount, charge_id: chargeId });
  }
  if (!continued) {
    // 2. Binding: the service period starts when the app is bound; unbound, the payment goes back.
    await condition(() => state.app !== null || cancelRequest !== undefined, timings.bindingTimeoutMs);
    bindingOpen = false;
    if (state.app === null) {
      const total = new Dec(input.amount);
      if (cancelRequest) {
        await refund(total, prepayKeys.cancelRefund(id, cycle), cancelRequest.reason, new Dec(paidUsd));
        return finish('canceled');
      }
      await refund(total, prepayKeys.bindingTimeoutRefund(id, cycle), 'no app was bound in time', new Dec(paidUsd));
      return finish('refunded');
    }
    anchor = new Date(state.boundAt!);
    await publish('active');
    activated = true;
    await event('prepay.activated', 'activated', { app_id: state.app.appId, period_start: anchor.toISOString(), period_end: periodEnd()!.toISOString() });
  } else {
    await publish('active');
  }

  // 3. Service period: a durable timer per calendar month; each month's share becomes revenue at its end.
  const shares = monthlyShares(new Dec(input.amount), input.period, shareDecimals);
  const recognise = (month: number) =>
    steps.recognisePrepayMonth({ prePayId: id, tenantId: input.tenantId, cycle, month, amount: shares[month - 1]!.toFixed(), ...(token ? { currency: token } : {}) });
  const end = periodEnd()!.getTime();
  const noticeAt = end - timings.renewalNoticeMs;
  let noticeSent = resumed?.noticeSent ?? false;
  // Decided once, before the wait: a run recorded before this change (patched() false on its replay) waits
  // exactly as it did, whatever the server suggested in its history.
  const mayResumeMidCycle = patched('continue-as-new-mid-cycle');
  const longHistory = () => mayResumeMidCycle && workflowInfo().continueAsNewSuggested;
  for (let month = state.monthsRecognized + 1; month <= input.period; month += 1) {
    const due = boundary(month).getTime();
    for (;;) {
      const wakeAt = !noticeSent && noticeAt < due ? noticeAt : due;
      if (wakeAt > Date.now() && !cancelRequest) await condition(() => cancelRequest !== undefined || longHistory(), wakeAt - Date.now());
      if (cancelRequest) return cancelDuringService(cancelRequest.reason);
      // Many updates and signals grew the history: the same cycle goes on in a new run (histories recorded before never get here).
      if (longHistory() && Date.now() < wakeAt) return resumeInNewRun(noticeSent);
      if (!noticeSent && Date.now() >= noticeAt) {
        noticeSent = true;
        await event('prepay.renewal_upcoming', 'renewal-upcoming', { auto_renewal: state.autoRenewal, period_end: new Date(end).toISOString() });
      }
      if (Date.now() >= due) break;
    }
    await recognise(month);
    state.monthsRecognized = month;
  }

  // 4. Renewal.
  if (!state.autoRenewal) return finish('completed');
  return token ? renewWithTokens(token) : renew();

  /** The first payment of a token prepay; answers the prepay's result when it ended unpaid, undefined when paid. */
  async function payByTransfers(currency: TokenCurrency): Promise<PrepayResult | undefined> {
    const terms = input.tokenPayment;
    if (!terms) throw refusal('prepayInvalidRequest', `Token prepay ${id} started without its payment terms.`);
    const amount = new Dec(input.amount);
    const outcome = await awaitTokenPayment({
      prePayId: id,
      tenantId: input.tenantId,
      token: currency,
      amount,
      usd: new Dec(paidUsd),
      deadline: new Date(terms.deadline).getTime(),
      confirmationGraceMs: timings.tokenConfirmationGraceMs,
      inbox,
      canceled: () => cancelRequest !== undefined,
    });
    const received = outcome.received.toFixed();
    if (outcome.status === 'unpaid') {
      payment = { status: 'unpaid', prePayId: id, reason: outcome.reason };
      // Canceled before it was paid: nothing was booked, what arrived stays on the team's balance.
      if (outcome.reason === 'canceled') return finish('canceled');
      state.failureCode = outcome.reason;
      // What arrived is on the team's balance already (each transfer was credited when it came).
      await event('prepay.expired', 'expired', { reason: outcome.reason, token: currency, amount: input.amount, received, credited: received, deadline: terms.deadline });
      return finish('expired');
    }
    await publish('awaiting_binding');
    payment = { status: 'paid', prePayId: id, chargeId: outcome.ledgerTransactionId };
    await event('prepay.paid', 'paid', { usd: paidUsd, token: currency, amount: input.amount, received, excess_credited: outcome.excess.toFixed(), transfers: inbox.countedTransfers() });
    return undefined;
  }

  /** Stop now: the months that started are earned, the whole months after them go back to the card. */
  async function cancelDuringService(reason: string): Promise<PrepayResult> {
    const used = monthsStarted(anchor!, monthOffset, input.period, new Date());
    for (let month = state.monthsRecognized + 1; month <= used; month += 1) {
      await recognise(month);
      state.monthsRecognized = month;
    }
    const unused = cancellationSplit(new Dec(input.amount), input.period, used, shareDecimals).refund;
    await refund(unused, prepayKeys.cancelRefund(id, cycle), reason, token ? cancellationSplit(new Dec(paidUsd), input.period, used).refund : unused);
    return finish('canceled');
  }

  /** A token prepay's renewal from the team's token balance (./prepay-tokens.ts). */
  async function renewWithTokens(currency: TokenCurrency): Promise<PrepayResult> {
    await publish('renewing');
    const usd = await priceOfRenewal();
    if (usd === null) return finish('expired');
    state.renewal = { amount: usd, attempt: 0, attempts: 0, nextAttemptAt: null, lastDeclineCode: null, tokenAmount: null, graceEndsAt: null };
    const outcome = await renewFromTokenBalance({
      prePayId: id,
      tenantId: input.tenantId,
      token: currency,
      nextCycle: cycle + 1,
      usd,
      end,
      timings,
      inbox,
      renewal: state.renewal,
      canceled: () => cancelRequest !== undefined,
      autoRenewal: () => state.autoRenewal,
      setCharging: (value) => {
        charging = value;
      },
      failed: async (code) => {
        state.failureCode = code;
        await publish('past_due');
      },
    });
    if (outcome.status === 'canceled' || outcome.status === 'completed') return finish(outcome.status);
    if (outcome.status === 'expired') {
      state.failureCode = outcome.code;
      await event('prepay.expired', 'expired', { reason: `the team's ${currency} balance did not pay the renewal within the grace period`, code: outcome.code, usd, token: currency });
      return finish('expired');
    }
    await event('prepay.renewed', 'renewed', { usd, token: currency, amount: outcome.amount, rate: outcome.rate, attempt: state.renewal.attempt }, cycle + 1);
    return nextCycle(outcome.amount, outcome.ledgerTransactionId, usd);
  }

  /** The bound app's USD price for the next cycle, or null (recorded as `expired`) when it can no longer be priced. */
  async function priceOfRenewal(): Promise<string | null> {
    try {
      return (await steps.priceRenewal({ app: state.app!, period: input.period })).usd;
    } catch (error) {
      const failure = activityFailure(error);
      if (!failure) throw error;
      state.failureCode = 'renewal_unpriceable';
      await event('prepay.expired', 'expired', { reason: failure.message });
      return null;
    }
  }

  async function renew(): Promise<PrepayResult> {
    await publish('renewing');
    let amount: string;
    try {
      ({ usd: amount } = await steps.priceRenewal({ app: state.app!, period: input.period }));
    } catch (error) {
      const failure = activityFailure(error);
      if (!failure) throw error;
      state.failureCode = 'renewal_unpriceable';
      await event('prepay.expired', 'expired', { reason: failure.message });
      return finish('expired');
    }
    const offsets = timings.renewalAttemptOffsetsMs;
    state.renewal = { amount, attempt: 0, attempts: offsets.length, nextAttemptAt: null, lastDeclineCode: null };
    for (let attempt = 1; attempt <= offsets.length; attempt += 1) {
      const at = end + offsets[attempt - 1]!;
      state.renewal.nextAttemptAt = new Date(at).toISOString();
      if (at > Date.now()) await condition(() => cancelRequest !== undefined || !state.autoRenewal, at - Date.now());
      // The ended cycle was fully served: a cancel or a switched-off renewal leaves nothing to refund.
      if (cancelRequest) return finish('canceled');
      if (!state.autoRenewal) return finish('completed');
      state.renewal.attempt = attempt;
      state.renewal.nextAttemptAt = null;
      charging = true;
      try {
        const { chargeId } = await gateway.chargeCard({
          idempotencyKey: prepayKeys.charge(id, cycle + 1, attempt),
          tenantId: input.tenantId,
          cardId: state.cardId!,
          amount,
          offSession: true,
          description: `Prepayment ${id}: renewal for ${input.period} months`,
        });
        // Paid: the next cycle begins where this one ended; `charging` stays set so that no cancel slips in.
        await steps.bookPrepayPayment({ prePayId: id, tenantId: input.tenantId, cycle: cycle + 1, amount, cardId: state.cardId!, chargeId, paidAt: new Date().toISOString() });
        await event('prepay.renewed', 'renewed', { usd: amount, charge_id: chargeId, attempt }, cycle + 1);
        return nextCycle(amount, chargeId);
      } catch (error) {
        const declined = declineOf(error);
        if (!declined) throw error;
        charging = false;
        state.failureCode = declined.declineCode;
        state.renewal.lastDeclineCode = declined.declineCode;
        await publish('past_due');
      }
    }
    await event('prepay.expired', 'expired', { reason: 'every renewal attempt was declined', decline_code: state.failureCode });
    return finish('expired');
  }

  /** The same cycle in a fresh run, where this one is: months earned, notice sent, refunds, the first payment's view. */
  async function resumeInNewRun(renewalNoticeSent: boolean): Promise<never> {
    await condition(allHandlersFinished);
    const resume = {
      monthsRecognized: state.monthsRecognized,
      noticeSent: renewalNoticeSent,
      refundedUsd: state.refunded.toFixed(),
      refundedAmount: state.refundedAmount.toFixed(),
      firstTokenPayment: firstTokenPayment(),
    };
    const chargeId = payment?.status === 'paid' ? payment.chargeId : '';
    return continueAsNew<typeof prepayWorkflow>({
      ...input,
      cardId: state.cardId,
      autoRenewal: state.autoRenewal,
      continued: { cycle, anchor: anchor!.toISOString(), monthOffset, app: state.app!, boundAt: state.boundAt!, chargeId, syncSeq, resume },
    });
  }

  /** `chargeId`: the gateway charge of a card renewal, the ledger transaction of a token renewal; `usd` for tokens. */
  async function nextCycle(amount: string, chargeId: string, usd?: string): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof prepayWorkflow>({
      ...input,
      amount,
      ...(token ? { usd, tokenPayment: undefined } : {}),
      cardId: state.cardId,
      autoRenewal: state.autoRenewal,
      continued: { cycle: cycle + 1, anchor: anchor!.toISOString(), monthOffset: monthOffset + input.period, app: state.app!, boundAt: state.boundAt!, chargeId, syncSeq },
    });
  }
}
