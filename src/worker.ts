/**
 * The worker process (composition root): polls the task queue, runs workflows and activities.
 * `npm run worker`; configured only by the environment; SIGINT/SIGTERM at any moment stop it: during start-up
 * where it is, while running by draining the worker gracefully.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.ts';
import { loadConfig, webhookSettings, type Config, type WebhookConfigKey } from './config.ts';
import { initOrm, type Orm } from './db/orm.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { createLogger } from './logger.ts';
import type { CardGateway } from './gateway/card-gateway.ts';
import { createCardGateway } from './gateway/index.ts';
import { createPriceFeed } from './pricing/index.ts';
import { installWorkerRuntime } from './metrics/worker.ts';
import { listenForStop } from './stop-signal.ts';
import { ensureReconcileSchedule } from './temporal/schedules.ts';
import { connectTemporal } from './temporal/client.ts';
import { prepareInstallation } from './temporal/namespace-check.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
export const DEFAULT_BUNDLE_PATH = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));

/**
 * The Node flags every worker process is started with (`npm run worker`, docker-compose.yml, the scripts that
 * start workers; decision 0112). Node 24 lets each V8 heap (the process's and the workflow thread's) grow its
 * young generation to 128 MiB and its old one to a quarter of the machine's memory before collecting hard,
 * so an idle worker's memory said more about the machine than about its work. With these the worker's
 * memory stays bounded by what it holds: the cache of WORKER_MAX_CACHED_WORKFLOWS workflows and the process.
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=384', '--max-semi-space-size=16'] as const;

export interface WorkerDeps {
  config: Pick<
    Config,
    | 'TEMPORAL_ADDRESS'
    | 'TEMPORAL_NAMESPACE'
    | 'TEMPORAL_TASK_QUEUE'
    | 'WORKFLOW_BUNDLE_PATH'
    | 'NODE_ENV'
    | 'SHUTDOWN_GRACE_SECONDS'
    | 'WORKER_MAX_CACHED_WORKFLOWS'
    | 'PRICE_FEED'
    | 'PRICE_FEED_URL'
    | 'PRICE_FEED_MAX_AGE_SECONDS'
  > &
    Partial<
      Pick<
        Config,
        | 'RECONCILE_SCHEDULE'
        | 'RECONCILE_INTERVAL_SECONDS'
        | 'RECONCILE_GRACE_SECONDS'
        | 'PREPAY_BINDING_TIMEOUT_SECONDS'
        | 'PREPAY_RENEWAL_NOTICE_SECONDS'
        | 'PREPAY_TOKEN_RENEWAL_GRACE_SECONDS'
        | 'PREPAY_TOKEN_CONFIRMATION_GRACE_SECONDS'
        | WebhookConfigKey
      >
    >;
  orm: Orm;
  gateway: CardGateway;
  clock?: Clock;
  /** a connection the caller owns; otherwise one is opened and closed with the worker */
  connection?: NativeConnection;
}

/** Where the workflow code comes from: a prebuilt bundle in production, the sources in development. */
export function workflowSource(config: WorkerDeps['config']): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const prebuilt = config.NODE_ENV === 'production' && existsSync(DEFAULT_BUNDLE_PATH) ? DEFAULT_BUNDLE_PATH : undefined;
  const bundlePath = config.WORKFLOW_BUNDLE_PATH ?? prebuilt;
  if (bundlePath) {
    if (!existsSync(bundlePath)) throw new Error(`WORKFLOW_BUNDLE_PATH ${bundlePath} does not exist; run \`npm run build\`.`);
    return { workflowBundle: { codePath: bundlePath } };
  }
  if (config.NODE_ENV === 'production') {
    throw new Error('No workflow bundle: run `npm run build` (it writes dist/workflow-bundle.js) or set WORKFLOW_BUNDLE_PATH.');
  }
  return { workflowsPath: WORKFLOWS_PATH };
}

