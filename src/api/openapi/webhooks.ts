/**
 * Webhook endpoints and their deliveries in the OpenAPI document: the same routes (src/api/webhook-endpoints.ts)
 * mounted for a team (`/v2alpha/teams/{team_id}/webhook_endpoints`, its own events) and for the platform
 * (`/operator/v1/webhook_endpoints`, every tenant's events and the operator's).
 */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { WEBHOOK_ENDPOINT_STATUSES } from '../../db/entities/webhook.entity.ts';
import { EVENT_TYPES, type EventType } from '../../domain/events.ts';
import { opaqueId, identifier } from '../validation.ts';
import { AttemptsQuery, CreateEndpointBody, PatchEndpointBody, REPLAY_LIMIT, ReplayBody } from '../webhook-endpoints.ts';
import { json, operation, security, Timestamp, type Scheme } from './common.ts';

const tags = ['Webhook endpoints'];

const WebhookEndpoint = z
  .strictObject({
    id: z.string().meta({ description: 'The endpoint’s id (`we_…`).' }),
    url: z.string(),
    description: z.string(),
    event_types: z
      .array(z.enum(EVENT_TYPES as [EventType, ...EventType[]]))
      .nullable()
      .meta({ description: 'The event types it receives; null: every type.' }),
    status: z.enum(WEBHOOK_ENDPOINT_STATUSES).exclude(['deleted']).meta({ description: 'A deleted endpoint is not found.' }),
    disabled_reason: z.string().nullable().meta({ description: 'Why it is disabled (by its owner, after a 410 Gone, or after every attempt failed for days); null when enabled.' }),
    created_at: Timestamp,
  })
  .meta({
    id: 'WebhookEndpoint',
    description: 'Where events are delivered, signed with the endpoint’s secret (docs/webhooks.md). The secret is never answered again after creation or rotation.',
  });

const Secret = z.string().meta({ description: 'The signing secret (`whsec_…`), answered this once: keep it.' });

const CreatedWebhookEndpoint = z
  .strictObject({ ...WebhookEndpoint.shape, secret: Secret })
  .meta({ id: 'CreatedWebhookEndpoint', description: 'A new endpoint, with its signing secret.' });

const RotatedWebhookEndpoint = z
  .strictObject({
    ...WebhookEndpoint.shape,
    secret: Secret,
    previous_secret_expires_at: Timestamp.meta({ description: 'Until then deliveries are signed with both the new and the previous secret.' }),
  })
  .meta({ id: 'RotatedWebhookEndpoint', description: 'The endpoint with its new signing secret.' });

const WebhookAttempt = z
  .strictObject({
    id: z.int().meta({ description: 'The attempt’s id; the cursor of `starting_after`.' }),
    event_id: z.string(),
    generation: z.int().meta({ description: 'Which delivery of the event: 1, then one more for each retry or replay.' }),
    attempt: z.int().meta({ description: 'The attempt’s number within its generation, from 1.' }),
    attempted_at: Timestamp,
    status_code: z.int().nullable().meta({ description: 'The HTTP status the endpoint answered; null when it answered none (a timeout, a refused connection).' }),
    latency_ms: z.int(),
    error: z.string().nullable().meta({ description: 'Why no full answer was received (a timeout, a refused or blocked connection); null when it got one.' }),
  })
  .meta({ id: 'WebhookAttempt' });

const WebhookDeliveries = z
  .strictObject({ deliveries: z.array(WebhookAttempt).meta({ description: 'The attempts, newest first.' }), has_more: z.boolean() })
  .meta({ id: 'WebhookDeliveries' });

const Redelivery = z
  .strictObject({ event_id: z.string(), endpoint_id: z.string(), generation: z.int().meta({ description: 'The new delivery’s generation.' }) })
  .meta({ id: 'WebhookRedelivery' });

const Replay = z
  .strictObject({
    endpoint_id: z.string(),
    replayed: z.int().meta({ description: `How many events are delivered again (at most ${REPLAY_LIMIT}).` }),
    has_more: z.boolean().meta({ description: 'True when the limit was reached: replay again from the last event’s time to continue.' }),
  })
  .meta({ id: 'WebhookReplay' });

const EndpointIdPath = { endpoint_id: opaqueId.meta({ description: 'The endpoint’s id (`we_…`).' }) };

interface Mount {
  /** the path the routes are mounted at, in the document's `{param}` form */
  base: string;
  /** the operationIds' noun: `WebhookEndpoint` gives createWebhookEndpoint, listWebhookEndpoints… */
  noun: string;
  security: Scheme[];
  /** the base's own path parameters */
  path: Record<string, z.ZodType>;
  /** the statuses every route of the mount may answer beside the shared ones (404 for a team that does not exist) */
  errors: number[];
  owner: string;
}

