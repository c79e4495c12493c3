/**
 * The `events` table: what the engine decided, for the hosting platform to act on. An event's id is
 * derived from a stable key, so recording it again (a retried activity, a replayed workflow) writes nothing.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { EngineEvent } from '../entities/event.entity.ts';
import { eventIdFor, type RecordEventInput } from '../../domain/events.ts';
import { fanOutEvent } from './webhooks.ts';

/** Events are read as snapshots: written with SQL, never through an EntityManager that could hold a stale one. */
const SNAPSHOT = { disableIdentityMap: true } as const;

/**
 * Records the event once (its id from its key) and, in the same transaction, a pending delivery for every
 * webhook endpoint that wants it (the outbox, decision 0098). Answers the event id; the caller starts the
 * deliveries after the commit (temporal/webhooks.ts#startPendingDeliveries).
 */
export async function recordEventIn(tx: EntityManager, input: RecordEventInput, now: Date): Promise<string> {
  const id = eventIdFor(input.key);
  await insertEvent(tx, { id, tenantId: input.tenantId, type: input.type, data: input.data, createdAt: now });
  await fanOutEvent(tx, { id, tenantId: input.tenantId, type: input.type }, now);
  return id;
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
