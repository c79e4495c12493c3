/**
 * Plan subscriptions over HTTP on the real API, PostgreSQL, Temporal dev server and worker: checkout
 * (charged from the balance once, or nothing created), the account and balance in seed 001's shapes, the
 * amounts list, cancel, and an unpaid subscription resumed by a manual credit.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import { findPlan } from '../../src/db/repositories/catalog.ts';
import { checkoutSubscription } from '../../src/ledger/subscription-checkout.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { ensureSubscriptionWorkflow } from '../../src/temporal/subscriptions.ts';
import { SUBSCRIPTION_SEARCH_ATTRIBUTES } from '../../src/workflows/subscription-messages.ts';
import { client, type HttpAnswer } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { subscriptionWorkflowId } from '../../src/domain/subscriptions.ts';
import { sqlOn } from '../helpers/db.ts';
import { until } from '../helpers/wait.ts';
import { createRegion } from '../helpers/catalog.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
let temporal: { connection: Connection; client: Client };
beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '20' });
  operator = client(stack.url, stack.operatorKey);
  temporal = await connectTemporal({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE });
});
afterAll(async () => {
  await temporal?.connection.close();
  await stack.close();
});

const sql = sqlOn(() => stack.orm);

async function count(table: string, tenantId: string): Promise<number> {
  const [row] = await sql<{ count: string }>(`select count(*)::text as count from ${table} where tenant_id = ?`, [tenantId]);
  return Number(row!.count);
}

/** A plan with its price written verbatim into the JSON (an exact number). */
async function newPlan(region: string, price: string, fields: Record<string, unknown> = {}): Promise<{ plan_id: string; name: string }> {
  const json = JSON.stringify({ region, type: 'C', level: 'S', name: uniqueId('Plan'), bill_period: 'M', description: '1 CPU Core, 512M Memory', status: 'available', ...fields });
  return expectStatus(await operator('POST', '/operator/v1/plans', { rawBody: `${json.slice(0, -1)},"price":${price}}` }), 201).body;
}

