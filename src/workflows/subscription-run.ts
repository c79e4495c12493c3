/**
 * One run of SubscriptionWorkflow: the subscription's state in this run and what is made of it. Its
 * status, the query's view, the status search attribute, its events, the charge of a period, and the
 * ways a run ends: canceled, or continued as new into the next run. The lifecycle itself is in
 * subscription.ts.
 */
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChargePeriodResult, PeriodRef } from '../activities/subscriptions.ts';
import { periodContaining, periodWindow } from '../domain/billing-periods.ts';
import { ARREARS_GRACE_DAYS, DAY_MS, SUSPENSION_DAYS, subscriptionEventKey, type SubscriptionStatus } from '../domain/subscriptions.ts';
import { activitySummary, currentDetails } from '../domain/workflow-summaries.ts';
import { failedWith, failureTypes } from './failures.ts';
import { SUBSCRIPTION_SEARCH_ATTRIBUTES, type SubscriptionInput, type SubscriptionResult, type SubscriptionView } from './subscription-messages.ts';

const charges = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('insufficientBalance', 'subscriptionGone') },
});
const records = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** The workflow's signature, for continue-as-new (the workflow type stays the current one). */
type SubscriptionWorkflow = (input: SubscriptionInput) => Promise<SubscriptionResult>;

type SubscriptionEventType = 'subscription.arrears' | 'subscription.suspended' | 'subscription.canceled' | 'balance.low';

/** A status change of the read model (`setSubscriptionStatus` without the subscription's id). */
type StatusChange = Omit<Parameters<Activities['setSubscriptionStatus']>[0], 'subscriptionId'>;

export class SubscriptionRun {
  readonly input: SubscriptionInput;
  readonly anchor: Date;
  period: number;
  paid: boolean;
  cancelAtPeriodEnd: boolean;
  arrearsSince: Date | null;
  suspendedAt: Date | null;
  canceled = false;
  /** a recharge's `retryCharge` signal arrived: an unpaid run charges again at once */
  retryRequested = false;
  /** an unpaid subscription's cancel waits for the main loop to end the run */
  cancelNow = false;

  constructor(input: SubscriptionInput) {
    this.input = input;
    this.anchor = new Date(input.anchor);
    this.period = input.period;
    this.paid = input.status === 'active' || input.status === 'canceling';
    this.cancelAtPeriodEnd = input.status === 'canceling';
    // An unpaid run always knows when the arrears began (the row keeps it); the start of this run otherwise.
    this.arrearsSince = input.arrearsSince ? new Date(input.arrearsSince) : input.status === 'arrears' || input.status === 'suspended' ? new Date() : null;
    this.suspendedAt = input.suspendedAt ? new Date(input.suspendedAt) : null;
  }

  status(): SubscriptionStatus {
    if (this.canceled) return 'canceled';
    if (this.paid) return this.cancelAtPeriodEnd ? 'canceling' : 'active';
    return this.suspendedAt ? 'suspended' : 'arrears';
  }

  periodRef(period = this.period): PeriodRef {
    const window = periodWindow(this.anchor, this.input.billPeriod, period);
    return { period, start: window.start.toISOString(), end: window.end.toISOString() };
  }

  /** The end of the current period, epoch ms. */
  periodEnd(): number {
    return periodWindow(this.anchor, this.input.billPeriod, this.period).end.getTime();
  }

  /** When an unpaid subscription moves on: suspended after the grace period, canceled after the suspension. */
  deadline(): Date | null {
    if (this.paid || this.canceled) return null;
    if (this.suspendedAt) return new Date(this.suspendedAt.getTime() + SUSPENSION_DAYS * DAY_MS);
    return this.arrearsSince ? new Date(this.arrearsSince.getTime() + ARREARS_GRACE_DAYS * DAY_MS) : null;
  }

