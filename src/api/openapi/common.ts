/**
 * The pieces every operation of the OpenAPI document shares: the error body, the error answers by status,
 * the security schemes, the Idempotency-Key header and the exact-decimal types. Each API family describes
 * its operations in a file of this folder from the zod schemas its routes validate with; document.ts
 * assembles them (decision 0100).
 */
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { ERROR_TYPES, type ErrorType } from '../../domain/errors.ts';

// loose: some refusals add facts beside the error (the conflicting subscription's id, a pending prepay's status)
export const ErrorBody = z
  .looseObject({
    code: z.int().meta({ description: 'The HTTP status of the answer.' }),
    message: z.string().meta({ description: 'What went wrong, for a person to read.' }),
    error: z.object({
      type: z.enum(Object.keys(ERROR_TYPES) as [ErrorType, ...ErrorType[]]).meta({ description: 'Stable: clients branch on it.' }),
      field: z.string().optional().meta({ description: 'The request field (or header) at fault, when one is.' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every refusal and failure answers this body; `code` repeats the HTTP status.' });

const STATUS_MEANINGS: Record<number, string> = {
  400: 'The request is not valid (a field, the JSON, or the Idempotency-Key); nothing was changed.',
  401: 'No valid API key (or, on the watcher route, no valid signature).',
  402: 'The payment could not be made (card declined, balance too low).',
  403: 'The key may not act on this team or route.',
  404: 'The object does not exist, or belongs to another team.',
  409: 'The request conflicts with the object’s state.',
  413: 'The body is larger than the engine accepts.',
  415: 'The body is not JSON.',
  422: 'Well-formed, but refused (an expired quote, an amount out of range, an Idempotency-Key reused with another body).',
  429: 'Too many requests for this key; retry after `Retry-After` seconds.',
  500: 'A failure on the engine’s side; the `X-Request-Id` header identifies it.',
  503: 'A service the engine depends on is unavailable (or the feature is not configured); retry after `Retry-After` seconds.',
};

function typesOf(status: number): string {
  return (Object.entries(ERROR_TYPES) as [ErrorType, number][])
    .filter(([, code]) => code === status)
    .map(([type]) => `\`${type}\``)
    .join(', ');
}

/** The error answers by status, as components the operations refer to. */
export const ERROR_RESPONSES = Object.fromEntries(
  Object.entries(STATUS_MEANINGS).map(([status, meaning]) => [
    `Error${status}`,
    { description: `${meaning} Types: ${typesOf(Number(status))}.`, content: { 'application/json': { schema: ErrorBody } } },
  ]),
);

/** The error answers of an operation: the statuses every authenticated route may answer, plus `extra`. */
export function errors(...extra: number[]): ZodOpenApiResponsesObject {
  const statuses = [...new Set([400, 401, 403, 413, 415, 429, 500, 503, ...extra])].sort();
  return Object.fromEntries(statuses.map((status) => [String(status), { $ref: `#/components/responses/Error${status}` }]));
}

/** A JSON answer. */
export function json(description: string, schema: z.ZodType): { description: string; content: { 'application/json': { schema: z.ZodType } } } {
  return { description, content: { 'application/json': { schema } } };
}

export const SECURITY_SCHEMES = {
  tenantKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'A tenant API key (`Authorization: Bearer <key>`): acts on its own team only. The operator issues it (`POST /operator/v1/tenants/{tenant_id}/api_keys`).',
  },
  operatorKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'An operator API key (`Authorization: Bearer <key>`): the platform’s own; acts on every team and on the operator routes.',
  },
  watcherKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'A watcher API key (`Authorization: Bearer <key>`), plus an `X-Watcher-Signature` HMAC of the raw body (docs/tokens.md).',
  },
} as const;

export type Scheme = keyof typeof SECURITY_SCHEMES;

/** The schemes an operation accepts, as its `security` list (any one of them). */
export const security = (...schemes: Scheme[]) => schemes.map((scheme) => ({ [scheme]: [] }));

export const IdempotencyKeyHeader = z.string().min(1).max(255).optional().meta({
  description:
    'Makes a retry safe: the same key with the same body answers the first request’s result and moves no money twice; with another body it answers 422 `idempotency_key_reused`. Keys are kept 24 hours.',
  example: '0b6f3c1e-7a51-4f3e-9d8c-2f1a6b9e4c70',
});

/** An exact decimal as a string ("12.5"): every amount of /v2alpha and of events. */
export const DecimalString = z
  .string()
  .regex(/^-?(0|[1-9]\d*)(\.\d+)?$/)
  .meta({ id: 'DecimalString', description: 'An exact decimal number written as a string, such as "37.46".', example: '37.46' });

/** An exact decimal as a JSON number (the /payment/v1 style: `"balance": 40.88`), written from its decimal text. */
export const DecimalNumber = z.number().meta({ description: 'An exact decimal amount written as a JSON number (never rounded through a float by the engine).', example: 40.88 });

/** A timestamp as the routes answer it: ISO 8601 in UTC, to the second. */
export const Timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
  .meta({ description: 'An ISO 8601 time in UTC.', example: '2026-12-03T10:00:00Z' });

/** An operation, with the error answers and security it shares with its family. */
export function operation(spec: ZodOpenApiOperationObject & { security: ReturnType<typeof security>; errors?: number[] }): ZodOpenApiOperationObject {
  const { errors: extra = [], responses, ...rest } = spec;
  return { ...rest, responses: { ...responses, ...errors(...extra) } };
}
