/**
 * PrepayWorkflow's lifecycle with months passing in seconds: the time-skipping test server runs the real
 * workflow code with the real activities (PostgreSQL, ledger, sandbox card gateway). Every scenario ends
 * by replaying the histories it recorded.
 */
import { formatTimestamp } from '../../src/domain/format.ts';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import { monthlyPayments } from '../../src/db/repositories/invoices.ts';
import { findPrepay } from '../../src/db/repositories/prepays.ts';
import { monthBoundary } from '../../src/domain/calendar.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/money.ts';
import { monthlyShares } from '../../src/domain/prepay.ts';
import { priceResources } from '../../src/domain/pricing.ts';
import { startCardPrepay } from '../../src/temporal/prepays.ts';
import {
  bindAppUpdate,
  cancelUpdate,
  changeCardUpdate,
  prepaySearchAttributes,
  requestAutoRenewalSignal,
  requestCancelSignal,
  statusQuery,
  type PrepayResult,
  type PrepayView,
} from '../../src/workflows/prepay.ts';
import {
  advanceClockTo,
  appOn,
  createCluster,
  createTeam,
  FIXTURES,
  moneyOf,
  replayHistories,
  setClusterPrice,
  startPrepay,
  startPrepayHarness,
  type PrepayHarness,
} from '../helpers/prepay-harness.ts';
import { queryBetweenTasks, updateBetweenTasks } from '../helpers/time-skipping.ts';
import { until } from '../helpers/wait.ts';
import { testRun } from '../helpers/test-run.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';

const HistoryProto = proto.temporal.api.history.v1.History;
const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

let harness: PrepayHarness;
beforeAll(async () => {
  harness = await startPrepayHarness();
});
afterAll(async () => {
  await harness?.close();
});

const handleOf = (workflowId: string, runId?: string) => harness.env.client.workflow.getHandle(workflowId, runId);
const statusOf = (workflowId: string) => queryBetweenTasks(handleOf(workflowId), statusQuery);

/** Binds an app whose price for the period is taken from the cluster's book, as the API does. */
async function bind(workflowId: string, app: ReturnType<typeof appOn>, costUsd: string): Promise<PrepayView> {
  return updateBetweenTasks(handleOf(workflowId), bindAppUpdate, { paymentType: 'USD', app, costUsd });
}

const advanceTo = (at: number) => advanceClockTo(harness.env, at);

const replayAllRuns = (workflowId: string, scenario: string) => replayHistories(harness, workflowId, scenario);

