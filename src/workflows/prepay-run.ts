/**
 * One run of PrepayWorkflow: the prepay's state in this run and what is made of it. The status query's
 * view, the read model and search attributes (publish), the prepay's events and refunds, and the ways a
 * run ends: finished, or continued as new into the same cycle or the next one. The lifecycle itself is
 * in prepay.ts; every step of it reads and changes this one object.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { allHandlersFinished, condition, continueAsNew, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { EventType, RecordEventInput } from '../activities/events.ts';
import { monthBoundary } from '../domain/calendar.ts';
import { CURRENCY_DECIMALS, Dec, type TokenCurrency } from '../domain/money.ts';
import { DEFAULT_PREPAY_TIMINGS, prepayKeys, type AppBinding, type PrepaySnapshot, type PrepayStatus, type PrepayTimings } from '../domain/prepay.ts';
import { activitySummary, currentDetails } from '../domain/workflow-summaries.ts';
import { activityFailure } from './failures.ts';
import { steps } from './prepay-activities.ts';
import {
  prepaySearchAttributes,
  type ContinuedCycle,
  type PaymentOutcome,
  type PrepayInput,
  type PrepayResult,
  type PrepayView,
  type RenewalView,
  type ResumedCycle,
  type TokenPaymentView,
} from './prepay-messages.ts';
import { createTransferInbox, type TransferInbox } from './prepay-transfer-inbox.ts';

/** The workflow's signature, for continue-as-new (the workflow type stays the current one). */
type PrepayWorkflow = (input: PrepayInput) => Promise<PrepayResult>;

export class PrepayRun {
  readonly input: PrepayInput;
  readonly id: number;
  readonly timings: PrepayTimings;
  /** set by continue-as-new: this run's cycle is paid and bound already */
  readonly continued: ContinuedCycle | undefined;
  /** set when the last run continued as new in the middle of this cycle */
  readonly resumed: ResumedCycle | undefined;
  readonly cycle: number;
  /** months of the earlier cycles: this cycle's boundaries are counted on from them */
  readonly monthOffset: number;
  /** the prepay's token; null for a card prepay */
  readonly token: TokenCurrency | null;
  /** the cycle's USD value: what the binding may cost at most, and what refunds give back in USD terms */
  readonly paidUsd: string;
  /** months are earned to the currency's smallest unit: cents, or the token's on-chain decimals */
  readonly shareDecimals: number;
  readonly inbox: TransferInbox;

  status: PrepayStatus;
  cardId: string | null;
  autoRenewal: boolean;
  monthsRecognized: number;
  app: AppBinding | null;
  boundAt: string | null;
  failureCode: string | null = null;
  renewal: RenewalView | null = null;
  refunded: Dec;
  /** in the payment currency (equal to `refunded` for cards) */
  refundedAmount: Dec;
  /** the binding time; null until the app is bound */
  anchor: Date | null;
  syncSeq: number;
  payment: PaymentOutcome | undefined;
  cancelRequest: { reason: string } | undefined;
  /** the API requests whose cancel this run accepted (their retries are answered, not refused as closed) */
  readonly acceptedCancels = new Set<string>();
  /** a charge is at the gateway (or a renewal is paid and the next cycle about to start): no cancel now */
  charging = false;
  activated: boolean;
  closed = false;
  /**
   * Binding is possible until the binding deadline passes. It closes in the same activation in which the
   * deadline's timer fires, before the refund is scheduled, so no CallBackAppInfo is accepted for a
   * payment that is on its way back.
   */
  bindingOpen: boolean;

  constructor(input: PrepayInput) {
    const continued = input.continued;
    const resumed = continued?.resume;
    this.input = input;
    this.id = input.prePayId;
    this.timings = { ...DEFAULT_PREPAY_TIMINGS, renewalAttemptOffsetsMs: [...DEFAULT_PREPAY_TIMINGS.renewalAttemptOffsetsMs], ...input.timings };
    this.continued = continued;
    this.resumed = resumed;
    this.cycle = continued?.cycle ?? 1;
    this.monthOffset = continued?.monthOffset ?? 0;
    this.token = input.paymentType === 'USD' ? null : input.paymentType;
    this.paidUsd = input.usd ?? input.amount;
    this.shareDecimals = CURRENCY_DECIMALS[input.paymentType];

    this.status = continued ? 'active' : 'awaiting_payment';
    this.cardId = input.cardId;
    this.autoRenewal = input.autoRenewal;
    this.monthsRecognized = resumed?.monthsRecognized ?? 0;
    this.app = continued?.app ?? null;
    this.boundAt = continued?.boundAt ?? null;
    this.refunded = new Dec(resumed?.refundedUsd ?? 0);
    this.refundedAmount = new Dec(resumed?.refundedAmount ?? 0);
    this.anchor = continued ? new Date(continued.anchor) : null;
    this.syncSeq = continued?.syncSeq ?? 0;
    this.payment = continued ? { status: 'paid', prePayId: this.id, chargeId: continued.chargeId } : undefined;
    this.activated = continued !== undefined;
    this.bindingOpen = continued === undefined;
    this.inbox = createTransferInbox({
      prePayId: this.id,
      tenantId: input.tenantId,
      token: this.token,
      paymentOpen: this.token !== null && !continued && input.tokenPayment !== undefined,
      onCounted: () => this.publish(),
    });
  }

