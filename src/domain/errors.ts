/**
 * The engine's one error type. `type` is stable (clients branch on it); the middleware in
 * src/api/middleware/errors.ts maps it to the HTTP status and the DESIGN §8 error body.
 */
export const ERROR_TYPES = {
  invalid_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  invalid_signature: 401,
  payment_required: 402,
  card_declined: 402,
  insufficient_balance: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  amount_too_small: 422,
  amount_too_large: 422,
  quote_expired: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  price_unavailable: 503,
  service_unavailable: 503,
  not_implemented: 501,
} as const;

export type ErrorType = keyof typeof ERROR_TYPES;

export class AppError extends Error {
  readonly type: ErrorType;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(type: ErrorType, message: string, options: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.type = type;
    this.field = options.field;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_TYPES[this.type];
  }
}

export const notFound = (what: string, field?: string) => new AppError('not_found', `${what} was not found.`, { field });
export const invalid = (message: string, field?: string) => new AppError('invalid_request', message, { field });
export const conflict = (message: string, field?: string) => new AppError('conflict', message, { field });
