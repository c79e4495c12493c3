/**
 * Webhook endpoints and their deliveries (decision 0098), the same routes for a tenant
 * (`/v2alpha/teams/{team_id}/webhook_endpoints`, its own events) and for the operator
 * (`/operator/v1/webhook_endpoints`, platform endpoints that get every tenant's events). The signing secret
 * is answered when the endpoint is created and when it is rotated, never again.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { WebhookAttempt, WebhookEndpoint } from '../db/entities/index.ts';
import { installationOf } from '../db/repositories/installation.ts';
import {
  createEndpoint,
  deleteEndpoint,
  eventsSince,
  visibleEventType,
  findEndpoint,
  listAttempts,
  listEndpoints,
  MAX_ENDPOINTS_PER_OWNER,
  requestRedelivery,
  rotateSecret,
  updateEndpoint,
  type EndpointOwner,
} from '../db/repositories/webhooks.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import type { WebhookSettings } from '../domain/webhooks.ts';
import { EVENT_TYPES, type EventType } from '../domain/events.ts';
import { startWebhookDelivery } from '../temporal/webhooks.ts';
import { checkTargetUrl, WebhookTargetError } from '../webhooks/targets.ts';
import { newSigningSecret } from '../webhooks/signing.ts';
import { formatTimestamp } from './format.ts';
import { opaqueId, pageLimit, parseWith, text } from './validation.ts';

/** How many events one replay redelivers at most; a later `since` continues. */
export const REPLAY_LIMIT = 1000;

/** A filter of the catalogue's types: a misspelt type is refused rather than silently never delivered. */
const EventTypes = z
  .array(z.enum(EVENT_TYPES as [EventType, ...EventType[]], { error: 'must be event types of the catalogue (docs/webhooks.md), such as prepay.paid' }))
  .min(1)
  .max(50)
  .nullable();
const Url = z.string({ error: 'must be a string' }).min(1).max(2048);

