/**
 * Recording events (`prepay.paid`, `subscription.arrears`, …). The event id is derived from a key the
 * caller makes stable (workflow id + step), so a retried activity records the event once.
 */
import type { Orm } from '../db/orm.ts';
import { recordEventIn } from '../db/repositories/events.ts';
import type { RecordEventInput } from '../domain/events.ts';
import type { Clock } from '../domain/clock.ts';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../domain/webhooks.ts';
import { startPendingDeliveries } from '../temporal/webhooks.ts';
import { workerClient } from './webhooks.ts';

export type { EventType } from '../domain/events.ts';

export type { RecordEventInput } from '../domain/events.ts';

export function createEventActivities(deps: { orm: Orm; clock: Clock; webhooks?: WebhookSettings }) {
  const webhooks = deps.webhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  return {
    /**
     * Records the event and, in the same transaction, a pending delivery for every webhook endpoint that
     * wants it (the outbox); then starts their delivery workflows. A retry records nothing twice and starts
     * what a crash left unstarted.
     */
    async recordEvent(input: RecordEventInput): Promise<{ eventId: string }> {
      const eventId = await deps.orm.em.fork().transactional((tx) => recordEventIn(tx, input, deps.clock.now()));
      const worker = workerClient();
      if (worker) await startPendingDeliveries(worker.client, deps.orm.em.fork(), worker.taskQueue, eventId, webhooks.scheduleSeconds);
      return { eventId };
    },
  };
}
