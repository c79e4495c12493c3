/**
 * PrepayWorkflow on the time-skipping test server with the real activities: the run's PostgreSQL, the
 * sandbox card gateway, the real ledger. Months pass in seconds; everything else is what production runs.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.ts';
import type { WebhookSettings } from '../../src/domain/webhooks.ts';
import { addCard } from '../../src/db/repositories/cards.ts';
import { upsertCluster } from '../../src/db/repositories/catalog.ts';
import { allocateCardPrepay, allocateTokenPrepay } from '../../src/db/repositories/prepay-allocation.ts';
import { initOrm, type Orm } from '../../src/db/orm.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { Dec, type TokenCurrency } from '../../src/domain/money.ts';
import type { TokenTransferSignal } from '../../src/domain/token-transfer.ts';
import { staticPriceFeed } from '../../src/pricing/price-feed.ts';
import { createQuote } from '../../src/pricing/quotes.ts';
import { prepayWorkflowId, type AppBinding, type PrepayTimings } from '../../src/domain/prepay.ts';
import { createSandboxGateway } from '../../src/gateway/sandbox-gateway.ts';
import type { CardGateway } from '../../src/gateway/card-gateway.ts';
import { startCardPrepay, startTokenPrepay } from '../../src/temporal/prepays.ts';
import type { PaymentOutcome, PrepayInput } from '../../src/workflows/prepay.ts';
import { createTimeSkippingEnv } from './time-skipping.ts';
import { registerSearchAttributes } from './time-skipping-search-attributes.ts';
import { testRun } from './test-run.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { gatewayIdempotencyKey } from '../../src/domain/installation.ts';
import { sqlOn } from './db.ts';

export interface PrepayHarness {
  env: TestWorkflowEnvironment;
  orm: Orm;
  gateway: CardGateway;
  bundle: { codePath: string };
  taskQueue: string;
  close: () => Promise<void>;
}

/** The test server, the ORM, the run's workflow bundle (shared by workers and replays) and a worker polling for the whole file. */
export async function startPrepayHarness(options: { webhooks?: WebhookSettings } = {}): Promise<PrepayHarness> {
  const env = await createTimeSkippingEnv();
  await registerSearchAttributes(env); // the Java test server knows no custom attributes until told (decision 0023)
  const orm = await initOrm(testRun().databaseUrl, { poolMax: 5 });
  const gateway = createSandboxGateway({ orm });
  const bundle = { codePath: testRun().workflowBundlePath };
  const taskQueue = `prepay-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({ orm, gateway, clock: systemClock, ...(options.webhooks ? { webhooks: options.webhooks } : {}) }),
  });
  const running = worker.run();
  return {
    env,
    orm,
    gateway,
    bundle,
    taskQueue,
    close: async () => {
      worker.shutdown();
      await running;
      await orm.close();
      await env.teardown();
    },
  };
}

export interface Team {
  tenantId: string;
  card: (token: string) => Promise<string>;
}

/** A tenant of its own, with cards registered at the sandbox gateway as the API would. */
export async function createTeam(harness: Pick<PrepayHarness, 'orm' | 'gateway'>): Promise<Team> {
  const tenantId = `team-${randomBytes(5).toString('hex')}`;
  await harness.orm.em.fork().execute('insert into tenants (id) values (?)', [tenantId]);
  return {
    tenantId,
    card: async (token) => (await addCard(harness.orm.em.fork(), tenantId, 'sandbox', await harness.gateway.tokenise(token, tenantId), new Date())).id,
  };
}

/** A cluster with a price book: USD per core-month (memory and storage free, so prices are easy to read). */
export async function createCluster(orm: Orm, cpuCoreMonthUsd: string): Promise<string> {
  const clusterId = `cluster-${randomBytes(5).toString('hex')}`;
  await setClusterPrice(orm, clusterId, cpuCoreMonthUsd);
  return clusterId;
}

export async function setClusterPrice(orm: Orm, clusterId: string, cpuCoreMonthUsd: string): Promise<void> {
  await upsertCluster(
    orm.em.fork(),
    clusterId,
    { cpuCoreMonthUsd: new Dec(cpuCoreMonthUsd), memoryGibMonthUsd: new Dec(0), storageGibMonthUsd: new Dec(0), chartMultipliers: {}, periodDiscounts: {} },
    new Date(),
  );
}

export function appOn(clusterId: string, cpuLimit: number, appId = `app-${randomBytes(4).toString('hex')}`): AppBinding {
  return { appId, clusterId, chartName: 'nginx', cpuLimit, memLimit: 0, storageLimit: 0, iconUrl: `https://icons.example/${appId}.png`, projectName: 'demo' };
}

