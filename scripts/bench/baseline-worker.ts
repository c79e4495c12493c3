/**
 * The worker of the bench's Temporal baselines (a child process of `npm run bench`): the two workflows of
 * scripts/bench/baseline-workflows.ts from a prebuilt bundle and one empty activity, on the baseline's own
 * task queue, with the SDK's default worker options, like the engine's worker (src/worker.ts).
 *
 * Environment: TEMPORAL_ADDRESS, WORKFLOW_BUNDLE_PATH. Stops on SIGTERM or SIGINT.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { listenForStop } from '../../src/stop-signal.ts';
import { BASELINE_TASK_QUEUE } from './baseline-messages.ts';

const activities = {
  /** nothing: the activity's cost is Temporal's (schedule, poll, complete) and the worker's */
  noop: async (amount: string): Promise<string> => amount,
};
export type BaselineActivities = typeof activities;

async function main(): Promise<void> {
  const stop = listenForStop();
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [], telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } } });
  const address = process.env.TEMPORAL_ADDRESS;
  const bundle = process.env.WORKFLOW_BUNDLE_PATH;
  if (!address || !bundle) throw new Error('TEMPORAL_ADDRESS and WORKFLOW_BUNDLE_PATH are needed');
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await Worker.create({ connection, taskQueue: BASELINE_TASK_QUEUE, workflowBundle: { codePath: bundle }, activities, shutdownGraceTime: '5s' });
    const running = worker.run();
    await Promise.race([stop.received, running]);
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
