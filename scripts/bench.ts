/**
 * `npm run bench`: the engine measured from outside against baselines on the same machine, in the same run
 * (docs/performance.md). Not part of `npm test`; test/integration/bench-smoke.test.ts runs `--smoke`.
 *
 *   npm run bench                                  # every scenario: 10 s per measurement, 3 repeats, medians
 *   npm run bench -- --scenario reads,quotes --duration 5 --repeat 5
 *   npm run bench -- --write                       # and write docs/performance.md
 *   npm run bench -- --smoke --scenario reads      # one very short run of each: does it work (figures meaningless)
 *   npm run bench -- --scenario hot-tenant --cpu-prof   # the API and the worker under node --cpu-prof
 *   npm run bench -- --scenario open-prepays --open-prepays 2000   # fewer open prepays (judged at 10,000)
 *
 * It starts the production shape itself (scripts/bench/stack.ts: a database of its own on the local
 * PostgreSQL, a Temporal dev server of its own, one API and one worker process), then each scenario's
 * baselines, runs every measurement as baseline and engine in turn, checks zero drift after the money
 * scenarios, prints the figures and, with --write, writes them. The open-prepays scenario's baseline is the
 * engine itself before it holds its prepays: it runs on an engine of its own unless it is the first scenario.
 * Everything it started is stopped, and its database dropped, on success, failure and Ctrl-C. Exit code: 0,
 * 1 when a drift check failed, 2 when the run failed. No timing is asserted: the targets are reported as met
 * or not met.
 *
 * Files: the scenarios are here; the processes in scripts/bench/stack.ts, one measurement in measure.ts,
 * the money book of the drift check in money.ts, the report and the page's prose in report.ts, the
 * baselines in bare-koa.ts, baseline-workflows.ts, baseline-worker.ts and driver.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO } from '../src/db/seed.ts';
import { findTemporalCli, PROJECT_ROOT } from '../src/dev/temporal-dev-server.ts';
import { call, type Answer, type Api } from './chaos/client.ts';
import type { Lifecycle } from './chaos/processes.ts';
import { httpLoad, measure, medianSample, pidProbe, postgresProbe, processMemoryMib, selfProbe, stopLoads, type CpuProbe, type LoadResult, type Sample } from './bench/measure.ts';
import { centsToNumber, formatCents, MoneyBook, textToCents } from './bench/money.ts';
import {
  FIGURES,
  figureLines,
  OPEN_PREPAYS_LABEL,
  OPEN_PREPAYS_TARGET,
  openSummary,
  renderDocument,
  SCENARIOS,
  summaryLines,
  thousands,
  type DriftResult,
  type FigureResult,
  type FigureSpec,
  type Machine,
  type Memory,
  type OpenPrepays,
  type ScenarioName,
} from './bench/report.ts';
import { Interrupted, killDrivers, startBareKoa, startBaselineWorker, startDriver, startEngine, type Driver, type Engine } from './bench/stack.ts';

// ---------------------------------------------------------------------------------------------------
// Options

const { values: options } = parseArgs({
  options: {
    /** comma-separated, of SCENARIOS; all by default */
    scenario: { type: 'string' },
    /** seconds per measurement */
    duration: { type: 'string', default: '10' },
    /** runs of each measurement (each side); the report shows the medians */
    repeat: { type: 'string', default: '3' },
    /** one very short run of each measurement, no warm-up: whether the bench works, not what it measures */
    smoke: { type: 'boolean', default: false },
    /** write docs/performance.md */
    write: { type: 'boolean', default: false },
    /** run the API and the worker with node --cpu-prof (profiles in .data/bench/profiles when they stop) */
    'cpu-prof': { type: 'boolean', default: false },
    /** the bound prepays the open-prepays scenario holds open */
    'open-prepays': { type: 'string', default: String(OPEN_PREPAYS_TARGET) },
  },
});
const SMOKE = options.smoke;
const DURATION_S = SMOKE ? 0.5 : Number(options.duration);
const REPEAT = SMOKE ? 1 : Number(options.repeat);
const WARMUP_S = SMOKE ? 0 : Math.min(2, DURATION_S);
if (!Number.isFinite(DURATION_S) || DURATION_S <= 0) throw new Error('--duration must be a positive number of seconds');
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error('--repeat must be a positive whole number');
if (SMOKE && options.write) throw new Error('--smoke measures nothing worth writing: leave out --write');
const OPEN_PREPAYS = SMOKE ? 10 : Number(options['open-prepays']);
if (!Number.isInteger(OPEN_PREPAYS) || OPEN_PREPAYS < 1) throw new Error('--open-prepays must be a positive whole number');
const CPU_PROF_DIR = options['cpu-prof'] ? join(PROJECT_ROOT, '.data', 'bench', 'profiles') : undefined;
const chosen = (options.scenario ?? SCENARIOS.join(',')).split(',').map((name) => name.trim());
for (const name of chosen) {
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--scenario: unknown "${name}"; one or more of ${SCENARIOS.join(', ')}`);
}
const selected = SCENARIOS.filter((name) => chosen.includes(name));

const say = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const loadBefore = loadavg() as [number, number, number];
const started = new Date();

const work = mkdtempSync(join(tmpdir(), 'payment-engine-bench-'));
chmodSync(work, 0o755);
const life: Lifecycle = { work, cleanups: [], stopping: false, random: Math.random };

// ---------------------------------------------------------------------------------------------------
// Calls to the engine for the set-up and the checks

function clientOf(engine: Engine): Api {
  return { apiUrls: [engine.apiUrl], pick: (items) => items[0]!, opTimeoutSeconds: 120, watcher: { key: '', secret: '' }, counters: { ambiguous: 0 } };
}

function expect(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status) throw new Error(`bench: ${what} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer;
}

