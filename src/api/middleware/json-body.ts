import type { Middleware } from 'koa';
import { AppError } from '../../domain/errors.ts';
import { DecimalLiteral } from '../validation.ts';
import { rejectNulInJson } from './input-guard.ts';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Reads a JSON body of at most `limitBytes`, keeping the raw text (for signatures and idempotency
 * fingerprints). Non-integer numbers are kept as their exact source text (DecimalLiteral), so that
 * `"price": 40.88` never becomes a float. A string or key holding NUL (`\u0000`) is a 400 naming the field.
 */
export function jsonBody(limitBytes: number): Middleware {
  return async (ctx, next) => {
    if (!METHODS_WITH_BODY.has(ctx.method)) return next();
    const declared = Number(ctx.get('Content-Length') || '0');
    if (declared > limitBytes) throw new AppError('payload_too_large', `The body is larger than ${limitBytes} bytes.`);
    const raw = await readBody(ctx.req, limitBytes);
    ctx.state.rawBody = raw;
    if (raw.trim() === '') {
      ctx.request.body = {};
      return next();
    }
    if (!ctx.is('application/json')) {
      throw new AppError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
    }
    try {
      ctx.request.body = JSON.parse(raw, keepExactNumbers);
    } catch {
      throw new AppError('invalid_json', 'The body is not valid JSON.');
    }
    // PostgreSQL refuses NUL in text and jsonb: a 400 naming the field, before any route sees the body.
    rejectNulInJson(ctx.request.body);
    await next();
  };
}

function keepExactNumbers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  if (Number.isSafeInteger(value) && /^-?\d+$/.test(context.source)) return value;
  return new DecimalLiteral(context.source);
}

async function readBody(stream: NodeJS.ReadableStream, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limitBytes) throw new AppError('payload_too_large', `The body is larger than ${limitBytes} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}
