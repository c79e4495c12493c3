/**
 * The load of the bench's non-HTTP baselines (a child process of `npm run bench`, driven over IPC): a
 * bounded async loop, `concurrency` operations in flight for `durationMs`, like autocannon's connections.
 *
 * * `update-with-start <empty|oneActivity>`: one Temporal client for the process (as the API has one),
 *   `executeUpdateWithStart` with the call shape of the engine's card prepay (src/temporal/prepays.ts):
 *   a new workflow id each time, USE_EXISTING, REJECT_DUPLICATE, the same search attribute keys and a
 *   static summary, on the baseline's task queue (scripts/bench/baseline-worker.ts).
 * * `pg`: pgbench-style through `pg`, one connection per concurrent client: a transaction that locks one
 *   balance row (SELECT … FOR UPDATE), inserts a history row and updates the balance row, on scratch tables
 *   of the bench's database, over 1 row (a hot tenant) or N rows (many tenants).
 *
 * Messages: the parent sends `{ type: 'prepare', concurrency }` (connections are opened, outside the
 * measurement), then `{ type: 'run', concurrency, durationMs, rows }`; the driver answers `prepared` and
 * `result`. Operations that end after the deadline are waited for but not counted (as autocannon drops the
 * requests in flight when it stops).
 */
import { randomBytes } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import pg from 'pg';
import { connectTemporal } from '../../src/temporal/client.ts';
import { installationSearchAttribute } from '../../src/temporal/search-attributes.ts';
import { prepaySearchAttributes } from '../../src/workflows/prepay-messages.ts';
import { attachUpdate, BASELINE_TASK_QUEUE, BASELINE_WORKFLOW_TYPES } from './baseline-messages.ts';
import type { benchEmptyWorkflow } from './baseline-workflows.ts';

export type DriverRequest = { type: 'prepare'; concurrency: number } | { type: 'run'; concurrency: number; durationMs: number; rows: number };
export type DriverAnswer =
  | { type: 'ready' }
  | { type: 'prepared' }
  | { type: 'result'; ok: number; errors: number; firstError?: string; durationS: number; p50: number; p99: number }
  | { type: 'failed'; message: string };

type Operation = (index: number, rows: number) => Promise<void>;

interface Driver {
  prepare: (concurrency: number) => Promise<void>;
  operation: (slot: number) => Operation;
  close: () => Promise<void>;
}

const [mode, variant] = process.argv.slice(2);
const send = (answer: DriverAnswer) => process.send?.(answer);

async function temporalDriver(kind: keyof typeof BASELINE_WORKFLOW_TYPES): Promise<Driver> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is needed');
  const { connection, client } = await connectTemporal({ address, namespace: 'default', attempts: 4 });
  const run = randomBytes(4).toString('hex');
  const start = (temporal: Client, index: number) => {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof benchEmptyWorkflow>(BASELINE_WORKFLOW_TYPES[kind], {
      workflowId: `bench-${kind}-${run}-${index}`,
      taskQueue: BASELINE_TASK_QUEUE,
      args: [],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: prepaySearchAttributes.teamId, value: 'bench-baseline' },
        { key: prepaySearchAttributes.prePayId, value: index },
        { key: prepaySearchAttributes.paymentType, value: 'USD' },
        { key: prepaySearchAttributes.status, value: 'awaiting_payment' },
        { key: installationSearchAttribute, value: 'benchbaseline' },
      ],
      staticSummary: `Bench baseline ${index} · ${kind}`,
    });
    return temporal.workflow.executeUpdateWithStart(attachUpdate, { args: [{ tenantId: 'bench-baseline', amount: '37.46' }], startWorkflowOperation });
  };
  return {
    prepare: async () => undefined,
    operation: () => async (index) => {
      await start(client, index);
    },
    close: () => connection.close(),
  };
}

async function pgDriver(): Promise<Driver> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is needed');
  let clients: pg.Client[] = [];
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    await setup.query('create table if not exists bench_accounts (id integer primary key, balance numeric(20, 2) not null default 0)');
    await setup.query(
      'create table if not exists bench_history (id bigserial primary key, account_id integer not null, delta numeric(20, 2) not null, created_at timestamptz not null default now())',
    );
    await setup.query('insert into bench_accounts (id) select generate_series(1, 1024) on conflict do nothing');
  } finally {
    await setup.end();
  }
  const closeAll = async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    clients = [];
  };
  return {
    prepare: async (concurrency) => {
      if (clients.length === concurrency) return;
      await closeAll();
      clients = Array.from({ length: concurrency }, () => new pg.Client({ connectionString: url }));
      await Promise.all(clients.map((client) => client.connect()));
    },
    operation: (slot) => async (index, rows) => {
      const client = clients[slot]!;
      const account = (index % rows) + 1;
      const delta = ((index % 900) + 100) / 100;
      await client.query('begin');
      try {
        await client.query('select balance from bench_accounts where id = $1 for update', [account]);
        await client.query('insert into bench_history (account_id, delta) values ($1, $2) returning id', [account, delta]);
        await client.query('update bench_accounts set balance = balance + $2 where id = $1', [account, delta]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    },
    close: closeAll,
  };
}

/** Numbers the operations over the driver's life: a workflow id is never used twice. */
let next = 0;

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

async function measure(driver: Driver, concurrency: number, durationMs: number, rows: number): Promise<DriverAnswer> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async (slot: number) => {
    const operation = driver.operation(slot);
    while (performance.now() < deadline) {
      const begun = performance.now();
      try {
        await operation(next++, rows);
        const ended = performance.now();
        if (ended <= deadline) latencies.push(ended - begun);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, slot) => loop(slot)));
  latencies.sort((a, b) => a - b);
  return { type: 'result', ok: latencies.length, errors, firstError, durationS: durationMs / 1000, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

async function main(): Promise<void> {
  const driver = mode === 'update-with-start' && (variant === 'empty' || variant === 'oneActivity') ? await temporalDriver(variant) : mode === 'pg' ? await pgDriver() : undefined;
  if (!driver) throw new Error(`unknown driver ${mode} ${variant ?? ''}`);
  let queue = Promise.resolve();
  process.on('message', (request: DriverRequest) => {
    queue = queue.then(async () => {
      try {
        if (request.type === 'prepare') {
          await driver.prepare(request.concurrency);
          send({ type: 'prepared' });
        } else {
          await driver.prepare(request.concurrency);
          send(await measure(driver, request.concurrency, request.durationMs, request.rows));
        }
      } catch (error) {
        send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  const stop = async () => {
    await driver.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.once('disconnect', () => void stop());
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
