/**
 * `npm start` (scripts/start.ts) stops everything on SIGTERM at any moment: while its Temporal dev server
 * starts, while the API and the worker start, and once it runs. It runs its own dev server on free ports
 * when 7233 and 8233 are taken, and prints the real addresses. Each run has a database and a data folder
 * of its own, so nothing here touches the developer's `.data`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../../src/dev/temporal-dev-server.ts';
import { testRun } from '../helpers/test-run.ts';
import { until } from '../helpers/wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const database = `${testRun().databaseName}_start`;
const held: Server[] = [];

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testRun().adminDatabaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Takes the port when it is free, so that start.ts must pick another one. */
async function hold(port: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve()); // taken already: just as good
    server.listen(port, '127.0.0.1', () => {
      held.push(server);
      resolve();
    });
  });
}

beforeAll(async () => {
  await admin((client) => client.query(`create database ${database}`));
  await hold(7233);
  await hold(8233);
});
afterAll(async () => {
  for (const server of held) server.close();
  await admin((client) => client.query(`drop database if exists ${database} with (force)`));
});

interface Start {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  dataDir: string;
}

async function start(): Promise<Start> {
  const dataDir = mkdtempSync(join(tmpdir(), 'engine-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: testRun().databaseUrl.replace(/\/[^/]+$/, `/${database}`) };
  for (const name of Object.keys(env)) if (/^(TEMPORAL_(ADDRESS|NAMESPACE|TASK_QUEUE|DEV_PORT|UI_PORT)|CHAIN_|OPERATOR_API_KEY|PORT$)/.test(name)) delete env[name];
  env.PORT = String(await freePort());
  env.WORKFLOW_BUNDLE_PATH = testRun().workflowBundlePath;
  env.RECONCILE_SCHEDULE = 'off';
  const child = spawn(process.execPath, ['scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited, dataDir };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** The ports the run printed for its dev server and its UI. */
function devServerPorts(output: string): number[] {
  const match = /Temporal dev server started on 127\.0\.0\.1:(\d+), UI http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
  return match ? [Number(match[1]), Number(match[2])] : [];
}

async function stopsCleanly(run: Start): Promise<void> {
  run.child.kill('SIGTERM');
  run.child.kill('SIGTERM'); // npm and a shell pass the same signal on: a second one must not cut the stop short
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('Stopped.');
  for (const port of devServerPorts(run.output())) expect(await listening(port)).toBe(false);
  rmSync(run.dataDir, { recursive: true, force: true });
}

describe('npm start', () => {
  it('stops everything on SIGTERM while its Temporal dev server starts', async () => {
    const run = await start();
    await until(() => run.output().includes('Starting the payment engine'), { timeoutMs: 120_000, what: 'start.ts to begin' });
    await stopsCleanly(run);
    expect(run.output()).not.toContain('Payment engine is running.');
  });

  it('stops everything on SIGTERM while the API and the worker start', async () => {
    const run = await start();
    await until(() => devServerPorts(run.output()).length === 2, { timeoutMs: 180_000, what: 'the dev server to start' });
    await stopsCleanly(run);
    expect(run.output()).not.toContain('Payment engine is running.');
  });

  it('runs its own dev server on free ports when 7233 and 8233 are taken, prints the real URLs, and stops on SIGTERM', async () => {
    const run = await start();
    await until(() => run.output().includes('Payment engine is running.'), { timeoutMs: 180_000, what: 'npm start to be running' });
    const [port, uiPort] = devServerPorts(run.output());
    expect(port).not.toBe(7233);
    expect(uiPort).not.toBe(8233);
    expect(run.output()).toContain(`Temporal:          127.0.0.1:${port}`);
    const api = /API: +(http:\/\/127\.0\.0\.1:\d+)/.exec(run.output())![1];
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    await stopsCleanly(run);
    expect(await listening(Number(new URL(api!).port))).toBe(false);
  });
});
