/**
 * The Temporal side of a token transfer, for whoever delivers one (the watcher, the watcher route, the
 * reconciliation): the `tokenTransfer` signal to an open prepay's workflow, and the CreditTransferWorkflow
 * that credits a transfer no open prepay takes. Each owns its workflow id and policies.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Installation } from '../domain/installation.ts';
import { prepayWorkflowId } from '../domain/prepay.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import { creditTransferWorkflowId, type TokenTransferSignal } from '../domain/token-transfer.ts';
import type { creditTransferWorkflow, CreditTransferInput } from '../workflows/credit-transfer.ts';
import { WORKFLOW_TYPES } from './workflow-types.ts';
import { tokenTransferSignal } from '../workflows/prepay-messages.ts';
import { installationAttribute } from './search-attributes.ts';

/** Signals the transfer to the prepay's running workflow; false when the prepay has no running workflow. */
export async function signalTokenTransfer(client: Client, installation: Installation, prePayId: number, transfer: TokenTransferSignal): Promise<boolean> {
  try {
    await client.workflow.getHandle(prepayWorkflowId(installation, prePayId)).signal(tokenTransferSignal, transfer);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * Starts the credit of one transfer, or leaves the one that runs or ran as it is: one run per transfer, ever
 * (`transfer-{inst}-{chain}-{tx}-{log}`). Answers its workflow id.
 */
export async function startCreditTransfer(client: Client, installation: Installation, taskQueue: string, input: CreditTransferInput): Promise<string> {
  const workflowId = creditTransferWorkflowId(installation, input.transfer);
  try {
    await client.workflow.start<typeof creditTransferWorkflow>(WORKFLOW_TYPES.creditTransfer, {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [installationAttribute(installation)],
      ...startMetadata.creditTransfer(input),
    });
  } catch (error) {
    // Already ran to its end: the credit exists.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}
