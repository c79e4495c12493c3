/**
 * Webhook endpoints, their deliveries (the outbox: one row per event an endpoint should get) and the
 * attempts (decision 0098). Reads go through the entities; every change is one guarded statement, so a
 * retried activity or a concurrent request changes nothing twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { EngineEvent } from '../entities/event.entity.ts';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint, type WebhookDeliveryStatus } from '../entities/webhook.entity.ts';

/** How many live endpoints one tenant (or the platform) may have: a list that needs no pages. */
export const MAX_ENDPOINTS_PER_OWNER = 20;

const SNAPSHOT = { disableIdentityMap: true } as const;

/** A text[] from a JSON array parameter (the driver would spread a JS array into a list); null stays null. */
const TEXT_ARRAY = '(select array_agg(t) from jsonb_array_elements_text(?::jsonb) t)';
const jsonOrNull = (list: string[] | null) => (list === null ? null : JSON.stringify(list));

/** null owner: the platform's endpoints (the operator's). */
export type EndpointOwner = string | null;

export interface NewEndpoint {
  id: string;
  tenantId: EndpointOwner;
  url: string;
  description: string;
  eventTypes: string[] | null;
  secret: string;
}

/** Writes the endpoint unless its owner has MAX_ENDPOINTS_PER_OWNER live ones already (then null). */
export async function createEndpoint(em: EntityManager, input: NewEndpoint, now: Date): Promise<WebhookEndpoint | null> {
  return em.transactional(async (tx) => {
    // one writer per owner at a time, so the cap holds under concurrent requests
    await tx.execute(`select pg_advisory_xact_lock(hashtext('webhook-endpoints:' || coalesce(?::text, '')))`, [input.tenantId]);
    const rows = await tx.execute<{ id: string }[]>(
      `insert into webhook_endpoints (id, tenant_id, url, description, event_types, secret, status, created_at, updated_at)
       select ?, ?, ?, ?, ${TEXT_ARRAY}, ?, 'enabled', ?, ?
        where (select count(*) from webhook_endpoints where tenant_id is not distinct from ? and status <> 'deleted') < ?
       returning id`,
      [input.id, input.tenantId, input.url, input.description, jsonOrNull(input.eventTypes), input.secret, now, now, input.tenantId, MAX_ENDPOINTS_PER_OWNER],
    );
    return rows[0] ? tx.findOne(WebhookEndpoint, { id: input.id }, SNAPSHOT) : null;
  });
}

export async function listEndpoints(em: EntityManager, owner: EndpointOwner): Promise<WebhookEndpoint[]> {
  return em.find(WebhookEndpoint, { tenantId: owner, status: { $ne: 'deleted' } }, { ...SNAPSHOT, orderBy: { createdAt: 'asc', id: 'asc' } });
}

/** The owner's live endpoint, or null (another owner's is "not found"). */
export async function findEndpoint(em: EntityManager, owner: EndpointOwner, id: string): Promise<WebhookEndpoint | null> {
  return em.findOne(WebhookEndpoint, { id, tenantId: owner, status: { $ne: 'deleted' } }, SNAPSHOT);
}

/** Any endpoint by id, whatever its owner or status (for deliveries). */
export async function endpointById(em: EntityManager, id: string): Promise<WebhookEndpoint | null> {
  return em.findOne(WebhookEndpoint, { id }, SNAPSHOT);
}

export interface EndpointChanges {
  url?: string;
  description?: string;
  /** null: every type */
  eventTypes?: string[] | null;
  enabled?: boolean;
}

/** Changes a live endpoint; enabling it again forgets its failures. */
export async function updateEndpoint(em: EntityManager, id: string, changes: EndpointChanges, now: Date): Promise<void> {
  await em.execute(
    `update webhook_endpoints set
        url = coalesce(?, url),
        description = coalesce(?, description),
        event_types = case when ? then ${TEXT_ARRAY} else event_types end,
        status = case when ?::boolean is null then status when ? then 'enabled' else 'disabled' end,
        disabled_reason = case when ?::boolean is null then disabled_reason when ? then null else 'disabled by its owner' end,
        failing_since = case when ? then null else failing_since end,
        updated_at = ?
      where id = ? and status <> 'deleted'`,
    [
      changes.url ?? null,
      changes.description ?? null,
      changes.eventTypes !== undefined,
      jsonOrNull(changes.eventTypes ?? null),
      changes.enabled ?? null,
      changes.enabled ?? null,
      changes.enabled ?? null,
      changes.enabled ?? null,
      changes.enabled === true,
      now,
      id,
    ],
  );
}

