/**
 * What a request answers when no route took it (decision 0060), for all routers at once: a method that
 * no route of the engine serves (TRACE, PROPFIND, …) is 501 `not_implemented` on any path; a method the
 * engine serves, on a path that exists with other methods, is 405 `method_not_allowed` with `Allow`;
 * OPTIONS on an existing path answers its `Allow`; an unknown path is left to the 404 of the error handler.
 */
import type { Middleware } from 'koa';
import type { Router } from '@koa/router';
import { AppError } from '../../domain/errors.ts';

export function methodGuard(routers: readonly Router[]): Middleware {
  const served = new Set<string>(['OPTIONS']);
  for (const router of routers) for (const layer of router.stack) for (const method of layer.methods) served.add(method);
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    const allowed = new Set<string>();
    for (const layer of (ctx as { matched?: { methods: string[] }[] }).matched ?? []) for (const method of layer.methods) allowed.add(method);
    const allow = [...allowed].join(', ');
    if (!served.has(ctx.method)) {
      if (allow) ctx.set('Allow', allow);
      throw new AppError('not_implemented', `The method ${ctx.method} is not served by this API.`);
    }
    if (allowed.size === 0) return;
    ctx.set('Allow', allow);
    if (ctx.method === 'OPTIONS') {
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    throw new AppError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; use ${allow}.`);
  };
}
