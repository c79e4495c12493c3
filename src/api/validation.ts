/**
 * Validation at the edge: zod helpers shared by every router, and the exact-number type the JSON
 * body parser produces.
 */
import { z, ZodError, type ZodType } from 'zod';
import { AppError } from '../domain/errors.ts';
import { Dec, parseDecimal } from '../domain/money.ts';

/** A JSON number that is not a safe integer, kept as the exact text the client sent. */
export class DecimalLiteral {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
  toJSON(): unknown {
    return JSON.rawJSON(this.source);
  }
}

/**
 * The 400 for a zod failure, naming the first offending field. With the value that was parsed, a field that
 * is missing from its object is said to be required (a schema's own message, "must be a string", is for a
 * value of the wrong type).
 */
export function zodToAppError(error: ZodError, root?: string, value?: unknown): AppError {
  const issue = error.issues[0];
  // An unknown key is reported on its parent object; the offending field is the key itself.
  const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = [...(root ? [root] : []), ...(issue?.path ?? []), ...(unknownKey !== undefined ? [unknownKey] : [])];
  const field = path.length > 0 ? path.join('.') : undefined;
  const text = issue?.code === 'invalid_type' && isMissing(value, issue.path) ? 'is required' : issue?.message;
  const message = text ? (field ? `${field}: ${text}` : text) : 'The request is not valid.';
  return new AppError('invalid_request', message, { field });
}

/** Whether the key at `path` is absent from its (present) parent object. */
function isMissing(value: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return false;
  let parent: unknown = value;
  for (const key of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  return parent !== null && typeof parent === 'object' && !Array.isArray(parent) && !Object.hasOwn(parent, path.at(-1)!);
}

/** Parses with a schema, or throws a 400 that names the first offending field (under `root`, for a path parameter). */
export function parseWith<T extends ZodType>(schema: T, value: unknown, root?: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw zodToAppError(result.error, root, value);
  return result.data;
}

const PLAIN_DECIMAL = /^(0|[1-9]\d*)(\.\d+)?$/;

/**
 * A non-negative decimal written as a string ("12.5"), at most `maxDecimals` decimals and at most
 * `maxIntegerDigits` digits before the point; answers a Decimal.
 */
export function decimalString(options: { maxDecimals: number; maxIntegerDigits?: number; positive?: boolean; max?: string }) {
  return z
    .string({ error: 'must be a decimal string such as "12.50"' })
    .regex(PLAIN_DECIMAL, 'must be a non-negative decimal string without exponent, such as "12.50"')
    .transform((text, ctx) => checkDecimal(parseDecimal(text), options, ctx));
}

/** A money amount sent as a JSON number (the /payment/v1 style: `"price": 40.88`), kept exact. */
export function jsonNumberAmount(options: { maxDecimals: number; maxIntegerDigits?: number; positive?: boolean; max?: string }) {
  return z
    .custom<DecimalLiteral | number>((value) => value instanceof DecimalLiteral || (typeof value === 'number' && Number.isSafeInteger(value)), {
      error: 'must be a JSON number such as 12.5',
    })
    .transform((value, ctx) => {
      const text = value instanceof DecimalLiteral ? value.source : String(value);
      if (!/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text)) {
        ctx.addIssue({ code: 'custom', message: 'must be a plain decimal number without exponent' });
        return z.NEVER;
      }
      return checkDecimal(parseDecimal(text), options, ctx);
    });
}

function checkDecimal(value: Dec, options: { maxDecimals: number; maxIntegerDigits?: number; positive?: boolean; max?: string }, ctx: z.RefinementCtx): Dec {
  if (value.isNegative()) {
    ctx.addIssue({ code: 'custom', message: 'must not be negative' });
    return z.NEVER;
  }
  if (options.positive && value.isZero()) {
    ctx.addIssue({ code: 'custom', message: 'must be greater than zero' });
    return z.NEVER;
  }
  if (value.decimalPlaces() > options.maxDecimals) {
    ctx.addIssue({ code: 'custom', message: `must have at most ${options.maxDecimals} decimal places` });
    return z.NEVER;
  }
  const integerDigits = value.truncated().toFixed().replace('-', '').length;
  if (integerDigits > (options.maxIntegerDigits ?? 12) || (options.max !== undefined && value.gt(new Dec(options.max)))) {
    ctx.addIssue({ code: 'custom', message: `is too large${options.max ? ` (at most ${options.max})` : ''}` });
    return z.NEVER;
  }
  return value;
}

/** A JSON integer in [min, max]. */
export function integerIn(min: number, max: number) {
  return z
    .number({ error: `must be an integer between ${min} and ${max}` })
    .int(`must be an integer between ${min} and ${max}`)
    .min(min, `must be an integer between ${min} and ${max}`)
    .max(max, `must be an integer between ${min} and ${max}`);
}

/** Identifiers of tenants, regions, clusters, charts: printable, bounded. */
/** A list's page size: 1 to 100, 20 when absent. */
export const pageLimit = z.coerce
  .number({ error: 'must be an integer between 1 and 100' })
  .int('must be an integer between 1 and 100')
  .min(1, 'must be an integer between 1 and 100')
  .max(100, 'must be an integer between 1 and 100')
  .default(20);

export const identifier = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may contain only letters, digits, ".", "_" and "-"');

/** C0 control characters and DEL: never part of an id, and NUL is refused by PostgreSQL text and jsonb. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F]/;
/** C0 control characters but tab, line feed and carriage return: what free text may not hold. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TEXT_CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** An opaque id the engine issued (trans_id, card_id, key_id, plan_id): non-empty, bounded, no control characters. */
export const opaqueId = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');

/** Free text (descriptions, reasons): at most `max` characters, no control characters but tab and line breaks. */
export function text(max: number, options: { min?: number } = {}) {
  return z
    .string({ error: 'must be a string' })
    .min(options.min ?? 0, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !TEXT_CONTROL_CHARACTERS.test(value), 'must not contain control characters');
}