async function createTenant(api: Api, engine: Engine, id: string): Promise<string> {
  expect(await call(api, 'POST', '/operator/v1/tenants', engine.operatorKey, { tenant_id: id }), 201, `POST /operator/v1/tenants ${id}`);
  return expect(await call(api, 'POST', `/operator/v1/tenants/${id}/api_keys`, engine.operatorKey, {}), 201, `a key for ${id}`).body.api_key as string;
}

async function addCard(api: Api, key: string, team: string): Promise<string> {
  return expect(await call(api, 'POST', `/v2alpha/teams/${team}/cards`, key, { token: 'tok_visa' }), 201, `a tok_visa card for ${team}`).body.card_id as string;
}

/** The body of docs/guide.md's first quote. */
const QUOTE_BODY = { cluster_id: DEMO.clusterId, chart_name: '', cpu_limit: 100, mem_limit: 100, storage_limit: 100, period: 3 };

// ---------------------------------------------------------------------------------------------------
// The sides of a measurement

interface SideRunner {
  label: string;
  probes: CpuProbe[];
  /** the probes of the load's own process (autocannon here, or a driver) */
  clientProbes: string[];
  /** before the warm-up: connections a driver opens */
  prepare?: () => Promise<void>;
  load: (durationS: number) => Promise<LoadResult>;
}

const LOAD_GENERATOR = 'load generator';

function engineProbes(engine: Engine): CpuProbe[] {
  return [
    pidProbe('api', () => engine.api.child?.pid),
    pidProbe('worker', () => engine.worker.child?.pid),
    pidProbe('temporal', () => engine.temporal.server.pid),
    postgresProbe('postgres', engine.admin, engine.databaseName),
    selfProbe(LOAD_GENERATOR),
  ];
}

/** A side driven by autocannon against the engine. */
function engineSide(engine: Engine, label: string, load: (durationS: number) => Promise<LoadResult>): SideRunner {
  return { label, probes: engineProbes(engine), clientProbes: [LOAD_GENERATOR], load };
}

