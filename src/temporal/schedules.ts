/**
 * The Temporal Schedule `reconcile` (decision 0080): ReconcileWorkflow every RECONCILE_INTERVAL_SECONDS
 * on the engine's task queue, overlap SKIP (a run still going when the next is due makes that one skip).
 * Every worker makes sure of it at start-up: created when missing; when two workers start at once the
 * second meets `ScheduleAlreadyRunning` and compares instead. An existing schedule is updated only when
 * its action, interval or policy differ from this worker's configuration, and an update keeps the
 * schedule's state: a schedule an operator paused stays paused across deploys and restarts.
 */
import { WORKFLOW_TYPES } from './workflow-types.ts';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { PrepayTimings } from '../domain/prepay.ts';
import { startMetadata } from '../domain/workflow-summaries.ts';
import type { ReconcileInput, reconcileWorkflow } from '../workflows/reconcile.ts';

export const RECONCILE_SCHEDULE_ID = 'reconcile';
/** Scheduled runs are `reconcile-{scheduled time}` (the schedule appends the time). */
export const RECONCILE_WORKFLOW_ID = 'reconcile';
/** A run stuck longer than this ends, so that SKIP does not skip every later run forever. */
const RUN_TIMEOUT_MS = 30 * 60 * 1000;

export interface ReconcileScheduleSettings {
  taskQueue: string;
  intervalSeconds: number;
  graceSeconds: number;
  prepayTimings: Partial<PrepayTimings>;
  scheduleId?: string;
}

export function reconcileScheduleAction(settings: ReconcileScheduleSettings): ScheduleOptionsStartWorkflowAction<typeof reconcileWorkflow> {
  const input: ReconcileInput = { graceSeconds: settings.graceSeconds, prepayTimings: settings.prepayTimings };
  return {
    type: 'startWorkflow',
    workflowType: WORKFLOW_TYPES.reconcile,
    workflowId: RECONCILE_WORKFLOW_ID,
    taskQueue: settings.taskQueue,
    args: [input],
    workflowExecutionTimeout: RUN_TIMEOUT_MS,
    ...startMetadata.reconcile(settings),
  };
}

/** Creates the schedule, or brings an existing one to this configuration; answers what it did. */
export async function ensureReconcileSchedule(client: Client, settings: ReconcileScheduleSettings): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = settings.scheduleId ?? RECONCILE_SCHEDULE_ID;
  const action = reconcileScheduleAction(settings);
  const spec = { intervals: [{ every: `${settings.intervalSeconds}s` as const }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute', pauseOnFailure: false };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { note: 'created by a worker at start-up (decision 0080)' } });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  if (matches(await handle.describe(), settings)) return 'unchanged';
  await handle.update((previous) => ({
    spec,
    action,
    policies,
    state: { paused: previous.state.paused, note: previous.state.note, remainingActions: previous.state.remainingActions },
  }));
  return 'updated';
}

function matches(current: ScheduleDescription, settings: ReconcileScheduleSettings): boolean {
  const action = current.action;
  const wanted = reconcileScheduleAction(settings);
  return (
    action.type === 'startWorkflow' &&
    action.workflowType === wanted.workflowType &&
    action.workflowId === wanted.workflowId &&
    action.taskQueue === wanted.taskQueue &&
    JSON.stringify(action.args) === JSON.stringify(wanted.args) &&
    Number(action.workflowExecutionTimeout) === RUN_TIMEOUT_MS &&
    // a schedule created before its runs had a summary gets it with the next deploy
    action.staticSummary === wanted.staticSummary &&
    action.staticDetails === wanted.staticDetails &&
    current.spec.intervals?.length === 1 &&
    current.spec.intervals[0]?.every === settings.intervalSeconds * 1000 &&
    (current.spec.calendars?.length ?? 0) === 0 &&
    current.policies.overlap === ScheduleOverlapPolicy.SKIP
  );
}
