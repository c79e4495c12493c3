/**
 * The activities PrepayWorkflow calls, each group with its timeouts and retry policy. One definition for
 * the workflow's files, so that the card, token, month and handler code all schedule them alike.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { failureTypes } from './failures.ts';

/** Card charges: the prepay's timings bound them; a decline is final, anything else is retried. */
export const charges = (timeoutMs: number, scheduleToCloseMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs,
    scheduleToCloseTimeout: scheduleToCloseMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('cardDeclined') },
  });

/** The bookkeeping: the read model, events, refunds, revenue and prices. */
export const steps = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// A credit that is owed must land: outages are retried without limit; only bad input fails for good.
export const credits = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: failureTypes('invalidTransfer') },
});
