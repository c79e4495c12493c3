/**
 * Repeated calls do not grow a prepay's history without bound. Seed clients send CallBackAppInfo again
 * and again; operators flip auto-renewal from the Temporal UI. Each Workflow Update or signal is history,
 * and a run has hard limits (2,000 updates, 51,200 events). Here the dev server suggests continue-as-new
 * after 120 events (Temporal's default is 4,096), so the test reaches in seconds what production reaches
 * in months: repeats answered from the read model add nothing, and the run continues as new mid-cycle,
 * carrying its state, after which binding and cancel still answer as they should.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import proto from '@temporalio/proto';
import { join } from 'node:path';
import { findTemporalCli, PROJECT_ROOT, startDevServer, type DevServer } from '../../src/dev/temporal-dev-server.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { requestAutoRenewalSignal, statusQuery } from '../../src/workflows/prepay.ts';
import { Client, Connection } from '@temporalio/client';
import { client } from '../helpers/http.ts';
import { appInfo } from '../helpers/apps.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';
import { testRun } from '../helpers/test-run.ts';
import { FIXTURES } from '../helpers/prepay-harness.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { subscriptionWorkflowId } from '../../src/domain/subscriptions.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { eventually } from '../helpers/wait.ts';
import { createCluster, createRegion, TEN_USD_A_CORE } from '../helpers/catalog.ts';

const HistoryProto = proto.temporal.api.history.v1.History;

const SUGGEST_CONTINUE_AS_NEW_AFTER = 120;

let server: DevServer;
let stack: TestStack;
let stopWorker: () => Promise<void>;
let connection: Connection;
let temporal: Client;

beforeAll(async () => {
  server = await startDevServer(findTemporalCli()!, {
    dbFile: join(PROJECT_ROOT, '.data', 'test-temporal', `${testRun().databaseName}-history-${randomBytes(3).toString('hex')}.sqlite`),
    headless: true,
    startTimeoutMs: 90_000,
    extraArgs: ['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER}`],
  });
  stack = await startStack({ TEMPORAL_ADDRESS: server.address, WORKFLOW_WAIT_SECONDS: '30' });
  stopWorker = await stack.startWorker();
  connection = await Connection.connect({ address: server.address });
  temporal = new Client({ connection });
});
afterAll(async () => {
  await stopWorker?.();
  await connection?.close();
  await stack?.close();
  await server?.stop();
});

/** Runs `count` calls, `concurrency` at a time, and answers their results in order. */
async function many<T>(count: number, concurrency: number, call: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await call(index);
      }
    }),
  );
  return results;
}

/** The event count of every run of the workflow, oldest first. */
async function runLengths(workflowId: string): Promise<number[]> {
  const lengths: number[] = [];
  let runId: string | undefined;
  do {
    const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    lengths.unshift(history.events?.length ?? 0);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
  } while (runId);
  return lengths;
}

/**
 * With PREPAY_RECORD_HISTORIES=1, writes the first `runs` runs of the workflow to the fixtures that
 * test/workflows/prepay.test.ts replays after every later change of the workflow.
 */
async function recordHistories(workflowId: string, scenario: string, runs: number): Promise<void> {
  if (process.env.PREPAY_RECORD_HISTORIES !== '1') return;
  const chain = [];
  let runId: string | undefined;
  do {
    const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    chain.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
  } while (runId);
  for (const [index, history] of chain.slice(0, runs).entries()) {
    writeFileSync(join(FIXTURES, `prepay-${scenario}-run-${index + 1}.history.pb`), HistoryProto.encode(HistoryProto.fromObject(history)).finish());
  }
}