describe('a 12-month card prepay', () => {
  it('is charged once, bound, earns 12 monthly shares, renews at current prices and runs the next cycle', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const clusterId = await createCluster(harness.orm, '10');
    const app = appOn(clusterId, 1000);
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 12, autoRenewal: true, amount: '120' });
    expect(await outcome).toEqual({ status: 'paid', prePayId, chargeId: expect.stringMatching(/^ch_sbx_/) });
    expect((await statusOf(workflowId)).status).toBe('awaiting_binding');

    const bound = await bind(workflowId, app, '120');
    expect(bound).toMatchObject({ status: 'active', monthsRecognized: 0, app, cycle: 1 });
    const anchor = new Date(bound.boundAt!);
    expect(bound.periodStart).toBe(anchor.toISOString());
    expect(bound.periodEnd).toBe(monthBoundary(anchor, 12).toISOString());
    // Prices go up before the renewal: the next cycle is charged at the new price (1000 millicores × 12.5 × 12).
    await setClusterPrice(harness.orm, clusterId, '12.5');

    await advanceTo(monthBoundary(anchor, 12).getTime() + 2 * DAY);
    const next = await statusOf(workflowId);
    expect(next).toMatchObject({ status: 'active', cycle: 2, amount: '150', monthsRecognized: 0, app });
    expect(next.periodStart).toBe(monthBoundary(anchor, 12).toISOString());
    expect(next.periodEnd).toBe(monthBoundary(anchor, 24).toISOString());

    const money = moneyOf(harness.orm, prePayId);
    expect(await money.charges()).toEqual([
      { key: `prepay-${prePayId}-cycle-1`, outcome: 'succeeded', offSession: false, declineCode: null, amount: '120' },
      { key: `prepay-${prePayId}-cycle-2`, outcome: 'succeeded', offSession: true, declineCode: null, amount: '150' },
    ]);
    expect(await money.monthShares(1)).toEqual(Array(12).fill('10'));
    expect(await money.monthShares(2)).toEqual([]);
    // Cycle 1 fully earned; cycle 2 paid and deferred.
    expect(await money.ledger()).toEqual({ card_clearing: '-270', deferred_revenue: '150', revenue: '120' });
    expect(await money.events()).toEqual(['1:prepay.paid', '1:prepay.activated', '1:prepay.renewal_upcoming', '2:prepay.renewed']);
    // Each event carries the step's facts and the prepay as its GET answered it when the event was recorded.
    const own = { pre_pay_id: prePayId, team_id: team.tenantId, payment_type: 'USD', period: 12 };
    expect(await eventPayloads(prePayId)).toEqual([
      [
        'prepay.paid',
        {
          pre_pay_id: prePayId,
          cycle: 1,
          usd: '120',
          charge_id: expect.stringMatching(/^ch_sbx_/),
          prepay: expect.objectContaining({ ...own, status: 'awaiting_binding', cycle: 1, app: null }),
        },
      ],
      [
        'prepay.activated',
        {
          pre_pay_id: prePayId,
          cycle: 1,
          app_id: app.appId,
          period_start: anchor.toISOString(),
          period_end: monthBoundary(anchor, 12).toISOString(),
          prepay: expect.objectContaining({
            ...own,
            status: 'active',
            cycle: 1,
            app: expect.objectContaining({ app_id: app.appId }),
            period_end: formatTimestamp(monthBoundary(anchor, 12)),
          }),
        },
      ],
      [
        'prepay.renewal_upcoming',
        {
          pre_pay_id: prePayId,
          cycle: 1,
          auto_renewal: true,
          period_end: monthBoundary(anchor, 12).toISOString(),
          prepay: expect.objectContaining({ ...own, status: 'active', cycle: 1 }),
        },
      ],
      // recorded when the renewal was charged, before the read model moved to cycle 2
      [
        'prepay.renewed',
        {
          pre_pay_id: prePayId,
          cycle: 2,
          usd: '150',
          charge_id: expect.stringMatching(/^ch_sbx_/),
          attempt: 1,
          prepay: expect.objectContaining({ ...own, status: 'renewing', cycle: 1 }),
        },
      ],
    ]);
    expect(await money.refunds()).toEqual([]);

    const row = await findPrepay(harness.orm.em.fork(), prePayId);
    expect(row).toMatchObject({ status: 'active', cycle: 2, monthsRecognized: 0, autoRenewal: true });
    expect(row!.usd.toFixed()).toBe('150');
    expect(row!.periodEnd?.toISOString()).toBe(monthBoundary(anchor, 24).toISOString());

    const described = await handleOf(workflowId).describe();
    expect(described.typedSearchAttributes.get(prepaySearchAttributes.status)).toBe('active');
    expect(described.typedSearchAttributes.get(prepaySearchAttributes.teamId)).toBe(team.tenantId);
    expect(described.typedSearchAttributes.get(prepaySearchAttributes.prePayId)).toBe(prePayId);
    expect(described.typedSearchAttributes.get(prepaySearchAttributes.periodEnd)?.toISOString()).toBe(monthBoundary(anchor, 24).toISOString());
    // Continue-as-new carries no static summary to cycle 2's run: its current details (the UI's metadata query) say what it is (decision 0101).
    const metadata = await handleOf(workflowId).query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails.split('\n')[0]).toBe(`Prepay ${prePayId} · team ${team.tenantId} · USD 150.00 · 12 months · card`);
    expect(metadata.currentDetails).toContain('- Cycle 2: active');

    // The invoice list: one month per payment, newest first, each with the app's icon.
    const payments = await money.payments();
    const months = payments.map((payment) => `${payment.paidAt.toISOString().slice(0, 7)}-01`).reverse();
    expect(await monthlyPayments(harness.orm.em.fork(), team.tenantId)).toEqual([
      { month: months[0], currency: 'USD', usd: new Dec('150'), amount: new Dec('150'), iconUrls: [app.iconUrl] },
      { month: months[1], currency: 'USD', usd: new Dec('120'), amount: new Dec('120'), iconUrls: [app.iconUrl] },
    ]);

    expect(await replayAllRuns(workflowId, 'twelve-months')).toBe(2);
  });
});

