/**
 * The messages of the bench's baseline workflows (scripts/bench/baseline-workflows.ts), apart from the
 * workflows so that the driver imports them without the workflow code.
 */
import { defineUpdate } from '@temporalio/workflow';

/** The task queue of the baseline worker; the engine's worker polls another. */
export const BASELINE_TASK_QUEUE = 'bench-baseline';

export const BASELINE_WORKFLOW_TYPES = { empty: 'benchEmptyWorkflow', oneActivity: 'benchOneActivityWorkflow' } as const;

/** Answered at once (empty) or once the workflow's one activity returned (oneActivity). */
export const attachUpdate = defineUpdate<string, [{ tenantId: string; amount: string }]>('attach');
