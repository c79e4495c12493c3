/**
 * A test file's own running engine: the real API on a free port and a real worker on its own task
 * queue, against the run's PostgreSQL and Temporal dev server.
 */
import { randomBytes } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { quietTemporalRuntime } from './quiet-runtime.ts';
import { configSchema, type Config } from '../../src/config.ts';
import { initOrm, type Orm } from '../../src/db/orm.ts';
import { startApi } from '../../src/api/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createWorker } from '../../src/worker.ts';
import { createCardGateway } from '../../src/gateway/index.ts';
import { testRun } from './test-run.ts';

export interface TestStack {
  url: string;
  orm: Orm;
  config: Config;
  operatorKey: string;
  /** runs `fn` while the worker polls, then stops the worker */
  withWorker: <T>(fn: () => Promise<T>) => Promise<T>;
  /** starts a worker that polls until the returned function stops it (for files whose tests all need one) */
  startWorker: () => Promise<() => Promise<void>>;
  close: () => Promise<void>;
}

/** The environment of a worker process (`src/worker.ts` or a crashing stand-in) on this stack's database, server and task queue. */
export function workerProcessEnv(stack: TestStack, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: stack.config.DATABASE_URL,
    TEMPORAL_ADDRESS: stack.config.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
    ...(stack.config.WORKFLOW_BUNDLE_PATH ? { WORKFLOW_BUNDLE_PATH: stack.config.WORKFLOW_BUNDLE_PATH } : {}),
    ...extra,
  };
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export async function startStack(overrides: Partial<Record<keyof Config, string>> = {}): Promise<TestStack> {
  quietTemporalRuntime();
  const run = testRun();
  const operatorKey = `test-operator-${randomBytes(16).toString('hex')}`;
  const config = configSchema.parse({
    DATABASE_URL: run.databaseUrl,
    TEMPORAL_ADDRESS: run.temporalAddress,
    TEMPORAL_TASK_QUEUE: uniqueId('test-queue'),
    WORKFLOW_BUNDLE_PATH: run.workflowBundlePath,
    OPERATOR_API_KEY: operatorKey,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    // One test file (reconcile.test.ts) turns the schedule on; every other file's worker leaves it alone.
    RECONCILE_SCHEDULE: 'off',
    // Limits far above what a test sends, so the middleware runs without refusing (rate-limits.test.ts sets its own).
    RATE_LIMIT_QUOTES: '1000000',
    RATE_LIMIT_MONEY: '1000000',
    RATE_LIMIT_READS: '1000000',
    // the tests' webhook receivers listen on 127.0.0.1 (webhooks.test.ts refuses private targets in one stack)
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    ...overrides,
  });
  const orm = await initOrm(config.DATABASE_URL, { poolMax: 5 });
  const api = await startApi(config, orm, createLogger(config.LOG_LEVEL)).catch(async (error: unknown) => {
    await orm.close();
    throw error;
  });
  const withWorker = async <T>(fn: () => Promise<T>): Promise<T> => {
    const { worker, close } = await createWorker({ config, orm, gateway: createCardGateway(config, { orm }) });
    return runWithWorker(worker, fn).finally(close);
  };
  const startWorker = async (): Promise<() => Promise<void>> => {
    const { worker, close } = await createWorker({ config, orm, gateway: createCardGateway(config, { orm }) });
    const running = worker.run();
    return async () => {
      worker.shutdown();
      await running;
      await close();
    };
  };
  return {
    url: api.url,
    startWorker,
    orm,
    config,
    operatorKey,
    withWorker,
    close: async () => {
      await api.close();
      await orm.close();
    },
  };
}

async function runWithWorker<T>(worker: Worker, fn: () => Promise<T>): Promise<T> {
  return worker.runUntil(fn());
}
