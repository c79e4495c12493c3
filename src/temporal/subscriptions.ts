/**
 * Talking to SubscriptionWorkflows from outside them: starting one for a subscription row (safe to repeat),
 * and telling a tenant's unpaid subscriptions that money arrived. Used by the API and by activities.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { unpaidSubscriptionWorkflowIds, type Subscription } from '../db/repositories/subscriptions.ts';
import type { Installation } from '../domain/installation.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import { installationAttribute } from './search-attributes.ts';
import { retryChargeSignal, SUBSCRIPTION_SEARCH_ATTRIBUTES, type SubscriptionInput } from '../workflows/subscription-messages.ts';
import type { subscriptionWorkflow } from '../workflows/subscription.ts';
import { WORKFLOW_TYPES } from './workflow-types.ts';

/** The workflow input that continues a subscription from its row (a fresh checkout is period 1, active). */
export function subscriptionInputOf(subscription: Subscription): SubscriptionInput {
  if (subscription.status === 'canceled') throw new Error(`subscription ${subscription.id} is canceled`);
  return {
    subscriptionId: subscription.id,
    tenantId: subscription.tenantId,
    planId: subscription.planId,
    billPeriod: subscription.billPeriod,
    price: subscription.price,
    anchor: subscription.anchor.toISOString(),
    period: subscription.period,
    status: subscription.status,
    arrearsSince: subscription.arrearsSince?.toISOString(),
    suspendedAt: subscription.suspendedAt?.toISOString(),
  };
}

/**
 * Makes sure the subscription's workflow runs. Safe to repeat: a workflow already running for this
 * subscription is left alone. The id is per tenant and plan, so a run of an earlier, just-canceled
 * subscription may still be closing: then we wait for it to close and start ours.
 */
export async function ensureSubscriptionWorkflow(client: Client, installation: Installation, taskQueue: string, subscription: Subscription): Promise<void> {
  const input = subscriptionInputOf(subscription);
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.workflow.start<typeof subscriptionWorkflow>(WORKFLOW_TYPES.subscription, {
        taskQueue,
        workflowId: subscription.workflowId,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        memo: { subscriptionId: subscription.id },
        typedSearchAttributes: [
          { key: SUBSCRIPTION_SEARCH_ATTRIBUTES.tenantId, value: subscription.tenantId },
          { key: SUBSCRIPTION_SEARCH_ATTRIBUTES.planId, value: subscription.planId },
          { key: SUBSCRIPTION_SEARCH_ATTRIBUTES.status, value: subscription.status },
          installationAttribute(installation),
        ],
        ...startMetadata.subscription(input),
      });
      return;
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const running = client.workflow.getHandle(subscription.workflowId);
      const description = await running.describe();
      if (description.memo?.subscriptionId === subscription.id) return;
      if (attempt >= 3) throw new Error(`workflow ${subscription.workflowId} still runs subscription ${String(description.memo?.subscriptionId)}`, { cause: error });
      await Promise.race([running.result().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
  }
}

/** Signals every unpaid (arrears or suspended) subscription of the tenant to retry its charge now. */
export async function signalUnpaidSubscriptions(em: EntityManager, client: Client, tenantId: string): Promise<number> {
  let signaled = 0;
  for (const workflowId of await unpaidSubscriptionWorkflowIds(em, tenantId)) {
    try {
      await client.workflow.getHandle(workflowId).signal(retryChargeSignal);
      signaled += 1;
    } catch (error) {
      // A workflow that just closed has nothing left to charge.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return signaled;
}