/** Deletes the endpoint (kept as `deleted` for its deliveries' record); its pending deliveries are canceled. */
export async function deleteEndpoint(em: EntityManager, id: string, now: Date): Promise<void> {
  await em.transactional(async (tx) => {
    await tx.execute(`update webhook_endpoints set status = 'deleted', updated_at = ? where id = ?`, [now, id]);
    await tx.execute(`update webhook_deliveries set status = 'canceled', updated_at = ? where endpoint_id = ? and status = 'pending'`, [now, id]);
  });
}

/** A new secret signs from now on; the current one also signs until `overlapUntil`. */
export async function rotateSecret(em: EntityManager, id: string, secret: string, overlapUntil: Date, now: Date): Promise<void> {
  await em.execute(`update webhook_endpoints set previous_secret = secret, previous_secret_expires_at = ?, secret = ?, updated_at = ? where id = ? and status <> 'deleted'`, [
    overlapUntil,
    secret,
    now,
    id,
  ]);
}

/** Disables an enabled endpoint; true only for the call that disabled it (so its event is recorded once). */
export async function disableEndpoint(em: EntityManager, id: string, reason: string, now: Date): Promise<boolean> {
  const rows = await em.execute<{ id: string }[]>(
    `update webhook_endpoints set status = 'disabled', disabled_reason = ?, updated_at = ? where id = ? and status = 'enabled' returning id`,
    [reason, now, id],
  );
  return rows.length > 0;
}

/** Records that an attempt failed; answers since when the endpoint has been failing. */
export async function noteEndpointFailing(em: EntityManager, id: string, now: Date): Promise<Date> {
  const [row] = await em.execute<{ failing_since: Date }[]>(`update webhook_endpoints set failing_since = coalesce(failing_since, ?) where id = ? returning failing_since`, [
    now,
    id,
  ]);
  return row ? new Date(row.failing_since) : now;
}

export async function noteEndpointDelivered(em: EntityManager, id: string): Promise<void> {
  await em.execute(`update webhook_endpoints set failing_since = null where id = ? and failing_since is not null`, [id]);
}

/**
 * The outbox: a pending delivery of the event for every enabled endpoint that wants it (its owner's or a
 * platform endpoint, its type filter). Run in the event's own transaction; a second run adds nothing.
 */
export async function fanOutEvent(em: EntityManager, event: { id: string; tenantId: string | null; type: string }, now: Date): Promise<void> {
  await em.execute(
    `insert into webhook_deliveries (endpoint_id, event_id, status, created_at, updated_at)
     select e.id, ?, 'pending', ?, ? from webhook_endpoints e
      where e.status = 'enabled' and (e.tenant_id is null or e.tenant_id = ?) and (e.event_types is null or ? = any(e.event_types))
     on conflict do nothing`,
    [event.id, now, now, event.tenantId, event.type],
  );
}

/**
 * Pending deliveries of which no attempt was made since `before` (their generation's count is 0): their
 * workflow may never have started (a crash after the outbox commit whose activity gave up), oldest first.
 */
export async function staleUnattemptedDeliveries(
  em: EntityManager,
  before: Date,
  limit: number,
  tenantId: string | null,
): Promise<{ endpointId: string; eventId: string; generation: number; tenantId: string | null }[]> {
  const rows = await em.execute<{ endpoint_id: string; event_id: string; generation: number; tenant_id: string | null }[]>(
    `select d.endpoint_id, d.event_id, d.generation, e.tenant_id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
      where d.status = 'pending' and d.attempts = 0 and d.updated_at < ? and (?::text is null or e.tenant_id = ?)
      order by d.updated_at limit ?`,
    [before, tenantId, tenantId, limit],
  );
  return rows.map((row) => ({ endpointId: row.endpoint_id, eventId: row.event_id, generation: Number(row.generation), tenantId: row.tenant_id }));
}

/** The event's deliveries still to make, each with its generation. */
export async function pendingDeliveriesOf(em: EntityManager, eventId: string): Promise<{ endpointId: string; generation: number }[]> {
  const rows = await em.find(WebhookDelivery, { eventId, status: 'pending' }, { ...SNAPSHOT, fields: ['endpointId', 'eventId', 'generation'] });
  return rows.map((row) => ({ endpointId: row.endpointId, generation: row.generation }));
}

