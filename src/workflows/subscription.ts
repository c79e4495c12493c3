/**
 * SubscriptionWorkflow (`subscription-{namespace}-{plan_id}`): a plan paid from the balance, one period per
 * run. The checkout request paid period 1; each run sleeps to its period's end, charges the next period
 * (key `subscription-{id}-period-{n}`) and continues as new. A short balance puts it in `arrears`; a
 * recharge's `retryCharge` signal (or a daily retry) charges again at once; unpaid for 7 days it is
 * `suspended`, unpaid for 30 more it is `canceled`. Cancel (an update) ends a paid subscription at its
 * period's end and an unpaid one at once.
 *
 * This file is the lifecycle, in order. The run's state is ./subscription-run.ts, what the workflow
 * answers meanwhile is ./subscription-handlers.ts.
 */
import { condition, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { ARREARS_GRACE_DAYS, SUSPENSION_DAYS, UNPAID_RETRY_HOURS } from '../domain/subscriptions.ts';
import { timerSummary } from '../domain/workflow-summaries.ts';
import type { SubscriptionInput, SubscriptionResult } from './subscription-messages.ts';
import { registerSubscriptionHandlers } from './subscription-handlers.ts';
import { SubscriptionRun } from './subscription-run.ts';

export async function subscriptionWorkflow(input: SubscriptionInput): Promise<SubscriptionResult> {
  const run = new SubscriptionRun(input);
  registerSubscriptionHandlers(run);
  run.publishStatus();

  if (run.paid) {
    const end = run.periodEnd();
    const periodEnds = { summary: timerSummary.subscriptionPeriodEnds(run.period, input.price, run.cancelAtPeriodEnd) };
    // Asleep to the period's end; signals and updates meanwhile are history, so a long one continues as new
    // in the same paid period when the server suggests it (histories recorded before never get here).
    // Decided before the wait: a run recorded before this change sleeps exactly as it did.
    if (patched('continue-as-new-mid-period')) {
      if (end > Date.now()) await condition(() => workflowInfo().continueAsNewSuggested, end - Date.now(), periodEnds);
      if (Date.now() < end && workflowInfo().continueAsNewSuggested) return run.nextRun();
    } else if (end > Date.now()) {
      await sleep(end - Date.now(), periodEnds);
    }
    if (run.cancelAtPeriodEnd) return run.finish('canceled_by_customer');
    if (await run.tryCharge(run.period + 1)) return run.nextRun();
    // Asked to cancel while the renewal was being charged, and the renewal failed: nothing more to serve.
    if (run.cancelAtPeriodEnd) return run.finish('canceled_by_customer');
    run.period += 1;
    run.paid = false;
    run.arrearsSince = new Date();
    run.publishStatus();
    await run.setStatus({ status: 'arrears', at: run.arrearsSince.toISOString(), period: run.periodRef() });
    await run.event('subscription.arrears', 'arrears', { amount: input.price, grace_days: ARREARS_GRACE_DAYS });
  }

  // Unpaid: wait for money (a recharge's signal, or the daily retry) until the deadline.
  for (;;) {
    const until = run.deadline()!.getTime();
    if (Date.now() < until) {
      const retryMs = UNPAID_RETRY_HOURS * 3600 * 1000;
      const wait = { summary: timerSummary.unpaidWait(run.suspendedAt !== null, until - Date.now() <= retryMs, retryMs) };
      const woke = await condition(() => run.retryRequested || run.cancelNow, Math.min(until - Date.now(), retryMs), wait);
      if (run.cancelNow) return run.finish('canceled_by_customer');
      run.retryRequested = false;
      if (woke || Date.now() < until) {
        if (await run.tryCharge(run.period)) return run.nextRun();
        // Many signals make a long history: start afresh (not while a cancel waits for this run).
        if (!run.cancelNow && workflowInfo().continueAsNewSuggested) return run.nextRun();
        continue;
      }
    }
    if (run.suspendedAt) return run.finish('unpaid');
    run.suspendedAt = new Date();
    run.publishStatus();
    await run.setStatus({ status: 'suspended', at: run.suspendedAt.toISOString() });
    await run.event('subscription.suspended', 'suspended', { cancel_after_days: SUSPENSION_DAYS });
  }
}
