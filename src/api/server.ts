/**
 * The API process (composition root): `npm run api`. Configured only by the environment; on SIGINT or
 * SIGTERM it stops accepting connections, finishes in-flight requests, then closes PostgreSQL and Temporal.
 */
import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { loadConfig, webhookSettings, type Config } from '../config.ts';
import { listenForStop } from '../stop-signal.ts';
import { initOrm, migrate, type Orm } from '../db/orm.ts';
import { systemClock } from '../domain/clock.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createPriceFeed } from '../pricing/index.ts';
import { chainSettingsOf } from '../chain/settings.ts';
import { connectTemporal } from '../temporal/client.ts';
import { prepareInstallation } from '../temporal/namespace-check.ts';
import { createApp } from './app.ts';
import { createRateLimiter } from './middleware/rate-limit.ts';
import { createCardGateway } from '../gateway/index.ts';

export interface RunningApi {
  server: Server;
  url: string;
  close: () => Promise<void>;
}

/** Builds and starts the API on `config.PORT` (0 picks a free port). The caller owns `orm`. */
export async function startApi(config: Config, orm: Orm, logger: Logger): Promise<RunningApi> {
  // A request waits about a second for a Temporal that is down, then answers 503 (safe to repeat), not 20 s.
  const { connection, client } = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, attempts: config.API_TEMPORAL_ATTEMPTS });
  try {
    const installation = await prepareInstallation(client, orm, config);
    logger.info({ installation: installation.id, legacy: installation.legacy, foreignRunning: installation.foreignRunning }, 'installation checked');
  } catch (error) {
    await connection.close();
    throw error;
  }
  // The rate-limit counters live in PostgreSQL (shared by every replica), on a small pool of their own.
  const rateLimitPool = config.RATE_LIMIT === 'on' ? new pg.Pool({ connectionString: config.DATABASE_URL, max: 3 }) : undefined;
  rateLimitPool?.on('error', (error) => logger.warn({ err: error }, 'rate limit pool error'));
  const app = createApp({
    rateLimiter: rateLimitPool
      ? createRateLimiter(rateLimitPool, {
          windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
          perWindow: { quotes: config.RATE_LIMIT_QUOTES, money: config.RATE_LIMIT_MONEY, reads: config.RATE_LIMIT_READS },
        })
      : undefined,
    orm,
    temporal: client,
    logger,
    clock: systemClock,
    priceFeed: createPriceFeed(config, systemClock),
    gateway: createCardGateway(config, { orm }),
    settings: {
      operatorApiKey: config.OPERATOR_API_KEY,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      quoteTtlSeconds: config.QUOTE_TTL_SECONDS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      workflowWaitSeconds: config.WORKFLOW_WAIT_SECONDS,
      prepayTimings: {
        bindingTimeoutMs: config.PREPAY_BINDING_TIMEOUT_SECONDS * 1000,
        renewalNoticeMs: config.PREPAY_RENEWAL_NOTICE_SECONDS * 1000,
        tokenRenewalGraceMs: config.PREPAY_TOKEN_RENEWAL_GRACE_SECONDS * 1000,
        tokenConfirmationGraceMs: config.PREPAY_TOKEN_CONFIRMATION_GRACE_SECONDS * 1000,
      },
      chain: chainSettingsOf(config),
      watcherSigningSecret: config.WATCHER_SIGNING_SECRET,
      webhooks: webhookSettings(config),
    },
  });
  const server = createServer(app.callback());
  server.requestTimeout = 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, listenHost(config), () => resolve());
    });
  } catch (error) {
    // The port is taken (or not ours): nothing opened for the server may outlive it.
    await connection.close();
    await rateLimitPool?.end();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await connection.close();
      await rateLimitPool?.end();
    },
  };
}

/** HOST, else every interface in production (behind its load balancer) and only this machine in development. */
export function listenHost(config: Pick<Config, 'HOST' | 'NODE_ENV'>): string {
  return config.HOST ?? (config.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1');
}

async function main(): Promise<void> {
  // First: a signal at any moment of start-up stops the process there, cleanly (src/stop-signal.ts).
  const stop = listenForStop();
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, { process: 'api' });
  const orm = await initOrm(config.DATABASE_URL);
  try {
    if (stop.requested) return;
    const applied = await migrate(orm);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    if (stop.requested) return;
    const api = await startApi(config, orm, logger);
    logger.info({ url: api.url }, 'api listening');
    const signal = await stop.received;
    logger.info({ signal }, 'api stopping');
    // in-flight requests finish; a request that outlives the grace is cut
    const force = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_SECONDS * 1000).unref();
    await api.close();
    clearTimeout(force);
  } finally {
    await orm.close();
    logger.info('api stopped');
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
