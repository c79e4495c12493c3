/**
 * The processes of `npm run bench`: the engine in its production shape (a database of its own on the local
 * PostgreSQL, a Temporal dev server of its own on SQLite in WAL mode, the migrations and the demo seed, one
 * API and one worker process with a prebuilt workflow bundle), and the baselines' processes (the bare Koa
 * app, the baseline worker, the drivers). Started the way scripts/fuzz.ts and scripts/chaos.ts start them,
 * with their modules (scripts/chaos/processes.ts); every one registers its stop in the run's Lifecycle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { findTemporalCli, freePort, HOW_TO_GET_TEMPORAL_CLI, PROJECT_ROOT } from '../../src/dev/temporal-dev-server.ts';
import { nodeProcess, startTemporal, writeWorkflowBundle, type Lifecycle, type Proc, type Temporal } from '../chaos/processes.ts';
import { WORKER_NODE_FLAGS } from '../../src/worker.ts';
import { BASELINE_TASK_QUEUE } from './baseline-messages.ts';
import type { DriverAnswer, DriverRequest } from './driver.ts';
import type { LoadResult } from './measure.ts';
import { createScratchDatabase, seedDemo, workerPolls } from '../chaos/scratch-database.ts';

/** The run was stopped (Ctrl-C): everything is being stopped; nothing more to report. */
export class Interrupted extends Error {}

/** Until `check` holds; on a timeout the error carries the last lines of `proc`'s output, when given. */
export async function waitUntil(life: Lifecycle, check: () => Promise<boolean>, what: string, timeoutMs = 180_000, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (life.stopping) throw new Interrupted();
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`bench: timed out waiting for ${what}${proc ? `; its last output:\n${proc.output.slice(-30).join('\n')}` : ''}`);
}

/** Awaits one step of the start; after a signal, the start goes no further. */
export async function step<T>(life: Lifecycle, promise: Promise<T>): Promise<T> {
  const value = await promise;
  if (life.stopping) throw new Interrupted();
  return value;
}

export interface Engine {
  apiUrl: string;
  operatorKey: string;
  /** the demo tenant's key (src/db/seed.ts) */
  tenantKey: string;
  databaseUrl: string;
  databaseName: string;
  temporal: Temporal;
  api: Proc;
  worker: Proc;
  /** a small pool on the bench's database: the PostgreSQL CPU probe and the prepay check */
  admin: pg.Pool;
}

/** A database of the run's own on the local PostgreSQL; dropped at the end. */
async function createDatabase(life: Lifecycle): Promise<{ url: string; name: string }> {
  const adminUrl = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = await createScratchDatabase('bench', adminUrl);
  life.cleanups.push(() => database.drop());
  return database;
}

/** SIGTERM, then the exit: a process run with --cpu-prof writes its profile when it exits on its own. */
async function stopGracefully(proc: Proc, timeoutMs = 20_000): Promise<void> {
  const child = proc.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
}

export interface EngineOptions {
  /** a folder of its own for its files (Temporal's SQLite file, the bundle) when the run starts more than one engine */
  dir?: string;
  /** a folder: the API and the worker run with `node --cpu-prof` and write their profiles there when stopped */
  cpuProfDir?: string;
  say: (line: string) => void;
}

export async function startEngine(life: Lifecycle, options: EngineOptions): Promise<Engine> {
  const cli = findTemporalCli();
  if (!cli) throw new Error(HOW_TO_GET_TEMPORAL_CLI);
  const database = await step(life, createDatabase(life));
  const dir = options.dir ?? life.work;
  mkdirSync(dir, { recursive: true });
  const temporal = await step(life, startTemporal(life, cli, dir));
  const tenantKey = await step(life, seedDemo(database.url));
  // what `npm run build` writes, for WORKFLOW_BUNDLE_PATH: a production worker does not bundle at start
  const bundlePath = await step(life, writeWorkflowBundle(join(dir, 'workflow-bundle.js')));
  const operatorKey = `pk_operator_bench_${randomBytes(18).toString('base64url')}`;
  const taskQueue = `bench-${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    OPERATOR_API_KEY: operatorKey,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    // one line per request at info; the bench measures the engine, not the pipe its logs go to
    LOG_LEVEL: 'warn',
    RATE_LIMIT: 'off',
    RECONCILE_SCHEDULE: 'off',
    SHUTDOWN_GRACE_SECONDS: '5',
  };
  if (options.cpuProfDir) {
    mkdirSync(options.cpuProfDir, { recursive: true });
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${options.cpuProfDir}`.trim();
  }
  const api = nodeProcess(life, 'api', 'src/api/server.ts', { ...env, PORT: String(port) });
  const worker = nodeProcess(life, 'worker', 'src/worker.ts', env, WORKER_NODE_FLAGS);
  if (options.cpuProfDir) {
    // before the SIGKILL of nodeProcess's cleanup (cleanups run in reverse order)
    life.cleanups.push(async () => {
      await Promise.all([stopGracefully(api), stopGracefully(worker)]);
      options.say(`bench: CPU profiles of the API and the worker in ${options.cpuProfDir}`);
    });
  }
  api.start();
  await waitUntil(life, async () => (await fetch(`${apiUrl}/readyz`)).status === 200, 'the API', undefined, api);
  worker.start();
  await waitUntil(life, () => workerPolls(temporal.server.address, taskQueue), 'the worker', undefined, worker);
  const admin = new pg.Pool({ connectionString: database.url, max: 2 });
  admin.on('error', () => undefined);
  life.cleanups.push(() => admin.end());
  return { apiUrl, operatorKey, tenantKey, databaseUrl: database.url, databaseName: database.name, temporal, api, worker, admin };
}