describe('renewal dunning', () => {
  it('a renewal declined twice is paid on the third attempt (+3 days) after the card was changed', async () => {
    const team = await createTeam(harness);
    const offSessionDeclines = await team.card('tok_authenticationRequired');
    const clusterId = await createCluster(harness.orm, '10');
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId: offSessionDeclines, period: 1, autoRenewal: true, amount: '10' });
    expect((await outcome).status).toBe('paid');
    const end = new Date((await bind(workflowId, appOn(clusterId, 1000), '10')).periodEnd!).getTime();

    await advanceTo(end + 1 * DAY + HOUR);
    const pastDue = await statusOf(workflowId);
    expect(pastDue).toMatchObject({ status: 'past_due', cycle: 1, failureCode: 'authentication_required' });
    expect(pastDue.renewal).toEqual({ amount: '10', attempt: 2, attempts: 4, nextAttemptAt: new Date(end + 3 * DAY).toISOString(), lastDeclineCode: 'authentication_required' });
    expect((await findPrepay(harness.orm.em.fork(), prePayId))?.status).toBe('past_due');
    expect(await statusEvents(prePayId, 'prepay.past_due')).toEqual([
      { cycle: 1, prepay: expect.objectContaining({ pre_pay_id: prePayId, status: 'past_due', failure_code: 'authentication_required' }) },
    ]);

    const othersCard = await (await createTeam(harness)).card('tok_visa');
    await expect(updateBetweenTasks(handleOf(workflowId), changeCardUpdate, { cardId: othersCard })).rejects.toMatchObject({ cause: { type: 'PrepayInvalidRequest' } });
    const visa = await team.card('tok_visa');
    expect(await updateBetweenTasks(handleOf(workflowId), changeCardUpdate, { cardId: visa })).toMatchObject({ cardId: visa, status: 'past_due' });
    await advanceTo(end + 3 * DAY + HOUR);

    expect(await statusOf(workflowId)).toMatchObject({ status: 'active', cycle: 2, cardId: visa });
    const money = moneyOf(harness.orm, prePayId);
    expect((await money.charges()).map(({ key, outcome, declineCode }) => [key, outcome, declineCode])).toEqual([
      [`prepay-${prePayId}-cycle-1`, 'succeeded', null],
      [`prepay-${prePayId}-cycle-2`, 'declined', 'authentication_required'],
      [`prepay-${prePayId}-cycle-2-retry-1`, 'declined', 'authentication_required'],
      [`prepay-${prePayId}-cycle-2-retry-2`, 'succeeded', null],
    ]);
    const payments = await money.payments();
    expect(payments.map((payment) => payment.usd)).toEqual(['10', '10']);
    expect(payments[1]!.paidAt.getTime()).toBeGreaterThanOrEqual(end + 3 * DAY);
    expect(payments[1]!.paidAt.getTime()).toBeLessThan(end + 3 * DAY + HOUR);
    expect(await money.ledger()).toEqual({ card_clearing: '-20', deferred_revenue: '10', revenue: '10' });
    expect(await replayAllRuns(workflowId, 'dunning-paid')).toBe(2);
  });

  it('a renewal declined at every attempt (now, +1, +3, +7 days) ends the prepay expired', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_authenticationRequired');
    const clusterId = await createCluster(harness.orm, '10');
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 1, autoRenewal: true, amount: '10' });
    expect((await outcome).status).toBe('paid');
    await bind(workflowId, appOn(clusterId, 1000), '10');

    const result: PrepayResult = await handleOf(workflowId).result();
    expect(result).toEqual({ prePayId, status: 'expired', cycle: 1, refundedUsd: '0' });
    const money = moneyOf(harness.orm, prePayId);
    const renewalCharges = (await money.charges()).slice(1);
    expect(renewalCharges.map(({ key, outcome }) => [key, outcome])).toEqual([
      [`prepay-${prePayId}-cycle-2`, 'declined'],
      [`prepay-${prePayId}-cycle-2-retry-1`, 'declined'],
      [`prepay-${prePayId}-cycle-2-retry-2`, 'declined'],
      [`prepay-${prePayId}-cycle-2-retry-3`, 'declined'],
    ]);
    expect(await money.ledger()).toEqual({ card_clearing: '-10', deferred_revenue: '0', revenue: '10' });
    expect((await money.events()).at(-1)).toBe('1:prepay.expired');
    expect(await findPrepay(harness.orm.em.fork(), prePayId)).toMatchObject({ status: 'expired', cycle: 1, monthsRecognized: 1 });
    expect(await replayAllRuns(workflowId, 'dunning-expired')).toBe(1);
  });
});