  /** The end of the cycle's `month`-th month (0: its start). */
  boundary(month: number): Date {
    return monthBoundary(this.anchor!, this.monthOffset + month);
  }

  periodEnd(): Date | null {
    return this.anchor ? this.boundary(this.input.period) : null;
  }

  /** a token prepay's first payment as it arrived (after a mid-cycle continue-as-new: as carried over) */
  firstTokenPayment(): TokenPaymentView | null {
    if (this.resumed) return this.resumed.firstTokenPayment;
    const { input } = this;
    if (!this.token || !input.tokenPayment || this.continued) return null;
    return { ...input.tokenPayment, amount: input.amount, received: this.inbox.counted().toFixed(), transfers: this.inbox.countedTransfers() };
  }

  /** What the read model (`syncPrepay`) keeps. */
  snapshot(): PrepaySnapshot {
    const { input } = this;
    return {
      prePayId: this.id,
      status: this.status,
      cycle: this.cycle,
      cardId: this.cardId,
      autoRenewal: this.autoRenewal,
      amount: input.amount,
      ...(this.token ? { usd: this.paidUsd } : {}),
      ...(this.firstTokenPayment() ? { received: this.firstTokenPayment()!.received } : {}),
      monthsRecognized: this.monthsRecognized,
      app: this.app,
      boundAt: this.boundAt,
      periodStart: this.anchor ? this.boundary(0).toISOString() : null,
      periodEnd: this.periodEnd()?.toISOString() ?? null,
      failureCode: this.failureCode,
    };
  }

  /** The status query's answer, and every update's. */
  view(): PrepayView {
    const { input } = this;
    return {
      ...this.snapshot(),
      tenantId: input.tenantId,
      paymentType: input.paymentType,
      period: input.period,
      nextBoundary: this.anchor && this.status === 'active' && this.monthsRecognized < input.period ? this.boundary(this.monthsRecognized + 1).toISOString() : null,
      renewal: this.renewal,
      refundedUsd: this.refunded.toFixed(),
      refundedAmount: this.refundedAmount.toFixed(),
      usd: this.paidUsd,
      tokenPayment: this.firstTokenPayment(),
    };
  }

  /** The search attributes operators find the prepay by, set once at the start of each run. */
  tagSearchAttributes(): void {
    upsertSearchAttributes([
      { key: prepaySearchAttributes.teamId, value: this.input.tenantId },
      { key: prepaySearchAttributes.prePayId, value: this.id },
      { key: prepaySearchAttributes.paymentType, value: this.input.paymentType },
      { key: prepaySearchAttributes.status, value: this.status },
    ]);
    this.showDetails();
  }

  /**
   * The Temporal UI's current details of this run (decision 0101): a query answers them, nothing is
   * recorded in the history. A continued run has no static summary, so its first line is the summary.
   */
  showDetails(): void {
    const { input } = this;
    setCurrentDetails(
      currentDetails.prepay({
        ...input,
        cardId: this.cardId,
        autoRenewal: this.autoRenewal,
        usd: this.paidUsd,
        cycle: this.cycle,
        status: this.status,
        monthsRecognized: this.monthsRecognized,
        periodEnd: this.periodEnd()?.toISOString() ?? null,
      }),
    );
  }

  /** Keeps the search attributes, the read model and the current details current with the state. */
  async publish(status?: PrepayStatus, then?: RecordEventInput): Promise<void> {
    if (status) this.status = status;
    this.showDetails();
    const end = this.periodEnd();
    const updates: SearchAttributeUpdatePair[] = [{ key: prepaySearchAttributes.status, value: this.status }];
    if (end) updates.push({ key: prepaySearchAttributes.periodEnd, value: end });
    upsertSearchAttributes(updates);
    this.syncSeq += 1;
    await steps.syncPrepay.executeWithOptions({ summary: activitySummary.syncPrepay(this.status, this.syncSeq, then?.type) }, [
      { snapshot: this.snapshot(), seq: this.syncSeq, ...(then ? { then } : {}) },
    ]);
  }

  /** Records one of the prepay's events, once per cycle and step. */
  event(type: EventType, step: string, data: Record<string, unknown> = {}, eventCycle = this.cycle) {
    return steps.recordEvent.executeWithOptions({ summary: activitySummary.recordEvent(type) }, [this.eventInput(type, step, data, eventCycle)]);
  }

