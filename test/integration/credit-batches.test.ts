/**
 * Group commit of new credits (decision 0108, src/ledger/credit-batches.ts): concurrent manual credits over
 * HTTP on one tenant are written together, each exactly once, each answered the balance right after its own
 * credit; and a batch that cannot be written (a movement already there, a tenant that does not exist) costs
 * no other credit its own.
 */
import { Tenant } from '../../src/db/entities/index.ts';
import { Dec } from '../../src/domain/money.ts';
import { claimKey, completeKey, findKey } from '../../src/db/repositories/idempotency-keys.ts';
import { createPendingMovement, creditNewMovement } from '../../src/ledger/movements.ts';
import { client } from '../helpers/http.ts';
import { sqlOn } from '../helpers/db.ts';
import { sampleSum, scrape } from '../helpers/prometheus.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { balanceOf, createTenant, expectStatus } from '../helpers/tenants.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startStack();
  operator = client(stack.url, stack.operatorKey);
});
afterAll(async () => {
  await stack.close();
});

const sql = sqlOn(() => stack.orm);

const cents = (text: string) => BigInt(new Dec(text).times(100).toFixed(0));

async function ledgerTransactionsOf(tenantId: string): Promise<number> {
  const [row] = await sql<{ count: string }>(`select count(*)::text as count from ledger_transactions where tenant_id = ?`, [tenantId]);
  return Number(row!.count);
}