export interface StartedPrepay {
  prePayId: number;
  workflowId: string;
  outcome: Promise<PaymentOutcome>;
}

/** What the API does for CreatePrePaymentCard: allocate the id, then update-with-start. */
export async function startPrepay(
  harness: Pick<PrepayHarness, 'env' | 'orm' | 'taskQueue'>,
  request: { tenantId: string; cardId: string; period: number; autoRenewal: boolean; amount: string; timings?: Partial<PrepayTimings> },
): Promise<StartedPrepay> {
  const { prepay } = await allocateCardPrepay(
    harness.orm.em.fork(),
    {
      tenantId: request.tenantId,
      cardId: request.cardId,
      quoteId: null,
      period: request.period,
      autoRenewal: request.autoRenewal,
      amount: new Dec(request.amount),
      idempotency: null,
    },
    new Date(),
  );
  const input: PrepayInput = { prePayId: prepay.id, paymentType: 'USD', ...request };
  const installation = await installationOf(harness.orm);
  return { prePayId: prepay.id, workflowId: prepayWorkflowId(installation, prepay.id), outcome: startCardPrepay(harness.env.client, installation, harness.taskQueue, input) };
}

export interface OpenedTokenPrepay {
  prePayId: number;
  workflowId: string;
  /** token units due, from the quote */
  amount: string;
  usd: string;
  /** epoch ms of the test server's clock */
  deadline: number;
}

/**
 * What the API does for a token prepay: quote at the cluster's price (static rates) with the payment
 * window as the quote's lifetime, allocate the id, start the workflow. Times are the test server's.
 */
export async function openTokenPrepay(
  harness: Pick<PrepayHarness, 'env' | 'orm' | 'taskQueue'>,
  request: {
    tenantId: string;
    token: TokenCurrency;
    clusterId: string;
    cpuLimit: number;
    period: number;
    autoRenewal: boolean;
    paymentWindowMs: number;
    timings?: Partial<PrepayTimings>;
  },
): Promise<OpenedTokenPrepay> {
  const now = new Date(await harness.env.currentTimeMs());
  const em = harness.orm.em.fork();
  const quote = await createQuote(
    em,
    { priceFeed: staticPriceFeed, ttlSeconds: request.paymentWindowMs / 1000, now },
    {
      tenantId: request.tenantId,
      currency: request.token,
      clusterId: request.clusterId,
      chartName: 'nginx',
      resources: { cpuMillicores: request.cpuLimit, memoryMib: 0, storageGib: 0 },
      period: request.period,
    },
  );
  const { prepay } = await allocateTokenPrepay(
    em,
    {
      tenantId: request.tenantId,
      paymentType: request.token,
      quoteId: quote.quoteId,
      period: request.period,
      autoRenewal: request.autoRenewal,
      amount: quote.amount,
      usd: quote.usd,
      paymentDeadline: quote.expiresAt,
      idempotency: null,
    },
    now,
  );
  const installation = await installationOf(harness.orm);
  await startTokenPrepay(harness.env.client, installation, harness.taskQueue, {
    prePayId: prepay.id,
    tenantId: request.tenantId,
    paymentType: request.token,
    cardId: null,
    period: request.period,
    autoRenewal: request.autoRenewal,
    amount: quote.amount.toFixed(),
    usd: quote.usd.toFixed(),
    tokenPayment: { depositAddress: '0x000000000000000000000000000000000000dEaD', deadline: quote.expiresAt.toISOString() },
    timings: request.timings,
  });
  return {
    prePayId: prepay.id,
    workflowId: prepayWorkflowId(installation, prepay.id),
    amount: quote.amount.toFixed(),
    usd: quote.usd.toFixed(),
    deadline: quote.expiresAt.getTime(),
  };
}

