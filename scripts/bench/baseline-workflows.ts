/**
 * The workflows of the bench's Temporal baselines (docs/performance.md), bundled for their own worker
 * (scripts/bench/baseline-worker.ts) on their own task queue:
 *
 * * `benchEmptyWorkflow`: what a card prepay costs Temporal at the least: started with update-with-start,
 *   it answers the update at once and ends. No activity, no timer.
 * * `benchOneActivityWorkflow`: the same, but the update is answered once one (empty) activity ran: the
 *   least a card recharge, which charges the card in an activity, can cost.
 */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-worker.ts';
import { attachUpdate } from './baseline-messages.ts';

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

export async function benchEmptyWorkflow(): Promise<void> {
  let answered = false;
  setHandler(attachUpdate, () => {
    answered = true;
    return 'ok';
  });
  await condition(() => answered);
}

export async function benchOneActivityWorkflow(): Promise<void> {
  let answered = false;
  setHandler(attachUpdate, async (request) => {
    const result = await noop(request.amount);
    answered = true;
    return result;
  });
  await condition(() => answered);
}
