import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { AppError, ERROR_TYPES, type ErrorType } from '../../domain/errors.ts';
import { zodToAppError } from '../validation.ts';
import { DEPENDENCY_RETRY_AFTER_SECONDS, isDependencyUnavailable } from './unavailable.ts';

/** The DESIGN §8 error body. `code` is the HTTP status: non-zero, stable, and already known to clients. */
export function errorBody(type: ErrorType, message: string, field?: string, details?: Record<string, unknown>) {
  return { code: ERROR_TYPES[type], message, error: { type, ...(field ? { field } : {}) }, ...(details ?? {}) };
}

/**
 * The one place failures become HTTP answers. Domain errors keep their type; validation errors become
 * 400 with the offending field; PostgreSQL or Temporal unreachable is a 503 `service_unavailable` with
 * `Retry-After` (decision 0060); anything else is a 500 that says nothing internal.
 */
export function errorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError('not_found', `No route for ${ctx.method} ${ctx.path}.`);
      }
    } catch (thrown) {
      const unavailable = !(thrown instanceof AppError) && isDependencyUnavailable(thrown);
      const error = unavailable
        ? new AppError('service_unavailable', `A service the engine depends on is unavailable; retry in ${DEPENDENCY_RETRY_AFTER_SECONDS} seconds.`)
        : toAppError(thrown);
      if (error.status >= 500 && error.type === 'internal_error') {
        ctx.state.log?.error({ err: thrown }, 'unhandled error');
      }
      if (unavailable) {
        ctx.state.log?.warn({ err: thrown }, 'dependency unavailable');
        ctx.set('Retry-After', String(DEPENDENCY_RETRY_AFTER_SECONDS));
      }
      ctx.status = error.status;
      ctx.body = errorBody(error.type, error.message, error.field, error.details);
      if (error.type === 'unauthorized') ctx.set('WWW-Authenticate', 'Bearer');
    }
  };
}

function toAppError(thrown: unknown): AppError {
  if (thrown instanceof AppError) return thrown;
  if (thrown instanceof ZodError) return zodToAppError(thrown);
  // Errors thrown by Koa itself (ctx.throw, http-errors) carry an HTTP status we can trust.
  const status = (thrown as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const byStatus: Record<number, ErrorType> = {
      400: 'invalid_request',
      401: 'unauthorized',
      403: 'forbidden',
      404: 'not_found',
      405: 'method_not_allowed',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
    };
    return new AppError(byStatus[status] ?? 'invalid_request', (thrown as Error).message);
  }
  return new AppError('internal_error', 'Something went wrong on our side; the request id identifies it.');
}
