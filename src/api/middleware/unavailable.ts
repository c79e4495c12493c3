/**
 * Recognises a failure to reach PostgreSQL or Temporal (decision 0060), so that the error handler answers
 * 503 `service_unavailable` with `Retry-After` instead of a 500: the request could not be carried out,
 * and the same request may simply be sent again.
 */

/** Seconds a client is asked to wait before retrying a request that met an unreachable dependency. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** Node socket errors of a connection that could not be opened or was lost. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);
/** PostgreSQL SQLSTATEs of a server that is going away or refuses connections (class 08 is matched as a class). */
const POSTGRES_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** gRPC status codes: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED. */
const GRPC_UNAVAILABLE = new Set([14, 4]);
/** Messages of pool and driver failures that carry no code. */
const MESSAGES = [
  /timeout exceeded when trying to connect/i, // pg-pool acquire timeout
  /Connection terminated (unexpectedly|due to connection timeout)/i, // pg
  /Knex: Timeout acquiring a connection/i,
  /Timeout acquiring a connection/i,
  /Client has encountered a connection error and is not queryable/i, // pg
  /Failed to connect before the deadline/i, // grpc-js waitForReady
  /No connection established/i, // grpc-js
];

/** True when `thrown`, or an error it wraps (cause, AggregateError), says PostgreSQL or Temporal is unreachable. */
export function isDependencyUnavailable(thrown: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [thrown];
  while (pending.length > 0) {
    const error = pending.shift();
    if (error === null || typeof error !== 'object' || seen.has(error)) continue;
    seen.add(error);
    if (isUnavailable(error as Record<string, unknown>)) return true;
    const { cause, errors } = error as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return false;
}

function isUnavailable(error: Record<string, unknown>): boolean {
  const { code, name, message } = error;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || POSTGRES_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // A gRPC ServiceError (@grpc/grpc-js) carries a numeric code and `details`.
  if (typeof code === 'number' && GRPC_UNAVAILABLE.has(code) && 'details' in error) return true;
  // MikroORM's ConnectionException; Temporal's ConnectionError (NativeConnection, worker side).
  if (name === 'ConnectionException' || name === 'ConnectionError') return true;
  return typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message));
}
