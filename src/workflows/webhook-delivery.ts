/**
 * The delivery of one event to one webhook endpoint (decision 0098): attempts on a schedule (by default
 * immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then every 12 h: the last one more than three days
 * after the first), each delay stretched by up to a tenth at random so that retries of many deliveries
 * spread out. It ends when an attempt is delivered (2xx), when the endpoint is disabled, deleted or answers
 * 410, when a newer generation of the delivery was asked for (retry, replay), or when the schedule is spent.
 * One workflow per delivery: a slow or failing endpoint holds only its own. Its history is bounded by the
 * schedule's length (a dozen attempts), so it never needs continue-as-new.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { activitySummary, timerSummary } from '../domain/workflow-summaries.ts';

export interface WebhookDeliveryInput {
  endpointId: string;
  eventId: string;
  /** the delivery's generation: a retry or replay starts a new one, and this one stops at its next attempt */
  generation: number;
  /** seconds before each attempt; the first is usually 0 */
  scheduleSeconds: number[];
}

export type WebhookAttemptResult = { result: 'delivered' } | { result: 'retry'; detail: string } | { result: 'stopped'; detail: string };

export interface WebhookDeliveryResult {
  status: 'delivered' | 'failed' | 'stopped';
  attempts: number;
  detail?: string;
}

const webhooks = proxyActivities<Activities>({
  // one attempt is a 10-second POST and two short writes; an activity retry is for a database or worker
  // that failed around it (a killed worker's attempt runs again after this timeout), not for the receiver
  // (the schedule is for that)
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const delivery = { endpointId: input.endpointId, eventId: input.eventId, generation: input.generation };
  const attempts = input.scheduleSeconds.length;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const wait = input.scheduleSeconds[attempt - 1] ?? 0;
    if (wait > 0) await sleep(Math.round(wait * 1000 * (1 + Math.random() / 10)), { summary: timerSummary.webhookAttempt(attempt, attempts, wait * 1000) });
    const summary = activitySummary.webhookAttempt(input.eventId, input.endpointId, attempt, attempts);
    // the workflow's time: the schedule's clock, against which three days of failures are counted
    const outcome = await webhooks.attemptWebhookDelivery.executeWithOptions({ summary }, [{ ...delivery, attempt, scheduledAt: new Date().toISOString() }]);
    if (outcome.result === 'delivered') return { status: 'delivered', attempts: attempt };
    if (outcome.result === 'stopped') return { status: 'stopped', attempts: attempt, detail: outcome.detail };
  }
  await webhooks.giveUpWebhookDelivery.executeWithOptions({ summary: activitySummary.giveUpWebhookDelivery(attempts) }, [delivery]);
  return { status: 'failed', attempts };
}
