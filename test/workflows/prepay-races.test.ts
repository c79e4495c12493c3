/**
 * PrepayWorkflow under races: a request that arrives while the workflow is in the middle of a gateway
 * call. The gateway is the sandbox one, held at a gate so the test decides when the call returns; the
 * workflow, activities, ledger and PostgreSQL are real (time-skipping server).
 */
import { randomBytes } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { CardGateway } from '../../src/gateway/card-gateway.ts';
import { bindAppUpdate, setAutoRenewalUpdate, statusQuery, type PrepayResult } from '../../src/workflows/prepay.ts';
import { advanceClockTo, appOn, createCluster, createTeam, moneyOf, replayHistories, startPrepay, startPrepayHarness, type PrepayHarness } from '../helpers/prepay-harness.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { queryBetweenTasks, updateBetweenTasks } from '../helpers/time-skipping.ts';

const HOUR = 3600 * 1000;

let harness: PrepayHarness;
let gate: ReturnType<typeof gatedGateway>;
let taskQueue: string;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  harness = await startPrepayHarness();
  gate = gatedGateway(harness.gateway);
  taskQueue = `prepay-races-${randomBytes(4).toString('hex')}`;
  worker = await Worker.create({
    connection: harness.env.nativeConnection,
    taskQueue,
    workflowBundle: harness.bundle,
    activities: createActivities({ orm: harness.orm, gateway: gate.gateway, clock: systemClock }),
  });
  running = worker.run();
});
afterAll(async () => {
  gate?.releaseAll();
  worker?.shutdown();
  await running;
  await harness?.close();
});

/** The sandbox gateway, except that calls whose key matches a held pattern wait until released. */
function gatedGateway(inner: CardGateway) {
  const held: { pattern: RegExp; arrived: () => void; release: Promise<void>; open: () => void }[] = [];
  const wait = async (key: string) => {
    const hold = held.find((entry) => entry.pattern.test(key));
    if (!hold) return;
    hold.arrived();
    await hold.release;
  };
  return {
    gateway: {
      name: inner.name,
      tokenise: (token: string, tenantId: string) => inner.tokenise(token, tenantId),
      charge: async (request: Parameters<CardGateway['charge']>[0]) => {
        await wait(request.idempotencyKey);
        return inner.charge(request);
      },
      refund: async (request: Parameters<CardGateway['refund']>[0]) => {
        await wait(request.idempotencyKey);
        return inner.refund(request);
      },
    } satisfies CardGateway,
    /** holds the calls whose idempotency key matches; resolves `arrived` when the first one is at the gate */
    hold(pattern: RegExp) {
      let arrived!: () => void;
      let open!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const release = new Promise<void>((resolve) => (open = resolve));
      held.push({ pattern, arrived, release, open });
      return { arrival, open };
    },
    releaseAll: () => held.forEach((entry) => entry.open()),
  };
}

const handleOf = (workflowId: string) => harness.env.client.workflow.getHandle(workflowId);
const started = (request: Parameters<typeof startPrepay>[1]) => startPrepay({ env: harness.env, orm: harness.orm, taskQueue }, request);
const advanceTo = (at: number) => advanceClockTo(harness.env, at);

