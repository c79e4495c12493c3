/**
 * Recharges and refunds over HTTP, on the real API, PostgreSQL, Temporal dev server and workers, with the
 * sandbox card gateway (its charges are rows we count).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { client } from '../helpers/http.ts';
import { startStack, workerProcessEnv, type TestStack } from '../helpers/stack.ts';
import { addCard, balanceOf, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { sqlOn } from '../helpers/db.ts';
import { until } from '../helpers/wait.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '20' });
  operator = client(stack.url, stack.operatorKey);
});
afterAll(async () => {
  await stack.close();
});

const sql = sqlOn(() => stack.orm);

async function succeededCharges(transId: string): Promise<number> {
  const [row] = await sql<{ count: string }>(`select count(*)::text as count from sandbox_charges where idempotency_key = ? and outcome = 'succeeded'`, [
    await gatewayKey(stack.orm, `recharge-${transId}`),
  ]);
  return Number(row!.count);
}

/** Waits until a movement reached its end (`finish`); fails on any other end. */
/** Polls a movement until it is `done` (a recharge: finish; a refund: refunded); meanwhile it may only be `pending` or `finish`. */
async function movementSettles(tenant: TestTenant, transId: string, done: 'finish' | 'refunded' = 'finish'): Promise<void> {
  for (;;) {
    const status = expectStatus(await tenant.call('GET', `/payment/v1/amount/${transId}?namespace=${tenant.id}`), 200).body.status as string;
    if (status === done) return;
    expect(status).toBe(done === 'finish' ? 'pending' : 'finish');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function movementCount(tenantId: string): Promise<number> {
  const [row] = await sql<{ count: string }>('select count(*)::text as count from money_movements where tenant_id = ?', [tenantId]);
  return Number(row!.count);
}

describe('recharge by card', () => {
  it('charges the card once, credits the balance exactly and lists the movement', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const answer = await stack.withWorker(() => tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"amount":1234.34,"namespace":"${tenant.id}"}` }));
    expectStatus(answer, 200);
    expect(answer.text).toContain('"balance":1234.34');
    expect(answer.body).toMatchObject({ status: 'active' });
    const transId = answer.body.trans_id as string;
    expect(await succeededCharges(transId)).toBe(1);
    expect(await balanceOf(tenant)).toBe('1234.34');

    const amounts = expectStatus(await tenant.call('GET', `/payment/v1/amounts?namespace=${tenant.id}`), 200);
    expect(amounts.body).toEqual([
      {
        trans_id: transId,
        creation_time: expect.stringMatching(/Z$/),
        amount: 1234.34,
        currency: 'USD',
        description: 'Balance recharge',
        payment_method: 'card',
        status: 'finish',
      },
    ]);
    expect(expectStatus(await tenant.call('GET', `/payment/v1/amount/${transId}?namespace=${tenant.id}`), 200).body.status).toBe('finish');
    const balances = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances`), 200);
    expect(balances.body).toEqual({ balances: { USD: '1234.34', USDT_ERC20: '0', ANKR_ERC20: '0' } });
  });

  it('a declined card is a 402 that moves no money', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_chargeDeclinedInsufficientFunds');
    const answer = await stack.withWorker(() => tenant.call('POST', '/payment/v1/recharge', { body: { amount: 50, namespace: tenant.id } }));
    expectStatus(answer, 402);
    expect(answer.body).toMatchObject({ code: 402, error: { type: 'card_declined' }, decline_code: 'insufficient_funds' });
    const transId = answer.body.trans_id as string;
    expect(await succeededCharges(transId)).toBe(0);
    expect(await balanceOf(tenant)).toBe('0');
    expect(expectStatus(await tenant.call('GET', `/payment/v1/amount/${transId}?namespace=${tenant.id}`), 200).body.status).toBe('failed');
    const [ledger] = await sql<{ count: string }>('select count(*)::text as count from ledger_transactions where tenant_id = ?', [tenant.id]);
    expect(ledger!.count).toBe('0');
  });

  it('a transient gateway outage is retried and charges once', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_transientFailure');
    const answer = await stack.withWorker(() => tenant.call('POST', '/payment/v1/recharge', { body: { amount: 20, namespace: tenant.id } }));
    expectStatus(answer, 200);
    const transId = answer.body.trans_id as string;
    const [charge] = await sql<{ attempts: number; outcome: string }>('select attempts, outcome from sandbox_charges where idempotency_key = ?', [
      await gatewayKey(stack.orm, `recharge-${transId}`),
    ]);
    expect(charge).toEqual({ attempts: 3, outcome: 'succeeded' });
    expect(await succeededCharges(transId)).toBe(1);
    expect(await balanceOf(tenant)).toBe('20');
  });

  it('rejects every bad amount with a 400 that changes nothing', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const bodies = ['-1', '0', '0.00', '1.234', '"12"', '1e3', '10000000', 'null', 'true'];
    for (const amount of bodies) {
      const answer = await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"amount":${amount},"namespace":"${tenant.id}"}` });
      expect([amount, answer.status, answer.body?.error]).toEqual([amount, 400, { type: 'invalid_request', field: 'amount' }]);
    }
    expect((await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"namespace":"${tenant.id}"}` })).body.error).toEqual({ type: 'invalid_request', field: 'amount' });
    expect((await tenant.call('POST', '/payment/v1/recharge', { rawBody: '{"amount": 1,' })).status).toBe(400);
    expect(await movementCount(tenant.id)).toBe(0);
    expect(await balanceOf(tenant)).toBe('0');
  });

  it('another tenant is 403 by namespace and 404 by transaction id', async () => {
    const owner = await createTenant(stack);
    const other = await createTenant(stack);
    const credit = expectStatus(await operator('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: owner.id, payment_method: 'manual' } }), 200);
    expect((await other.call('GET', `/payment/v1/balance?namespace=${owner.id}`)).status).toBe(403);
    expect((await other.call('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: owner.id } })).status).toBe(403);
    const foreign = await other.call('GET', `/payment/v1/amount/${credit.body.trans_id}?namespace=${other.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toEqual({ type: 'not_found', field: 'trans_id' });
    expect((await other.call('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: other.id, payment_method: 'manual' } })).status).toBe(403);
  });
});

describe('Idempotency-Key', () => {
  it('one key sent 20 times at once charges the gateway once and records one transaction', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const headers = { 'Idempotency-Key': 'recharge-once-1' };
    const answers = await stack.withWorker(() =>
      Promise.all(Array.from({ length: 20 }, () => tenant.call('POST', '/payment/v1/recharge', { body: { amount: 10.5, namespace: tenant.id }, headers }))),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
    const transIds = new Set(answers.filter((answer) => answer.status === 200).map((answer) => answer.body.trans_id));
    expect(transIds.size).toBe(1);
    expect(await movementCount(tenant.id)).toBe(1);
    expect(await succeededCharges([...transIds][0] as string)).toBe(1);
    expect(await balanceOf(tenant)).toBe('10.5');

    const replay = await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 10.5, namespace: tenant.id }, headers });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.trans_id).toBe([...transIds][0]);

    const reused = await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 11, namespace: tenant.id }, headers });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toEqual({ type: 'idempotency_key_reused', field: 'Idempotency-Key' });
    expect(await balanceOf(tenant)).toBe('10.5');
  });
});

describe('refunds', () => {
  it('reverses a card recharge and refunds the card once; a second refund is 409', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const recharge = expectStatus(await stack.withWorker(() => tenant.call('POST', '/payment/v1/recharge', { body: { amount: 30, namespace: tenant.id } })), 200);
    const transId = recharge.body.trans_id as string;
    expect((await tenant.call('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'mine' } })).status).toBe(403);

    const refund = await stack.withWorker(() => operator('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'customer asked' } }));
    expectStatus(refund, 200);
    expect(refund.body).toMatchObject({ trans_id: transId, status: 'refunded', amount: 30, payment_method: 'card' });
    expect(await balanceOf(tenant)).toBe('0');
    const [refunds] = await sql<{ count: string }>(
      `select count(*)::text as count from sandbox_refunds r join sandbox_charges c on c.charge_id = r.charge_id where c.idempotency_key = ?`,
      [await gatewayKey(stack.orm, `recharge-${transId}`)],
    );
    expect(refunds!.count).toBe('1');

    const again = await stack.withWorker(() => operator('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'again' } }));
    expect(again.status).toBe(409);
    expect(await balanceOf(tenant)).toBe('0');
    const check = expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200);
    expect(check.body.ok).toBe(true);
  });

  it('200 concurrent recharges and refunds on one tenant end with the exact balance and a balanced ledger', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const manual: string[] = [];
    for (let index = 0; index < 50; index += 1) {
      manual.push(expectStatus(await operator('POST', '/payment/v1/recharge', { body: { amount: 2, namespace: tenant.id, payment_method: 'manual' } }), 200).body.trans_id);
    }
    expect(await balanceOf(tenant)).toBe('100');
    const answers = await stack.withWorker(async () => {
      const all = await Promise.all([
        ...Array.from({ length: 150 }, () => tenant.call('POST', '/payment/v1/recharge', { body: { amount: 1.1, namespace: tenant.id } })),
        ...manual.map((transId) => operator('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'load test' } })),
      ]);
      // On a busy machine a recharge may answer 202 pending, and a refund 202 refund_pending (each waited its time for
      // the workflow): poll each to its end.
      for (const [index, pending] of all.entries()) {
        if (pending.status !== 202) continue;
        const refund = index >= 150;
        expect(pending.body).toMatchObject({ trans_id: expect.any(String), status: refund ? 'refund_pending' : 'pending' });
        await movementSettles(tenant, pending.body.trans_id, refund ? 'refunded' : 'finish');
      }
      return all;
    });
    expect(answers.map((answer) => answer.status).filter((status) => status !== 200 && status !== 202)).toEqual([]);
    // 100 + 150 × 1.10 − 50 × 2 = 165
    expect(await balanceOf(tenant)).toBe('165');
    const check = expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200);
    expect(check.body).toMatchObject({ ok: true, drifted_accounts: [] });
    expect(check.body.currencies).toContainEqual({ currency: 'USD', sum: '0' });
  });
});

describe('a worker that dies between the charge and the credit', () => {
  it('after a new worker takes over, the credit happens once and the gateway shows one charge', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const crashing = spawn(process.execPath, [fileURLToPath(new URL('../helpers/crashing-worker.ts', import.meta.url))], {
      env: workerProcessEnv(stack),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    crashing.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    crashing.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => crashing.once('exit', resolve));
    await until(() => output.includes('crashing worker ready'), { timeoutMs: 60_000, detail: () => output });

    const pending = tenant.call('POST', '/payment/v1/recharge', { body: { amount: 42.42, namespace: tenant.id } });
    expect(await exited).toBe(137);
    expect(output).toContain('crashing before the credit');
    const [movement] = await sql<{ id: string; status: string }>('select id, status from money_movements where tenant_id = ?', [tenant.id]);
    expect(movement!.status).toBe('pending');
    expect(await succeededCharges(movement!.id)).toBe(1);

    const answer = await stack.withWorker(async () => {
      const first = await pending;
      await until(async () => (await sql<{ status: string }>('select status from money_movements where id = ?', [movement!.id]))[0]!.status === 'finish', { timeoutMs: 60_000 });
      return first;
    });
    expect([200, 202]).toContain(answer.status);
    expect(await succeededCharges(movement!.id)).toBe(1);
    expect(await balanceOf(tenant)).toBe('42.42');
  });
});
