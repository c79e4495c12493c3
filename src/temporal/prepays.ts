/**
 * The client side of PrepayWorkflow: start a card prepay with update-with-start (the caller learns the
 * charge's outcome), start a token prepay (its payment arrives later, by transfers), and send updates. Rejections by the workflow's validators come back as
 * PrepayRejection with the failure's stable type (src/domain/failures.ts); a closed workflow is `PrepayClosed`.
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
import { FAILURES } from '../domain/failures.ts';
import { prepayWorkflowId } from '../domain/prepay.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import { AppError } from '../domain/errors.ts';
import type { Installation } from '../domain/installation.ts';
import { installationAttribute } from './search-attributes.ts';
import type { abandonedPrepayWorkflow, AbandonedPrepayInput } from '../workflows/abandoned-prepay.ts';
import type { prepayWorkflow } from '../workflows/prepay.ts';
import { awaitPaymentUpdate, prepaySearchAttributes, type PaymentOutcome, type PrepayInput, type PrepayView, type RequestOwner } from '../workflows/prepay-messages.ts';
import { WORKFLOW_TYPES } from './workflow-types.ts';

/** The workflow refused an update (validator or handler), or the prepay's workflow is closed. */
export class PrepayRejection extends Error {
  readonly type: string;
  /** the prepay's status as its workflow saw it when it refused, when it said (a closed prepay's) */
  readonly status: string | undefined;
  constructor(type: string, message: string, status?: string) {
    super(message);
    this.name = 'PrepayRejection';
    this.type = type;
    this.status = status;
  }
}

/**
 * How every prepay starts: its business id, joining a running run (a retried request), never a second run
 * after it closed, and the search attributes and summary operators find and read it by from the first moment.
 */
function prepayStartOptions(
  installation: Installation,
  taskQueue: string,
  input: PrepayInput,
): WorkflowStartOptions<typeof prepayWorkflow> & { workflowIdConflictPolicy: WorkflowIdConflictPolicy } {
  return {
    workflowId: prepayWorkflowId(installation, input.prePayId),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: prepaySearchAttributes.teamId, value: input.tenantId },
      { key: prepaySearchAttributes.prePayId, value: input.prePayId },
      { key: prepaySearchAttributes.paymentType, value: input.paymentType },
      { key: prepaySearchAttributes.status, value: 'awaiting_payment' },
      installationAttribute(installation),
    ],
    ...startMetadata.prepay(input),
  };
}

/**
 * Starts the prepay's workflow (or joins it, for a retried request) and waits until the card was charged
 * or declined. A closed workflow with this id is never started again (WorkflowExecutionAlreadyStartedError).
 */
export async function startCardPrepay(client: Client, installation: Installation, taskQueue: string, input: PrepayInput): Promise<PaymentOutcome> {
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof prepayWorkflow>(WORKFLOW_TYPES.prepay, prepayStartOptions(installation, taskQueue, input));
  // The update carries the request's tenant and terms: a running workflow of another tenant (or with other
  // terms) under this id refuses it instead of being driven by this request.
  const attach = { tenantId: input.tenantId, paymentType: input.paymentType, amount: input.amount, period: input.period };
  try {
    return await client.workflow.executeUpdateWithStart(awaitPaymentUpdate, { args: [attach], startWorkflowOperation });
  } catch (error) {
    throw identityConflict(input.prePayId, error) ?? error;
  }
}

/** The refusal of a request that names another tenant's workflow, as the API's 409; undefined for any other error. */
function identityConflict(prePayId: number, error: unknown): AppError | undefined {
  const refused = error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === FAILURES.prepayIdentityMismatch.type;
  if (!refused) return undefined;
  return new AppError(
    'conflict',
    `Prepay ${prePayId} collides with a workflow of another tenant or with other terms in Temporal (was the database reset or restored?); nothing was charged. An operator must resolve it.`,
    {
      field: 'pre_pay_id',
    },
  );
}

/**
 * Starts a token prepay's workflow, or leaves the running one as it is (a retried request). A closed one
 * is never started again: WorkflowExecutionAlreadyStartedError, which a replayed request may ignore.
 */
export async function startTokenPrepay(client: Client, installation: Installation, taskQueue: string, input: PrepayInput): Promise<void> {
  const handle = await client.workflow.start<typeof prepayWorkflow>(WORKFLOW_TYPES.prepay, prepayStartOptions(installation, taskQueue, input));
  // USE_EXISTING joins a running workflow of this id: only when it is this tenant's (its search attribute, set at start).
  const owner = (await handle.describe()).typedSearchAttributes.get(prepaySearchAttributes.teamId);
  if (owner !== undefined && owner !== input.tenantId) {
    throw new AppError(
      'conflict',
      `Prepay ${input.prePayId} collides with a workflow of another tenant in Temporal (was the database reset or restored?). An operator must resolve it.`,
      { field: 'pre_pay_id' },
    );
  }
}

/** Sends an update to a prepay's workflow and answers its result, translating refusals into PrepayRejection. */
export async function updatePrepay<Arg extends RequestOwner>(
  client: Client,
  installation: Installation,
  prePayId: number,
  update: UpdateDefinition<PrepayView, [Arg]>,
  arg: Arg,
): Promise<PrepayView> {
  try {
    return await client.workflow.getHandle(prepayWorkflowId(installation, prePayId)).executeUpdate(update, { args: [arg] });
  } catch (error) {
    const conflict = identityConflict(prePayId, error);
    if (conflict) throw conflict;
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type) {
      const [details] = error.cause.details ?? [];
      const status =
        typeof details === 'object' && details !== null && typeof (details as { status?: unknown }).status === 'string' ? (details as { status: string }).status : undefined;
      throw new PrepayRejection(error.cause.type, error.cause.message, status);
    }
    if (error instanceof WorkflowNotFoundError) throw new PrepayRejection(FAILURES.prepayClosed.type, `Prepay ${prePayId} is closed.`);
    throw error;
  }
}

/**
 * Takes the id of a prepay that never had a workflow with the tombstone AbandonedPrepayWorkflow (decision
 * 0080), so that no late start can charge it. WorkflowExecutionAlreadyStartedError when the id is taken.
 */
export async function startAbandonedPrepay(client: Client, installation: Installation, taskQueue: string, input: AbandonedPrepayInput & { paymentType: string }): Promise<void> {
  const { paymentType, ...args } = input;
  await client.workflow.start<typeof abandonedPrepayWorkflow>(WORKFLOW_TYPES.abandonedPrepay, {
    workflowId: prepayWorkflowId(installation, input.prePayId),
    taskQueue,
    args: [args],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: prepaySearchAttributes.teamId, value: input.tenantId },
      { key: prepaySearchAttributes.prePayId, value: input.prePayId },
      { key: prepaySearchAttributes.paymentType, value: paymentType },
      { key: prepaySearchAttributes.status, value: 'payment_failed' },
      installationAttribute(installation),
    ],
    ...startMetadata.abandonedPrepay(input),
  });
}
