/**
 * SubscriptionWorkflow on the time-skipping test server, with the real activities against the run's
 * PostgreSQL: months of billing, dunning and cancellation pass in seconds. Time only skips inside
 * `env.sleep` and `handle.result()`; while the test polls, workflow time moves at the real pace.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import type { Plan } from '../../src/db/entities/index.ts';
import { initOrm, type Orm } from '../../src/db/orm.ts';
import { addCard } from '../../src/db/repositories/cards.ts';
import { createPlan, upsertRegion } from '../../src/db/repositories/catalog.ts';
import { findSubscription } from '../../src/db/repositories/subscriptions.ts';
import { periodBoundary, type BillingPeriod } from '../../src/domain/billing-periods.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/money.ts';
import { DAY_MS, periodChargeKey } from '../../src/domain/subscriptions.ts';
import { createSandboxGateway } from '../../src/gateway/sandbox-gateway.ts';
import { tenantBalances } from '../../src/ledger/ledger.ts';
import { createPendingMovement, settleCredit } from '../../src/ledger/movements.ts';
import { checkoutSubscription } from '../../src/ledger/subscription-checkout.ts';
import { ensureSubscriptionWorkflow, signalUnpaidSubscriptions } from '../../src/temporal/subscriptions.ts';
import type { RechargeInput } from '../../src/workflows/index.ts';
import { cancelSubscriptionUpdate, SUBSCRIPTION_SEARCH_ATTRIBUTES, subscriptionStatusQuery } from '../../src/workflows/subscription-messages.ts';
import { sqlOn } from '../helpers/db.ts';
import { testRun } from '../helpers/test-run.ts';
import { createTimeSkippingEnv, queryBetweenTasks, terminateWhenIdle, updateBetweenTasks } from '../helpers/time-skipping.ts';
import { registerSearchAttributes } from '../helpers/time-skipping-search-attributes.ts';
import { eventually } from '../helpers/wait.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';

const TASK_QUEUE = 'subscriptions-time-skipping';
const HOUR_MS = 3600 * 1000;

let env: TestWorkflowEnvironment;
let orm: Orm;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  await registerSearchAttributes(env);
  orm = await initOrm(testRun().databaseUrl, { poolMax: 5 });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: testRun().workflowBundlePath },
    activities: createActivities({ orm, clock: systemClock, gateway: createSandboxGateway({ orm }) }),
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await running;
  }
  await env?.teardown();
  await orm?.close();
});

const sql = sqlOn(() => orm);

const HistoryProto = proto.temporal.api.history.v1.History;
const RECHARGE_FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/**
 * Waits for the recharge to end and replays its history against today's code. With
 * RECHARGE_RECORD_AS=<name> it is also written to fixtures/recharge-<name>.history.pb, which the last test of
 * this file replays after every later change of RechargeWorkflow.
 */
async function recordRecharge(transId: string): Promise<void> {
  const handle = env.client.workflow.getHandle(`recharge-${transId}`);
  // polled, not awaited with result(): waiting on a result lets the time-skipping server jump the clock ahead
  await eventually(
    () => handle.describe(),
    (description) => description.status.name === 'COMPLETED',
  );
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: { codePath: testRun().workflowBundlePath } }, history, `recharge-${transId}`);
  const name = process.env.RECHARGE_RECORD_AS;
  if (name) writeFileSync(join(RECHARGE_FIXTURES, `recharge-${name}.history.pb`), HistoryProto.encode(HistoryProto.fromObject(history)).finish());
}

const uniqueId = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

async function credit(tenantId: string, amount: string): Promise<void> {
  const em = orm.em.fork();
  const id = `tr_${randomUUID()}`;
  await createPendingMovement(
    em,
    { id, tenantId, kind: 'manual_credit', currency: 'USD', amount: new Dec(amount), paymentMethod: 'manual', description: 'Bank transfer' },
    new Date(),
  );
  await settleCredit(em, id, {}, new Date());
}

async function newTenant(funds: string): Promise<string> {
  const id = uniqueId('subscriber');
  await sql('insert into tenants (id) values (?)', [id]);
  await credit(id, funds);
  return id;
}