/** A transfer as the watcher signals it, with an identity of its own. */
export function transferOf(token: TokenCurrency, amount: string): TokenTransferSignal {
  return {
    chainId: 31337,
    txHash: `0x${randomBytes(32).toString('hex')}`,
    logIndex: 0,
    token,
    amount,
    from: `0x${randomBytes(20).toString('hex')}`,
    to: '0x000000000000000000000000000000000000dead',
    blockNumber: 100,
  };
}

/** Sets the operators' static rate of a token (USD per token), as PUT /operator/v1/rates does. */
export async function setTokenRate(orm: Orm, token: TokenCurrency, usd: string): Promise<void> {
  await orm.em
    .fork()
    .execute('insert into token_rates (currency, usd, updated_at) values (?, ?::numeric, now()) on conflict (currency) do update set usd = excluded.usd, updated_at = now()', [
      token,
      usd,
    ]);
}

/** Moves the test server's clock to `at` (timers due before it fire on the way); a time already passed leaves it. */
export async function advanceClockTo(env: TestWorkflowEnvironment, at: number): Promise<void> {
  const now = await env.currentTimeMs();
  if (at > now) await env.sleep(at - now);
}

/** Rows and sums that show what happened to a prepay's money. */
export function moneyOf(orm: Orm, prePayId: number) {
  const sql = sqlOn(() => orm);
  const keyPattern = `prepay-${prePayId}-cycle-%`;
  /**
   * The gateway saw the engine's keys scoped by the installation (`{installation}:{key}`, decision 0090):
   * charges and refunds are found by, and answered as, the engine's own key after checking that scope.
   */
  const gatewayPattern = async () => gatewayIdempotencyKey(await installationOf(orm), keyPattern);
  const engineKey = async (gatewayKey: string) => {
    const scoped = gatewayIdempotencyKey(await installationOf(orm), '');
    if (!gatewayKey.startsWith(scoped)) throw new Error(`gateway key ${gatewayKey} is not scoped by the installation (${scoped})`);
    return gatewayKey.slice(scoped.length);
  };
  return {
    /** the net of the prepay's ledger postings per platform account */
    async ledger(): Promise<Record<string, string>> {
      const rows = await sql<{ kind: string; sum: string }>(
        `select a.kind, sum(p.amount)::text as sum from ledger_postings p join ledger_accounts a on a.id = p.account_id
           join ledger_transactions t on t.id = p.transaction_id where t.idempotency_key like ? group by a.kind order by a.kind`,
        [keyPattern],
      );
      return Object.fromEntries(rows.map((row) => [row.kind, new Dec(row.sum).toFixed()]));
    },
    /** the prepay's ledger transactions by key, in the order written */
    async ledgerKeys(): Promise<string[]> {
      const rows = await sql<{ idempotency_key: string }>('select idempotency_key from ledger_transactions where idempotency_key like ? order by created_at, idempotency_key', [
        keyPattern,
      ]);
      return rows.map((row) => row.idempotency_key);
    },
    async monthShares(cycle: number): Promise<string[]> {
      const rows = await sql<{ amount: string }>(
        `select p.amount::text as amount from ledger_postings p join ledger_accounts a on a.id = p.account_id join ledger_transactions t on t.id = p.transaction_id
          where t.idempotency_key like ? and a.kind = 'revenue' order by (t.metadata->>'month')::int`,
        [`prepay-${prePayId}-cycle-${cycle}-month-%`],
      );
      return rows.map((row) => new Dec(row.amount).toFixed());
    },
    /** every charge attempt the sandbox gateway saw for the prepay */
    async charges(): Promise<{ key: string; outcome: string; offSession: boolean; declineCode: string | null; amount: string }[]> {
      const rows = await sql<{ idempotency_key: string; outcome: string; off_session: boolean; decline_code: string | null; amount: string }>(
        `select idempotency_key, outcome, off_session, decline_code, amount::text as amount from sandbox_charges where idempotency_key like ? order by created_at`,
        [await gatewayPattern()],
      );
      return Promise.all(
        rows.map(async (row) => ({
          key: await engineKey(row.idempotency_key),
          outcome: row.outcome,
          offSession: row.off_session,
          declineCode: row.decline_code,
          amount: new Dec(row.amount).toFixed(),
        })),
      );
    },
    async refunds(): Promise<{ key: string; amount: string }[]> {
      const rows = await sql<{ idempotency_key: string; amount: string }>(
        `select r.idempotency_key, r.amount::text as amount from sandbox_refunds r join sandbox_charges c on c.charge_id = r.charge_id where c.idempotency_key like ? order by r.created_at`,
        [await gatewayPattern()],
      );
      return Promise.all(rows.map(async (row) => ({ key: await engineKey(row.idempotency_key), amount: new Dec(row.amount).toFixed() })));
    },
    async events(): Promise<string[]> {
      const rows = await sql<{ type: string; cycle: number }>(
        `select type, (data->>'cycle')::int as cycle from events where (data->>'pre_pay_id')::bigint = ? order by created_at, type`,
        [prePayId],
      );
      return rows.map((row) => `${row.cycle}:${row.type}`);
    },
    async payments(): Promise<{ cycle: number; usd: string; refundedUsd: string; paidAt: Date }[]> {
      const rows = await sql<{ cycle: number; usd: string; refunded_usd: string; paid_at: Date | string }>(
        'select cycle, usd::text as usd, refunded_usd::text as refunded_usd, paid_at from prepay_payments where prepay_id = ? order by cycle',
        [prePayId],
      );
      return rows.map((row) => ({ cycle: row.cycle, usd: new Dec(row.usd).toFixed(), refundedUsd: new Dec(row.refunded_usd).toFixed(), paidAt: new Date(row.paid_at) }));
    },
  };
}

