/**
 * The `events` table: what the engine decided, for the hosting platform to act on. An event's id is
 * derived from a stable key, so recording it again (a retried activity, a replayed workflow) writes nothing.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { EngineEvent } from '../entities/event.entity.ts';
import { eventIdFor, type RecordEventInput } from '../../domain/events.ts';
import { fanOutEvent } from './webhooks.ts';
import { findPrepay } from './prepays.ts';
import { findSubscription } from './subscriptions.ts';
import { prepayView } from '../views/prepay.ts';
import { subscriptionView } from '../views/subscription.ts';

/** Events are read as snapshots: written with SQL, never through an EntityManager that could hold a stale one. */
const SNAPSHOT = { disableIdentityMap: true } as const;

/**
 * Records the event once (its id from its key) and, in the same transaction, a pending delivery for every
 * webhook endpoint that wants it (the outbox, decision 0098). Answers the event id; the caller starts the
 * deliveries after the commit (temporal/webhooks.ts#startPendingDeliveries).
 */
export async function recordEventIn(tx: EntityManager, input: RecordEventInput, now: Date): Promise<string> {
  const id = eventIdFor(input.key);
  await insertEvent(tx, { id, tenantId: input.tenantId, type: input.type, data: await withObjectState(tx, input), createdAt: now });
  await fanOutEvent(tx, { id, tenantId: input.tenantId, type: input.type }, now);
  return id;
}

/**
 * The event's data with the object it is about as its GET answers it at this moment, read in the
 * recording transaction: `prepay` on a prepay's events, `subscription` on a subscription's. Recorders give
 * the step's facts (a charge id, a reason); the state comes from the read model here, so that every event
 * of a type carries the same shape whoever recorded it (docs/webhooks.md).
 */
async function withObjectState(tx: EntityManager, input: RecordEventInput): Promise<Record<string, unknown>> {
  const { data, type } = input;
  if (type.startsWith('prepay.') && data.prepay === undefined && typeof data.pre_pay_id === 'number') {
    const prepay = await findPrepay(tx, data.pre_pay_id);
    return prepay ? { ...data, prepay: prepayView(prepay) } : data;
  }
  if (type.startsWith('subscription.') && data.subscription === undefined && typeof data.subscription_id === 'string') {
    const subscription = await findSubscription(tx, data.subscription_id);
    return subscription ? { ...data, subscription: subscriptionView(subscription) } : data;
  }
  return data;
}

/** Records the event once per id; a second write of the same id is a no-op. */
export async function insertEvent(em: EntityManager, event: { id: string; tenantId: string | null; type: string; data: Record<string, unknown>; createdAt: Date }): Promise<void> {
  await em.execute('insert into events (id, tenant_id, type, data, created_at) values (?, ?, ?, ?::jsonb, ?) on conflict (id) do nothing', [
    event.id,
    event.tenantId,
    event.type,
    JSON.stringify(event.data),
    event.createdAt,
  ]);
}

/**
 * A page of the tenant's events, newest first, optionally of one type, after the cursor event. Null when
 * the cursor is not an event of this tenant.
 */
export async function listTenantEvents(
  em: EntityManager,
  tenantId: string,
  query: { type?: string | undefined; startingAfter?: string | undefined; limit: number },
): Promise<{ events: EngineEvent[]; hasMore: boolean } | null> {
  let after = {};
  if (query.startingAfter) {
    const cursor = await em.findOne(EngineEvent, { id: query.startingAfter, tenantId }, SNAPSHOT);
    if (!cursor) return null;
    // (created_at, id) < the cursor's, the order of the index events_tenant_idx
    after = { $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $lt: cursor.id } }] };
  }
  const rows = await em.find(
    EngineEvent,
    { tenantId, ...(query.type === undefined ? {} : { type: query.type }), ...after },
    { ...SNAPSHOT, orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 },
  );
  return { events: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}