async function runFigure(spec: FigureSpec, engine: SideRunner, baseline: SideRunner): Promise<FigureResult> {
  await baseline.prepare?.();
  await engine.prepare?.();
  if (WARMUP_S > 0) {
    await baseline.load(WARMUP_S);
    await engine.load(WARMUP_S);
  }
  const samples: { engine: Sample[]; baseline: Sample[] } = { engine: [], baseline: [] };
  for (let index = 0; index < REPEAT; index += 1) {
    // baseline and engine in turn: a change of the machine's load meets both
    for (const [kind, side] of [
      ['baseline', baseline],
      ['engine', engine],
    ] as const) {
      if (life.stopping) throw new Interrupted();
      await sleep(SMOKE ? 100 : 1000);
      samples[kind].push(await measure(side.probes, () => side.load(DURATION_S)));
    }
    if (life.stopping) throw new Interrupted();
    say(`  ${spec.id} run ${index + 1}/${REPEAT}: engine ${Math.round(samples.engine.at(-1)!.rate)}/s, baseline ${Math.round(samples.baseline.at(-1)!.rate)}/s`);
  }
  const result: FigureResult = {
    spec,
    engine: { label: engine.label, samples: samples.engine, median: medianSample(samples.engine), clientProbes: engine.clientProbes },
    baseline: { label: baseline.label, samples: samples.baseline, median: medianSample(samples.baseline), clientProbes: baseline.clientProbes },
    ratio: Number.NaN,
  };
  result.ratio = result.engine.median.rate / result.baseline.median.rate;
  for (const line of figureLines(result)) say(line);
  return result;
}