export async function createWorker(deps: WorkerDeps): Promise<{ worker: Worker; close: () => Promise<void>; reconcileSchedule?: 'created' | 'updated' | 'unchanged' }> {
  const ownConnection = !deps.connection;
  const clock = deps.clock ?? systemClock;
  const connection = deps.connection ?? (await NativeConnection.connect({ address: deps.config.TEMPORAL_ADDRESS }));
  const worker = await Worker.create({
    connection,
    namespace: deps.config.TEMPORAL_NAMESPACE,
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    activities: createActivities({ orm: deps.orm, gateway: deps.gateway, clock, priceFeed: createPriceFeed(deps.config, clock), webhooks: webhookSettings(deps.config) }),
    shutdownGraceTime: `${deps.config.SHUTDOWN_GRACE_SECONDS}s`,
    // bounded, so that thousands of prepays waiting for their next month do not grow the worker (decisions 0110, 0112)
    maxCachedWorkflows: deps.config.WORKER_MAX_CACHED_WORKFLOWS,
    ...workflowSource(deps.config),
  });
  // The reconciliation schedule (decision 0080): made sure of by every worker, before it polls.
  const reconcileSchedule =
    deps.config.RECONCILE_SCHEDULE === 'on'
      ? await ensureReconcileSchedule(new Client({ connection, namespace: deps.config.TEMPORAL_NAMESPACE }), reconcileSettings(deps.config))
      : undefined;
  return {
    worker,
    reconcileSchedule,
    close: async () => {
      if (ownConnection) await connection.close();
    },
  };
}

/** The reconciliation's schedule from the configuration; prepays it starts get the API's timings. */
function reconcileSettings(config: WorkerDeps['config']) {
  const seconds = (value: number | undefined) => (value === undefined ? undefined : value * 1000);
  const timings = {
    bindingTimeoutMs: seconds(config.PREPAY_BINDING_TIMEOUT_SECONDS),
    renewalNoticeMs: seconds(config.PREPAY_RENEWAL_NOTICE_SECONDS),
    tokenRenewalGraceMs: seconds(config.PREPAY_TOKEN_RENEWAL_GRACE_SECONDS),
    tokenConfirmationGraceMs: seconds(config.PREPAY_TOKEN_CONFIRMATION_GRACE_SECONDS),
  };
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    intervalSeconds: config.RECONCILE_INTERVAL_SECONDS ?? 300,
    graceSeconds: config.RECONCILE_GRACE_SECONDS ?? 600,
    prepayTimings: Object.fromEntries(Object.entries(timings).filter(([, value]) => value !== undefined)),
  };
}

async function main(): Promise<void> {
  // First: a signal at any moment of start-up stops the process there, cleanly (src/stop-signal.ts).
  const stop = listenForStop();
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { process: 'worker' });
  stop.received.then(
    (signal) => logger.info({ signal }, 'worker stopping'),
    () => undefined,
  );
  // The SDK runtime is made once per process, before any connection: its logs through pino, its exporter.
  const metrics = installWorkerRuntime(config, logger);
  const orm = await initOrm(config.DATABASE_URL);
  try {
    if (stop.requested) return;
    const gateway = createCardGateway(config, { orm });
    // Before polling: this database's installation, and a namespace that runs no other installation's workflows (decision 0090).
    const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
    const installation = await prepareInstallation(temporal.client, orm, config).finally(() => temporal.connection.close());
    logger.info({ installation: installation.id, legacy: installation.legacy, foreignRunning: installation.foreignRunning }, 'installation checked');
    if (stop.requested) return;
    const { worker, close, reconcileSchedule } = await createWorker({ config, orm, gateway });
    try {
      // Run even when a signal came meanwhile: a worker that never ran cannot be let go of (it holds the connection).
      logger.info(
        {
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          namespace: config.TEMPORAL_NAMESPACE,
          reconcileSchedule: reconcileSchedule ?? 'off',
          metrics: metrics ? `http://${metrics}/metrics` : 'off',
          maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
          // without WORKER_NODE_FLAGS this is a quarter of the machine's memory: the worker then grows with it
          heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
        },
        'worker started',
      );
      const running = worker.run();
      // Until a signal: then the worker drains (in-flight tasks finish within SHUTDOWN_GRACE_SECONDS).
      await Promise.race([stop.received, running.catch(() => undefined)]);
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    } finally {
      await close();
    }
  } finally {
    await orm.close();
    logger.info('worker stopped');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
