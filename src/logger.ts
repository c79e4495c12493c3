import { pino, type Logger } from 'pino';

/** Paths never written to a log: credentials and card data. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-watcher-signature"]',
  '*.api_key',
  '*.token',
  '*.card_number',
  '*.number',
  '*.cvc',
];

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

export type { Logger };
