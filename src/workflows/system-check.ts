/**
 * A short workflow that proves the whole path works: API → Temporal → a worker → PostgreSQL and back.
 * Operators run it from `GET /operator/v1/diagnostics/worker`; it is also the foundation's round-trip test.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { activitySummary } from '../domain/workflow-summaries.ts';

export interface SystemCheckInput {
  requestedBy: string;
}

export interface SystemCheckResult {
  workflowId: string;
  taskQueue: string;
  database: { reachable: boolean; migrations: string[] };
  checkedAt: string;
}

const { checkDatabase } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '200 milliseconds' },
});

export async function systemCheckWorkflow(_input: SystemCheckInput): Promise<SystemCheckResult> {
  const info = workflowInfo();
  const database = await checkDatabase.executeWithOptions({ summary: activitySummary.checkDatabase() }, [{ workflowId: info.workflowId }]);
  return { workflowId: info.workflowId, taskQueue: info.taskQueue, database, checkedAt: new Date().toISOString() };
}
