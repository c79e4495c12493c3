/**
 * SubscriptionWorkflow (`subscription-{namespace}-{plan_id}`): a plan paid from the balance, one period per
 * run. The checkout request paid period 1; each run sleeps to its period's end, charges the next period
 * (key `subscription-{id}-period-{n}`) and continues as new. A short balance puts it in `arrears`; a
 * recharge's `retryCharge` signal (or a daily retry) charges again at once; unpaid for 7 days it is
 * `suspended`, unpaid for 30 more it is `canceled`. Cancel (an update) ends a paid subscription at its
 * period's end and an unpaid one at once.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChargePeriodResult, PeriodRef } from '../activities/subscriptions.ts';
import { periodContaining, periodWindow } from '../domain/billing-periods.ts';
import { ARREARS_GRACE_DAYS, DAY_MS, SUSPENSION_DAYS, UNPAID_RETRY_HOURS, subscriptionEventKey, type SubscriptionStatus } from '../domain/subscriptions.ts';
import {
  cancelSubscriptionUpdate,
  retryChargeSignal,
  SUBSCRIPTION_SEARCH_ATTRIBUTES,
  subscriptionStatusQuery,
  type SubscriptionInput,
  type SubscriptionResult,
  type SubscriptionView,
} from './subscription-messages.ts';
import { failedWith, failureTypes } from './failures.ts';

const charges = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('insufficientBalance', 'subscriptionGone') },
});
const records = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function subscriptionWorkflow(input: SubscriptionInput): Promise<SubscriptionResult> {
  const anchor = new Date(input.anchor);
  const state = {
    period: input.period,
    paid: input.status === 'active' || input.status === 'canceling',
    cancelAtPeriodEnd: input.status === 'canceling',
    // An unpaid run always knows when the arrears began (the row keeps it); the start of this run otherwise.
    arrearsSince: input.arrearsSince ? new Date(input.arrearsSince) : input.status === 'arrears' || input.status === 'suspended' ? new Date() : null,
    suspendedAt: input.suspendedAt ? new Date(input.suspendedAt) : null,
    canceled: false,
  };
  let retryRequested = false;
  let cancelNow = false;

  const status = (): SubscriptionStatus => {
    if (state.canceled) return 'canceled';
    if (state.paid) return state.cancelAtPeriodEnd ? 'canceling' : 'active';
    return state.suspendedAt ? 'suspended' : 'arrears';
  };
  const periodRef = (period = state.period): PeriodRef => {
    const window = periodWindow(anchor, input.billPeriod, period);
    return { period, start: window.start.toISOString(), end: window.end.toISOString() };
  };
  /** When an unpaid subscription moves on: suspended after the grace period, canceled after the suspension. */
  const deadline = (): Date | null => {
    if (state.paid || state.canceled) return null;
    if (state.suspendedAt) return new Date(state.suspendedAt.getTime() + SUSPENSION_DAYS * DAY_MS);
    return state.arrearsSince ? new Date(state.arrearsSince.getTime() + ARREARS_GRACE_DAYS * DAY_MS) : null;
  };
  const view = (): SubscriptionView => {
    const ref = periodRef();
    return {
      subscriptionId: input.subscriptionId,
      status: status(),
      period: state.period,
      periodStart: ref.start,
      periodEnd: ref.end,
      arrearsSince: state.arrearsSince?.toISOString() ?? null,
      suspendedAt: state.suspendedAt?.toISOString() ?? null,
      nextDeadline: deadline()?.toISOString() ?? null,
    };
  };
  /** Keeps the SubscriptionStatus search attribute equal to the status (one history event per change). */
  const publishStatus = () => {
    const current = status();
    if (workflowInfo().typedSearchAttributes.get(SUBSCRIPTION_SEARCH_ATTRIBUTES.status) !== current) {
      upsertSearchAttributes([{ key: SUBSCRIPTION_SEARCH_ATTRIBUTES.status, value: current }]);
    }
  };
  const event = (type: 'subscription.arrears' | 'subscription.suspended' | 'subscription.canceled' | 'balance.low', what: string, data: Record<string, unknown> = {}) =>
    records.recordEvent({
      key: subscriptionEventKey(input.subscriptionId, state.period, what),
      tenantId: input.tenantId,
      type,
      data: { subscription_id: input.subscriptionId, plan_id: input.planId, period: state.period, status: status(), ...data },
    });

  setHandler(retryChargeSignal, () => {
    retryRequested = true;
  });
  setHandler(subscriptionStatusQuery, view);
  setHandler(
    cancelSubscriptionUpdate,
    async () => {
      if (!state.paid && !state.canceled) {
        cancelNow = true;
        // Either the main loop cancels now, or a charge that was already running went through first.
        await condition(() => state.canceled || state.paid);
      }
      if (!state.canceled && !state.cancelAtPeriodEnd) {
        state.cancelAtPeriodEnd = true;
        publishStatus();
        await records.setSubscriptionStatus({ subscriptionId: input.subscriptionId, status: 'canceling', at: new Date().toISOString() });
      }
      return view();
    },
    {
      validator: () => {
        if (state.canceled) throw new Error('The subscription is already canceled.');
      },
    },
  );

  /** Charges `period` (or, when it ended unpaid, the period running now); true when paid. */
  const tryCharge = async (period: number): Promise<boolean> => {
    const now = new Date();
    const due = now >= periodWindow(anchor, input.billPeriod, period).end ? periodContaining(anchor, input.billPeriod, now) : period;
    let result: ChargePeriodResult;
    try {
      result = await charges.chargeSubscriptionPeriod({ subscriptionId: input.subscriptionId, ...periodRef(due) });
    } catch (error) {
      if (failedWith(error, 'insufficientBalance')) return false;
      throw error;
    }
    Object.assign(state, { period: due, paid: true, arrearsSince: null, suspendedAt: null });
    cancelNow = false;
    publishStatus();
    if (state.cancelAtPeriodEnd) await records.setSubscriptionStatus({ subscriptionId: input.subscriptionId, status: 'canceling', at: now.toISOString() });
    if (result.balanceLow) await event('balance.low', 'balance-low', { balance: result.balance, trans_id: result.transId });
    return true;
  };

  const finish = async (reason: SubscriptionResult['reason']): Promise<SubscriptionResult> => {
    state.canceled = true;
    publishStatus();
    await records.setSubscriptionStatus({ subscriptionId: input.subscriptionId, status: 'canceled', at: new Date().toISOString() });
    await event('subscription.canceled', 'canceled', { reason });
    await condition(allHandlersFinished);
    return { status: 'canceled', reason, period: state.period };
  };

  const nextRun = async (): Promise<never> => {
    await condition(allHandlersFinished);
    return continueAsNew<typeof subscriptionWorkflow>({
      ...input,
      period: state.period,
      status: status() as SubscriptionInput['status'],
      arrearsSince: state.arrearsSince?.toISOString(),
      suspendedAt: state.suspendedAt?.toISOString(),
    });
  };

  publishStatus();

  if (state.paid) {
    const end = periodWindow(anchor, input.billPeriod, state.period).end.getTime();
    // Asleep to the period's end; signals and updates meanwhile are history, so a long one continues as new
    // in the same paid period when the server suggests it (histories recorded before never get here).
    // Decided before the wait: a run recorded before this change sleeps exactly as it did.
    if (patched('continue-as-new-mid-period')) {
      if (end > Date.now()) await condition(() => workflowInfo().continueAsNewSuggested, end - Date.now());
      if (Date.now() < end && workflowInfo().continueAsNewSuggested) return nextRun();
    } else if (end > Date.now()) {
      await sleep(end - Date.now());
    }
    if (state.cancelAtPeriodEnd) return finish('canceled_by_customer');
    if (await tryCharge(state.period + 1)) return nextRun();
    // Asked to cancel while the renewal was being charged, and the renewal failed: nothing more to serve.
    if (state.cancelAtPeriodEnd) return finish('canceled_by_customer');
    Object.assign(state, { period: state.period + 1, paid: false, arrearsSince: new Date() });
    publishStatus();
    await records.setSubscriptionStatus({ subscriptionId: input.subscriptionId, status: 'arrears', at: state.arrearsSince!.toISOString(), period: periodRef() });
    await event('subscription.arrears', 'arrears', { amount: input.price, grace_days: ARREARS_GRACE_DAYS });
  }

  // Unpaid: wait for money (a recharge's signal, or the daily retry) until the deadline.
  for (;;) {
    const until = deadline()!.getTime();
    if (Date.now() < until) {
      const woke = await condition(() => retryRequested || cancelNow, Math.min(until - Date.now(), UNPAID_RETRY_HOURS * 3600 * 1000));
      if (cancelNow) return finish('canceled_by_customer');
      retryRequested = false;
      if (woke || Date.now() < until) {
        if (await tryCharge(state.period)) return nextRun();
        // Many signals make a long history: start afresh (not while a cancel waits for this run).
        if (!cancelNow && workflowInfo().continueAsNewSuggested) return nextRun();
        continue;
      }
    }
    if (state.suspendedAt) return finish('unpaid');
    state.suspendedAt = new Date();
    publishStatus();
    await records.setSubscriptionStatus({ subscriptionId: input.subscriptionId, status: 'suspended', at: state.suspendedAt.toISOString() });
    await event('subscription.suspended', 'suspended', { cancel_after_days: SUSPENSION_DAYS });
  }
}
