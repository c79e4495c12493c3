/** The Koa app factory: middleware in order, then one router per API. No process state of its own. */
import type { WebhookSettings } from '../domain/webhooks.ts';
import Koa from 'koa';
import type { Router } from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../logger.ts';
import type { PriceFeed } from '../pricing/price-feed.ts';
import type { CardGateway } from '../gateway/card-gateway.ts';
import type { PrepayTimings } from '../domain/prepay.ts';
import type { ChainSettings } from '../chain/settings.ts';
import './context.ts';
import { healthRouter } from './health.ts';
import { docsRouter } from './docs.ts';
import { createApiMetrics } from '../metrics/api.ts';
import { authenticate } from './middleware/auth.ts';
import { createKeyCache } from './middleware/key-cache.ts';
import { errorHandler } from './middleware/errors.ts';
import { rejectControlCharactersInUrl } from './middleware/input-guard.ts';
import { methodGuard } from './middleware/methods.ts';
import { jsonBody } from './middleware/json-body.ts';
import { requestId } from './middleware/request-id.ts';
import { requestLog } from './middleware/request-log.ts';
import { operatorRouter } from './operator/router.ts';
import { v1Router } from './v1/router.ts';
import { v2alphaRouter } from './v2alpha/router.ts';
import { watcherRouter } from './v2alpha/watchers.ts';
import type { RateLimiter } from './middleware/rate-limit.ts';

export interface AppDeps {
  orm: Orm;
  temporal: Client;
  logger: Logger;
  clock: Clock;
  priceFeed: PriceFeed;
  gateway: CardGateway;
  /** per-key rate limits shared by the API replicas (decision 0091); none when omitted */
  rateLimiter?: RateLimiter;
  settings: {
    operatorApiKey: string | undefined;
    taskQueue: string;
    quoteTtlSeconds: number;
    bodyLimitBytes: number;
    /** how long a money request waits for its workflow before answering 202 pending */
    workflowWaitSeconds: number;
    /** timings given to new prepays (binding timeout, renewal notice); the workflow's defaults otherwise */
    prepayTimings?: Partial<PrepayTimings>;
    /** null when no chain is configured: token features answer 503 */
    chain: ChainSettings | null;
    watcherSigningSecret: string | undefined;
    /** webhook delivery's policy and schedule (decision 0098) */
    webhooks: WebhookSettings;
  };
}

export type { RateLimiter };

const MOUNTED = new WeakMap<Koa, Router[]>();

/** Every route an app serves, as method and path template (`/v2alpha/teams/:team_id/prepays`): what the OpenAPI document must cover. */
export function mountedRoutes(app: Koa): { method: string; path: string }[] {
  return (MOUNTED.get(app) ?? []).flatMap((router) =>
    router.stack.flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => ({ method, path: String(layer.path) }))),
  );
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: true });
  app.silent = true; // errors are logged by requestLog/errorHandler, not by Koa's default printer

  app.use(requestId());
  app.use(requestLog(deps.logger));
  const metrics = createApiMetrics(); // this app's registry (decision 0099); outside the error handler, which sets the final status
  app.use(metrics.middleware);
  app.use(errorHandler());
  app.use(async (ctx, next) => {
    ctx.state.em = deps.orm.em.fork();
    await next();
  });

  const health = healthRouter({ orm: deps.orm, temporal: deps.temporal });
  app.use(health.routes());
  const docs = docsRouter();
  app.use(docs.routes());
  app.use(metrics.router.routes());

  // keys found valid in the last second are not looked up again (decision 0105)
  const keys = createKeyCache();
  const routers = [
    watcherRouter({
      temporal: deps.temporal,
      taskQueue: deps.settings.taskQueue,
      clock: deps.clock,
      chain: deps.settings.chain,
      signingSecret: deps.settings.watcherSigningSecret,
    }),
    v1Router({
      temporal: deps.temporal,
      taskQueue: deps.settings.taskQueue,
      clock: deps.clock,
      waitSeconds: deps.settings.workflowWaitSeconds,
      webhookScheduleSeconds: deps.settings.webhooks.scheduleSeconds,
    }),
    v2alphaRouter({
      priceFeed: deps.priceFeed,
      clock: deps.clock,
      quoteTtlSeconds: deps.settings.quoteTtlSeconds,
      gateway: deps.gateway,
      prepays: { temporal: deps.temporal, taskQueue: deps.settings.taskQueue, waitSeconds: deps.settings.workflowWaitSeconds, timings: deps.settings.prepayTimings ?? {} },
      chain: deps.settings.chain,
      webhooks: { temporal: deps.temporal, taskQueue: deps.settings.taskQueue, clock: deps.clock, webhooks: deps.settings.webhooks },
    }),
    operatorRouter({ clock: deps.clock, temporal: deps.temporal, taskQueue: deps.settings.taskQueue, webhooks: deps.settings.webhooks, keys }),
  ];

  app.use(authenticate({ operatorApiKey: deps.settings.operatorApiKey, keys }));
  // Counted per tenant key before the request does any work (decision 0091).
  if (deps.rateLimiter) app.use(deps.rateLimiter.middleware);
  // Before any route runs SQL: no control character in a path id or query value, no NUL in the JSON body (0060).
  app.use(rejectControlCharactersInUrl(routers));
  app.use(jsonBody(deps.settings.bodyLimitBytes));
  // A request no route took: 501 for a method no route serves, 405 (with Allow) for one this path does not (0060).
  app.use(methodGuard([health, docs, metrics.router, ...routers]));
  MOUNTED.set(app, [health, docs, metrics.router, ...routers]);
  for (const router of routers) app.use(router.routes());
  return app;
}
