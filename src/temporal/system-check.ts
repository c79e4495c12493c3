/** The starter of the operators' round-trip probe (`system-check-{request id}`): at most 20 s, then it fails. */
import type { Client } from '@temporalio/client';
import type { systemCheckWorkflow, SystemCheckInput, SystemCheckResult } from '../workflows/system-check.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import { WORKFLOW_TYPES } from './workflow-types.ts';

export const systemCheckWorkflowId = (requestId: string) => `system-check-${requestId}`;

export async function runSystemCheck(client: Client, taskQueue: string, requestId: string, input: SystemCheckInput): Promise<SystemCheckResult> {
  return client.workflow.execute<typeof systemCheckWorkflow>(WORKFLOW_TYPES.systemCheck, {
    taskQueue,
    workflowId: systemCheckWorkflowId(requestId),
    args: [input],
    workflowExecutionTimeout: '20s',
    ...startMetadata.systemCheck(input),
  });
}
