/**
 * Rate limits (decision 0091): counted per tenant key and route class in PostgreSQL, so two API replicas
 * share them; over the limit a request answers 429 `rate_limited` with Retry-After, from either replica.
 */
import { startStack, type TestStack } from '../helpers/stack.ts';
import { client } from '../helpers/http.ts';
import { createTenant, expectStatus } from '../helpers/tenants.ts';
import { sqlOn } from '../helpers/db.ts';

let replicaA: TestStack;
let replicaB: TestStack;
const LIMITS = { RATE_LIMIT_READS: '4', RATE_LIMIT_MONEY: '2', RATE_LIMIT_QUOTES: '2', RATE_LIMIT_WINDOW_SECONDS: '600' };

beforeAll(async () => {
  replicaA = await startStack(LIMITS);
  replicaB = await startStack({ ...LIMITS, DATABASE_URL: replicaA.config.DATABASE_URL });
});

afterAll(async () => {
  await replicaB?.close();
  await replicaA?.close();
});

const sql = sqlOn(() => replicaA.orm);

describe('rate limits', () => {
  it('a tenant key over its read limit gets 429 with Retry-After from either replica; other classes, tenants and operators go on', async () => {
    const tenant = await createTenant(replicaA, 'limited');
    const onB = client(replicaB.url, tenant.key);
    const balance = `/payment/v1/balance?namespace=${tenant.id}`;
    const answers = [await tenant.call('GET', balance), await onB('GET', balance), await tenant.call('GET', balance), await onB('GET', balance)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((answer) => answer.headers.get('ratelimit-remaining'))).toEqual(['3', '2', '1', '0']);

    for (const call of [tenant.call, onB]) {
      const refused = await call('GET', balance);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 429, error: { type: 'rate_limited' } });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(600);
    }

    // Another class of the same key, another tenant's key and the operator are not held back.
    const money = await onB('POST', '/payment/v1/recharge', { body: { amount: 0, namespace: tenant.id } });
    expect(money.status).toBe(400);
    const other = await createTenant(replicaB, 'unlimited');
    expectStatus(await other.call('GET', `/payment/v1/balance?namespace=${other.id}`), 200);
    const operator = client(replicaB.url, replicaB.operatorKey);
    for (let index = 0; index < 6; index += 1) expectStatus(await operator('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200);

    // When the window ends (here: made to end), the key is served again.
    await sql(`update rate_limits set expire = 0 where key like 'reads%'`);
    expectStatus(await tenant.call('GET', balance), 200);
  });

  it('counts quotes and money requests apart, and a refused request changes nothing', async () => {
    const tenant = await createTenant(replicaA, 'money-limited');
    const credit = client(replicaA.url, replicaA.operatorKey);
    expectStatus(await credit('POST', '/payment/v1/recharge', { body: { amount: 10, namespace: tenant.id, payment_method: 'manual' } }), 200);
    const onB = client(replicaB.url, tenant.key);
    const checkout = { plan_id: '00000000-0000-4000-8000-000000000000', namespace: tenant.id, region: 'nowhere' };
    expect((await tenant.call('POST', '/payment/v1/checkout', { body: checkout })).status).toBe(404);
    expect((await onB('POST', '/payment/v1/checkout', { body: checkout })).status).toBe(404);
    const refused = await onB('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: tenant.id } });
    expect([refused.status, refused.body.error]).toEqual([429, { type: 'rate_limited' }]);
    expect(await sql(`select 1 from money_movements where tenant_id = ? and payment_method = 'card'`, [tenant.id])).toEqual([]);
    // quotes have their own budget
    const quote = await onB('POST', '/v2alpha/USD/acquire_pre_amount', { body: {} });
    expect(quote.status).not.toBe(429);
  });
});