function spec(id: string): FigureSpec {
  const found = FIGURES.find((figure) => figure.id === id);
  if (!found) throw new Error(`no figure ${id}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Baselines, started once for the scenarios that need them

interface Baselines {
  koa?: Awaited<ReturnType<typeof startBareKoa>>;
  temporalWorker?: Awaited<ReturnType<typeof startBaselineWorker>>;
  drivers: Map<string, Driver>;
}

async function bareKoa(engine: Engine, api: Api, baselines: Baselines) {
  if (!baselines.koa) {
    const regions = expect(await call(api, 'GET', '/payment/v1/regions', engine.tenantKey), 200, 'GET /payment/v1/regions');
    const quote = expect(await call(api, 'POST', '/v2alpha/USD/acquire_pre_amount', engine.tenantKey, QUOTE_BODY), 200, 'a quote');
    baselines.koa = await startBareKoa(life, regions.text, quote.text);
  }
  return baselines.koa;
}

async function driver(engine: Engine, baselines: Baselines, name: string, args: string[]): Promise<Driver> {
  let found = baselines.drivers.get(name);
  if (!found) {
    if (args[0] === 'update-with-start') baselines.temporalWorker ??= await startBaselineWorker(life, engine.temporal.server.address);
    found = await startDriver(life, name, args, { TEMPORAL_ADDRESS: engine.temporal.server.address, DATABASE_URL: engine.databaseUrl });
    baselines.drivers.set(name, found);
  }
  return found;
}

function koaSide(koa: NonNullable<Baselines['koa']>, label: string, load: (url: string, durationS: number) => Promise<LoadResult>): SideRunner {
  return {
    label,
    probes: [pidProbe('bare koa', () => koa.proc.child?.pid), selfProbe(LOAD_GENERATOR)],
    clientProbes: [LOAD_GENERATOR],
    load: (durationS) => load(koa.url, durationS),
  };
}

function temporalSide(engine: Engine, baselines: Baselines, found: Driver, label: string, concurrency: number): SideRunner {
  return {
    label,
    probes: [pidProbe('baseline worker', () => baselines.temporalWorker?.child?.pid), pidProbe('temporal', () => engine.temporal.server.pid), pidProbe('driver', found.pid)],
    clientProbes: ['driver'],
    prepare: () => found.prepare(concurrency),
    load: (durationS) => found.run(concurrency, durationS),
  };
}

function pgSide(engine: Engine, found: Driver, label: string, concurrency: number, rows: number): SideRunner {
  return {
    label,
    probes: [postgresProbe('postgres', engine.admin, engine.databaseName), pidProbe('driver', found.pid)],
    clientProbes: ['driver'],
    prepare: () => found.prepare(concurrency),
    load: (durationS) => found.run(concurrency, durationS, rows),
  };
}

// ---------------------------------------------------------------------------------------------------
// Money loads and the zero-drift check

/** autocannon POSTs whose every request is a new entry of the book (a fresh Idempotency-Key). */
function moneyLoad(
  engine: Engine,
  book: MoneyBook,
  path: string,
  token: string,
  concurrency: number,
  next: () => { tenant: string; cents: number; body: unknown },
): (durationS: number) => Promise<LoadResult> {
  return (durationS) =>
    httpLoad({
      url: engine.apiUrl + path,
      connections: concurrency,
      durationS,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      setupRequest: (request, context) => {
        const entry = book.begin({ path, token, ...next() });
        context.key = entry.key;
        return { ...request, headers: { ...request.headers, 'idempotency-key': entry.key }, body: JSON.stringify(entry.body) };
      },
      onResponse: (status, body, context) => {
        let parsed: unknown;
        if (status === 409) {
          try {
            parsed = JSON.parse(body);
          } catch {
            parsed = undefined;
          }
        }
        book.answered(context.key as string, status, parsed);
      },
    });
}

/** What to check after a money scenario: each tenant's balance, or its prepays (paid: in `status`, `awaiting_binding` unless said). */
type Holdings = { kind: 'balance'; tenants: string[] } | { kind: 'prepays'; tenants: string[]; status?: Record<string, 'awaiting_binding' | 'active'> };

async function checkDrift(scenario: ScenarioName, engine: Engine, api: Api, book: MoneyBook, holdings: Holdings): Promise<DriftResult> {
  const lines: string[] = [];
  const resend = book.open.size;
  const stillOpen = await book.settle(() => life.stopping);
  if (life.stopping) throw new Interrupted();
  lines.push(`${resend} request(s) without a definitive answer sent again with their Idempotency-Key${stillOpen > 0 ? `, **${stillOpen} still without one**` : ''}`);
  const refused = Object.entries(book.refused);
  if (refused.length > 0) lines.push(`refused: ${refused.map(([status, count]) => `${status}×${count}`).join(', ')}`);
  const ledger = await call(api, 'GET', '/operator/v1/ledger/check', engine.operatorKey);
  const ledgerOk = ledger.status === 200 && ledger.body?.ok === true;
  lines.push(ledgerOk ? 'ledger check ok' : `ledger check NOT ok: ${ledger.text.slice(0, 300)}`);
  let mismatches = 0;
  let count = 0;
  let cents = 0;
  for (const tenant of holdings.tenants) {
    const tally = book.acknowledged.get(tenant) ?? { count: 0, cents: 0 };
    count += tally.count;
    cents += tally.cents;
    if (holdings.kind === 'balance') {
      const answer = expect(await call(api, 'GET', `/payment/v1/balance?namespace=${tenant}`, engine.operatorKey), 200, `the balance of ${tenant}`);
      const balance = textToCents(/"balance":(-?[0-9.]+)/.exec(answer.text)?.[1] ?? '');
      if (balance !== tally.cents) {
        mismatches += 1;
        lines.push(`${tenant}: balance ${balance === undefined ? answer.text : formatCents(balance)} ≠ acknowledged ${formatCents(tally.cents)} (${tally.count} × 200)`);
      }
    } else {
      const { rows } = await engine.admin.query<{ status: string; count: number; cents: string }>(
        'select status, count(*)::int as count, round(coalesce(sum(amount), 0) * 100)::bigint::text as cents from prepays where tenant_id = $1 group by status',
        [tenant],
      );
      const status = holdings.status?.[tenant] ?? 'awaiting_binding';
      const paid = rows.find((row) => row.status === status) ?? { count: 0, cents: '0' };
      const others = rows.filter((row) => row.status !== status);
      const paidCents = Number(paid.cents);
      if (paid.count !== tally.count || paidCents !== tally.cents || others.length > 0) {
        mismatches += 1;
        lines.push(
          `${tenant}: ${paid.count} prepays ${status} (${formatCents(paidCents)} USD) ≠ acknowledged ${tally.count} (${formatCents(tally.cents)} USD)` +
            (others.length > 0 ? `; others: ${others.map((row) => `${row.status}×${row.count}`).join(', ')}` : ''),
        );
      }
    }
  }
  const what = holdings.kind === 'balance' ? 'balance' : 'paid prepays';
  const tenants = holdings.tenants.length === 1 ? `${holdings.tenants[0]}'s ${what}` : `the ${what} of each of ${holdings.tenants.length} tenants`;
  if (mismatches === 0) lines.push(`${tenants} = the sum acknowledged: ${count} × 200, ${formatCents(cents)} USD`);
  return { scenario, ok: ledgerOk && stillOpen === 0 && mismatches === 0, lines };
}

// ---------------------------------------------------------------------------------------------------
// The scenarios

interface Context {
  engine: Engine;
  api: Api;
  /** scenarios run so far on `engine` */
  ran: number;
  baselines: Baselines;
  figures: FigureResult[];
  drifts: DriftResult[];
}

async function reads({ engine, api, baselines, figures }: Context): Promise<void> {
  const koa = await bareKoa(engine, api, baselines);
  const figure = spec('reads c=10');
  const headers = { authorization: `Bearer ${engine.tenantKey}` };
  figures.push(
    await runFigure(
      figure,
      engineSide(engine, figure.engine, (durationS) => httpLoad({ url: `${engine.apiUrl}/payment/v1/regions`, connections: figure.concurrency, durationS, headers })),
      koaSide(koa, figure.baseline, (url, durationS) => httpLoad({ url: `${url}/regions`, connections: figure.concurrency, durationS })),
    ),
  );
}

async function quotes({ engine, api, baselines, figures }: Context): Promise<void> {
  const koa = await bareKoa(engine, api, baselines);
  const body = JSON.stringify(QUOTE_BODY);
  for (const id of ['quotes c=10', 'quotes c=50']) {
    const figure = spec(id);
    const post = (url: string, token: string | undefined, durationS: number) =>
      httpLoad({
        url,
        connections: figure.concurrency,
        durationS,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
    figures.push(
      await runFigure(
        figure,
        engineSide(engine, figure.engine, (durationS) => post(`${engine.apiUrl}/v2alpha/USD/acquire_pre_amount`, engine.tenantKey, durationS)),
        koaSide(koa, figure.baseline, (url, durationS) => post(`${url}/quote`, undefined, durationS)),
      ),
    );
  }
}

async function cardPrepay({ engine, api, baselines, figures, drifts }: Context): Promise<void> {
  const team = DEMO.tenantId;
  const card = await addCard(api, engine.tenantKey, team);
  const quote = expect(await call(api, 'POST', '/v2alpha/USD/acquire_pre_amount', engine.tenantKey, QUOTE_BODY), 200, 'a quote');
  const amount = quote.body.amount as string;
  const cents = textToCents(amount)!;
  const found = await driver(engine, baselines, 'update-with-start (empty)', ['update-with-start', 'empty']);
  const book = new MoneyBook(api);
  const path = `/v2alpha/teams/${team}/cards/${card}`;
  const body = { team_id: team, card_id: card, amount, period: QUOTE_BODY.period, auto_renewal: 0 };
  for (const id of ['card prepay c=1', 'card prepay c=8', 'card prepay c=32']) {
    const figure = spec(id);
    figures.push(
      await runFigure(
        figure,
        engineSide(
          engine,
          figure.engine,
          moneyLoad(engine, book, path, engine.tenantKey, figure.concurrency, () => ({ tenant: team, cents, body })),
        ),
        temporalSide(engine, baselines, found, figure.baseline, figure.concurrency),
      ),
    );
  }
  drifts.push(await checkDrift('card-prepay', engine, api, book, { kind: 'prepays', tenants: [team] }));
  say(`  drift: ${drifts.at(-1)!.lines.join('; ')}`);
}

/** 1.00 to 9.99 USD, a different amount from one request to the next. */
const centsAt = (index: number) => 100 + ((index * 37) % 900);

async function recharge({ engine, api, baselines, figures, drifts }: Context): Promise<void> {
  const tenant = 'bench-recharge';
  const key = await createTenant(api, engine, tenant);
  await addCard(api, key, tenant);
  const found = await driver(engine, baselines, 'update-with-start (one activity)', ['update-with-start', 'oneActivity']);
  const book = new MoneyBook(api);
  const figure = spec('recharge c=32');
  let index = 0;
  figures.push(
    await runFigure(
      figure,
      engineSide(
        engine,
        figure.engine,
        moneyLoad(engine, book, '/payment/v1/recharge', key, figure.concurrency, () => {
          const cents = centsAt(index++);
          return { tenant, cents, body: { amount: centsToNumber(cents), namespace: tenant } };
        }),
      ),
      temporalSide(engine, baselines, found, figure.baseline, figure.concurrency),
    ),
  );
  drifts.push(await checkDrift('recharge', engine, api, book, { kind: 'balance', tenants: [tenant] }));
  say(`  drift: ${drifts.at(-1)!.lines.join('; ')}`);
}

async function manualCredits(context: Context, scenario: 'hot-tenant' | 'many-tenants', id: string, tenants: string[]): Promise<void> {
  const { engine, api, baselines, figures, drifts } = context;
  for (const tenant of tenants) await createTenant(api, engine, tenant);
  const found = await driver(engine, baselines, 'pg', ['pg']);
  const book = new MoneyBook(api);
  const figure = spec(id);
  let index = 0;
  figures.push(
    await runFigure(
      figure,
      engineSide(
        engine,
        figure.engine,
        moneyLoad(engine, book, '/payment/v1/recharge', engine.operatorKey, figure.concurrency, () => {
          const tenant = tenants[index % tenants.length]!;
          const cents = centsAt(index++);
          return { tenant, cents, body: { amount: centsToNumber(cents), namespace: tenant, payment_method: 'manual', description: 'bench manual credit' } };
        }),
      ),
      pgSide(engine, found, figure.baseline, figure.concurrency, tenants.length),
    ),
  );
  drifts.push(await checkDrift(scenario, engine, api, book, { kind: 'balance', tenants }));
  say(`  drift: ${drifts.at(-1)!.lines.join('; ')}`);
}

/** Samples of one side, one after the other (its warm-up first): a side that cannot be interleaved with its baseline. */
async function sampleSide(side: SideRunner): Promise<FigureResult['engine']> {
  if (WARMUP_S > 0) await side.load(WARMUP_S);
  const samples: Sample[] = [];
  for (let index = 0; index < REPEAT; index += 1) {
    if (life.stopping) throw new Interrupted();
    await sleep(SMOKE ? 100 : 1000);
    samples.push(await measure(side.probes, () => side.load(DURATION_S)));
    say(`  ${side.label} run ${index + 1}/${REPEAT}: ${Math.round(samples.at(-1)!.rate)}/s, p50 ${samples.at(-1)!.p50} ms`);
  }
  return { label: side.label, samples, median: medianSample(samples), clientProbes: side.clientProbes };
}

/** The open-prepays scenario's set-up: `count` card prepays, each created (paid) and then bound to an app, `concurrency` at a time. */
async function createBoundPrepays(
  api: Api,
  book: MoneyBook,
  payer: { tenant: string; key: string; card: string; amount: string; cents: number },
  count: number,
  concurrency: number,
): Promise<{ created: number; bound: number; firstRefusal?: string }> {
  const path = `/v2alpha/teams/${payer.tenant}/cards/${payer.card}`;
  const body = { team_id: payer.tenant, card_id: payer.card, amount: payer.amount, period: QUOTE_BODY.period, auto_renewal: 0 };
  const tally: { created: number; bound: number; firstRefusal?: string } = { created: 0, bound: 0 };
  let next = 0;
  let finished = 0;
  const one = async (index: number) => {
    const created = await book.send(book.begin({ path, token: payer.key, tenant: payer.tenant, cents: payer.cents, body }), () => life.stopping);
    if (created?.status !== 200) {
      tally.firstRefusal ??= created ? `create: HTTP ${created.status} ${created.text.slice(0, 200)}` : 'create: no definitive answer';
      return;
    }
    tally.created += 1;
    const app = {
      app_id: `bench-open-${index}`,
      pre_pay_id: created.body.pre_pay_id as number,
      cluster_id: QUOTE_BODY.cluster_id,
      chart_name: QUOTE_BODY.chart_name,
      cpu_limit: QUOTE_BODY.cpu_limit,
      mem_limit: QUOTE_BODY.mem_limit,
      storage_limit: QUOTE_BODY.storage_limit,
      icon_url: '',
      project_name: 'bench',
    };
    // a repeated callback of the same app is answered "success" again: safe to send until definitive
    const bound = await call(api, 'POST', '/v2alpha/USD/callback_app_info', payer.key, app, { idempotent: false });
    if (bound.status === 200 && bound.body?.message === 'success') tally.bound += 1;
    else tally.firstRefusal ??= `bind: HTTP ${bound.status} ${bound.text.slice(0, 200)}`;
  };
  const lane = async () => {
    for (let index = next++; index < count && !life.stopping; index = next++) {
      await one(index);
      finished += 1;
      if (finished % Math.max(1, Math.floor(count / 10)) === 0) say(`  ${thousands(tally.bound)} of ${thousands(count)} bound`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (life.stopping) throw new Interrupted();
  return tally;
}

function memoryOf(engine: Engine): Record<string, { rss: number; peak: number } | undefined> {
  return {
    worker: processMemoryMib(engine.worker.child?.pid),
    temporal: processMemoryMib(engine.temporal.server.pid),
    api: processMemoryMib(engine.api.child?.pid),
  };
}

async function openPrepays(context: Context): Promise<void> {
  // "empty" means empty: the run's engine holds the workflows of the scenarios before, so unless this is the
  // first one (or a smoke run, whose figures mean nothing), an engine of its own
  const fresh = context.ran > 0 && !SMOKE;
  if (fresh) {
    // the scenarios before are done with their baselines' drivers (connections, pollers): stopped first
    killDrivers();
    context.baselines.drivers.clear();
    say('  an engine of its own for an empty system …');
  }
  // its own folder too: a Temporal server of its own means a SQLite file of its own
  const engine = fresh ? await startEngine(life, { say, cpuProfDir: CPU_PROF_DIR, dir: join(work, 'open-prepays') }) : context.engine;
  const api = fresh ? clientOf(engine) : context.api;
  const quote = expect(await call(api, 'POST', '/v2alpha/USD/acquire_pre_amount', engine.tenantKey, QUOTE_BODY), 200, 'a quote');
  const amount = quote.body.amount as string;
  const cents = textToCents(amount)!;
  const holder = { tenant: 'bench-open', key: '', card: '', amount, cents };
  holder.key = await createTenant(api, engine, holder.tenant);
  holder.card = await addCard(api, holder.key, holder.tenant);
  const newcomer = 'bench-open-new';
  const newcomerKey = await createTenant(api, engine, newcomer);
  const newcomerCard = await addCard(api, newcomerKey, newcomer);
  const book = new MoneyBook(api);
  const figure = spec('open prepays c=1');
  const path = `/v2alpha/teams/${newcomer}/cards/${newcomerCard}`;
  const body = { team_id: newcomer, card_id: newcomerCard, amount, period: QUOTE_BODY.period, auto_renewal: 0 };
  const side = (label: string) =>
    engineSide(
      engine,
      label,
      moneyLoad(engine, book, path, newcomerKey, figure.concurrency, () => ({ tenant: newcomer, cents, body })),
    );

  const empty = await sampleSide(side(figure.baseline));
  const atEmpty = memoryOf(engine);
  const concurrency = 32;
  say(`  creating and binding ${thousands(OPEN_PREPAYS)} card prepays, ${concurrency} at a time …`);
  const startedAt = Date.now();
  const tally = await createBoundPrepays(api, book, holder, OPEN_PREPAYS, concurrency);
  const seconds = (Date.now() - startedAt) / 1000;
  if (tally.firstRefusal) say(`  first refusal: ${tally.firstRefusal}`);
  const atCreated = memoryOf(engine);
  const beside = await sampleSide(side(`${figure.engine} (${thousands(tally.bound)})`));
  const atEnd = memoryOf(engine);
  const memory: Record<string, Memory> = {};
  for (const name of Object.keys(atEnd)) {
    const end = atEnd[name];
    if (!end) continue;
    memory[name] = { empty: atEmpty[name]?.rss ?? Number.NaN, created: atCreated[name]?.rss ?? Number.NaN, after: end.rss, peak: end.peak };
  }
  const open: OpenPrepays = { asked: OPEN_PREPAYS, created: tally.created, bound: tally.bound, concurrency, seconds, memory };
  const result: FigureResult = { spec: figure, engine: beside, baseline: empty, ratio: beside.median.rate / empty.median.rate, open };
  context.figures.push(result);
  for (const line of figureLines(result)) say(line);
  say(`  ${OPEN_PREPAYS_LABEL}: ${openSummary(open)}`);
  context.drifts.push(await checkDrift('open-prepays', engine, api, book, { kind: 'prepays', tenants: [holder.tenant, newcomer], status: { [holder.tenant]: 'active' } }));
  say(`  drift: ${context.drifts.at(-1)!.lines.join('; ')}`);
}

const RUNNERS: Record<ScenarioName, (context: Context) => Promise<void>> = {
  reads,
  quotes,
  'card-prepay': cardPrepay,
  recharge,
  'hot-tenant': (context) => manualCredits(context, 'hot-tenant', 'hot tenant c=32', ['bench-hot']),
  'many-tenants': (context) =>
    manualCredits(
      context,
      'many-tenants',
      'many tenants c=32',
      Array.from({ length: 64 }, (_, index) => `bench-many-${String(index).padStart(2, '0')}`),
    ),
  'open-prepays': openPrepays,
};

// ---------------------------------------------------------------------------------------------------
// The machine

async function machine(engine: Engine): Promise<Machine> {
  const run = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const postgres = (await engine.admin.query<{ version: string }>('select version()')).rows[0]?.version ?? 'unknown';
  const autocannon = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string };
  return {
    nproc: Number(run('nproc', [])) || cpus().length,
    cpuModel,
    ramGiB: totalmem() / 2 ** 30,
    loadBefore,
    node: process.version,
    postgres: postgres.replace(/ on .*/, ''),
    temporalCli: run(findTemporalCli() ?? 'temporal', ['--version']),
    autocannon: autocannon.version,
    kernel: release(),
  };
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  say(
    `bench: ${selected.join(', ')}; ${DURATION_S} s per measurement, ${REPEAT} repeat(s), ${WARMUP_S} s warm-up${SMOKE ? ' (smoke: figures meaningless)' : ''}; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`,
  );
  const engine = await startEngine(life, { say, cpuProfDir: CPU_PROF_DIR });
  say(`bench: engine up in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s at ${engine.apiUrl} (database ${engine.databaseName})`);
  const context: Context = { engine, api: clientOf(engine), ran: 0, baselines: { drivers: new Map() }, figures: [], drifts: [] };
  const host = await machine(engine);
  for (const scenario of selected) {
    if (life.stopping) throw new Interrupted();
    say(`\n--- ${scenario}`);
    await RUNNERS[scenario](context);
    context.ran += 1;
  }
  const totalSeconds = (Date.now() - started.getTime()) / 1000;
  for (const line of summaryLines(context.figures, context.drifts, selected, SMOKE)) say(line);
  if (options.write) {
    const file = join(PROJECT_ROOT, 'docs', 'performance.md');
    const previous = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    writeFileSync(
      file,
      renderDocument(
        previous,
        { startedAt: started, durationS: DURATION_S, repeat: REPEAT, warmupS: WARMUP_S, smoke: SMOKE, scenarios: selected, totalSeconds, machine: host },
        context.figures,
        context.drifts,
      ),
    );
    say(`bench: wrote ${file}`);
  }
  const drifted = context.drifts.filter((drift) => !drift.ok);
  say(
    `${drifted.length === 0 ? 'PASS' : 'FAIL'}: ${context.figures.length} measurement(s), ${context.drifts.length} drift check(s), ${drifted.length} failed; ${totalSeconds.toFixed(0)} s`,
  );
  return drifted.length === 0 ? 0 : 1;
}

let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    life.stopping = true;
    stopLoads();
    killDrivers();
    for (const cleanup of life.cleanups.reverse()) await Promise.resolve(cleanup()).catch((error: unknown) => say(`bench: cleanup: ${String(error)}`));
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

const running = main();

// Ctrl-C: the loads stop at once and the step under way ends (a Temporal server being started registers its
// cleanup when it answers), then everything is stopped and the database dropped.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\nbench: ${signal}, stopping everything …`);
    life.stopping = true;
    stopLoads();
    killDrivers();
    void running
      .catch(() => undefined)
      .then(cleanUp)
      .finally(() => {
        say('bench: stopped');
        process.exit(130);
      });
  });
}

running.then(
  async (code) => {
    if (life.stopping) return;
    await cleanUp();
    process.exit(code);
  },
  async (error: unknown) => {
    if (life.stopping) return;
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    await cleanUp();
    process.exit(2);
  },
);
