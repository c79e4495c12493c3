/**
 * `Idempotency-Key` for POSTs that move money (DESIGN §8), in the manner of the best payment APIs:
 * the same key and body replay the first answer (status and body, header `Idempotent-Replayed: true`);
 * the same key with another body or route is 422; a key whose first request is still running is 409.
 * Keys belong to the caller (tenant, or the key itself for operators) and are kept 24 hours at least.
 * 5xx outcomes are not stored: the key is released so that a retry can finish the job (the money routes
 * derive their business ids from the key, so a retry re-attaches to the same workflow instead of paying twice).
 */
import { createHash } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import { AppError } from '../../domain/errors.ts';
import { principalOf } from '../context.ts';
import { errorBody } from './errors.ts';

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  /** how long a completed answer is replayed */
  retentionHours?: number;
  /** how long a running first request holds the key before a retry may take over (a crashed API) */
  lockSeconds?: number;
}

interface StoredKey {
  id: string;
  method: string;
  path: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: string | null;
  locked: boolean;
  expired: boolean;
}

/** The caller's idempotency key, validated, or undefined when none was sent. */
export function idempotencyKeyOf(ctx: ParameterizedContext): string | undefined {
  const key = ctx.get('Idempotency-Key');
  if (key === '') return undefined;
  if (!KEY_FORMAT.test(key)) throw new AppError('invalid_request', 'Idempotency-Key must be 1–255 printable ASCII characters.', { field: 'Idempotency-Key' });
  return key;
}

/** Who owns a key: a tenant's keys are shared by all its API keys; an operator's by that API key. */
export function idempotencyOwner(ctx: ParameterizedContext): string {
  const principal = principalOf(ctx.state);
  return principal.tenantId ? `tenant:${principal.tenantId}` : `key:${principal.keyId}`;
}

export function idempotent(options: IdempotencyOptions = {}): Middleware {
  const retentionHours = options.retentionHours ?? 24;
  const lockSeconds = options.lockSeconds ?? 120;
  return async (ctx, next) => {
    const key = idempotencyKeyOf(ctx);
    if (!key) return next();
    const em = ctx.state.em;
    const owner = idempotencyOwner(ctx);
    const fingerprint = createHash('sha256').update(`${ctx.method} ${ctx.path}\n${ctx.state.rawBody ?? ''}`).digest('hex');

    const claim = async (): Promise<boolean> => {
      const rows = await em.execute<{ id: string }[]>(
        `insert into idempotency_keys (owner, key, method, path, fingerprint, state, locked_until, expires_at)
         values (?, ?, ?, ?, ?, 'in_progress', now() + make_interval(secs => ?), now() + make_interval(hours => ?))
         on conflict (owner, key) do nothing returning id`,
        [owner, key, ctx.method, ctx.path, fingerprint, lockSeconds, retentionHours],
      );
      return rows.length > 0;
    };

    let claimed = await claim();
    if (!claimed) {
      const [stored] = await em.execute<StoredKey[]>(
        `select id::text as id, method, path, fingerprint, state, response_status, response_body,
                locked_until > now() as locked, expires_at < now() as expired
           from idempotency_keys where owner = ? and key = ?`,
        [owner, key],
      );
      if (!stored) {
        claimed = await claim(); // released between our insert and select
      } else if (stored.expired) {
        await em.execute('delete from idempotency_keys where id = ?', [stored.id]);
        claimed = await claim();
      } else if (stored.method !== ctx.method || stored.path !== ctx.path || stored.fingerprint !== fingerprint) {
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used with another request; use a new key for a new request.', {
          field: 'Idempotency-Key',
        });
      } else if (stored.state === 'completed') {
        ctx.status = stored.response_status ?? 200;
        // The stored text verbatim: exact numbers stay exact (no JSON.parse into doubles).
        if (stored.response_body !== null) {
          ctx.body = stored.response_body;
          ctx.type = 'application/json';
        }
        ctx.set('Idempotent-Replayed', 'true');
        return;
      } else if (stored.locked) {
        throw new AppError('conflict', 'A request with this Idempotency-Key is still being processed; retry later.', { field: 'Idempotency-Key' });
      } else {
        // The first request's process died while holding the key: take it over.
        const taken = await em.execute<{ id: string }[]>(
          `update idempotency_keys set locked_until = now() + make_interval(secs => ?) where id = ? and locked_until <= now() returning id`,
          [lockSeconds, stored.id],
        );
        if (taken.length === 0) throw new AppError('conflict', 'A request with this Idempotency-Key is still being processed; retry later.', { field: 'Idempotency-Key' });
        claimed = true;
      }
    }
    if (!claimed) throw new AppError('conflict', 'A request with this Idempotency-Key is still being processed; retry later.', { field: 'Idempotency-Key' });

    const complete = (status: number, body: unknown) =>
      em.execute(`update idempotency_keys set state = 'completed', response_status = ?, response_body = ? where owner = ? and key = ?`, [
        status,
        body === undefined ? null : JSON.stringify(body),
        owner,
        key,
      ]);
    const release = () => em.execute(`delete from idempotency_keys where owner = ? and key = ? and state = 'in_progress'`, [owner, key]);

    try {
      await next();
    } catch (error) {
      if (error instanceof AppError && error.status < 500) {
        await complete(error.status, errorBody(error.type, error.message, error.field, error.details));
      } else {
        await release();
      }
      throw error;
    }
    if (ctx.status >= 500) await release();
    else await complete(ctx.status, ctx.body);
  };
}