/** The paths of the webhook endpoint routes mounted at one base. */
function webhookEndpointPaths(mount: Mount): ZodOpenApiPathsObject {
  const { base, noun, errors: ownerErrors, owner } = mount;
  const common = { tags, security: security(...mount.security) };
  const basePath = Object.keys(mount.path).length > 0 ? { path: z.object(mount.path) } : {};
  const endpointPath = { path: z.object({ ...mount.path, ...EndpointIdPath }) };
  return {
    [base]: {
      post: operation({
        ...common,
        operationId: `create${noun}`,
        summary: `Register a webhook endpoint for ${owner}`,
        description: 'The URL is checked (http(s), no credentials, a public address unless the engine allows private ones). At most 20 live endpoints per owner.',
        requestParams: basePath,
        requestBody: {
          content: { 'application/json': { schema: CreateEndpointBody, example: { url: 'https://example.com/hooks', event_types: ['prepay.paid'], description: 'billing' } } },
        },
        responses: { 201: json('Registered: the endpoint and its signing secret, answered only now.', CreatedWebhookEndpoint) },
        errors: [...ownerErrors, 409],
      }),
      get: operation({
        ...common,
        operationId: `list${noun}s`,
        summary: `List the webhook endpoints of ${owner}`,
        requestParams: basePath,
        responses: { 200: json('The live endpoints, oldest first.', z.strictObject({ webhook_endpoints: z.array(WebhookEndpoint) })) },
        errors: ownerErrors,
      }),
    },
    [`${base}/{endpoint_id}`]: {
      get: operation({
        ...common,
        operationId: `get${noun}`,
        summary: 'One webhook endpoint',
        requestParams: endpointPath,
        responses: { 200: json('The endpoint.', WebhookEndpoint) },
        errors: [404],
      }),
      patch: operation({
        ...common,
        operationId: `update${noun}`,
        summary: 'Change a webhook endpoint, or disable or enable it',
        description: 'Changes the fields sent (at least one). Enabling an endpoint again forgets its failures.',
        requestParams: endpointPath,
        requestBody: { content: { 'application/json': { schema: PatchEndpointBody, example: { disabled: false } } } },
        responses: { 200: json('The endpoint, changed.', WebhookEndpoint) },
        errors: [404],
      }),
      delete: operation({
        ...common,
        operationId: `delete${noun}`,
        summary: 'Delete a webhook endpoint',
        description: 'Its pending deliveries are canceled.',
        requestParams: endpointPath,
        responses: { 200: json('Deleted.', z.strictObject({ id: z.string(), deleted: z.literal(true) })) },
        errors: [404],
      }),
    },
    [`${base}/{endpoint_id}/rotate_secret`]: {
      post: operation({
        ...common,
        operationId: `rotate${noun}Secret`,
        summary: 'Rotate a webhook endpoint’s signing secret',
        description: 'The new secret signs from now on; the previous one also signs until `previous_secret_expires_at`.',
        requestParams: endpointPath,
        responses: { 200: json('Rotated: the endpoint and its new secret, answered only now.', RotatedWebhookEndpoint) },
        errors: [404],
      }),
    },
    [`${base}/{endpoint_id}/deliveries`]: {
      get: operation({
        ...common,
        operationId: `list${noun}Deliveries`,
        summary: 'List a webhook endpoint’s delivery attempts, newest first',
        description: 'Paginated with `limit` and `starting_after` (an attempt `id`); `has_more` says whether more follow.',
        requestParams: { ...endpointPath, query: AttemptsQuery },
        responses: { 200: json('A page of attempts.', WebhookDeliveries) },
        errors: [404],
      }),
    },
    [`${base}/{endpoint_id}/deliveries/{event_id}/retry`]: {
      post: operation({
        ...common,
        operationId: `retry${noun}Delivery`,
        summary: 'Deliver an event to a webhook endpoint again',
        requestParams: { path: z.object({ ...mount.path, ...EndpointIdPath, event_id: opaqueId.meta({ description: 'The event’s id.' }) }) },
        responses: { 202: json('Accepted: a new generation of the delivery is pending.', Redelivery) },
        errors: [404, 409],
      }),
    },
    [`${base}/{endpoint_id}/replay`]: {
      post: operation({
        ...common,
        operationId: `replay${noun}Events`,
        summary: 'Deliver again every event since a time to a webhook endpoint',
        description: `The events the endpoint would have received since \`since\`, oldest first, at most ${REPLAY_LIMIT} per call.`,
        requestParams: endpointPath,
        requestBody: { content: { 'application/json': { schema: ReplayBody, example: { since: '2026-12-03T10:00:00Z' } } } },
        responses: { 202: json('Accepted: the events’ deliveries are pending.', Replay) },
        errors: [404, 409],
      }),
    },
  };
}

export const webhookPaths: ZodOpenApiPathsObject = {
  ...webhookEndpointPaths({
    base: '/v2alpha/teams/{team_id}/webhook_endpoints',
    noun: 'WebhookEndpoint',
    security: ['tenantKey', 'operatorKey'],
    path: { team_id: identifier },
    errors: [404],
    owner: 'a team (its own events)',
  }),
  ...webhookEndpointPaths({
    base: '/operator/v1/webhook_endpoints',
    noun: 'PlatformWebhookEndpoint',
    security: ['operatorKey'],
    path: {},
    errors: [],
    owner: 'the platform (every tenant’s events and the operator’s)',
  }),
};