describe('manual credits written together', () => {
  it('40 at once on one tenant: each once, in fewer database transactions, each answered the balance right after it', async () => {
    const tenant = await createTenant(stack, 'hot');
    const batchesBefore = sampleSum((await scrape(stack.url)).text, 'ledger_credit_batches_total');
    const amounts = Array.from({ length: 40 }, (_, index) => `1.${String(index + 1).padStart(2, '0')}`);
    const requests = amounts.map((amount, index) => ({
      body: { amount: Number(amount), namespace: tenant.id, payment_method: 'manual' },
      headers: { 'Idempotency-Key': `${tenant.id}-credit-${index}` },
    }));
    const answers = await Promise.all(requests.map((request) => operator('POST', '/payment/v1/recharge', request)));
    for (const answer of answers) expectStatus(answer, 200);

    const total = amounts.reduce((sum, amount) => sum + cents(amount), 0n);
    expect(cents(await balanceOf(tenant))).toBe(total);
    expect(await ledgerTransactionsOf(tenant.id)).toBe(40);
    expect(expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200).body.ok).toBe(true);

    // Ordered by the balance each was answered, every answer is the previous one plus its own amount: each
    // saw the balance right after its credit, and no two saw the same.
    const answered = answers
      .map((answer, index) => ({ balance: cents(String(answer.body.balance)), amount: cents(amounts[index]!) }))
      .sort((left, right) => (left.balance < right.balance ? -1 : 1));
    let running = 0n;
    for (const { balance, amount } of answered) {
      running += amount;
      expect(balance).toBe(running);
    }
    expect(running).toBe(total);

    const batches = sampleSum((await scrape(stack.url)).text, 'ledger_credit_batches_total') - batchesBefore;
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(40);

    // Retried an hour later (as far as the key knows): the same answers, nothing written again.
    for (const [index, request] of requests.slice(0, 5).entries()) {
      const replay = expectStatus(await operator('POST', '/payment/v1/recharge', request), 200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(answers[index]!.body);
    }
    expect(await ledgerTransactionsOf(tenant.id)).toBe(40);
  });

  it('a batch holding a movement that a dead request already wrote is written one by one: every credit once', async () => {
    const tenant = await createTenant(stack, 'retry');
    const now = new Date();
    const movement = (index: number) => ({
      id: `${tenant.id}-m${index}`,
      tenantId: tenant.id,
      kind: 'manual_credit',
      currency: 'USD' as const,
      amount: new Dec(`2.0${index}`),
      paymentMethod: 'manual' as const,
      description: 'test credit',
    });
    // what a request that died after its first write leaves: a pending movement, nothing in the ledger
    await createPendingMovement(stack.orm.em.fork(), movement(3), now);
    // In one tick: the first goes alone, the four others wait for it and form the next batch, which holds m3.
    const balances = await Promise.all([1, 2, 3, 4, 5].map((index) => creditNewMovement(stack.orm.em.fork(), movement(index), now)));

    expect(balances.every((balance) => balance.greaterThan(0))).toBe(true);
    expect(cents(await balanceOf(tenant))).toBe(1015n);
    const rows = await sql<{ id: string; status: string; transactions: string }>(
      `select m.id, m.status, (select count(*) from ledger_transactions t where t.idempotency_key = 'movement-' || m.id)::text as transactions
         from money_movements m where m.tenant_id = ? order by m.id`,
      [tenant.id],
    );
    expect(rows).toEqual([1, 2, 3, 4, 5].map((index) => ({ id: `${tenant.id}-m${index}`, status: 'finish', transactions: '1' })));
  });

  it('a credit that cannot be written fails alone; the others of its batch are written', async () => {
    const tenant = await createTenant(stack, 'mixed');
    const ghost = uniqueId('no-such-tenant');
    expect(await stack.orm.em.fork().findOne(Tenant, { id: ghost })).toBeNull();
    const now = new Date();
    const credit = (tenantId: string, index: number) =>
      creditNewMovement(
        stack.orm.em.fork(),
        { id: `${tenant.id}-c${index}`, tenantId, kind: 'manual_credit', currency: 'USD', amount: new Dec('1.50'), paymentMethod: 'manual', description: 'test credit' },
        now,
      );
    const outcomes = await Promise.allSettled([credit(tenant.id, 1), credit(tenant.id, 2), credit(ghost, 3), credit(tenant.id, 4)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(cents(await balanceOf(tenant))).toBe(450n);
    expect(await ledgerTransactionsOf(tenant.id)).toBe(3);
    expect(await sql(`select id from money_movements where tenant_id = ?`, [ghost])).toEqual([]);
  });
});

describe('Idempotency-Key claims and answers written together', () => {
  it('one key claimed three times in one batch is claimed once; each answer lands on its own key', async () => {
    const owner = `tenant:${uniqueId('claims')}`;
    const request = { method: 'POST', path: '/payment/v1/recharge', fingerprint: 'f' };
    const lock = { lockSeconds: 15, retentionHours: 24 };
    // In one tick: the first claim goes alone, the others wait for it and are written by one insert.
    const claims = await Promise.all(
      ['first', 'same', 'same', 'same', 'other'].map((key, index) => claimKey(stack.orm.em.fork(), { owner, key, ...request }, `holder-${index}`, lock)),
    );
    expect(claims.map((claim) => claim !== undefined)).toEqual([true, true, false, false, true]);
    expect(new Set(claims.filter(Boolean).map((claim) => claim!.id)).size).toBe(3);

    await Promise.all([
      completeKey(stack.orm.em.fork(), claims[0]!.id, 'holder-0', 200, '{"n":1}'),
      completeKey(stack.orm.em.fork(), claims[1]!.id, 'holder-1', 201, '{"n":2.50}'),
      // not the holder: changes nothing
      completeKey(stack.orm.em.fork(), claims[4]!.id, 'holder-3', 500, '{}'),
    ]);
    const em = stack.orm.em.fork();
    expect(await findKey(em, owner, 'first')).toMatchObject({ state: 'completed', response_status: 200, response_body: '{"n":1}' });
    expect(await findKey(em, owner, 'same')).toMatchObject({ state: 'completed', response_status: 201, response_body: '{"n":2.50}' });
    expect(await findKey(em, owner, 'other')).toMatchObject({ state: 'in_progress', response_status: null });
  });
});
