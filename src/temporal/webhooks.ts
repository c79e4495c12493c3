/** Starts the delivery workflow of one event to one webhook endpoint (decision 0098). */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { installationOf } from '../db/repositories/installation.ts';
import { endpointById, pendingDeliveriesOf } from '../db/repositories/webhooks.ts';
import type { Installation } from '../domain/installation.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import type { webhookDeliveryWorkflow, WebhookDeliveryInput } from '../workflows/webhook-delivery.ts';
import { installationAttribute, tenantSearchAttribute, webhookEndpointSearchAttribute } from './search-attributes.ts';
import { WORKFLOW_TYPES } from './workflow-types.ts';

export function webhookDeliveryWorkflowId(installation: Installation, delivery: { endpointId: string; eventId: string; generation: number }): string {
  return `webhook-${installation.id}-${delivery.endpointId}-${delivery.eventId}-${delivery.generation}`;
}

/**
 * Starts the delivery unless its workflow runs or ran already (each generation has one workflow id, and an
 * id is never run twice), so the outbox may be drained again after a crash without a second delivery.
 */
export async function startWebhookDelivery(client: Client, installation: Installation, taskQueue: string, input: WebhookDeliveryInput, tenantId: string | null): Promise<void> {
  try {
    await client.workflow.start<typeof webhookDeliveryWorkflow>(WORKFLOW_TYPES.webhookDelivery, {
      taskQueue,
      workflowId: webhookDeliveryWorkflowId(installation, input),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [
        installationAttribute(installation),
        { key: webhookEndpointSearchAttribute, value: input.endpointId },
        ...(tenantId ? [{ key: tenantSearchAttribute, value: tenantId }] : []),
      ],
      ...startMetadata.webhookDelivery(input, tenantId),
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/** Starts the workflow of every pending delivery of the event (again after a crash: each start is idempotent). */
export async function startPendingDeliveries(client: Client, em: EntityManager, taskQueue: string, eventId: string, scheduleSeconds: readonly number[]): Promise<void> {
  const pending = await pendingDeliveriesOf(em, eventId);
  if (pending.length === 0) return;
  const installation = await installationOf(em);
  for (const delivery of pending) {
    const endpoint = await endpointById(em, delivery.endpointId);
    const input = { endpointId: delivery.endpointId, eventId, generation: delivery.generation, scheduleSeconds: [...scheduleSeconds] };
    await startWebhookDelivery(client, installation, taskQueue, input, endpoint?.tenantId ?? null);
  }
}
