/**
 * Webhook delivery's activities (decision 0098): the outbox is drained into one workflow per delivery, and
 * each attempt POSTs the signed event, records the attempt and decides what comes next.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Orm } from '../db/orm.ts';
import { installationOf } from '../db/repositories/installation.ts';
import {
  disableEndpoint,
  endpointById,
  finishDelivery,
  findDelivery,
  findEvent,
  noteEndpointDelivered,
  noteEndpointFailing,
  recordAttempt,
  staleUnattemptedDeliveries,
} from '../db/repositories/webhooks.ts';
import type { RepairOutcome } from './reconcile-contract.ts';
import type { Clock } from '../domain/clock.ts';
import { webhookBody, type WebhookSettings } from '../domain/webhooks.ts';
import { startWebhookDelivery } from '../temporal/webhooks.ts';
import { postWebhook } from '../webhooks/sender.ts';
import { signatureHeaders } from '../webhooks/signing.ts';
import type { WebhookAttemptResult } from '../workflows/webhook-delivery.ts';

export interface WebhookActivityDeps {
  orm: Orm;
  clock: Clock;
  webhooks: WebhookSettings;
}

interface DeliveryKey {
  endpointId: string;
  eventId: string;
  generation: number;
}

export function createWebhookActivities(
  deps: WebhookActivityDeps,
  events: { recordEvent: (input: { key: string; tenantId: string | null; type: 'webhook_endpoint.disabled'; data: Record<string, unknown> }) => Promise<unknown> },
) {
  /** Disables the endpoint and records the operator's event once (a retry after a crash records the same event id). */
  const disable = async (endpointId: string, reason: string) => {
    await disableEndpoint(deps.orm.em.fork(), endpointId, reason, deps.clock.now());
    const endpoint = await endpointById(deps.orm.em.fork(), endpointId);
    if (!endpoint || endpoint.status !== 'disabled' || endpoint.disabledReason !== reason) return;
    // the operator's event (no tenant): the platform's endpoints get it, never the disabled one
    await events.recordEvent({
      key: `webhook-endpoint-${endpointId}-disabled-${endpoint.updatedAt.toISOString()}`,
      tenantId: null,
      type: 'webhook_endpoint.disabled',
      data: { webhook_endpoint_id: endpointId, tenant_id: endpoint.tenantId ?? null, url: endpoint.url, reason },
    });
  };

  return {
    async attemptWebhookDelivery(input: DeliveryKey & { attempt: number; scheduledAt: string }): Promise<WebhookAttemptResult> {
      const em = deps.orm.em.fork();
      const delivery = await findDelivery(em, input.endpointId, input.eventId);
      if (!delivery || delivery.generation !== input.generation) return { result: 'stopped', detail: 'a newer delivery of this event was asked for' };
      if (delivery.status !== 'pending') return { result: 'stopped', detail: `the delivery is ${delivery.status}` };
      const endpoint = await endpointById(em, input.endpointId);
      if (!endpoint || endpoint.status !== 'enabled') {
        await finishDelivery(em, input, 'canceled', deps.clock.now());
        return { result: 'stopped', detail: `the endpoint is ${endpoint?.status ?? 'gone'}` };
      }
      const event = await findEvent(em, input.eventId);
      if (!event) throw new Error(`event ${input.eventId} of a delivery vanished`);

      const at = deps.clock.now();
      const body = webhookBody({ id: event.id, type: event.type, tenantId: event.tenantId ?? null, createdAt: event.createdAt, data: event.data });
      const secrets = [endpoint.secret, ...(endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > at ? [endpoint.previousSecret] : [])];
      const outcome = await postWebhook(endpoint.url, signatureHeaders(secrets, event.id, at, body), body, {
        timeoutMs: deps.webhooks.timeoutMs,
        allowPrivate: deps.webhooks.allowPrivateTargets,
        requireHttps: deps.webhooks.requireHttps,
      });
      await recordAttempt(em, { endpointId: input.endpointId, eventId: input.eventId, generation: input.generation, attempt: input.attempt, at, ...outcome });
      const code = outcome.statusCode;
      if (code !== null && code >= 200 && code < 300) {
        await finishDelivery(em, input, 'delivered', deps.clock.now());
        await noteEndpointDelivered(em, input.endpointId);
        return { result: 'delivered' };
      }
      if (code === 410) {
        await finishDelivery(em, input, 'canceled', deps.clock.now());
        await disable(input.endpointId, 'the endpoint answered 410 Gone');
        return { result: 'stopped', detail: 'the endpoint answered 410 Gone and is disabled' };
      }
      // counted on the schedule's clock (the workflow's time), so that the three days are the schedule's
      const scheduledAt = new Date(input.scheduledAt);
      const failingSince = await noteEndpointFailing(em, input.endpointId, scheduledAt);
      if (scheduledAt.getTime() - failingSince.getTime() >= deps.webhooks.disableAfterMs) {
        await finishDelivery(em, input, 'failed', deps.clock.now());
        await disable(input.endpointId, `every attempt failed since ${failingSince.toISOString()}`);
        return { result: 'stopped', detail: 'the endpoint has failed for too long and is disabled' };
      }
      return { result: 'retry', detail: outcome.error ?? `answered ${code}` };
    },

    /**
     * The reconciler's part (decision 0098): starts the workflow of every delivery pending without an attempt
     * for longer than the grace period. A start is a no-op for a workflow that runs or ran.
     */
    async restartStaleWebhookDeliveries(input: { graceSeconds?: number; limit?: number; tenantId?: string }): Promise<RepairOutcome> {
      const before = new Date(deps.clock.now().getTime() - (input.graceSeconds ?? 600) * 1000);
      const stale = await staleUnattemptedDeliveries(deps.orm.em.fork(), before, input.limit ?? 200, input.tenantId ?? null);
      if (stale.length === 0) return { action: 'none', item: 'webhook-outbox', detail: 'no stale delivery' };
      const worker = workerClient()!;
      const installation = await installationOf(deps.orm);
      for (const delivery of stale) {
        const start = { endpointId: delivery.endpointId, eventId: delivery.eventId, generation: delivery.generation, scheduleSeconds: [...deps.webhooks.scheduleSeconds] };
        await startWebhookDelivery(worker.client, installation, worker.taskQueue, start, delivery.tenantId);
      }
      return { action: 'webhook_deliveries_started', item: 'webhook-outbox', detail: `${stale.length} pending deliveries without an attempt started` };
    },

    async giveUpWebhookDelivery(input: DeliveryKey): Promise<{ status: 'failed' }> {
      await finishDelivery(deps.orm.em.fork(), input, 'failed', deps.clock.now());
      return { status: 'failed' };
    },
  };
}

/** The worker's Temporal client and task queue when running as an activity (deliveries are started with them). */
export function workerClient(): { client: Client; taskQueue: string } | null {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return null;
  }
  return { client: context.client, taskQueue: context.info.taskQueue };
}
