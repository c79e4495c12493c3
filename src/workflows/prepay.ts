/**
 * PrepayWorkflow (`prepay-{installation}-{pre_pay_id}`): one prepayment, from its payment to its last month. One run per
 * cycle: payment → awaiting binding (refunded after the binding timeout) → a durable timer per calendar
 * month that recognises that month's revenue → renewal at current prices → continue-as-new into the
 * next, already paid, cycle. A card prepay (`USD`) is charged, and renewed with a dunning schedule
 * (./prepay-card.ts); a token prepay is paid by transfers to its deposit address before a deadline and
 * renewed from the team's token balance with a grace period (./prepay-tokens.ts). The workflow is the
 * source of truth; the `prepays` row is its read model, written by `syncPrepay` after each change.
 *
 * This file is the lifecycle, in order. The run's state is ./prepay-run.ts, what the workflow answers
 * meanwhile is ./prepay-handlers.ts, and the months are ./prepay-months.ts.
 */
import { condition } from '@temporalio/workflow';
import { Dec } from '../domain/money.ts';
import { prepayKeys } from '../domain/prepay.ts';
import { formatMoney, timerSummary } from '../domain/workflow-summaries.ts';
import { payByCard, renewByCard } from './prepay-card.ts';
import { registerPrepayHandlers } from './prepay-handlers.ts';
import type { PrepayInput, PrepayResult } from './prepay-messages.ts';
import { serveMonths } from './prepay-months.ts';
import { PrepayRun } from './prepay-run.ts';
import { payByTransfers, renewWithTokens } from './prepay-tokens.ts';

export * from './prepay-messages.ts';

export async function prepayWorkflow(input: PrepayInput): Promise<PrepayResult> {
  const run = new PrepayRun(input);
  const { id, cycle, timings } = run;
  registerPrepayHandlers(run);
  run.tagSearchAttributes();

  if (!run.continued) {
    // 1. Payment: by token transfers (the API answered at once with the deposit address), or by card (the
    // API waits for its outcome through `awaitPayment`, update-with-start). Unpaid, the prepay ends here.
    const unpaid = run.token ? await payByTransfers(run, run.token) : await payByCard(run);
    if (unpaid) return unpaid;

    // 2. Binding: the service period starts when the app is bound; unbound, the payment goes back.
    const deadline = { summary: timerSummary.bindingDeadline(formatMoney(input.paymentType, input.amount)) };
    await condition(() => run.app !== null || run.cancelRequest !== undefined, timings.bindingTimeoutMs, deadline);
    run.bindingOpen = false;
    if (run.app === null) {
      const total = new Dec(input.amount);
      if (run.cancelRequest) {
        await run.refund(total, prepayKeys.cancelRefund(id, cycle), run.cancelRequest.reason, new Dec(run.paidUsd));
        return run.finish('canceled');
      }
      await run.refund(total, prepayKeys.bindingTimeoutRefund(id, cycle), 'no app was bound in time', new Dec(run.paidUsd));
      return run.finish('refunded');
    }
    run.anchor = new Date(run.boundAt!);
    await run.publish('active');
    run.activated = true;
    await run.event('prepay.activated', 'activated', { app_id: run.app.appId, period_start: run.anchor.toISOString(), period_end: run.periodEnd()!.toISOString() });
  } else {
    await run.publish('active');
  }

  // 3. Service period: a durable timer per calendar month; a cancel ends the prepay there.
  const canceled = await serveMonths(run);
  if (canceled) return canceled;

  // 4. Renewal: the next cycle at current prices, or the end of the prepay.
  if (!run.autoRenewal) return run.finish('completed');
  return run.token ? renewWithTokens(run, run.token) : renewByCard(run);
}