describe('binding', () => {
  it('a prepay never bound is refunded once after the binding timeout and ends refunded', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 3, autoRenewal: true, amount: '33.3' });
    expect((await outcome).status).toBe('paid');
    const paidAt = await harness.env.currentTimeMs();

    const result: PrepayResult = await handleOf(workflowId).result();
    expect(result).toEqual({ prePayId, status: 'refunded', cycle: 1, refundedUsd: '33.3' });
    expect((await harness.env.currentTimeMs()) - paidAt).toBeGreaterThanOrEqual(7 * DAY);
    const money = moneyOf(harness.orm, prePayId);
    expect(await money.refunds()).toEqual([{ key: `prepay-${prePayId}-cycle-1-refund`, amount: '33.3' }]);
    expect(await money.ledger()).toEqual({ card_clearing: '0', deferred_revenue: '0' });
    expect(await money.events()).toEqual(['1:prepay.paid', '1:prepay.refunded']);
    expect((await eventPayloads(prePayId))[1]).toEqual([
      'prepay.refunded',
      {
        pre_pay_id: prePayId,
        cycle: 1,
        usd: '33.3',
        reason: 'no app was bound in time',
        prepay: expect.objectContaining({ pre_pay_id: prePayId, refunded_usd: '33.3', app: null }),
      },
    ]);
    expect(await findPrepay(harness.orm.em.fork(), prePayId)).toMatchObject({ status: 'refunded', app: null });
    expect(await monthlyPayments(harness.orm.em.fork(), team.tenantId)).toEqual([]);
    expect(await replayAllRuns(workflowId, 'binding-timeout')).toBe(1);
  });

  it('the validator refuses another payment type, an app that costs more than was paid, and a second app', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const clusterId = await createCluster(harness.orm, '10');
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 2, autoRenewal: true, amount: '20' });
    expect((await outcome).status).toBe('paid');
    const app = appOn(clusterId, 1000);
    const update = (request: Parameters<typeof bind>[1], costUsd: string, paymentType = 'USD') =>
      handleOf(workflowId)
        .executeUpdate(bindAppUpdate, { args: [{ paymentType, app: request, costUsd }] })
        .then(
          () => 'accepted',
          (error: { cause?: { type?: string } }) => error.cause?.type,
        );
    expect(await update(app, '20', 'USDT_ERC20')).toBe('PrepayPaymentTypeMismatch');
    const big = appOn(clusterId, 2000);
    expect(
      await update(
        big,
        priceResources(
          { cpuCoreMonthUsd: new Dec(10), memoryGibMonthUsd: new Dec(0), storageGibMonthUsd: new Dec(0), chartMultipliers: {}, periodDiscounts: {} },
          { cpuMillicores: 2000, memoryMib: 0, storageGib: 0 },
          'nginx',
          2,
        ).usd.toFixed(),
      ),
    ).toBe('PrepayResourcesExceedPayment');
    expect(await update(app, '20')).toBe('accepted');
    expect(await update({ ...app, iconUrl: 'https://icons.example/new.png' }, '20')).toBe('accepted');
    expect(await update(appOn(clusterId, 500), '5')).toBe('PrepayAppAlreadyBound');
    expect((await statusOf(workflowId)).app).toEqual(app);

    // The operators' signal does what the update does, without an answer.
    await handleOf(workflowId).signal(requestAutoRenewalSignal, { autoRenewal: false });
    expect((await statusOf(workflowId)).autoRenewal).toBe(false);
    await until(async () => (await findPrepay(harness.orm.em.fork(), prePayId))?.autoRenewal === false, {
      timeoutMs: 10_000,
      intervalMs: 100,
      detail: () => 'auto_renewal still on in the read model',
    });
  });
});

