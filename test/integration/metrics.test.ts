/**
 * Prometheus metrics (decision 0099, docs/operations.md#metrics): the API's `GET /metrics` over real HTTP,
 * and the Temporal SDK's exporter of a real worker process (`src/worker.ts` with WORKER_METRICS_PORT), each
 * read before and after what it counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/dev/temporal-dev-server.ts';
import { client } from '../helpers/http.ts';
import { scrape, sampleSum } from '../helpers/prometheus.ts';
import { startStack, workerProcessEnv, type TestStack } from '../helpers/stack.ts';
import { addCard, balances, createTenant, expectStatus } from '../helpers/tenants.ts';
import { until } from '../helpers/wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let stack: TestStack;
let operator: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '20' });
  operator = client(stack.url, stack.operatorKey);
});
afterAll(async () => {
  await stack.close();
});

/** The API's value of one series now. */
async function apiValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleSum((await scrape(stack.url)).text, name, labels);
}

describe("the API's GET /metrics", () => {
  it('answers the Prometheus text format without a key, with a request counted under its route template and status', async () => {
    const tenant = await createTenant(stack);
    const series = { method: 'GET', route: '/v2alpha/teams/:team_id/balances', status: '200' };
    const before = await apiValue('http_request_duration_seconds_count', series);
    await balances(tenant);
    const after = await scrape(stack.url);
    expect(after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sampleSum(after.text, 'http_request_duration_seconds_count', series)).toBe(before + 1);
    // the process metrics of this app's registry, and no raw path or tenant id in any label
    expect(after.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(after.text).not.toContain(tenant.id);
  });

  it("names a route's template even when its router's scope check refused the request, and a path no route has `unmatched`", async () => {
    const tenant = await createTenant(stack);
    const refused = { method: 'GET', route: '/operator/v1/ledger/check', status: '403' };
    const unknown = { method: 'GET', route: 'unmatched', status: '404' };
    const before = [await apiValue('http_request_duration_seconds_count', refused), await apiValue('http_request_duration_seconds_count', unknown)];
    expect((await tenant.call('GET', '/operator/v1/ledger/check')).status).toBe(403);
    expect((await operator('GET', '/operator/v1/no-such-route')).status).toBe(404);
    const after = [await apiValue('http_request_duration_seconds_count', refused), await apiValue('http_request_duration_seconds_count', unknown)];
    expect(after).toEqual([before[0]! + 1, before[1]! + 1]);
  });

  it('counts authentication failures by reason', async () => {
    const tenant = await createTenant(stack);
    const reasons = ['missing_key', 'invalid_key', 'wrong_scope', 'foreign_tenant'];
    const before = await Promise.all(reasons.map((reason) => apiValue('auth_failures_total', { reason })));
    expect((await client(stack.url)('GET', `/v2alpha/teams/${tenant.id}/balances`)).status).toBe(401);
    expect((await client(stack.url, 'not-a-key-of-this-engine')('GET', `/v2alpha/teams/${tenant.id}/balances`)).status).toBe(401);
    expect((await tenant.call('GET', '/operator/v1/ledger/check')).status).toBe(403);
    expect((await tenant.call('GET', '/v2alpha/teams/someone-else/balances')).status).toBe(403);
    const after = await Promise.all(reasons.map((reason) => apiValue('auth_failures_total', { reason })));
    expect(after).toEqual(before.map((value) => value + 1));
  });

  it("counts a replayed Idempotency-Key answer, and the manual credit's ledger transaction once", async () => {
    const tenant = await createTenant(stack);
    const replays = { route: '/payment/v1/recharge' };
    const credits = { kind: 'manual_credit', currency: 'USD' };
    const [replaysBefore, creditsBefore] = [await apiValue('idempotent_replays_total', replays), await apiValue('ledger_transactions_total', credits)];
    const request = { body: { amount: 3.25, namespace: tenant.id, payment_method: 'manual' }, headers: { 'Idempotency-Key': 'metrics-credit-1' } };
    expectStatus(await operator('POST', '/payment/v1/recharge', request), 200);
    const replay = expectStatus(await operator('POST', '/payment/v1/recharge', request), 200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await apiValue('idempotent_replays_total', replays)).toBe(replaysBefore + 1);
    expect(await apiValue('ledger_transactions_total', credits)).toBe(creditsBefore + 1);
  });

  it('keeps the outcome of the last ledger check as ledger_check_ok, absent before the first', async () => {
    expect((await scrape(stack.url)).text).not.toMatch(/^ledger_check_ok /m);
    const ok = expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200).body.ok as boolean;
    expect((await scrape(stack.url)).text).toMatch(new RegExp(`^ledger_check_ok ${ok ? 1 : 0}$`, 'm'));
  });
});

describe("the worker's metrics endpoint (WORKER_METRICS_PORT)", () => {
  let worker: ChildProcess | undefined;
  afterAll(async () => {
    if (!worker || worker.exitCode !== null) return;
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  });

  it("serves the SDK's metrics, and a card recharge moves the succeeded charges by exactly one", async () => {
    const port = await freePort();
    worker = spawn(process.execPath, ['src/worker.ts'], {
      cwd: ROOT,
      // the reconcile schedule stays off, as for every test file's worker but reconcile.test.ts's
      env: workerProcessEnv(stack, { WORKER_METRICS_PORT: String(port), LOG_LEVEL: 'info', RECONCILE_SCHEDULE: 'off' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(() => output.includes('worker started'), { timeoutMs: 120_000, what: 'the worker to start', detail: () => output });
    expect(output).toContain(`"metrics":"http://127.0.0.1:${port}/metrics"`);

    const workerUrl = `http://127.0.0.1:${port}`;
    // this stack's task queue only: the activity meter labels every series with it
    const ours = { taskQueue: stack.config.TEMPORAL_TASK_QUEUE };
    const succeeded = async () => sampleSum((await scrape(workerUrl)).text, 'card_charges_total', { ...ours, outcome: 'succeeded' });
    const recharges = async () => sampleSum((await scrape(workerUrl)).text, 'ledger_transactions_total', { ...ours, kind: 'recharge', currency: 'USD' });
    const [chargesBefore, rechargesBefore] = [await succeeded(), await recharges()];

    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const answer = await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 12.5, namespace: tenant.id } });
    expect([200, 202]).toContain(answer.status);
    await until(async () => (await succeeded()) > chargesBefore && (await recharges()) > rechargesBefore, { what: 'the charge and the credit to be counted' });
    expect(await succeeded()).toBe(chargesBefore + 1);
    expect(await recharges()).toBe(rechargesBefore + 1);
    expect(await balances(tenant)).toMatchObject({ USD: '12.5' });

    // the SDK's own worker metrics on the same endpoint
    expect((await scrape(workerUrl)).text).toMatch(/^temporal_activity_execution_latency_count\{/m);
  });
});
