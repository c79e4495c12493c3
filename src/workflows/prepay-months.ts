/**
 * The service period of a PrepayWorkflow cycle: a durable timer per calendar month, each month's share
 * recognised as revenue at its end, the renewal notice before the period ends, a cancel that stops the
 * months and refunds the unused ones, and a continue-as-new in the middle of the cycle when the history
 * grew long.
 */
import { condition, patched, workflowInfo } from '@temporalio/workflow';
import { monthsStarted } from '../domain/calendar.ts';
import { Dec } from '../domain/money.ts';
import { cancellationSplit, monthlyShares, prepayKeys } from '../domain/prepay.ts';
import { activitySummary, timerSummary } from '../domain/workflow-summaries.ts';
import { steps } from './prepay-activities.ts';
import type { PrepayResult } from './prepay-messages.ts';
import type { PrepayRun } from './prepay-run.ts';

/**
 * Serves the cycle's months from the first one not yet recognised. Answers undefined when every month
 * was served (the renewal comes next), the prepay's result when a cancel ended it; a continue-as-new
 * ends the run from here.
 */
export async function serveMonths(run: PrepayRun): Promise<PrepayResult | undefined> {
  const { input, timings } = run;
  const shares = monthlyShares(new Dec(input.amount), input.period, run.shareDecimals);
  const recognise = (month: number) => {
    const amount = shares[month - 1]!.toFixed();
    const summary = activitySummary.recognisePrepayMonth(month, input.period, input.paymentType, amount);
    return steps.recognisePrepayMonth.executeWithOptions({ summary }, [
      { prePayId: run.id, tenantId: input.tenantId, cycle: run.cycle, month, amount, ...(run.token ? { currency: run.token } : {}) },
    ]);
  };
  const end = run.periodEnd()!.getTime();
  const noticeAt = end - timings.renewalNoticeMs;
  let noticeSent = run.resumed?.noticeSent ?? false;
  // Decided once, before the wait: a run recorded before this change (patched() false on its replay) waits
  // exactly as it did, whatever the server suggested in its history.
  const mayResumeMidCycle = patched('continue-as-new-mid-cycle');
  const longHistory = () => mayResumeMidCycle && workflowInfo().continueAsNewSuggested;
  for (let month = run.monthsRecognized + 1; month <= input.period; month += 1) {
    const due = run.boundary(month).getTime();
    for (;;) {
      const toNotice = !noticeSent && noticeAt < due;
      const wakeAt = toNotice ? noticeAt : due;
      const timer = { summary: toNotice ? timerSummary.renewalNotice(timings.renewalNoticeMs) : timerSummary.monthEnds(month, input.period) };
      if (wakeAt > Date.now() && !run.cancelRequest) await condition(() => run.cancelRequest !== undefined || longHistory(), wakeAt - Date.now(), timer);
      if (run.cancelRequest) return cancelDuringService(run, run.cancelRequest.reason, recognise);
      // Many updates and signals grew the history: the same cycle goes on in a new run (histories recorded before never get here).
      if (longHistory() && Date.now() < wakeAt) return run.resumeInNewRun(noticeSent);
      if (!noticeSent && Date.now() >= noticeAt) {
        noticeSent = true;
        await run.event('prepay.renewal_upcoming', 'renewal-upcoming', { auto_renewal: run.autoRenewal, period_end: new Date(end).toISOString() });
      }
      if (Date.now() >= due) break;
    }
    await recognise(month);
    run.monthsRecognized = month;
    run.showDetails();
  }
  return undefined;
}

/** Stop now: the months that started are earned, the whole months after them go back to the card. */
async function cancelDuringService(run: PrepayRun, reason: string, recognise: (month: number) => Promise<unknown>): Promise<PrepayResult> {
  const { id, input, cycle } = run;
  const used = monthsStarted(run.anchor!, run.monthOffset, input.period, new Date());
  for (let month = run.monthsRecognized + 1; month <= used; month += 1) {
    await recognise(month);
    run.monthsRecognized = month;
  }
  const unused = cancellationSplit(new Dec(input.amount), input.period, used, run.shareDecimals).refund;
  await run.refund(unused, prepayKeys.cancelRefund(id, cycle), reason, run.token ? cancellationSplit(new Dec(run.paidUsd), input.period, used).refund : unused);
  return run.finish('canceled');
}
