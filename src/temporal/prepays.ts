/**
 * The client side of PrepayWorkflow: start a card prepay with update-with-start (the caller learns the
 * charge's outcome), start a token prepay (its payment arrives later, by transfers), and send updates. Rejections by the workflow's validators come back as
 * PrepayRejection with the stable type of PREPAY_FAILURES; a closed workflow is `PrepayClosed`.
 */
import {
  WithStartWorkflowOperation,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { PREPAY_FAILURES, prepayWorkflowId } from '../domain/prepay.ts';
import { awaitPaymentUpdate, prepaySearchAttributes, prepayWorkflow, type PaymentOutcome, type PrepayInput, type PrepayView } from '../workflows/prepay.ts';

/** The workflow refused an update (validator or handler), or the prepay's workflow is closed. */
export class PrepayRejection extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.name = 'PrepayRejection';
    this.type = type;
  }
}

/**
 * How every prepay starts: its business id, joining a running run (a retried request), never a second run
 * after it closed, and the search attributes operators find it by from the first moment.
 */
function prepayStartOptions(taskQueue: string, input: PrepayInput): WorkflowStartOptions<typeof prepayWorkflow> & { workflowIdConflictPolicy: WorkflowIdConflictPolicy } {
  return {
    workflowId: prepayWorkflowId(input.prePayId),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: prepaySearchAttributes.teamId, value: input.tenantId },
      { key: prepaySearchAttributes.prePayId, value: input.prePayId },
      { key: prepaySearchAttributes.paymentType, value: input.paymentType },
      { key: prepaySearchAttributes.status, value: 'awaiting_payment' },
    ],
  };
}

/**
 * Starts the prepay's workflow (or joins it, for a retried request) and waits until the card was charged
 * or declined. A closed workflow with this id is never started again (WorkflowExecutionAlreadyStartedError).
 */
export async function startCardPrepay(client: Client, taskQueue: string, input: PrepayInput): Promise<PaymentOutcome> {
  const startWorkflowOperation = new WithStartWorkflowOperation(prepayWorkflow, prepayStartOptions(taskQueue, input));
  return client.workflow.executeUpdateWithStart(awaitPaymentUpdate, { startWorkflowOperation });
}

/**
 * Starts a token prepay's workflow, or leaves the running one as it is (a retried request). A closed one
 * is never started again: WorkflowExecutionAlreadyStartedError, which a replayed request may ignore.
 */
export async function startTokenPrepay(client: Client, taskQueue: string, input: PrepayInput): Promise<void> {
  await client.workflow.start(prepayWorkflow, prepayStartOptions(taskQueue, input));
}

/** Sends an update to a prepay's workflow and answers its result, translating refusals into PrepayRejection. */
export async function updatePrepay<Arg>(client: Client, prePayId: number, update: UpdateDefinition<PrepayView, [Arg]>, arg: Arg): Promise<PrepayView> {
  try {
    return await client.workflow.getHandle(prepayWorkflowId(prePayId)).executeUpdate(update, { args: [arg] });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type) {
      throw new PrepayRejection(error.cause.type, error.cause.message);
    }
    if (error instanceof WorkflowNotFoundError) throw new PrepayRejection(PREPAY_FAILURES.closed, `Prepay ${prePayId} is closed.`);
    throw error;
  }
}