export const CreateEndpointBody = z.strictObject({ url: Url, event_types: EventTypes.optional(), description: text(500).optional() });
export const PatchEndpointBody = z
  .strictObject({ url: Url.optional(), event_types: EventTypes.optional(), description: text(500).optional(), disabled: z.boolean().optional() })
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');
export const ReplayBody = z.strictObject({ since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' }) });
export const AttemptsQuery = z.strictObject({ limit: pageLimit, starting_after: z.coerce.number().int().positive().optional() });

export interface WebhookRouteDeps {
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  webhooks: WebhookSettings;
}

type OwnerOf = (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => Promise<EndpointOwner>;

export function mountWebhookEndpointRoutes(router: Router, base: string, ownerOf: OwnerOf, deps: WebhookRouteDeps): void {
  const policy = { allowPrivate: deps.webhooks.allowPrivateTargets, requireHttps: deps.webhooks.requireHttps };
  const checkedUrl = async (raw: string) => {
    try {
      return (await checkTargetUrl(raw, policy)).toString();
    } catch (error) {
      if (error instanceof WebhookTargetError) throw new AppError('invalid_request', `The URL cannot receive webhooks: ${error.message}.`, { field: 'url' });
      throw error;
    }
  };
  const endpointOr404 = async (ctx: Parameters<OwnerOf>[0]) => {
    const owner = await ownerOf(ctx);
    const id = parseWith(opaqueId, ctx.params.endpoint_id, 'endpoint_id');
    const endpoint = await findEndpoint(ctx.state.em, owner, id);
    if (!endpoint) throw notFound(`Webhook endpoint ${id}`, 'endpoint_id');
    return { owner, endpoint };
  };
  const redeliver = async (ctx: Parameters<OwnerOf>[0], endpoint: WebhookEndpoint, eventIds: string[]) => {
    const installation = await installationOf(ctx.state.em);
    const generations: number[] = [];
    for (const eventId of eventIds) {
      const generation = await requestRedelivery(ctx.state.em, endpoint.id, eventId, deps.clock.now());
      const input = { endpointId: endpoint.id, eventId, generation, scheduleSeconds: [...deps.webhooks.scheduleSeconds] };
      await startWebhookDelivery(deps.temporal, installation, deps.taskQueue, input, endpoint.tenantId ?? null);
      generations.push(generation);
    }
    return generations;
  };

  router.post(base, async (ctx) => {
    const owner = await ownerOf(ctx);
    const body = parseWith(CreateEndpointBody, ctx.request.body);
    const url = await checkedUrl(body.url);
    const secret = newSigningSecret();
    const id = `we_${randomBytes(12).toString('base64url')}`;
    const endpoint = await createEndpoint(
      ctx.state.em,
      { id, tenantId: owner, url, description: body.description ?? '', eventTypes: body.event_types ?? null, secret },
      deps.clock.now(),
    );
    if (!endpoint) throw conflict(`At most ${MAX_ENDPOINTS_PER_OWNER} webhook endpoints can be registered; delete one first.`, 'url');
    ctx.status = 201;
    ctx.body = { ...endpointBody(endpoint), secret };
  });

  router.get(base, async (ctx) => {
    const owner = await ownerOf(ctx);
    ctx.body = { webhook_endpoints: (await listEndpoints(ctx.state.em, owner)).map(endpointBody) };
  });

  router.get(`${base}/:endpoint_id`, async (ctx) => {
    ctx.body = endpointBody((await endpointOr404(ctx)).endpoint);
  });

  router.patch(`${base}/:endpoint_id`, async (ctx) => {
    const { owner, endpoint } = await endpointOr404(ctx);
    const body = parseWith(PatchEndpointBody, ctx.request.body);
    const url = body.url === undefined ? undefined : await checkedUrl(body.url);
    await updateEndpoint(
      ctx.state.em,
      endpoint.id,
      {
        ...(url === undefined ? {} : { url }),
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.event_types === undefined ? {} : { eventTypes: body.event_types }),
        ...(body.disabled === undefined ? {} : { enabled: !body.disabled }),
      },
      deps.clock.now(),
    );
    ctx.body = endpointBody(await currentEndpoint(ctx.state.em, owner, endpoint.id));
  });

  router.delete(`${base}/:endpoint_id`, async (ctx) => {
    const { endpoint } = await endpointOr404(ctx);
    await deleteEndpoint(ctx.state.em, endpoint.id, deps.clock.now());
    ctx.body = { id: endpoint.id, deleted: true };
  });

  router.post(`${base}/:endpoint_id/rotate_secret`, async (ctx) => {
    const { owner, endpoint } = await endpointOr404(ctx);
    const secret = newSigningSecret();
    const now = deps.clock.now();
    await rotateSecret(ctx.state.em, endpoint.id, secret, new Date(now.getTime() + deps.webhooks.secretOverlapMs), now);
    const rotated = await currentEndpoint(ctx.state.em, owner, endpoint.id);
    ctx.body = { ...endpointBody(rotated), secret, previous_secret_expires_at: formatTimestamp(rotated.previousSecretExpiresAt!) };
  });

  router.get(`${base}/:endpoint_id/deliveries`, async (ctx) => {
    const { endpoint } = await endpointOr404(ctx);
    const query = parseWith(AttemptsQuery, ctx.query);
    const page = await listAttempts(ctx.state.em, endpoint.id, query.limit, query.starting_after);
    ctx.body = { deliveries: page.attempts.map(attemptBody), has_more: page.hasMore };
  });

  router.post(`${base}/:endpoint_id/deliveries/:event_id/retry`, async (ctx) => {
    const { owner, endpoint } = await endpointOr404(ctx);
    const eventId = parseWith(opaqueId, ctx.params.event_id, 'event_id');
    const type = await visibleEventType(ctx.state.em, owner, eventId);
    if (type === null) throw notFound(`Event ${eventId}`, 'event_id');
    if (endpoint.status !== 'enabled') throw conflict(`Webhook endpoint ${endpoint.id} is disabled; enable it first.`, 'endpoint_id');
    // a retry redelivers what the endpoint receives: a type outside its filter was never its to get
    if (endpoint.eventTypes && !endpoint.eventTypes.includes(type)) throw conflict(`Webhook endpoint ${endpoint.id} does not receive ${type} events.`, 'event_id');
    const [generation] = await redeliver(ctx, endpoint, [eventId]);
    ctx.status = 202;
    ctx.body = { event_id: eventId, endpoint_id: endpoint.id, generation };
  });

  router.post(`${base}/:endpoint_id/replay`, async (ctx) => {
    const { endpoint } = await endpointOr404(ctx);
    const body = parseWith(ReplayBody, ctx.request.body);
    if (endpoint.status !== 'enabled') throw conflict(`Webhook endpoint ${endpoint.id} is disabled; enable it first.`, 'endpoint_id');
    const eventIds = await eventsSince(ctx.state.em, endpoint, new Date(body.since), REPLAY_LIMIT);
    await redeliver(ctx, endpoint, eventIds);
    ctx.status = 202;
    ctx.body = { endpoint_id: endpoint.id, replayed: eventIds.length, has_more: eventIds.length === REPLAY_LIMIT };
  });
}

/** The endpoint as a change left it; deleted meanwhile (a concurrent DELETE) is a 404, not a missing row. */
async function currentEndpoint(em: EntityManager, owner: EndpointOwner, id: string): Promise<WebhookEndpoint> {
  const endpoint = await findEndpoint(em.fork(), owner, id);
  if (!endpoint) throw notFound(`Webhook endpoint ${id}`, 'endpoint_id');
  return endpoint;
}

function endpointBody(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    event_types: endpoint.eventTypes ?? null,
    status: endpoint.status,
    disabled_reason: endpoint.disabledReason ?? null,
    created_at: formatTimestamp(endpoint.createdAt),
  };
}

function attemptBody(attempt: WebhookAttempt) {
  return {
    id: attempt.id,
    event_id: attempt.eventId,
    generation: attempt.generation,
    attempt: attempt.attempt,
    attempted_at: formatTimestamp(attempt.attemptedAt),
    status_code: attempt.statusCode ?? null,
    latency_ms: attempt.latencyMs,
    error: attempt.error ?? null,
  };
}
