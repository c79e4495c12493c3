/**
 * The `events` table: what the engine decided, for the hosting platform to act on. An event's id is
 * derived from a stable key, so recording it again (a retried activity, a replayed workflow) writes nothing.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

export interface EventRow {
  id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
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
): Promise<{ events: EventRow[]; hasMore: boolean } | null> {
  let cursor: EventRow | undefined;
  if (query.startingAfter) {
    [cursor] = await em.execute<EventRow[]>('select id, type, data, created_at from events where id = ? and tenant_id = ?', [query.startingAfter, tenantId]);
    if (!cursor) return null;
  }
  const rows = await em.execute<EventRow[]>(
    `select id, type, data, created_at from events
      where tenant_id = ? and (?::text is null or type = ?)
        and (?::timestamptz is null or (created_at, id) < (?::timestamptz, ?))
      order by created_at desc, id desc limit ?`,
    [tenantId, query.type ?? null, query.type ?? null, cursor?.created_at ?? null, cursor?.created_at ?? null, cursor?.id ?? null, query.limit + 1],
  );
  return { events: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}