async function newPlan(price: string, billPeriod: BillingPeriod): Promise<Plan> {
  const em = orm.em.fork();
  const region = uniqueId('region');
  await upsertRegion(em, region, 'test region', new Date());
  return createPlan(em, { region, type: 'C', name: uniqueId('Plan'), price: new Dec(price), billPeriod, description: '1 CPU Core, 512M Memory', status: 'available' }, new Date());
}

/** A checkout anchored at the test server's time, then the subscription's workflow. */
async function subscribe(tenantId: string, plan: Plan): Promise<{ id: string; anchor: Date; handle: WorkflowHandle; boundary: (index: number) => Date }> {
  const anchor = new Date(await env.currentTimeMs());
  const outcome = await checkoutSubscription(orm.em.fork(), { subscriptionId: `sub_${randomUUID()}`, tenantId, plan }, anchor);
  if (outcome.kind !== 'subscribed') throw new Error('checkout did not subscribe');
  await ensureSubscriptionWorkflow(env.client, await installationOf(orm), TASK_QUEUE, outcome.subscription);
  return {
    id: outcome.subscription.id,
    anchor,
    handle: env.client.workflow.getHandle(outcome.subscription.workflowId),
    boundary: (index) => periodBoundary(anchor, plan.billPeriod, index),
  };
}

/** Skips workflow time forward to `time` (timers due before it fire, their activities run). */
async function skipTo(time: Date): Promise<void> {
  const ms = time.getTime() - (await env.currentTimeMs());
  if (ms > 0) await env.sleep(ms);
}

async function balance(tenantId: string): Promise<string> {
  return (await tenantBalances(orm.em.fork(), tenantId)).USD.toFixed();
}

async function chargeKeys(subscriptionId: string): Promise<string[]> {
  const rows = await sql<{ idempotency_key: string }>(`select idempotency_key from ledger_transactions where idempotency_key like ? order by created_at, idempotency_key`, [
    `subscription-${subscriptionId}-period-%`,
  ]);
  return rows.map((row) => row.idempotency_key);
}

const keys = (subscriptionId: string, ...periods: number[]) => periods.map((period) => periodChargeKey(subscriptionId, period));

/** The events the workflow records (arrears, suspended, canceled, balance.low), in order. */
async function eventsOf(tenantId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  return sql(`select type, data from events where tenant_id = ? and type <> all(?::text[]) order by created_at, id`, [tenantId, `{${PAYMENT_EVENTS.join(',')}}`]);
}

/** The events recorded with a period's payment (created at checkout, renewed, resumed), each as [type, period, status, resumed_from]. */
const PAYMENT_EVENTS = ['subscription.created', 'subscription.renewed', 'subscription.resumed'];
async function paymentEventsOf(tenantId: string): Promise<unknown[][]> {
  const rows = await sql<{ type: string; data: Record<string, unknown> }>(
    `select type, data from events where tenant_id = ? and type = any(?::text[]) order by (data->>'period')::int, type`,
    [tenantId, `{${PAYMENT_EVENTS.join(',')}}`],
  );
  return rows.map(({ type, data }) => [type, data.period, data.status, data.resumed_from ?? null]);
}

async function statusOf(handle: WorkflowHandle): Promise<string> {
  return (await queryBetweenTasks(handle, subscriptionStatusQuery)).status;
}

async function searchStatus(handle: WorkflowHandle): Promise<string | undefined> {
  return (await handle.describe()).typedSearchAttributes.get(SUBSCRIPTION_SEARCH_ATTRIBUTES.status);
}

/** Polls (in real time, so workflow time barely moves) until `read` answers `expected`. */
async function eventuallyIs<T>(read: () => Promise<T>, expected: T, timeoutMs = 20_000): Promise<void> {
  const last = await eventually(read, (value) => JSON.stringify(value) === JSON.stringify(expected), { timeoutMs, intervalMs: 100, orLast: true });
  expect(last).toEqual(expected);
}

