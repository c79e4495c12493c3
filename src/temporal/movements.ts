/**
 * The starters of the balance's money workflows: a card recharge (`recharge-{trans_id}`) and a refund
 * (`refund-{trans_id}`). Each owns its workflow id, its reuse and conflict policies and its search
 * attributes, and starts the workflow by its function, so its input is typed.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Installation } from '../domain/installation.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import type { rechargeWorkflow, RechargeInput } from '../workflows/recharge.ts';
import type { refundWorkflow, RefundInput } from '../workflows/refund.ts';
import { WORKFLOW_TYPES } from './workflow-types.ts';
import { installationAttribute } from './search-attributes.ts';

export const rechargeWorkflowId = (transId: string) => `recharge-${transId}`;
export const refundWorkflowId = (transId: string) => `refund-${transId}`;

/** Starts the recharge of a pending card movement, or joins the one that runs or ran: never a second charge. */
export async function startRecharge(client: Client, installation: Installation, taskQueue: string, input: RechargeInput): Promise<WorkflowHandle<typeof rechargeWorkflow>> {
  const workflowId = rechargeWorkflowId(input.transId);
  try {
    return await client.workflow.start<typeof rechargeWorkflow>(WORKFLOW_TYPES.recharge, {
      taskQueue,
      workflowId,
      args: [input],
      // A retry of the same request joins the running or finished recharge; it never starts a second one.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [installationAttribute(installation)],
      ...startMetadata.recharge(input),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof rechargeWorkflow>(workflowId);
    throw error;
  }
}

/**
 * Starts the refund of a movement: one per transaction, so a second request while or after it ran gets
 * WorkflowExecutionAlreadyStartedError (a failed refund may be run again). `requestToken` names the
 * request (its Idempotency-Key claim) in the memo, so that the same request retried re-attaches.
 */
export async function startRefund(
  client: Client,
  installation: Installation,
  taskQueue: string,
  input: RefundInput,
  requestToken: string | undefined,
): Promise<WorkflowHandle<typeof refundWorkflow>> {
  return client.workflow.start<typeof refundWorkflow>(WORKFLOW_TYPES.refund, {
    taskQueue,
    workflowId: refundWorkflowId(input.transId),
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    ...(requestToken ? { memo: { idempotency: requestToken } } : {}),
    typedSearchAttributes: [installationAttribute(installation)],
    ...startMetadata.refund(input),
  });
}
