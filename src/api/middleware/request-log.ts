import type { Middleware } from 'koa';
import type { Logger } from '../../logger.ts';

/**
 * One log line per request: method, route path, status, duration, request id, the caller's key id.
 * Never headers, bodies or query strings: they can carry keys, card tokens or amounts.
 */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const log = logger.child({ requestId: ctx.state.requestId });
    ctx.state.log = log;
    try {
      await next();
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const level = ctx.status >= 500 ? 'error' : 'info';
      log[level]({ method: ctx.method, path: ctx.path, status: ctx.status, durationMs, keyId: ctx.state.principal?.keyId }, 'request');
    }
  };
}