describe('binding against the binding-timeout refund', () => {
  it('a CallBackAppInfo that arrives while the refund is at the gateway is refused, and the prepay ends refunded', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const clusterId = await createCluster(harness.orm, '10');
    const { workflowId, prePayId, outcome } = await started({ tenantId: team.tenantId, cardId, period: 1, autoRenewal: true, amount: '10', timings: { bindingTimeoutMs: HOUR } });
    expect((await outcome).status).toBe('paid');
    const refund = gate.hold(new RegExp(`^${await gatewayKey(harness.orm, 'prepay-')}${prePayId}-cycle-1-refund$`));
    // Just past the deadline: once the refund is held at the gateway the server's clock runs in real time.
    await advanceTo((await harness.env.currentTimeMs()) + HOUR + 1_000);
    await refund.arrival; // the refund is at the gateway; the read model still says awaiting_binding

    const binding = handleOf(workflowId).executeUpdate(bindAppUpdate, { args: [{ paymentType: 'USD', app: appOn(clusterId, 1000), costUsd: '10' }] });
    const answer = binding.then(
      (view) => ({ accepted: view.status }),
      (error: { cause?: { type?: string } }) => ({ refused: error.cause?.type }),
    );
    refund.open();
    expect(await answer).toEqual({ refused: 'PrepayNotBindable' });

    const result: PrepayResult = await handleOf(workflowId).result();
    expect(result).toMatchObject({ status: 'refunded', refundedUsd: '10' });
    const money = moneyOf(harness.orm, prePayId);
    expect(await money.refunds()).toEqual([{ key: `prepay-${prePayId}-cycle-1-refund`, amount: '10' }]);
    expect(await money.ledger()).toEqual({ card_clearing: '0', deferred_revenue: '0' });
    expect(await replayHistories(harness, workflowId, 'bind-during-timeout-refund')).toBe(1);
  });
});

describe('auto-renewal against the renewal charge', () => {
  it('switching auto-renewal off while the renewal is at the gateway is refused; the paid cycle runs and the switch applies to the next one', async () => {
    const team = await createTeam(harness);
    const cardId = await team.card('tok_visa');
    const clusterId = await createCluster(harness.orm, '10');
    const { workflowId, prePayId, outcome } = await started({ tenantId: team.tenantId, cardId, period: 1, autoRenewal: true, amount: '10' });
    expect((await outcome).status).toBe('paid');
    const bound = await handleOf(workflowId).executeUpdate(bindAppUpdate, { args: [{ paymentType: 'USD', app: appOn(clusterId, 1000), costUsd: '10' }] });
    const renewal = gate.hold(new RegExp(`^${await gatewayKey(harness.orm, 'prepay-')}${prePayId}-cycle-2$`));
    await advanceTo(new Date(bound.periodEnd!).getTime() + 1_000); // the charge is held from here on: real time
    await renewal.arrival;
    // the charge is held on purpose, so no task can continue the run as new under this query
    expect((await handleOf(workflowId).query(statusQuery)).status).toBe('renewing');

    const off = handleOf(workflowId).executeUpdate(setAutoRenewalUpdate, { args: [{ autoRenewal: false }] });
    const answer = off.then(
      (view) => ({ accepted: view.autoRenewal }),
      (error: { cause?: { type?: string } }) => ({ refused: error.cause?.type }),
    );
    renewal.open();
    expect(await answer).toEqual({ refused: 'PrepayRenewalInProgress' });

    // The renewal was paid and its cycle runs; switched off now, that cycle is the last.
    await advanceTo(new Date(bound.periodEnd!).getTime() + 2 * HOUR);
    const cycle2 = await queryBetweenTasks(handleOf(workflowId), statusQuery);
    expect(cycle2).toMatchObject({ status: 'active', cycle: 2, autoRenewal: true });
    expect(await updateBetweenTasks(handleOf(workflowId), setAutoRenewalUpdate, { autoRenewal: false })).toMatchObject({ autoRenewal: false, cycle: 2 });
    const result: PrepayResult = await handleOf(workflowId).result();
    expect(result).toMatchObject({ status: 'completed', cycle: 2 });
    const charges = await moneyOf(harness.orm, prePayId).charges();
    expect(charges.map(({ key, outcome: charged }) => [key, charged])).toEqual([
      [`prepay-${prePayId}-cycle-1`, 'succeeded'],
      [`prepay-${prePayId}-cycle-2`, 'succeeded'],
    ]);
    expect(await moneyOf(harness.orm, prePayId).ledger()).toEqual({ card_clearing: '-20', deferred_revenue: '0', revenue: '20' });
    expect(await replayHistories(harness, workflowId, 'auto-renewal-off-during-renewal')).toBe(2);
  });
});