// ---------------------------------------------------------------------------------------------------
// The baselines' processes

export interface BareKoa {
  url: string;
  proc: Proc;
}

/** The bare Koa app (scripts/bench/bare-koa.ts), answering the given JSON bodies. */
export async function startBareKoa(life: Lifecycle, getJson: string, postJson: string): Promise<BareKoa> {
  const port = await freePort();
  const proc = nodeProcess(life, 'bare-koa', 'scripts/bench/bare-koa.ts', { PORT: String(port), BARE_KOA_GET_JSON: getJson, BARE_KOA_POST_JSON: postJson, NODE_ENV: 'production' });
  proc.start();
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(life, async () => (await fetch(`${url}/regions`)).status === 200, 'the bare Koa app', 60_000);
  return { url, proc };
}

const BASELINE_WORKFLOWS_PATH = fileURLToPath(new URL('./baseline-workflows.ts', import.meta.url));

/** The baseline worker (scripts/bench/baseline-worker.ts) with its own prebuilt bundle, polling its own task queue. */
export async function startBaselineWorker(life: Lifecycle, temporalAddress: string): Promise<Proc> {
  const bundlePath = join(life.work, 'baseline-workflow-bundle.js');
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, trace: () => undefined, log: () => undefined };
  writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath: BASELINE_WORKFLOWS_PATH, logger: quiet })).code);
  const proc = nodeProcess(life, 'baseline-worker', 'scripts/bench/baseline-worker.ts', {
    TEMPORAL_ADDRESS: temporalAddress,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    NODE_ENV: 'production',
  });
  proc.start();
  await waitUntil(life, () => workerPolls(temporalAddress, BASELINE_TASK_QUEUE), 'the baseline worker', 120_000);
  return proc;
}

export interface Driver {
  name: string;
  pid: () => number | undefined;
  /** opens the driver's connections for this concurrency, outside any measurement */
  prepare: (concurrency: number) => Promise<void>;
  run: (concurrency: number, durationS: number, rows?: number) => Promise<LoadResult>;
}

const drivers = new Set<ChildProcess>();

/** A driver process (scripts/bench/driver.ts) on IPC; a request to a driver that exits fails. */
export async function startDriver(life: Lifecycle, name: string, args: string[], env: Record<string, string>): Promise<Driver> {
  const child: ChildProcess = spawn(process.execPath, ['scripts/bench/driver.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  drivers.add(child);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    if (output.length > 50) output.splice(0, output.length - 50);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  life.cleanups.push(() => child.kill('SIGKILL'));
  let waiting: { resolve: (answer: DriverAnswer) => void; reject: (error: Error) => void } | undefined;
  let exited = false;
  child.on('message', (answer: DriverAnswer) => {
    const current = waiting;
    waiting = undefined;
    current?.resolve(answer);
  });
  child.once('exit', (code, signal) => {
    exited = true;
    waiting?.reject(new Error(`bench: the ${name} driver exited (${signal ?? code}):\n${output.join('\n')}`));
    waiting = undefined;
  });
  const next = () =>
    new Promise<DriverAnswer>((resolve, reject) => {
      if (exited) reject(new Error(`bench: the ${name} driver is gone:\n${output.join('\n')}`));
      else waiting = { resolve, reject };
    });
  const ask = async (request: DriverRequest): Promise<DriverAnswer> => {
    const answer = next();
    child.send(request);
    const got = await answer;
    if (got.type === 'failed') throw new Error(`bench: the ${name} driver failed: ${got.message}`);
    return got;
  };
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`bench: the ${name} driver did not start: ${ready.type === 'failed' ? ready.message : ready.type}`);
  return {
    name,
    pid: () => child.pid,
    prepare: async (concurrency) => {
      await ask({ type: 'prepare', concurrency });
    },
    run: async (concurrency, durationS, rows = 1) => {
      const answer = await ask({ type: 'run', concurrency, durationMs: durationS * 1000, rows });
      if (answer.type !== 'result') throw new Error(`bench: the ${name} driver answered ${answer.type}`);
      return { ok: answer.ok, errors: answer.errors, durationS: answer.durationS, p50: answer.p50, p99: answer.p99, statuses: {}, firstError: answer.firstError };
    },
  };
}

/** Ends every driver at once (Ctrl-C): the measurement waiting on one fails, and the run stops. */
export function killDrivers(): void {
  for (const child of drivers) child.kill('SIGKILL');
}