/** Recorded histories of earlier versions of PrepayWorkflow, replayed by test/workflows/prepay.test.ts. */
export const FIXTURES = fileURLToPath(new URL('../workflows/fixtures/', import.meta.url));
const HistoryProto = proto.temporal.api.history.v1.History;

/**
 * Replays every run of the workflow (continue-as-new chains included) against today's code. With
 * PREPAY_RECORD_HISTORIES=1 the histories are also written to fixtures/, where prepay.test.ts replays them
 * after every later change of the workflow (binary protobuf, as `temporal workflow show --output json` would
 * need a newer protobufjs than the SDK's copy here).
 */
export async function replayHistories(harness: Pick<PrepayHarness, 'env' | 'bundle'>, workflowId: string, scenario: string): Promise<number> {
  const histories = [];
  let runId: string | undefined;
  do {
    const history = await harness.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    histories.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
  } while (runId);
  for (const [index, history] of histories.entries()) {
    await Worker.runReplayHistory({ workflowBundle: harness.bundle }, history, workflowId);
    if (process.env.PREPAY_RECORD_HISTORIES === '1') {
      writeFileSync(join(FIXTURES, `prepay-${scenario}-run-${index + 1}.history.pb`), HistoryProto.encode(HistoryProto.fromObject(history)).finish());
    }
  }
  return histories.length;
}
