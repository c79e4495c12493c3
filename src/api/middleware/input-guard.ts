/**
 * One check, before any route runs SQL, that no id or text the client sent holds characters PostgreSQL
 * refuses (NUL, in text and jsonb) or that no id may hold (decision 0060): path parameters and query
 * values may hold no control character at all; JSON strings and keys, at any depth, no NUL. The answer is
 * 400 `invalid_request` naming the field (the path parameter's name, the query parameter, or the body
 * path such as `chart_multipliers.x`).
 */
import type { Middleware } from 'koa';
import type { Router } from '@koa/router';
import { invalid } from '../../domain/errors.ts';
import { CONTROL_CHARACTERS, DecimalLiteral } from '../validation.ts';

/** Rejects control characters in the path's segments and in query names and values. */
export function rejectControlCharactersInUrl(routers: readonly Router[]): Middleware {
  return async (ctx, next) => {
    if (ctx.path.includes('%') && ctx.path.split('/').some((segment) => CONTROL_CHARACTERS.test(safeDecode(segment)))) {
      const field = pathParameterWithControlCharacter(routers, ctx.path, ctx.method) ?? 'path';
      throw invalid(`${field}: must not contain control characters`, field);
    }
    for (const [name, value] of Object.entries(ctx.query)) {
      const field = printable(name);
      if (CONTROL_CHARACTERS.test(name)) throw invalid(`${field}: the query parameter's name must not contain control characters`, field);
      for (const item of [value].flat()) {
        if (typeof item === 'string' && CONTROL_CHARACTERS.test(item)) throw invalid(`${field}: must not contain control characters`, field);
      }
    }
    await next();
  };
}

/** Throws 400 naming the first string or key of a parsed JSON body that holds a NUL character. */
export function rejectNulInJson(value: unknown): void {
  const field = nulPath(value, []);
  if (field !== undefined) {
    const name = field.length > 0 ? field.join('.') : undefined;
    throw invalid(`${name ? `${name}: ` : ''}must not contain NUL characters`, name);
  }
}

function nulPath(value: unknown, path: string[]): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || value instanceof DecimalLiteral) return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulPath(item, [...path, String(index)]);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return [...path, printable(key)];
    const found = nulPath(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/** The name of the route parameter that holds the control character, when a route matches the path. */
function pathParameterWithControlCharacter(routers: readonly Router[], path: string, method: string): string | undefined {
  for (const router of routers) {
    const matched = router.match(path, method);
    for (const layer of [...matched.pathAndMethod, ...matched.path]) {
      if (layer.paramNames.length === 0) continue;
      const params = layer.params(path, layer.captures(path), {});
      const name = Object.keys(params).find((key) => CONTROL_CHARACTERS.test(params[key] ?? ''));
      if (name) return name;
    }
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A name as it can be shown in a field: control characters escaped (`a\u0000b`). */
function printable(name: string): string {
  return name.replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