  /** What `event` records: for `publish` to record it with the read model's write, in the same activity. */
  eventInput(type: EventType, step: string, data: Record<string, unknown> = {}, eventCycle = this.cycle): RecordEventInput {
    return { key: prepayKeys.event(this.id, eventCycle, step), tenantId: this.input.tenantId, type, data: { pre_pay_id: this.id, cycle: eventCycle, ...data } };
  }

  /** The run's end: the final status is published, and the handlers still running answer before the result. */
  async finish(status: PrepayStatus): Promise<PrepayResult> {
    await this.publish(status);
    this.closed = true;
    await condition(allHandlersFinished);
    return { prePayId: this.id, status, cycle: this.cycle, refundedUsd: this.refunded.toFixed() };
  }

  /** Gives `amount` (payment currency; `usd` its USD value) back: to the card, or to the team's token balance. */
  async refund(amount: Dec, idempotencyKey: string, reason: string, usd: Dec = amount): Promise<void> {
    if (amount.lte(0)) return;
    const { id, cycle, token } = this;
    const tenantId = this.input.tenantId;
    const step = idempotencyKey === prepayKeys.cancelRefund(id, cycle) ? 'cancel-refunded' : 'refunded';
    const summary = activitySummary.refundPrepay(this.input.paymentType, amount.toFixed(), token !== null, reason);
    if (token) {
      const refundedAt = new Date().toISOString();
      await steps.returnTokenPrepay.executeWithOptions({ summary }, [
        { prePayId: id, tenantId, cycle, amount: amount.toFixed(), usd: usd.toFixed(), idempotencyKey, reason, refundedAt },
      ]);
    } else {
      await steps.refundPrepayCycle.executeWithOptions({ summary }, [
        { prePayId: id, tenantId, cycle, amount: amount.toFixed(), idempotencyKey, reason, refundedAt: new Date().toISOString() },
      ]);
    }
    this.refunded = this.refunded.plus(usd);
    this.refundedAmount = this.refundedAmount.plus(amount);
    await this.event('prepay.refunded', step, token ? { usd: usd.toFixed(), token, amount: amount.toFixed(), to: 'balance', reason } : { usd: amount.toFixed(), reason });
  }

  /**
   * The bound app's USD price for the next cycle, or null when it can no longer be priced (the failure is
   * recorded as the prepay's expiry; the caller finishes the run as `expired`).
   */
  async priceOfRenewal(): Promise<string | null> {
    try {
      const summary = activitySummary.priceRenewal(this.app!.appId, this.input.period);
      return (await steps.priceRenewal.executeWithOptions({ summary }, [{ app: this.app!, period: this.input.period }])).usd;
    } catch (error) {
      const failure = activityFailure(error);
      if (!failure) throw error;
      this.failureCode = 'renewal_unpriceable';
      await this.event('prepay.expired', 'expired', { reason: failure.message });
      return null;
    }
  }

  /** The same cycle in a fresh run, where this one is: months earned, notice sent, refunds, the first payment's view. */
  async resumeInNewRun(renewalNoticeSent: boolean): Promise<never> {
    await condition(allHandlersFinished);
    const resume: ResumedCycle = {
      monthsRecognized: this.monthsRecognized,
      noticeSent: renewalNoticeSent,
      refundedUsd: this.refunded.toFixed(),
      refundedAmount: this.refundedAmount.toFixed(),
      firstTokenPayment: this.firstTokenPayment(),
    };
    const chargeId = this.payment?.status === 'paid' ? this.payment.chargeId : '';
    return continueAsNew<PrepayWorkflow>({
      ...this.input,
      cardId: this.cardId,
      autoRenewal: this.autoRenewal,
      continued: {
        cycle: this.cycle,
        anchor: this.anchor!.toISOString(),
        monthOffset: this.monthOffset,
        app: this.app!,
        boundAt: this.boundAt!,
        chargeId,
        syncSeq: this.syncSeq,
        resume,
      },
    });
  }

  /** `chargeId`: the gateway charge of a card renewal, the ledger transaction of a token renewal; `usd` for tokens. */
  async nextCycle(amount: string, chargeId: string, usd?: string): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<PrepayWorkflow>({
      ...this.input,
      amount,
      ...(this.token ? { usd, tokenPayment: undefined } : {}),
      cardId: this.cardId,
      autoRenewal: this.autoRenewal,
      continued: {
        cycle: this.cycle + 1,
        anchor: this.anchor!.toISOString(),
        monthOffset: this.monthOffset + this.input.period,
        app: this.app!,
        boundAt: this.boundAt!,
        chargeId,
        syncSeq: this.syncSeq,
      },
    });
  }
}