describe('payment', () => {
  it('a declined first charge ends the prepay payment_failed, and its workflow id is never started again', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_chargeDeclined');
    const started = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 1, autoRenewal: true, amount: '10' });
    expect(await started.outcome).toEqual({ status: 'declined', prePayId: started.prePayId, declineCode: 'generic_decline', message: expect.any(String) });
    expect(await handleOf(started.workflowId).result()).toMatchObject({ status: 'payment_failed' });
    const input = { prePayId: started.prePayId, tenantId: team.tenantId, paymentType: 'USD' as const, cardId, period: 1, autoRenewal: true, amount: '10' };
    await expect(startCardPrepay(harness.env.client, await installationOf(harness.orm), harness.taskQueue, input)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect((await moneyOf(harness.orm, started.prePayId).charges()).map((charge) => charge.outcome)).toEqual(['declined']);
    expect(await findPrepay(harness.orm.em.fork(), started.prePayId)).toMatchObject({ status: 'payment_failed', failureCode: 'generic_decline' });
    expect(await statusEvents(started.prePayId, 'prepay.payment_failed')).toEqual([
      { cycle: 1, prepay: expect.objectContaining({ pre_pay_id: started.prePayId, team_id: team.tenantId, status: 'payment_failed', failure_code: 'generic_decline', usd: '10' }) },
    ]);
    expect(await replayAllRuns(started.workflowId, 'declined')).toBe(1);
  });
});

/** The data of the prepay's events of this type (recorded with its snapshot: the prepay as its GET answers it). */
/** The prepay's events as [type, data], in the order they were recorded. */
async function eventPayloads(prePayId: number): Promise<[string, Record<string, unknown>][]> {
  const rows = await harness.orm.em
    .fork()
    .execute<{ type: string; data: Record<string, unknown> }[]>(`select type, data from events where (data->>'pre_pay_id')::bigint = ? order by created_at, type`, [prePayId]);
  return rows.map(({ type, data }) => [type, data]);
}

async function statusEvents(prePayId: number, type: string): Promise<unknown[]> {
  const rows = await harness.orm.em
    .fork()
    .execute<{ data: Record<string, unknown> }[]>(`select data from events where type = ? and (data->>'pre_pay_id')::bigint = ? order by created_at`, [type, prePayId]);
  return rows.map(({ data }) => ({ cycle: data.cycle, prepay: data.prepay }));
}

describe('an operator cancel', () => {
  it('sent as the requestCancel signal before any app was bound, refunds everything', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 6, autoRenewal: true, amount: '60' });
    expect((await outcome).status).toBe('paid');
    await handleOf(workflowId).signal(requestCancelSignal, { reason: 'operator in the Temporal UI' });
    expect(await handleOf(workflowId).result()).toEqual({ prePayId, status: 'canceled', cycle: 1, refundedUsd: '60' });
    expect(await statusEvents(prePayId, 'prepay.canceled')).toEqual([
      { cycle: 1, prepay: expect.objectContaining({ pre_pay_id: prePayId, status: 'canceled', refunded_usd: '60' }) },
    ]);
    const money = moneyOf(harness.orm, prePayId);
    expect(await money.refunds()).toEqual([{ key: `prepay-${prePayId}-cycle-1-cancel-refund`, amount: '60' }]);
    expect(await money.ledger()).toEqual({ card_clearing: '0', deferred_revenue: '0' });
    expect(await replayAllRuns(workflowId, 'cancel-signal')).toBe(1);
  });

  it('during the 4th of 12 months keeps 4 months and refunds the 8 unused whole months, exactly', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const clusterId = await createCluster(harness.orm, '10');
    const { workflowId, prePayId, outcome } = await startPrepay(harness, { tenantId: team.tenantId, cardId, period: 12, autoRenewal: true, amount: '100' });
    expect((await outcome).status).toBe('paid');
    const anchor = new Date((await bind(workflowId, appOn(clusterId, 800), '96')).boundAt!);

    await advanceTo(monthBoundary(anchor, 4).getTime() - HOUR);
    expect(await statusOf(workflowId)).toMatchObject({ status: 'active', monthsRecognized: 3 });
    const canceled = await updateBetweenTasks(handleOf(workflowId), cancelUpdate, { reason: 'fraud review' });
    const shares = monthlyShares(new Dec('100'), 12).map((share) => share.toFixed());
    const refund = shares
      .slice(4)
      .reduce((sum, share) => sum.plus(share), new Dec(0))
      .toFixed();
    expect(refund).toBe('66.68');
    expect(canceled).toMatchObject({ status: 'canceled', monthsRecognized: 4, refundedUsd: refund });

    const result: PrepayResult = await handleOf(workflowId).result();
    expect(result).toEqual({ prePayId, status: 'canceled', cycle: 1, refundedUsd: '66.68' });
    const money = moneyOf(harness.orm, prePayId);
    expect(await money.refunds()).toEqual([{ key: `prepay-${prePayId}-cycle-1-cancel-refund`, amount: '66.68' }]);
    expect(await money.monthShares(1)).toEqual(shares.slice(0, 4));
    expect(await money.ledger()).toEqual({ card_clearing: '-33.32', deferred_revenue: '0', revenue: '33.32' });
    expect(await money.payments()).toMatchObject([{ cycle: 1, usd: '100', refundedUsd: '66.68' }]);
    expect(await findPrepay(harness.orm.em.fork(), prePayId)).toMatchObject({ status: 'canceled', monthsRecognized: 4 });
    const [invoiceMonth] = await monthlyPayments(harness.orm.em.fork(), team.tenantId);
    expect(invoiceMonth?.usd.toFixed()).toBe('33.32');
    expect(await replayAllRuns(workflowId, 'cancel-month-4')).toBe(1);
  });
});

