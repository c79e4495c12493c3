/**
 * The watcher process (composition root): `npm run watcher`. Every WATCHER_POLL_SECONDS it scans the
 * token contracts (src/watcher/scanner.ts). Replicas may run: one holds a PostgreSQL advisory lock per
 * chain and scans, the others wait for it (delivery is idempotent anyway, the lock only saves work).
 * SIGINT/SIGTERM finish the current pass, then close.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { loadConfig, webhookSettings, type Config } from '../config.ts';
import { chainSettingsOf } from '../chain/settings.ts';
import { initOrm, type Orm } from '../db/orm.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { createLogger, type Logger } from '../logger.ts';
import { connectTemporal } from '../temporal/client.ts';
import { createScanner, type PassReport } from './scanner.ts';
import { listenForStop } from '../stop-signal.ts';
import { startWatcherMetrics } from '../metrics/watcher.ts';

export interface WatcherDeps {
  config: Config;
  orm: Orm;
  temporal: Client;
  logger: Logger;
  clock?: Clock;
}

export interface RunningWatcher {
  /** finishes the current pass, then resolves */
  stop(): Promise<void>;
}

/** An arbitrary base that names the watcher's lock among PostgreSQL advisory locks (plus the chain id). */
const WATCHER_LOCK_BASE = 7_413_300_000;

/** Verifies the chain and starts polling; throws when the chain is not configured or does not match. */
export async function startWatcher(deps: WatcherDeps): Promise<RunningWatcher> {
  const { config, logger } = deps;
  const chain = chainSettingsOf(config);
  if (!chain?.rpcUrl || chain.tokens.length === 0) {
    throw new Error('The watcher needs CHAIN_ID, CHAIN_RPC_URL and at least one of TOKEN_ANKR_ERC20_ADDRESS, TOKEN_USDT_ERC20_ADDRESS (docs/tokens.md).');
  }
  const scanner = createScanner({
    orm: deps.orm,
    temporal: deps.temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    logger,
    clock: deps.clock ?? systemClock,
    chain,
    blockRange: config.WATCHER_BLOCK_RANGE,
    startBlock: config.WATCHER_START_BLOCK,
    webhookScheduleSeconds: webhookSettings(config).scheduleSeconds,
  });
  await scanner.verifyChain();
  const lock = leaderLock(config.DATABASE_URL, WATCHER_LOCK_BASE + chain.chainId, logger);

  let stopping = false;
  let wake: () => void = () => undefined;
  const loop = (async () => {
    while (!stopping) {
      try {
        if (await lock.acquire()) logPass(logger, await scanner.runPass());
      } catch (error) {
        logger.error({ err: error }, 'watcher pass failed; retrying at the next poll');
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.WATCHER_POLL_SECONDS * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  logger.info({ chainId: chain.chainId, tokens: chain.tokens.map((token) => `${token.currency}:${token.address}`), confirmations: chain.confirmations }, 'watcher started');

  return {
    async stop() {
      stopping = true;
      wake();
      await loop;
      await lock.release();
    },
  };
}

function logPass(logger: Logger, report: PassReport): void {
  const acted = report.delivered.filter((outcome) => !outcome.duplicate && outcome.status !== 'seen');
  const level = report.reorgs > 0 ? 'warn' : acted.length > 0 ? 'info' : 'debug';
  logger[level](
    {
      head: report.head,
      confirmedHead: report.confirmedHead,
      delivered: acted.length,
      seen: report.delivered.length - acted.length,
      orphaned: report.orphaned,
      reorgedCredits: report.reorgedCredits.length,
      reorgs: report.reorgs,
    },
    'watcher pass',
  );
}

/** A session advisory lock on a connection of its own: held while the connection lives, taken over when it dies. */
function leaderLock(databaseUrl: string, lockId: number, logger: Logger) {
  let connection: pg.Client | null = null;
  let held = false;
  return {
    async acquire(): Promise<boolean> {
      if (held && connection) return true;
      if (!connection) {
        const fresh = new pg.Client({ connectionString: databaseUrl });
        fresh.on('error', (error) => {
          logger.warn({ err: error }, 'watcher lock connection lost');
          held = false;
          connection = null;
        });
        await fresh.connect();
        connection = fresh;
      }
      const result = await connection.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [lockId]);
      held = result.rows[0]?.locked === true;
      if (!held) logger.debug('another watcher holds the chain lock; waiting');
      return held;
    },
    async release(): Promise<void> {
      const current = connection;
      connection = null;
      held = false;
      await current?.end().catch(() => undefined);
    },
  };
}

async function main(): Promise<void> {
  // First: a signal at any moment of start-up stops the process there, cleanly (src/stop-signal.ts).
  const stop = listenForStop();
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { process: 'watcher' });
  const orm = await initOrm(config.DATABASE_URL, { poolMax: 4 });
  const metrics = await startWatcherMetrics(config);
  if (metrics) logger.info({ metrics: `http://${metrics.address}/metrics` }, 'watcher metrics');
  try {
    if (stop.requested) return;
    const { connection, client } = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
    try {
      if (stop.requested) return;
      const watcher = await startWatcher({ config, orm, temporal: client, logger });
      await stop.received;
      logger.info('watcher stopping');
      const force = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_SECONDS * 1000).unref();
      await watcher.stop();
      clearTimeout(force);
    } finally {
      await connection.close();
    }
  } finally {
    await metrics?.close();
    await orm.close();
    logger.info('watcher stopped');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