it('3,000 repeated callbacks, auto-renewal calls and signals on one prepay keep every run short; bind and cancel still answer', async () => {
  const operator = client(stack.url, stack.operatorKey);
  const clusterId = await createCluster(stack, TEN_USD_A_CORE, 'history-cluster');
  const tenant = await createTenant(stack);
  const cardId = await addCard(tenant, 'tok_visa');
  const created = expectStatus(
    await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: { team_id: tenant.id, card_id: cardId, amount: '120', period: 12, auto_renewal: 1 } }),
    200,
  );
  const prePayId = created.body.pre_pay_id as number;
  const app = appInfo(prePayId, clusterId);
  expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: app }), 200).body).toEqual({ code: 0, message: 'success' });
  const workflowId = prepayWorkflowId(await installationOf(stack.orm), prePayId);
  const handle = temporal.workflow.getHandle(workflowId);
  await eventually(
    () => handle.query(statusQuery),
    (view) => view.status === 'active',
  );

  // 1,000 repeats of the callback and 1,000 of the auto-renewal the prepay already has: answered, no Update sent.
  const callbacks = await many(1000, 8, () => tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: app }));
  expect(callbacks.filter((answer) => answer.status === 200 && answer.body?.message === 'success')).toHaveLength(1000);
  const renewals = await many(1000, 8, () => tenant.call('PUT', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/auto_renewal`, { body: { auto_renewal: 1 } }));
  expect(renewals.filter((answer) => answer.status === 200 && answer.body?.auto_renewal === 1)).toHaveLength(1000);
  // 1,000 signals from "the Temporal UI": each one is a history event, so the run must continue as new as it grows.
  await many(1000, 8, () => handle.signal(requestAutoRenewalSignal, { autoRenewal: true }));
  // and real changes through the API, each a Workflow Update with a read-model write
  for (let flip = 0; flip < 20; flip += 1) {
    const value = flip % 2 === 0 ? 0 : 1;
    const answer = expectStatus(await tenant.call('PUT', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/auto_renewal`, { body: { auto_renewal: value } }), 200);
    expect(answer.body.auto_renewal).toBe(value);
  }

  const lengths = await eventually(
    () => runLengths(workflowId),
    (runs) => runs.length >= 3,
  );
  expect(lengths.reduce((sum, length) => sum + length, 0)).toBeGreaterThan(1000); // the signals are all in some run
  await recordHistories(workflowId, 'continue-as-new-mid-cycle', 2);
  for (const length of lengths) expect(length).toBeLessThan(1000);

  // The state went along: still cycle 1, bound to the same app, auto-renewal as last set, nothing earned yet.
  const view = await handle.query(statusQuery);
  expect(view).toMatchObject({ status: 'active', cycle: 1, monthsRecognized: 0, autoRenewal: true, app: { appId: 'app-1' } });
  expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: app }), 200).body).toEqual({ code: 0, message: 'success' });
  expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: { ...app, app_id: 'app-2' } }), 409).body).toMatchObject({
    error: { type: 'conflict', field: 'app_id' },
  });

  // Cancel in month 1 of 12: the month in progress is used, the other 11 go back to the card, once.
  const canceled = expectStatus(await operator('POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { body: { reason: 'history test' } }), 200);
  expect(canceled.body).toMatchObject({ status: 'canceled', refunded_usd: '110', months_recognized: 1, cycle: 1 });
  const refunds = await stack.orm.em
    .fork()
    .execute<{ amount: string }[]>(`select r.amount::text as amount from sandbox_refunds r join sandbox_charges c on c.charge_id = r.charge_id where c.idempotency_key = ?`, [
      await gatewayKey(stack.orm, `prepay-${prePayId}-cycle-1`),
    ]);
  expect(refunds.map((row) => row.amount)).toEqual(['110.00']);
  // A callback for a canceled prepay is not "success".
  expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: app }), 409).body).toMatchObject({ error: { type: 'conflict' }, status: 'canceled' });
}, 600_000);

it('a paid subscription sent 1,000 retryCharge signals continues as new in the same period, still active, charged once', async () => {
  const operator = client(stack.url, stack.operatorKey);
  const tenant = await createTenant(stack);
  expectStatus(await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":100,"namespace":"${tenant.id}","payment_method":"manual"}` }), 200);
  const region = await createRegion(stack, 'history');
  const plan = expectStatus(
    await operator('POST', '/operator/v1/plans', {
      rawBody: `{"region":"${region}","type":"C","level":"S","name":"${uniqueId('Plan')}","bill_period":"M","description":"1 CPU","status":"available","price":40}`,
    }),
    201,
  ).body;
  const checkout = expectStatus(await tenant.call('POST', '/payment/v1/checkout', { body: { plan_id: plan.plan_id, namespace: tenant.id, region } }), 200);
  const workflowId = subscriptionWorkflowId(await installationOf(stack.orm), tenant.id, plan.plan_id);
  const handle = temporal.workflow.getHandle(workflowId);
  await eventually(
    () => handle.describe().then((described) => described.status.name),
    (status) => status === 'RUNNING',
  );
  await many(1000, 8, () => handle.signal('retryCharge'));

  const lengths = await eventually(
    () => runLengths(workflowId),
    (runs) => runs.length >= 3,
  );
  for (const length of lengths) expect(length).toBeLessThan(1000);
  expect(await handle.query('subscriptionStatus')).toMatchObject({ status: 'active', period: 1, subscriptionId: checkout.body.subscription_id });
  const charges = await stack.orm.em
    .fork()
    .execute<{ id: string }[]>('select id from ledger_transactions where idempotency_key like ?', [`subscription-${checkout.body.subscription_id}-period-%`]);
  expect(charges).toHaveLength(1);
  expect(expectStatus(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200).text).toContain('"balance":60');
});
