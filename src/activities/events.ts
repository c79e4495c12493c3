/**
 * Recording events (`prepay.paid`, `subscription.arrears`, …). The event id is derived from a key the
 * caller makes stable (workflow id + step), so a retried activity records the event once.
 */
import { createHash } from 'node:crypto';
import type { Orm } from '../db/orm.ts';
import { insertEvent } from '../db/repositories/events.ts';
import type { Clock } from '../domain/clock.ts';

export const EVENT_TYPES = [
  'prepay.paid',
  'prepay.activated',
  'prepay.renewal_upcoming',
  'prepay.renewed',
  'prepay.expired',
  'prepay.refunded',
  'subscription.arrears',
  'subscription.suspended',
  'subscription.canceled',
  'balance.low',
  'transfer.credited',
  // the reconciliation's repairs (decision 0080)
  'reconcile.prepay_abandoned',
  'reconcile.prepay_started',
  'reconcile.subscription_started',
  'reconcile.workflow_closed',
  'reconcile.transfer_credited',
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

export function createEventActivities(deps: { orm: Orm; clock: Clock }) {
  return {
    async recordEvent(input: RecordEventInput): Promise<{ eventId: string }> {
      const eventId = eventIdFor(input.key);
      await insertEvent(deps.orm.em.fork(), { id: eventId, tenantId: input.tenantId, type: input.type, data: input.data, createdAt: deps.clock.now() });
      return { eventId };
    },
  };
}