describe('a worker killed during the charge', () => {
  it('charges the card once at the gateway, and the prepay runs to completion on another worker', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const clusterId = await createCluster(harness.orm, '10');
    const taskQueue = `prepay-crash-${randomBytes(4).toString('hex')}`;
    // Workflow tasks on a worker of their own, so that only the child process takes the first charge.
    const workflows = await Worker.create({ connection: harness.env.nativeConnection, taskQueue, workflowBundle: harness.bundle });
    const workflowsRunning = workflows.run();
    const child = spawn(process.execPath, [fileURLToPath(new URL('../helpers/crashing-charge-worker.ts', import.meta.url))], {
      env: { ...process.env, DATABASE_URL: testRun().databaseUrl, TEMPORAL_ADDRESS: harness.env.address, TEMPORAL_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await until(() => output.includes('crashing charge worker ready'), { timeoutMs: 60_000, intervalMs: 100, detail: () => output });
      const { workflowId, prePayId, outcome } = await startPrepay(
        { ...harness, taskQueue },
        {
          tenantId: team.tenantId,
          cardId,
          period: 1,
          autoRenewal: false,
          amount: '10',
          timings: { chargeTimeoutMs: 2_000 },
        },
      );
      expect(await exited).toBe(137);
      expect(output).toContain('charged at the gateway, crashing');
      const money = moneyOf(harness.orm, prePayId);
      expect((await money.charges()).map((charge) => charge.outcome)).toEqual(['succeeded']);
      expect(await money.payments()).toEqual([]);

      // A healthy worker takes the retried charge: the gateway replays the charge made with the same key.
      const activities = await Worker.create({
        connection: harness.env.nativeConnection,
        taskQueue,
        activities: createActivities({ orm: harness.orm, gateway: harness.gateway, clock: systemClock }),
      });
      const result = await activities.runUntil(async () => {
        expect((await outcome).status).toBe('paid');
        await bind(workflowId, appOn(clusterId, 1000), '10');
        return (await handleOf(workflowId).result()) as PrepayResult;
      });
      expect(result).toEqual({ prePayId, status: 'completed', cycle: 1, refundedUsd: '0' });
      expect(await statusEvents(prePayId, 'prepay.completed')).toEqual([
        { cycle: 1, prepay: expect.objectContaining({ pre_pay_id: prePayId, status: 'completed', months_recognized: 1, app: expect.objectContaining({ cpu_limit: 1000 }) }) },
      ]);
      expect(await money.charges()).toEqual([{ key: `prepay-${prePayId}-cycle-1`, outcome: 'succeeded', offSession: false, declineCode: null, amount: '10' }]);
      expect(await money.ledger()).toEqual({ card_clearing: '-10', deferred_revenue: '0', revenue: '10' });
      expect(await replayAllRuns(workflowId, 'worker-killed')).toBe(1);
    } finally {
      child.kill('SIGKILL');
      workflows.shutdown();
      await workflowsRunning;
    }
  });
});

describe('histories recorded by earlier versions of the workflow', () => {
  it('still replay without nondeterminism errors', async () => {
    const files = readdirSync(FIXTURES).filter((file) => /^prepay-.*\.history\.pb$/.test(file));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) {
      const history = HistoryProto.decode(readFileSync(join(FIXTURES, file)));
      await expect(Worker.runReplayHistory({ workflowBundle: harness.bundle }, history, file)).resolves.toBeUndefined();
    }
  });
});
