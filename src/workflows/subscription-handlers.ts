/**
 * What SubscriptionWorkflow answers while it runs: a recharge's `retryCharge` signal, the status query and
 * the cancel update. Each reads and changes the run's state (./subscription-run.ts); the lifecycle in
 * subscription.ts waits on what they change.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { cancelSubscriptionUpdate, retryChargeSignal, subscriptionStatusQuery } from './subscription-messages.ts';
import type { SubscriptionRun } from './subscription-run.ts';

export function registerSubscriptionHandlers(run: SubscriptionRun): void {
  setHandler(retryChargeSignal, () => {
    run.retryRequested = true;
  });
  setHandler(subscriptionStatusQuery, () => run.view());
  setHandler(
    cancelSubscriptionUpdate,
    async () => {
      if (!run.paid && !run.canceled) {
        run.cancelNow = true;
        // Either the main loop cancels now, or a charge that was already running went through first.
        await condition(() => run.canceled || run.paid);
      }
      if (!run.canceled && !run.cancelAtPeriodEnd) {
        run.cancelAtPeriodEnd = true;
        run.publishStatus();
        await run.setStatus({ status: 'canceling', at: new Date().toISOString() });
      }
      return run.view();
    },
    {
      validator: () => {
        if (run.canceled) throw new Error('The subscription is already canceled.');
      },
    },
  );
}