  /** The status query's answer, and the cancel update's. */
  view(): SubscriptionView {
    const ref = this.periodRef();
    return {
      subscriptionId: this.input.subscriptionId,
      status: this.status(),
      period: this.period,
      periodStart: ref.start,
      periodEnd: ref.end,
      arrearsSince: this.arrearsSince?.toISOString() ?? null,
      suspendedAt: this.suspendedAt?.toISOString() ?? null,
      nextDeadline: this.deadline()?.toISOString() ?? null,
    };
  }

  /**
   * Keeps the SubscriptionStatus search attribute equal to the status (one history event per change), and
   * the Temporal UI's current details (a query answers them; a continued run has no static summary).
   */
  publishStatus(): void {
    const current = this.status();
    if (workflowInfo().typedSearchAttributes.get(SUBSCRIPTION_SEARCH_ATTRIBUTES.status) !== current) {
      upsertSearchAttributes([{ key: SUBSCRIPTION_SEARCH_ATTRIBUTES.status, value: current }]);
    }
    const view = this.view();
    setCurrentDetails(currentDetails.subscription({ ...this.input, ...view, period: this.period, status: current }));
  }

  /** Records one of the subscription's events, once per period and step. */
  event(type: SubscriptionEventType, what: string, data: Record<string, unknown> = {}) {
    const { input } = this;
    return records.recordEvent.executeWithOptions({ summary: activitySummary.recordEvent(type) }, [
      {
        key: subscriptionEventKey(input.subscriptionId, this.period, what),
        tenantId: input.tenantId,
        type,
        data: { subscription_id: input.subscriptionId, plan_id: input.planId, period: this.period, status: this.status(), ...data },
      },
    ]);
  }

  /** Writes a status change to the read model. */
  setStatus(change: StatusChange) {
    return records.setSubscriptionStatus.executeWithOptions({ summary: activitySummary.setSubscriptionStatus(change.status) }, [
      { subscriptionId: this.input.subscriptionId, ...change },
    ]);
  }

  /** Charges `period` (or, when it ended unpaid, the period running now); true when paid. */
  async tryCharge(period: number): Promise<boolean> {
    const { input, anchor } = this;
    const now = new Date();
    const due = now >= periodWindow(anchor, input.billPeriod, period).end ? periodContaining(anchor, input.billPeriod, now) : period;
    let result: ChargePeriodResult;
    try {
      const summary = activitySummary.chargeSubscriptionPeriod(input.price, due);
      result = await charges.chargeSubscriptionPeriod.executeWithOptions({ summary }, [{ subscriptionId: input.subscriptionId, ...this.periodRef(due) }]);
    } catch (error) {
      if (failedWith(error, 'insufficientBalance')) return false;
      throw error;
    }
    this.period = due;
    this.paid = true;
    this.arrearsSince = null;
    this.suspendedAt = null;
    this.cancelNow = false;
    this.publishStatus();
    if (this.cancelAtPeriodEnd) await this.setStatus({ status: 'canceling', at: now.toISOString() });
    if (result.balanceLow) await this.event('balance.low', 'balance-low', { balance: result.balance, trans_id: result.transId });
    return true;
  }

  /** The run's end: the subscription is canceled, and the handlers still running answer before the result. */
  async finish(reason: SubscriptionResult['reason']): Promise<SubscriptionResult> {
    this.canceled = true;
    this.publishStatus();
    await this.setStatus({ status: 'canceled', at: new Date().toISOString() });
    await this.event('subscription.canceled', 'canceled', { reason });
    await condition(allHandlersFinished);
    return { status: 'canceled', reason, period: this.period };
  }

  /** The next run, in the period and status this one reached. */
  async nextRun(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<SubscriptionWorkflow>({
      ...this.input,
      period: this.period,
      status: this.status() as SubscriptionInput['status'],
      arrearsSince: this.arrearsSince?.toISOString(),
      suspendedAt: this.suspendedAt?.toISOString(),
    });
  }
}