describe('SubscriptionWorkflow', () => {
  it('charges each month from the balance, exactly, and a cancel ends it at the period end', async () => {
    const tenantId = await newTenant('100');
    const plan = await newPlan('10.01', 'M');
    const subscription = await subscribe(tenantId, plan);
    expect(await balance(tenantId)).toBe('89.99');
    expect(await searchStatus(subscription.handle)).toBe('active');

    await skipTo(new Date(subscription.boundary(1).getTime() + HOUR_MS));
    await eventuallyIs(() => chargeKeys(subscription.id), keys(subscription.id, 1, 2));
    expect(await balance(tenantId)).toBe('79.98');
    await skipTo(new Date(subscription.boundary(2).getTime() + HOUR_MS));
    await eventuallyIs(() => chargeKeys(subscription.id), keys(subscription.id, 1, 2, 3));
    expect(await balance(tenantId)).toBe('69.97');

    expect(await queryBetweenTasks(subscription.handle, subscriptionStatusQuery)).toMatchObject({
      status: 'active',
      period: 3,
      periodStart: subscription.boundary(2).toISOString(),
      periodEnd: subscription.boundary(3).toISOString(),
    });
    expect(await findSubscription(orm.em.fork(), subscription.id)).toMatchObject({
      status: 'active',
      period: 3,
      currentPeriodStart: subscription.boundary(2),
      currentPeriodEnd: subscription.boundary(3),
    });
    const described = await subscription.handle.describe();
    expect(
      [SUBSCRIPTION_SEARCH_ATTRIBUTES.tenantId, SUBSCRIPTION_SEARCH_ATTRIBUTES.planId, SUBSCRIPTION_SEARCH_ATTRIBUTES.status].map((key) =>
        described.typedSearchAttributes.get(key),
      ),
    ).toEqual([tenantId, plan.id, 'active']);
    const movements = await sql(
      'select amount::text as amount, description, payment_method, status from money_movements where tenant_id = ? and payment_method = ? order by created_at',
      [tenantId, 'balance'],
    );
    expect(movements).toEqual(Array.from({ length: 3 }, () => ({ amount: '10.010000000000000000', description: plan.name, payment_method: 'balance', status: 'finish' })));

    expect(await updateBetweenTasks(subscription.handle, cancelSubscriptionUpdate)).toMatchObject({ status: 'canceling', period: 3 });
    expect((await findSubscription(orm.em.fork(), subscription.id))?.status).toBe('canceling');
    expect(await searchStatus(subscription.handle)).toBe('canceling');

    expect(await subscription.handle.result()).toEqual({ status: 'canceled', reason: 'canceled_by_customer', period: 3 });
    const ended = await findSubscription(orm.em.fork(), subscription.id);
    expect(ended?.status).toBe('canceled');
    expect(ended!.canceledAt!.getTime()).toBeGreaterThanOrEqual(subscription.boundary(3).getTime());
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1, 2, 3));
    expect(await balance(tenantId)).toBe('69.97');
    expect((await eventsOf(tenantId)).map((event) => [event.type, event.data.reason])).toEqual([['subscription.canceled', 'canceled_by_customer']]);
    expect(await paymentEventsOf(tenantId)).toEqual([
      ['subscription.created', 1, 'active', null],
      ['subscription.renewed', 2, 'active', null],
      ['subscription.renewed', 3, 'active', null],
    ]);
    expect(await searchStatus(subscription.handle)).toBe('canceled');
  });

  it('charges a yearly plan once in 12 months, then again, and warns when the balance runs low', async () => {
    const tenantId = await newTenant('250');
    const plan = await newPlan('120', 'Y');
    const subscription = await subscribe(tenantId, plan);
    expect(await balance(tenantId)).toBe('130');

    await skipTo(new Date(subscription.boundary(1).getTime() - DAY_MS));
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1));
    expect(await queryBetweenTasks(subscription.handle, subscriptionStatusQuery)).toMatchObject({ status: 'active', period: 1, periodEnd: subscription.boundary(1).toISOString() });
    expect(await balance(tenantId)).toBe('130');

    await skipTo(new Date(subscription.boundary(1).getTime() + HOUR_MS));
    await eventuallyIs(() => chargeKeys(subscription.id), keys(subscription.id, 1, 2));
    expect(await balance(tenantId)).toBe('10');
    await eventuallyIs(async () => (await eventsOf(tenantId)).map((event) => [event.type, event.data.period, event.data.balance]), [['balance.low', 2, '10']]);
    await terminateWhenIdle(subscription.handle, 'test over');
  });

  it('goes into arrears when the balance is short, and a card recharge charges it at once', async () => {
    const tenantId = await newTenant('10');
    const plan = await newPlan('10', 'M');
    const subscription = await subscribe(tenantId, plan);
    expect(await balance(tenantId)).toBe('0');

    await skipTo(new Date(subscription.boundary(1).getTime() + HOUR_MS));
    await eventuallyIs(() => statusOf(subscription.handle), 'arrears');
    await eventuallyIs(async () => (await findSubscription(orm.em.fork(), subscription.id))?.status, 'arrears');
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1));
    expect((await eventsOf(tenantId)).map((event) => [event.type, event.data.period])).toEqual([['subscription.arrears', 2]]);
    expect(await searchStatus(subscription.handle)).toBe('arrears');

    const gateway = createSandboxGateway({ orm });
    const card = await addCard(orm.em.fork(), tenantId, gateway.name, await gateway.tokenise('tok_visa', tenantId), new Date());
    const transId = `tr_${randomUUID()}`;
    await createPendingMovement(
      orm.em.fork(),
      { id: transId, tenantId, kind: 'recharge', currency: 'USD', amount: new Dec('25'), paymentMethod: 'card', description: 'Balance recharge', cardId: card.id },
      new Date(),
    );
    const before = await env.currentTimeMs();
    const input: RechargeInput = { transId, tenantId, cardId: card.id, amount: '25', description: 'Balance recharge' };
    await env.client.workflow.start('rechargeWorkflow', { taskQueue: TASK_QUEUE, workflowId: `recharge-${transId}`, args: [input] });

    await eventuallyIs(() => statusOf(subscription.handle), 'active');
    await recordRecharge(transId);
    expect((await env.currentTimeMs()) - before).toBeLessThan(HOUR_MS);
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1, 2));
    expect(await balance(tenantId)).toBe('15');
    await eventuallyIs(async () => (await findSubscription(orm.em.fork(), subscription.id))?.status, 'active');
    expect(await findSubscription(orm.em.fork(), subscription.id)).toMatchObject({ period: 2, arrearsSince: null, currentPeriodEnd: subscription.boundary(2) });
    expect((await eventsOf(tenantId)).map((event) => event.type)).toEqual(['subscription.arrears', 'balance.recharged']);
    expect(await paymentEventsOf(tenantId)).toEqual([
      ['subscription.created', 1, 'active', null],
      ['subscription.renewed', 2, 'active', null],
      ['subscription.resumed', 2, 'active', 'arrears'],
    ]);
    await terminateWhenIdle(subscription.handle, 'test over');
  });

  it('never paid: suspended 7 days after the arrears began, canceled 30 days later, with the events', async () => {
    const tenantId = await newTenant('10');
    const plan = await newPlan('10', 'M');
    const subscription = await subscribe(tenantId, plan);

    expect(await subscription.handle.result()).toEqual({ status: 'canceled', reason: 'unpaid', period: 2 });
    const ended = (await findSubscription(orm.em.fork(), subscription.id))!;
    expect(ended.status).toBe('canceled');
    const arrearsSince = ended.arrearsSince!.getTime();
    expect(Math.abs(arrearsSince - subscription.boundary(1).getTime())).toBeLessThan(60_000);
    expect(Math.abs(ended.suspendedAt!.getTime() - (arrearsSince + 7 * DAY_MS))).toBeLessThan(60_000);
    expect(Math.abs(ended.canceledAt!.getTime() - (arrearsSince + 37 * DAY_MS))).toBeLessThan(60_000);
    expect((await eventsOf(tenantId)).map((event) => [event.type, event.data.period, event.data.reason ?? null])).toEqual([
      ['subscription.arrears', 2, null],
      ['subscription.suspended', 2, null],
      ['subscription.canceled', 2, 'unpaid'],
    ]);
    // each with the subscription as its GET answered it then
    expect((await eventsOf(tenantId)).map((event) => [event.type, event.data.subscription])).toEqual([
      [
        'subscription.arrears',
        expect.objectContaining({ subscription_id: subscription.id, status: 'arrears', price: '10', arrears_since: expect.stringMatching(/Z$/), suspended_at: null }),
      ],
      ['subscription.suspended', expect.objectContaining({ subscription_id: subscription.id, status: 'suspended', suspended_at: expect.stringMatching(/Z$/) })],
      ['subscription.canceled', expect.objectContaining({ subscription_id: subscription.id, status: 'canceled', canceled_at: expect.stringMatching(/Z$/) })],
    ]);
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1));
    expect(await balance(tenantId)).toBe('0');
    expect(await searchStatus(subscription.handle)).toBe('canceled');
  });

  it('a suspended subscription resumes on a manual credit, charging the period running now, not the missed one', async () => {
    const tenantId = await newTenant('10');
    const plan = await newPlan('10', 'M');
    const subscription = await subscribe(tenantId, plan);

    await skipTo(new Date(subscription.boundary(2).getTime() + HOUR_MS));
    await eventuallyIs(() => statusOf(subscription.handle), 'suspended');
    await credit(tenantId, '30');
    expect(await signalUnpaidSubscriptions(orm.em.fork(), env.client, tenantId)).toBe(1);

    await eventuallyIs(() => statusOf(subscription.handle), 'active');
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1, 3));
    expect(await balance(tenantId)).toBe('20');
    await eventuallyIs(async () => (await findSubscription(orm.em.fork(), subscription.id))?.status, 'active');
    expect(await findSubscription(orm.em.fork(), subscription.id)).toMatchObject({ period: 3, suspendedAt: null, currentPeriodStart: subscription.boundary(2) });
    expect((await eventsOf(tenantId)).map((event) => event.type)).toEqual(['subscription.arrears', 'subscription.suspended']);
    expect(await paymentEventsOf(tenantId)).toEqual([
      ['subscription.created', 1, 'active', null],
      ['subscription.renewed', 3, 'active', null],
      ['subscription.resumed', 3, 'active', 'suspended'],
    ]);
    await terminateWhenIdle(subscription.handle, 'test over');
  });

  it('canceling an unpaid subscription ends it at once', async () => {
    const tenantId = await newTenant('5');
    const plan = await newPlan('5', 'M');
    const subscription = await subscribe(tenantId, plan);
    await skipTo(new Date(subscription.boundary(1).getTime() + HOUR_MS));
    await eventuallyIs(() => statusOf(subscription.handle), 'arrears');

    expect(await updateBetweenTasks(subscription.handle, cancelSubscriptionUpdate)).toMatchObject({ status: 'canceled', period: 2 });
    expect(await subscription.handle.result()).toEqual({ status: 'canceled', reason: 'canceled_by_customer', period: 2 });
    expect((await findSubscription(orm.em.fork(), subscription.id))?.status).toBe('canceled');
    expect((await eventsOf(tenantId)).map((event) => event.type)).toEqual(['subscription.arrears', 'subscription.canceled']);
    expect(await chargeKeys(subscription.id)).toEqual(keys(subscription.id, 1));
  });
});

describe('recharge histories recorded by earlier versions of RechargeWorkflow', () => {
  it('still replay without nondeterminism errors', async () => {
    const files = readdirSync(RECHARGE_FIXTURES).filter((file) => /^recharge-.*\.history\.pb$/.test(file));
    expect(files.length).toBeGreaterThanOrEqual(1);
    for (const file of files) {
      const history = HistoryProto.decode(readFileSync(join(RECHARGE_FIXTURES, file)));
      await expect(Worker.runReplayHistory({ workflowBundle: { codePath: testRun().workflowBundlePath } }, history, file)).resolves.toBeUndefined();
    }
  });
});
