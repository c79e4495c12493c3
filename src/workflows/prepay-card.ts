/**
 * The card side of PrepayWorkflow: the first charge, while the API waits for its outcome, and the
 * renewal at the end of a cycle, charged off-session on a dunning schedule until a try goes through
 * or every one was declined.
 */
import { condition, patched } from '@temporalio/workflow';
import { prepayKeys } from '../domain/prepay.ts';
import { activitySummary, formatMoney, timerSummary } from '../domain/workflow-summaries.ts';
import { declineOf } from './failures.ts';
import { charges, steps } from './prepay-activities.ts';
import type { PrepayResult, RenewalView } from './prepay-messages.ts';
import type { PrepayRun } from './prepay-run.ts';

const gatewayOf = (run: PrepayRun) => charges(run.timings.chargeTimeoutMs, run.timings.chargeScheduleToCloseMs);

/**
 * The first payment: the API waits for its outcome through `awaitPayment` (update-with-start). Answers
 * the prepay's result when the card was declined, undefined when paid.
 */
export async function payByCard(run: PrepayRun): Promise<PrepayResult | undefined> {
  const { id, input, cycle } = run;
  run.charging = true;
  let chargeId: string;
  try {
    const summary = activitySummary.chargeCard(input.amount, run.cardId!, `prepay ${id}, cycle ${cycle}`);
    ({ chargeId } = await gatewayOf(run).chargeCard.executeWithOptions({ summary }, [
      {
        idempotencyKey: prepayKeys.charge(id, cycle),
        tenantId: input.tenantId,
        cardId: run.cardId!,
        amount: input.amount,
        offSession: false,
        description: `Prepayment ${id}: ${input.period} months`,
      },
    ]));
  } catch (error) {
    const declined = declineOf(error);
    if (!declined) throw error;
    run.charging = false;
    run.failureCode = declined.declineCode;
    run.payment = { status: 'declined', prePayId: id, ...declined };
    return run.finish('payment_failed');
  }
  run.charging = false;
  await steps.bookPrepayPayment.executeWithOptions({ summary: activitySummary.bookPrepayPayment(input.amount, chargeId, cycle) }, [
    { prePayId: id, tenantId: input.tenantId, cycle, amount: input.amount, cardId: run.cardId!, chargeId, paidAt: new Date().toISOString() },
  ]);
  const paid = { usd: input.amount, charge_id: chargeId };
  if (patched('prepay-paid-recorded-with-sync')) {
    // `prepay.paid` is recorded by the read model's write, in the same activity (decision 0109): one activity
    // and one workflow task fewer. A run recorded before this change (patched() false on its replay) did not.
    await run.publish('awaiting_binding', run.eventInput('prepay.paid', 'paid', paid));
    run.payment = { status: 'paid', prePayId: id, chargeId };
    return undefined;
  }
  await run.publish('awaiting_binding');
  run.payment = { status: 'paid', prePayId: id, chargeId };
  await run.event('prepay.paid', 'paid', paid);
  return undefined;
}

/** The next cycle at current prices, charged at each offset of the dunning schedule after the period's end. */
export async function renewByCard(run: PrepayRun): Promise<PrepayResult> {
  const { id, input, cycle } = run;
  await run.publish('renewing');
  const amount = await run.priceOfRenewal();
  if (amount === null) return run.finish('expired');
  const end = run.periodEnd()!.getTime();
  const offsets = run.timings.renewalAttemptOffsetsMs;
  const renewal: RenewalView = { amount, attempt: 0, attempts: offsets.length, nextAttemptAt: null, lastDeclineCode: null };
  run.renewal = renewal;
  for (let attempt = 1; attempt <= offsets.length; attempt += 1) {
    const at = end + offsets[attempt - 1]!;
    renewal.nextAttemptAt = new Date(at).toISOString();
    const timer = { summary: timerSummary.renewalAttempt(attempt, offsets.length, `charge ${formatMoney('USD', amount)}`) };
    if (at > Date.now()) await condition(() => run.cancelRequest !== undefined || !run.autoRenewal, at - Date.now(), timer);
    // The ended cycle was fully served: a cancel or a switched-off renewal leaves nothing to refund.
    if (run.cancelRequest) return run.finish('canceled');
    if (!run.autoRenewal) return run.finish('completed');
    renewal.attempt = attempt;
    renewal.nextAttemptAt = null;
    run.charging = true;
    try {
      const summary = activitySummary.chargeCard(amount, run.cardId!, `prepay ${id} renewal, attempt ${attempt} of ${offsets.length}, off-session`);
      const { chargeId } = await gatewayOf(run).chargeCard.executeWithOptions({ summary }, [
        {
          idempotencyKey: prepayKeys.charge(id, cycle + 1, attempt),
          tenantId: input.tenantId,
          cardId: run.cardId!,
          amount,
          offSession: true,
          description: `Prepayment ${id}: renewal for ${input.period} months`,
        },
      ]);
      // Paid: the next cycle begins where this one ended; `charging` stays set so that no cancel slips in.
      await steps.bookPrepayPayment.executeWithOptions({ summary: activitySummary.bookPrepayPayment(amount, chargeId, cycle + 1) }, [
        { prePayId: id, tenantId: input.tenantId, cycle: cycle + 1, amount, cardId: run.cardId!, chargeId, paidAt: new Date().toISOString() },
      ]);
      await run.event('prepay.renewed', 'renewed', { usd: amount, charge_id: chargeId, attempt }, cycle + 1);
      return run.nextCycle(amount, chargeId);
    } catch (error) {
      const declined = declineOf(error);
      if (!declined) throw error;
      run.charging = false;
      run.failureCode = declined.declineCode;
      renewal.lastDeclineCode = declined.declineCode;
      await run.publish('past_due');
    }
  }
  await run.event('prepay.expired', 'expired', { reason: 'every renewal attempt was declined', decline_code: run.failureCode });
  return run.finish('expired');
}