export async function findDelivery(em: EntityManager, endpointId: string, eventId: string): Promise<WebhookDelivery | null> {
  return em.findOne(WebhookDelivery, { endpointId, eventId }, SNAPSHOT);
}

export async function findEvent(em: EntityManager, eventId: string): Promise<EngineEvent | null> {
  return em.findOne(EngineEvent, { id: eventId }, SNAPSHOT);
}

export interface AttemptRecord {
  endpointId: string;
  eventId: string;
  generation: number;
  attempt: number;
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** Records an attempt once (a retried activity's second POST is the same attempt) and counts it on its delivery. */
export async function recordAttempt(em: EntityManager, attempt: AttemptRecord): Promise<void> {
  await em.transactional(async (tx) => {
    const rows = await tx.execute<{ id: string }[]>(
      `insert into webhook_attempts (endpoint_id, event_id, generation, attempt, attempted_at, status_code, latency_ms, error)
       values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning id`,
      [attempt.endpointId, attempt.eventId, attempt.generation, attempt.attempt, attempt.at, attempt.statusCode, attempt.latencyMs, attempt.error],
    );
    if (rows.length === 0) return;
    await tx.execute(`update webhook_deliveries set attempts = attempts + 1, last_attempt_at = ?, updated_at = ? where endpoint_id = ? and event_id = ?`, [
      attempt.at,
      attempt.at,
      attempt.endpointId,
      attempt.eventId,
    ]);
  });
}

/** Ends a pending delivery of this generation (a newer generation or an ended delivery is left alone). */
export async function finishDelivery(
  em: EntityManager,
  key: { endpointId: string; eventId: string; generation: number },
  status: Exclude<WebhookDeliveryStatus, 'pending'>,
  now: Date,
): Promise<void> {
  await em.execute(
    `update webhook_deliveries set status = ?, delivered_at = case when ? = 'delivered' then ? else delivered_at end, updated_at = ?
      where endpoint_id = ? and event_id = ? and generation = ? and status = 'pending'`,
    [status, status, now, now, key.endpointId, key.eventId, key.generation],
  );
}

/** Asks for the event to be delivered to the endpoint again: a new generation, pending. Answers the generation. */
export async function requestRedelivery(em: EntityManager, endpointId: string, eventId: string, now: Date): Promise<number> {
  const [row] = await em.execute<{ generation: number }[]>(
    `insert into webhook_deliveries (endpoint_id, event_id, status, created_at, updated_at) values (?, ?, 'pending', ?, ?)
     on conflict (endpoint_id, event_id) do update set generation = webhook_deliveries.generation + 1, status = 'pending', attempts = 0, updated_at = excluded.updated_at
     returning generation`,
    [endpointId, eventId, now, now],
  );
  return Number(row!.generation);
}

/** Whether the endpoint's owner may see the event (its tenant's, or any for a platform endpoint). */
/** The event's type when the owner may see the event (a tenant its own; the platform every one), else null. */
export async function visibleEventType(em: EntityManager, owner: EndpointOwner, eventId: string): Promise<string | null> {
  const event = await findEvent(em, eventId);
  return event !== null && (owner === null || event.tenantId === owner) ? event.type : null;
}

/** The events an endpoint would have got since `since`, oldest first, at most `limit`. */
export async function eventsSince(em: EntityManager, endpoint: WebhookEndpoint, since: Date, limit: number): Promise<string[]> {
  const rows = await em.find(
    EngineEvent,
    {
      createdAt: { $gte: since },
      ...(endpoint.tenantId === null || endpoint.tenantId === undefined ? {} : { tenantId: endpoint.tenantId }),
      ...(endpoint.eventTypes ? { type: { $in: endpoint.eventTypes } } : {}),
    },
    { ...SNAPSHOT, fields: ['id'], orderBy: { createdAt: 'asc', id: 'asc' }, limit },
  );
  return rows.map((row) => row.id);
}

/** A page of the endpoint's attempts, newest first, after the cursor attempt id. */
export async function listAttempts(em: EntityManager, endpointId: string, limit: number, startingAfter?: number): Promise<{ attempts: WebhookAttempt[]; hasMore: boolean }> {
  const rows = await em.find(
    WebhookAttempt,
    { endpointId, ...(startingAfter === undefined ? {} : { id: { $lt: startingAfter } }) },
    { ...SNAPSHOT, orderBy: { id: 'desc' }, limit: limit + 1 },
  );
  return { attempts: rows.slice(0, limit), hasMore: rows.length > limit };
}