async function fund(tenant: TestTenant, amount: string): Promise<void> {
  expectStatus(await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":${amount},"namespace":"${tenant.id}","payment_method":"manual"}` }), 200);
}

function checkout(tenant: TestTenant, planId: string, region: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return tenant.call('POST', '/payment/v1/checkout', { body: { plan_id: planId, namespace: tenant.id, region }, headers });
}

function expectError(answer: HttpAnswer, status: number, type: string, field?: string): void {
  expect({ status: answer.status, code: answer.body?.code, error: answer.body?.error, message: typeof answer.body?.message }).toEqual({
    status,
    code: status,
    error: field === undefined ? { type } : { type, field },
    message: 'string',
  });
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await temporal.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

describe('checkout', () => {
  it('with too little balance is a 402 that creates nothing', async () => {
    const tenant = await createTenant(stack, 'sub');
    await fund(tenant, '9.99');
    const region = await createRegion(stack);
    const plan = await newPlan(region, '10');

    const answer = await checkout(tenant, plan.plan_id, region);
    expectError(answer, 402, 'insufficient_balance', 'namespace');
    expect(await count('subscriptions', tenant.id)).toBe(0);
    expect(await count('ledger_transactions', tenant.id)).toBe(1); // the funding only
    expect((await sql('select payment_method from money_movements where tenant_id = ?', [tenant.id])).map((row) => row.payment_method)).toEqual(['manual']);
    expect(await workflowExists(subscriptionWorkflowId(await installationOf(stack.orm), tenant.id, plan.plan_id))).toBe(false);
    expect(expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text).toBe('{"balance":9.99,"status":""}');
  });

  it('charges the first period from the balance, lists it in amounts and starts the workflow', async () => {
    const tenant = await createTenant(stack, 'sub');
    await fund(tenant, '100');
    const region = await createRegion(stack);
    const plan = await newPlan(region, '40.88');

    const answer = expectStatus(await checkout(tenant, plan.plan_id, region), 200);
    expect(answer.text).toMatch(/^\{"balance":59\.12,"status":"active",/);
    expect(Object.keys(answer.body).sort()).toEqual(['balance', 'status', 'subscription_id', 'trans_id']);
    const transId = answer.body.trans_id as string;

    const amounts = expectStatus(await tenant.call('GET', `/payment/v1/amounts?namespace=${tenant.id}`), 200);
    expect(amounts.body[0]).toEqual({
      trans_id: transId,
      creation_time: expect.stringMatching(/Z$/),
      amount: 40.88,
      currency: 'USD',
      description: plan.name,
      payment_method: 'balance',
      status: 'finish',
    });
    expect(amounts.text).toContain('"amount":40.88,');
    expect(expectStatus(await tenant.call('GET', `/payment/v1/amount/${transId}?namespace=${tenant.id}`), 200).body.payment_method).toBe('balance');

    const described = await temporal.client.workflow.getHandle(subscriptionWorkflowId(await installationOf(stack.orm), tenant.id, plan.plan_id)).describe();
    expect(described.memo).toEqual({ subscriptionId: answer.body.subscription_id });
    expect(
      [SUBSCRIPTION_SEARCH_ATTRIBUTES.tenantId, SUBSCRIPTION_SEARCH_ATTRIBUTES.planId, SUBSCRIPTION_SEARCH_ATTRIBUTES.status].map((key) =>
        described.typedSearchAttributes.get(key),
      ),
    ).toEqual([tenant.id, plan.plan_id, 'active']);

    // Subscribed already: no second charge.
    const again = await checkout(tenant, plan.plan_id, region);
    expectError(again, 409, 'conflict', 'plan_id');
    expect(again.body).toMatchObject({ subscription_id: answer.body.subscription_id, subscription_status: 'active' });
    expect(await count('ledger_transactions', tenant.id)).toBe(2);
    expect(expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text).toBe('{"balance":59.12,"status":"active"}');
  });

  it('refuses unknown, unavailable and misplaced plans and bad input, creating nothing', async () => {
    const tenant = await createTenant(stack, 'sub');
    const other = await createTenant(stack, 'sub');
    await fund(tenant, '100');
    const region = await createRegion(stack);
    const elsewhere = await createRegion(stack);
    const plan = await newPlan(region, '10');
    const retired = await newPlan(region, '10', { status: 'unavailable' });

    expectError(await checkout(tenant, randomUUID(), region), 404, 'not_found', 'plan_id');
    expectError(await checkout(tenant, 'zwwqe', region), 404, 'not_found', 'plan_id');
    expectError(await checkout(tenant, plan.plan_id, 'no-such-region'), 404, 'not_found', 'region');
    expectError(await checkout(tenant, plan.plan_id, elsewhere), 409, 'conflict', 'region');
    expectError(await checkout(tenant, retired.plan_id, region), 409, 'conflict', 'plan_id');
    expectError(await tenant.call('POST', '/payment/v1/checkout', { body: { plan_id: plan.plan_id, namespace: other.id, region } }), 403, 'forbidden', 'namespace');
    expectError(await operator('POST', '/payment/v1/checkout', { body: { plan_id: plan.plan_id, namespace: 'no-such-tenant', region } }), 404, 'not_found', 'namespace');

    const bad: [unknown, string][] = [
      [{ namespace: tenant.id, region }, 'plan_id'],
      [{ plan_id: 12, namespace: tenant.id, region }, 'plan_id'],
      [{ plan_id: plan.plan_id, region }, 'namespace'],
      [{ plan_id: plan.plan_id, namespace: tenant.id, region: '' }, 'region'],
      [{ plan_id: plan.plan_id, namespace: tenant.id, region, amount: 10 }, 'amount'],
    ];
    for (const [body, field] of bad) expectError(await tenant.call('POST', '/payment/v1/checkout', { body }), 400, 'invalid_request', field);
    expect((await tenant.call('POST', '/payment/v1/checkout', { rawBody: '{"plan_id":' })).status).toBe(400);

    expect(await count('subscriptions', tenant.id)).toBe(0);
    expect(await count('subscriptions', other.id)).toBe(0);
    expect(await count('ledger_transactions', tenant.id)).toBe(1);
  });

  it('replays an Idempotency-Key without charging again, and refuses the key with another body', async () => {
    const tenant = await createTenant(stack, 'sub');
    await fund(tenant, '50');
    const region = await createRegion(stack);
    const plan = await newPlan(region, '12.34');
    const headers = { 'Idempotency-Key': `checkout-${randomUUID()}` };

    const first = expectStatus(await checkout(tenant, plan.plan_id, region, headers), 200);
    const replay = expectStatus(await checkout(tenant, plan.plan_id, region, headers), 200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(first.text).toMatch(/^\{"balance":37\.66,/);
    expectError(await checkout(tenant, plan.plan_id, 'other-region', headers), 422, 'idempotency_key_reused', 'Idempotency-Key');
    expect(await count('ledger_transactions', tenant.id)).toBe(2);
    expect(await count('subscriptions', tenant.id)).toBe(1);
  });

  it('a retried checkout starts the workflow that an earlier attempt committed but failed to start', async () => {
    const tenant = await createTenant(stack, 'sub');
    await fund(tenant, '30');
    const region = await createRegion(stack);
    const { plan_id: planId } = await newPlan(region, '10');
    // The first attempt's transaction committed, then the API died before starting the workflow.
    const plan = (await findPlan(stack.orm.em.fork(), planId))!;
    const committed = await checkoutSubscription(stack.orm.em.fork(), { subscriptionId: `sub_${randomUUID()}`, tenantId: tenant.id, plan }, new Date());
    expect(await workflowExists(subscriptionWorkflowId(await installationOf(stack.orm), tenant.id, planId))).toBe(false);

    const retry = await checkout(tenant, planId, region);
    expectError(retry, 409, 'conflict', 'plan_id');
    expect(retry.body.subscription_id).toBe(committed.subscription.id);
    const described = await temporal.client.workflow.getHandle(subscriptionWorkflowId(await installationOf(stack.orm), tenant.id, planId)).describe();
    expect([described.status.name, described.memo]).toEqual(['RUNNING', { subscriptionId: committed.subscription.id }]);
    expect(await count('ledger_transactions', tenant.id)).toBe(2);
    expect(expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text).toBe('{"balance":20,"status":"active"}');
  });

  it('ten concurrent checkouts of one plan charge once', async () => {
    const tenant = await createTenant(stack, 'sub');
    await fund(tenant, '100');
    const region = await createRegion(stack);
    const plan = await newPlan(region, '10');

    const answers = await Promise.all(Array.from({ length: 10 }, () => checkout(tenant, plan.plan_id, region)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, ...Array.from({ length: 9 }, () => 409)]);
    const winner = answers.find((answer) => answer.status === 200)!;
    for (const loser of answers.filter((answer) => answer.status === 409)) expect(loser.body.subscription_id).toBe(winner.body.subscription_id);
    expect(await count('subscriptions', tenant.id)).toBe(1);
    const charges = await sql<{ idempotency_key: string }>(`select idempotency_key from ledger_transactions where tenant_id = ? and kind = 'subscription'`, [tenant.id]);
    expect(charges.map((row) => row.idempotency_key)).toEqual([`subscription-${winner.body.subscription_id}-period-1`]);
    expect(expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text).toBe('{"balance":90,"status":"active"}');
  });
});

describe('account and balance in the seed shapes', () => {
  it('answer every field of seed 001, before and after a checkout, and after a cancel', async () => {
    const tenant = await createTenant(stack, 'sub');
    const region = await createRegion(stack);
    const plan = await newPlan(region, '10.5');
    const account = () => tenant.call('GET', `/payment/v1/account?namespace=${tenant.id}`);

    const empty = expectStatus(await account(), 200);
    expect(empty.text).toBe('{"purchased":false,"notification":false,"plans":[],"status":"","balance":{"balance":0}}');
    expect(expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text).toBe('{"balance":0,"status":""}');

    await fund(tenant, '15.75');
    expectStatus(await checkout(tenant, plan.plan_id, region), 200);
    const subscribed = expectStatus(await account(), 200);
    expect(subscribed.body).toEqual({
      purchased: true,
      notification: true, // 5.25 left will not cover the next 10.50
      plans: [{ plan_id: plan.plan_id, type: 'C', price: 10.5, bill_period: 'monthly', description: '1 CPU Core, 512M Memory' }],
      status: 'active',
      balance: { balance: 5.25 },
    });
    expect(subscribed.text).toContain('"price":10.5,');
    expect(subscribed.text).toContain('"balance":{"balance":5.25}');
    const balance = expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200);
    expect(balance.text).toBe('{"balance":5.25,"status":"active"}');

    await fund(tenant, '5.25');
    expect(expectStatus(await account(), 200).body.notification).toBe(false);

    const canceled = await stack.withWorker(() => tenant.call('POST', `/payment/v1/subscriptions/${plan.plan_id}/cancel`, { body: { namespace: tenant.id } }));
    expectStatus(canceled, 200);
    expect(canceled.body).toMatchObject({ plan_id: plan.plan_id, namespace: tenant.id, status: 'canceling', period: 1, price: 10.5, bill_period: 'M', canceled_at: null });
    expect(Date.parse(canceled.body.current_period_end)).toBeGreaterThan(Date.now() + 27 * 24 * 3600 * 1000);
    const again = await stack.withWorker(() => tenant.call('POST', `/payment/v1/subscriptions/${plan.plan_id}/cancel`, { body: { namespace: tenant.id } }));
    expect([again.status, again.body.status]).toEqual([200, 'canceling']);
    expect(expectStatus(await account(), 200).body).toMatchObject({ purchased: true, notification: false, status: 'canceling' });
    expect(expectStatus(await tenant.call('GET', `/payment/v1/subscriptions/${plan.plan_id}?namespace=${tenant.id}`), 200).body.status).toBe('canceling');

    expectError(await tenant.call('POST', `/payment/v1/subscriptions/${randomUUID()}/cancel`, { body: { namespace: tenant.id } }), 404, 'not_found', 'plan_id');
    expectError(await tenant.call('POST', `/payment/v1/subscriptions/${plan.plan_id}/cancel`, { body: {} }), 400, 'invalid_request', 'namespace');
  });

  it('an unpaid subscription shows in arrears, and a manual credit charges it at once', async () => {
    const tenant = await createTenant(stack, 'sub');
    await fund(tenant, '10');
    const region = await createRegion(stack);
    const { plan_id: planId } = await newPlan(region, '10');
    // A subscription that began 32 days ago: its first month is over, its second period is due now and the balance is 0.
    const anchor = new Date(Date.now() - 32 * 24 * 3600 * 1000);
    const plan = (await findPlan(stack.orm.em.fork(), planId))!;
    const outcome = await checkoutSubscription(stack.orm.em.fork(), { subscriptionId: `sub_${randomUUID()}`, tenantId: tenant.id, plan }, anchor);
    if (outcome.kind !== 'subscribed') throw new Error('not subscribed');
    const balance = () => tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`);

    await stack.withWorker(async () => {
      await ensureSubscriptionWorkflow(temporal.client, await installationOf(stack.orm), stack.config.TEMPORAL_TASK_QUEUE, outcome.subscription);
      await until(async () => (await balance()).body.status === 'arrears', { timeoutMs: 20_000 });
      expect(expectStatus(await tenant.call('GET', `/payment/v1/account?namespace=${tenant.id}`), 200).body).toEqual({
        purchased: false,
        notification: true,
        plans: [{ plan_id: planId, type: 'C', price: 10, bill_period: 'monthly', description: '1 CPU Core, 512M Memory' }],
        status: 'arrears',
        balance: { balance: 0 },
      });
      await fund(tenant, '25');
      await until(async () => (await balance()).body.status === 'active', { timeoutMs: 20_000 });
    });
    expect(expectStatus(await balance(), 200).text).toBe('{"balance":15,"status":"active"}');
    const charges = await sql<{ description: string }>(`select description from money_movements where tenant_id = ? and payment_method = 'balance'`, [tenant.id]);
    expect(charges.map((row) => row.description)).toEqual([plan.name, plan.name]);
    const events = await sql<{ type: string; period: number }>("select type, (data->>'period')::int as period from events where tenant_id = ? order by created_at, type", [
      tenant.id,
    ]);
    expect(events.map((row) => [row.type, row.period])).toEqual([
      ['subscription.created', 1],
      ['subscription.arrears', 2],
      ['subscription.renewed', 2],
      ['subscription.resumed', 2],
    ]);
  });
});
