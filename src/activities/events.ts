/**
 * Recording events (`prepay.paid`, `subscription.arrears`, …). The event id is derived from a key the
 * caller makes stable (workflow id + step), so a retried activity records the event once.
 */
import { createHash } from 'node:crypto';
import type { Orm } from '../db/orm.ts';
import { insertEvent } from '../db/repositories/events.ts';
import type { Clock } from '../domain/clock.ts';
import { fanOutEvent } from '../db/repositories/webhooks.ts';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../domain/webhooks.ts';
import { drainWebhookOutbox, workerClient } from './webhooks.ts';

export const EVENT_TYPES = [
  'prepay.paid',
  'prepay.activated',
  'prepay.renewal_upcoming',
  'prepay.renewed',
  'prepay.expired',
  'prepay.refunded',
  // recorded with the prepay's snapshot when it reaches these statuses (activities/prepay.ts)
  'prepay.payment_failed',
  'prepay.past_due',
  'prepay.completed',
  'prepay.canceled',
  'subscription.arrears',
  'subscription.suspended',
  'subscription.canceled',
  'balance.low',
  'transfer.credited',
  // money movements: a card recharge credited, a movement refunded (the reversal and, for a card, the gateway's refund)
  'balance.recharged',
  'transaction.refunded',
  // the reconciliation's repairs (decision 0080)
  'reconcile.prepay_abandoned',
  'reconcile.prepay_started',
  'reconcile.subscription_started',
  'reconcile.workflow_closed',
  'reconcile.transfer_credited',
  // webhook delivery (decision 0098): an endpoint answered 410 or failed for three days
  'webhook_endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface RecordEventInput {
  /** stable across retries and continue-as-new, e.g. `prepay-12-cycle-1-paid` */
  key: string;
  tenantId: string | null;
  type: EventType;
  data: Record<string, unknown>;
}

export function eventIdFor(key: string): string {
  return `evt_${createHash('sha256').update(key).digest('base64url').slice(0, 24)}`;
}

export function createEventActivities(deps: { orm: Orm; clock: Clock; webhooks?: WebhookSettings }) {
  const webhooks = deps.webhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  return {
    /**
     * Records the event and, in the same transaction, a pending delivery for every webhook endpoint that
     * wants it (the outbox); then starts their delivery workflows. A retry records nothing twice and starts
     * what a crash left unstarted.
     */
    async recordEvent(input: RecordEventInput): Promise<{ eventId: string }> {
      const eventId = eventIdFor(input.key);
      const now = deps.clock.now();
      await deps.orm.em.fork().transactional(async (tx) => {
        await insertEvent(tx, { id: eventId, tenantId: input.tenantId, type: input.type, data: input.data, createdAt: now });
        await fanOutEvent(tx, { id: eventId, tenantId: input.tenantId, type: input.type }, now);
      });
      const worker = workerClient();
      if (worker) await drainWebhookOutbox({ orm: deps.orm, clock: deps.clock, webhooks }, worker.client, worker.taskQueue, { id: eventId, tenantId: input.tenantId });
      return { eventId };
    },
  };
}
