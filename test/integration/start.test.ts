/**
 * `npm start` (scripts/start.ts) stops everything on SIGTERM at any moment: while its Temporal dev server
 * starts, while the API and the worker start, and once it runs. It runs its own dev server on free ports
 * when 7233 and 8233 are taken, and prints the real addresses. Each run has a database and a data folder
 * of its own, so nothing here touches the developer's `.data`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, createConnection, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../../src/dev/temporal-dev-server.ts';
import { testRun } from '../helpers/test-run.ts';
import { until } from '../helpers/wait.ts';
import { client } from '../helpers/http.ts';
import { expectStatus } from '../helpers/tenants.ts';

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

async function start(dataDir = mkdtempSync(join(tmpdir(), 'engine-start-'))): Promise<Start> {
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

async function stopsCleanly(run: Start, keepData = false): Promise<void> {
  run.child.kill('SIGTERM');
  run.child.kill('SIGTERM'); // npm and a shell pass the same signal on: a second one must not cut the stop short
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('Stopped.');
  for (const port of [...devServerPorts(run.output()), ...chainPort(run.output())]) expect(await listening(port)).toBe(false);
  if (!keepData) rmSync(run.dataDir, { recursive: true, force: true });
}

/** The local chain's port, when the run started one. */
function chainPort(output: string): number[] {
  const match = /Local chain started on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
  return match ? [Number(match[1])] : [];
}

