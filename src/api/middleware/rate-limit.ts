/**
 * Rate limits per API key and route class (decision 0091), counted in PostgreSQL so that every API replica
 * shares them (`rate-limiter-flexible`'s RateLimiterPostgres over the table `rate_limits`). A request over
 * its class's limit answers 429 `rate_limited` with `Retry-After`; every limited answer carries the IETF
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers. Operator and watcher keys are not
 * limited: they are the platform's own processes. When PostgreSQL cannot count, the request goes on
 * uncounted (it needs PostgreSQL itself, and answers 503 if that is down): a limit never turns an outage
 * of the store into refusals.
 */
import type { Middleware } from 'koa';
import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../domain/errors.ts';
import type { Principal } from './auth.ts';

/** `quotes`: price quotes; `money`: every request that changes state; `reads`: GET and HEAD. */
export type RouteClass = 'quotes' | 'money' | 'reads';

export interface RateLimitSettings {
  /** requests per key and class in one window */
  perWindow: Record<RouteClass, number>;
  windowSeconds: number;
}

export function routeClassOf(method: string, path: string): RouteClass {
  if (method === 'POST' && /\/acquire_pre_amount$/.test(path)) return 'quotes';
  return method === 'GET' || method === 'HEAD' ? 'reads' : 'money';
}

export interface RateLimiter {
  middleware: Middleware;
}

export function createRateLimiter(pool: pg.Pool, settings: RateLimitSettings): RateLimiter {
  const limiters = Object.fromEntries(
    (Object.keys(settings.perWindow) as RouteClass[]).map((routeClass) => [
      routeClass,
      new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        tableName: 'rate_limits',
        // created by migration 0015; expired rows are reset by the next request of their key
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: routeClass,
        points: settings.perWindow[routeClass],
        duration: settings.windowSeconds,
      }),
    ]),
  ) as Record<RouteClass, RateLimiterPostgres>;

  const middleware: Middleware = async (ctx, next) => {
    const principal = ctx.state.principal as Principal | undefined;
    if (!principal || principal.scope !== 'tenant') return next();
    const routeClass = routeClassOf(ctx.method, ctx.path);
    const limit = settings.perWindow[routeClass];
    let answer: RateLimiterRes;
    try {
      answer = await limiters[routeClass].consume(principal.keyId);
    } catch (refused) {
      if (!(refused instanceof RateLimiterRes)) {
        ctx.state.log?.warn({ err: refused, routeClass }, 'rate limit store unavailable; request not counted');
        return next();
      }
      const retryAfter = Math.max(1, Math.ceil(refused.msBeforeNext / 1000));
      ctx.set('Retry-After', String(retryAfter));
      ctx.set('RateLimit-Limit', String(limit));
      ctx.set('RateLimit-Remaining', '0');
      ctx.set('RateLimit-Reset', String(retryAfter));
      throw new AppError(
        'rate_limited',
        `Too many ${routeClass} requests for this API key: at most ${limit} per ${settings.windowSeconds} seconds. Retry in ${retryAfter} seconds.`,
        {
          details: { retry_after: retryAfter },
        },
      );
    }
    ctx.set('RateLimit-Limit', String(limit));
    ctx.set('RateLimit-Remaining', String(answer.remainingPoints));
    ctx.set('RateLimit-Reset', String(Math.max(0, Math.ceil(answer.msBeforeNext / 1000))));
    return next();
  };
  return { middleware };
}
