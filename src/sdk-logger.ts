/**
 * The Temporal SDK's logs (the worker's, its activities' and workflows', and the native core's forwarded
 * ones) as lines of the process's pino stream: one JSON stream per process. A business outcome that an
 * activity reports as a failure of the catalogue (a card declined, a balance short) is one line with its
 * type and message, not the error's stack: it is a result, not a fault.
 */
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { failureOf } from './domain/failures.ts';
import type { Logger } from './logger.ts';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

export function sdkLogger(logger: Logger): SdkLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    logger[LEVELS[level]]({ sdk: true, ...quiet(meta) }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/** The metadata, with a catalogued failure reduced to its type, message and details. */
function quiet(meta: LogMetadata | undefined): Record<string, unknown> {
  if (!meta) return {};
  const error = meta.error as { type?: unknown; message?: unknown; details?: unknown; cause?: unknown } | undefined;
  if (error === undefined) return meta;
  const { error: _replaced, ...rest } = meta;
  const failure = outcomeOf(error) ?? outcomeOf(error.cause as typeof error);
  // pino's error serializer (message, type, stack) applies to `err`
  return failure ? { ...rest, outcome: failure } : { ...rest, err: error };
}

function outcomeOf(error: { type?: unknown; message?: unknown; details?: unknown } | undefined): Record<string, unknown> | undefined {
  if (!error || typeof error.type !== 'string' || !failureOf(error.type)) return undefined;
  return { type: error.type, message: error.message, ...(Array.isArray(error.details) && error.details.length > 0 ? { details: error.details } : {}) };
}