/** `npm run chain:pay|mine -- …` against the run's local chain; answers its output. */
async function chainCommand(run: Start, ...args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['scripts/chain.ts', ...args], { cwd: ROOT, env: { ...process.env, DATA_DIR: run.dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exit) => resolve(exit)));
  if (code !== 0) throw new Error(`chain ${args.join(' ')} exited ${code}: ${output}`);
  return output;
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

  it('takes token payments out of the box on its own chain: partial and over-payments, a late transfer, and a restart that keeps it all', async () => {
    const run = await start();
    await until(() => run.output().includes('Payment engine is running.'), { timeoutMs: 180_000, what: 'npm start to be running' });
    expect(run.output()).toMatch(/Local chain started on http:\/\/127\.0\.0\.1:\d+ \(test tokens deployed\)/);
    const api = /API: +(http:\/\/127\.0\.0\.1:\d+)/.exec(run.output())![1]!;
    const keys = JSON.parse(readFileSync(join(run.dataDir, 'demo-keys.json'), 'utf8')) as { tenantKey: string };
    const call = client(api, keys.tenantKey);
    const team = 'demo-team';
    const resources = { cluster_id: 'demo-cluster', chart_name: '', cpu_limit: 100, mem_limit: 100, storage_limit: 100 };
    const prepayOf = async (id: number) => expectStatus(await call('GET', `/v2alpha/teams/${team}/prepays/${id}`), 200).body;
    const balances = async () => expectStatus(await call('GET', `/v2alpha/teams/${team}/balances`), 200).body.balances;

    // ANKR: quoted, paid in two partial transfers, counted at the watcher's depth, then bound
    const ankrQuote = expectStatus(await call('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: { ...resources, period: 3 } }), 200).body;
    expect(ankrQuote).toMatchObject({ amount: '1873', usd: '37.46', currency: 'ANKR_ERC20', rate: '0.02' });
    const ankr = expectStatus(
      await call('POST', `/v2alpha/teams/${team}/tokens/ANKR_ERC20`, { body: { quote_id: ankrQuote.quote_id, amount: '1873', period: 3, auto_renewal: 0 } }),
      200,
    ).body;
    expect(ankr).toMatchObject({ code: 0, message: 'success', token_amount: '1873', chain_id: 31337, deposit_address: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/) });
    expect(await chainCommand(run, 'pay', String(ankr.pre_pay_id), '1000')).toContain('Sent 1000 ANKR_ERC20');
    await chainCommand(run, 'mine', '1');
    await until(async () => (await prepayOf(ankr.pre_pay_id)).received_amount === '1000', { timeoutMs: 60_000, what: 'the first transfer to count' });
    expect((await prepayOf(ankr.pre_pay_id)).status).toBe('awaiting_payment');
    expect(await chainCommand(run, 'pay', String(ankr.pre_pay_id))).toContain('Sent 873 ANKR_ERC20'); // what is still due
    await chainCommand(run, 'mine', '1');
    await until(async () => (await prepayOf(ankr.pre_pay_id)).status === 'awaiting_binding', { timeoutMs: 60_000, what: 'the ANKR prepay to be paid' });
    expect(
      expectStatus(
        await call('POST', '/v2alpha/ANKR_ERC20/callback_app_info', {
          body: { ...resources, app_id: 'shop-1', pre_pay_id: ankr.pre_pay_id, icon_url: 'https://icons.example/shop.png', project_name: 'shop' },
        }),
        200,
      ).body,
    ).toEqual({ code: 0, message: 'success' });
    expect((await prepayOf(ankr.pre_pay_id)).status).toBe('active');

    // USDT: overpaid; what is over stays on the team's USDT balance
    const usdtQuote = expectStatus(await call('POST', '/v2alpha/USDT_ERC20/acquire_pre_amount', { body: { ...resources, period: 1 } }), 200).body;
    expect(usdtQuote).toMatchObject({ amount: '12.49', usd: '12.49' });
    const usdt = expectStatus(
      await call('POST', `/v2alpha/teams/${team}/tokens/USDT_ERC20`, { body: { quote_id: usdtQuote.quote_id, amount: '12.49', period: 1, auto_renewal: 0 } }),
      200,
    ).body;
    await chainCommand(run, 'pay', String(usdt.pre_pay_id), '20');
    await chainCommand(run, 'mine', '1');
    await until(async () => (await balances()).USDT_ERC20 === '7.51', { timeoutMs: 60_000, what: 'the overpayment on the balance' });
    expect((await prepayOf(usdt.pre_pay_id)).status).toBe('awaiting_binding');

    // a late transfer to the paid ANKR prepay's address is credited to the balance
    await chainCommand(run, 'pay', String(ankr.pre_pay_id), '5');
    await chainCommand(run, 'mine', '1');
    await until(async () => (await balances()).ANKR_ERC20 === '5', { timeoutMs: 60_000, what: 'the late transfer on the balance' });

    const invoices = expectStatus(await call('GET', `/v2alpha/${team}/invoice_list`), 200).body.invoice_list;
    expect(
      invoices[0].info.map((entry: { payment_method: string; total_amount: string; total_usd: string }) => [entry.payment_method, entry.total_amount, entry.total_usd]).sort(),
    ).toEqual([
      ['ANKR', '1873', '37.46'],
      ['USDT', '12.49', '12.49'],
    ]);
    expect(await balances()).toEqual({ USD: '0', USDT_ERC20: '7.51', ANKR_ERC20: '5' });
    await stopsCleanly(run, true);

    // Started again on the same data: the same chain, cursor and books; nothing credited twice, nothing missed.
    const again = await start(run.dataDir);
    await until(() => again.output().includes('Payment engine is running.'), { timeoutMs: 180_000, what: 'the second npm start' });
    expect(again.output()).toContain('(state kept from the last run)');
    const apiAgain = /API: +(http:\/\/127\.0\.0\.1:\d+)/.exec(again.output())![1]!;
    const callAgain = client(apiAgain, keys.tenantKey);
    await chainCommand(again, 'pay', String(ankr.pre_pay_id), '2');
    await chainCommand(again, 'mine', '1');
    await until(async () => expectStatus(await callAgain('GET', `/v2alpha/teams/${team}/balances`), 200).body.balances.ANKR_ERC20 === '7', {
      timeoutMs: 60_000,
      what: 'the transfer after the restart',
    });
    expect(expectStatus(await callAgain('GET', `/v2alpha/teams/${team}/balances`), 200).body.balances).toEqual({ USD: '0', USDT_ERC20: '7.51', ANKR_ERC20: '7' });
    expect((await expectStatus(await callAgain('GET', `/v2alpha/teams/${team}/prepays/${ankr.pre_pay_id}`), 200).body).received_amount).toBe('1873');
    await stopsCleanly(again);
  });
});
