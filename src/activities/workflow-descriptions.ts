/** A workflow as Temporal describes it, for repairs that must look before they act (the reconciliation). */
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';

export type Described = { found: false } | { found: true; running: boolean; status: string; type: string; memo: Record<string, unknown> | undefined; closeTime: Date | undefined };

export async function describe(client: Client, workflowId: string): Promise<Described> {
  let description: WorkflowExecutionDescription;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { found: false };
    throw error;
  }
  return {
    found: true,
    running: description.status.name === 'RUNNING',
    status: description.status.name,
    type: description.type,
    memo: description.memo,
    closeTime: description.closeTime,
  };
}

/** Workflow ids that visibility lists as running for the query; only a hint (every repair describes first). */
export async function runningWorkflowIds(client: Client, query: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const execution of client.workflow.list({ query })) ids.add(execution.workflowId);
  return ids;
}
