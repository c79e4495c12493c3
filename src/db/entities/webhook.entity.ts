import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const WEBHOOK_ENDPOINT_STATUSES = ['enabled', 'disabled', 'deleted'] as const;
export type WebhookEndpointStatus = (typeof WEBHOOK_ENDPOINT_STATUSES)[number];

/**
 * Where a tenant (or, with no tenant, the platform) receives events (migration 0017). Read through this
 * entity; its changes are guarded statements in db/repositories/webhooks.ts.
 */
export const WebhookEndpoint = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoints',
  properties: {
    id: p.string().primary(),
    /** null: a platform endpoint, which receives every tenant's events and the operator's */
    tenantId: p.string().fieldName('tenant_id').nullable(),
    url: p.string(),
    description: p.string(),
    /** null: every event type */
    eventTypes: p.array().fieldName('event_types').nullable(),
    secret: p.string(),
    previousSecret: p.string().fieldName('previous_secret').nullable(),
    previousSecretExpiresAt: p.datetime().fieldName('previous_secret_expires_at').nullable(),
    status: p.string().$type<WebhookEndpointStatus>(),
    disabledReason: p.string().fieldName('disabled_reason').nullable(),
    failingSince: p.datetime().fieldName('failing_since').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type WebhookEndpoint = InferEntity<typeof WebhookEndpoint>;

/** One HTTP attempt to deliver an event to an endpoint. */
export const WebhookAttempt = defineEntity({
  name: 'WebhookAttempt',
  tableName: 'webhook_attempts',
  properties: {
    id: p.bigint('number').primary(),
    endpointId: p.string().fieldName('endpoint_id'),
    eventId: p.string().fieldName('event_id'),
    generation: p.integer(),
    attempt: p.integer(),
    attemptedAt: p.datetime().fieldName('attempted_at'),
    statusCode: p.integer().fieldName('status_code').nullable(),
    latencyMs: p.integer().fieldName('latency_ms'),
    error: p.string().nullable(),
  },
});
export type WebhookAttempt = InferEntity<typeof WebhookAttempt>;

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'canceled'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** The delivery of one event to one endpoint (the outbox row), in its latest generation. */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  properties: {
    endpointId: p.string().fieldName('endpoint_id').primary(),
    eventId: p.string().fieldName('event_id').primary(),
    generation: p.integer(),
    status: p.string().$type<WebhookDeliveryStatus>(),
    attempts: p.integer(),
    lastAttemptAt: p.datetime().fieldName('last_attempt_at').nullable(),
    deliveredAt: p.datetime().fieldName('delivered_at').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type WebhookDelivery = InferEntity<typeof WebhookDelivery>;
