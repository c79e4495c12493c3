/**
 * `Idempotency-Key` for POSTs that move money (DESIGN §8; decisions 0010 and 0070): the same key and body
 * replay the request's outcome (status and body, header `Idempotent-Replayed: true`); the same key with
 * another body or route is 422; a key whose request is still running is 409.
 *
 * * **Generations.** Each claim of a key is a new row with a new `generation`; the route reads it from
 *   `ctx.state.idempotency` and derives its business ids from it (`businessId()` in v1/money.ts, the
 *   prepays' allocation), so a key reused after its retention names a new request, never the old movement.
 * * **What is stored:** only outcomes. 5xx, `202` (still pending), 429 and conflicts marked `transient()`
 *   are never stored; refusals raised before the route began its work (`beginIdempotentWork`, or, for routes
 *   that do not mark it, 400/401/403/404/405/413/415) release the key, so a corrected or later retry goes
 *   through. A release keeps the row (and its generation) whenever work may have begun under it: the retry
 *   of the same body re-attaches to what the first attempt started.
 * * **A heartbeat lock.** A running request holds its claim for `lockSeconds` and extends it every
 *   `heartbeatSeconds`, so the claim of a crashed API is free a few seconds later and a retry takes it over.
 * * **The fingerprint** is taken over the parsed body in canonical JSON (keys sorted, no whitespace, numbers
 *   as their exact source text), so whitespace and key order do not make another request.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import { claimKey, completeKey, deleteExpiredKey, extendKeyLock, findKey, releaseKey, takeOverKey, type KeyClaim } from '../../db/repositories/idempotency-keys.ts';
import { AppError } from '../../domain/errors.ts';
import { principalOf } from '../context.ts';
import { DecimalLiteral } from '../validation.ts';
import { errorBody } from './errors.ts';

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  /** how long a completed answer is replayed, and the key names its request (hours) */
  retentionHours?: number;
  /** how long a claim is held without a heartbeat before a retry may take it over (a crashed API) */
  lockSeconds?: number;
  /** how often a running request extends its claim; must be well below lockSeconds */
  heartbeatSeconds?: number;
  /**
   * The route calls `beginIdempotentWork(ctx)` just before its first write (or when it finds the key's
   * business object): every 4xx answered before that is a refusal of the request, not its outcome, and
   * releases the key. Without it only the validation statuses (400, 401, 403, 404, 405, 413, 415) do.
   */
  marksWork?: boolean;
}

/** The claim of the request's key, on `ctx.state.idempotency` while the route runs. */
export interface IdempotencyClaim {
  owner: string;
  key: string;
  /** this claim's generation (the business ids include it); null for a claim made before migration 0009 */
  generation: string | null;
  /** the route began its work under the key (see IdempotencyOptions.marksWork) */
  working: boolean;
  /** this request made the key's row: nothing ran under its generation before, so nothing of it exists yet */
  fresh: boolean;
}

declare module 'koa' {
  interface DefaultState {
    idempotency?: IdempotencyClaim;
  }
}

/** Refusals raised before anything ran: never the key's final answer. */
const VALIDATION_STATUSES = new Set([400, 401, 403, 404, 405, 413, 415]);

const transientErrors = new WeakSet<AppError>();

/** Marks a refusal as momentary (e.g. "being processed, retry in a moment"): the key is released, not answered. */
export function transient<E extends AppError>(error: E): E {
  transientErrors.add(error);
  return error;
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

/** The request's claim (owner, key, generation), or undefined when it sent no Idempotency-Key. */
export function idempotencyOf(ctx: { state: { idempotency?: IdempotencyClaim } }): IdempotencyClaim | undefined {
  return ctx.state.idempotency;
}

/** The route begins its work under the key: from now on its refusals are the request's outcome. */
export function beginIdempotentWork(ctx: { state: { idempotency?: IdempotencyClaim } }): void {
  if (ctx.state.idempotency) ctx.state.idempotency.working = true;
}

/**
 * A stable, opaque name of this claim (owner, key, generation), e.g. for a workflow's memo, so that a retry
 * recognises what its own first attempt started. Undefined without a key.
 */
export function idempotencyToken(ctx: { state: { idempotency?: IdempotencyClaim } }): string | undefined {
  const claim = ctx.state.idempotency;
  if (!claim) return undefined;
  return createHash('sha256')
    .update(`${claim.owner}\n${claim.key}\n${claim.generation ?? ''}`)
    .digest('base64url');
}

/**
 * Canonical JSON of a parsed body: object keys sorted, no whitespace, non-integer numbers as their exact
 * source text (DecimalLiteral, decision 0002). Two bodies that parse to the same value have the same text.
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof DecimalLiteral) return value.source;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const stillRunning = () => new AppError('conflict', 'A request with this Idempotency-Key is still being processed; retry later.', { field: 'Idempotency-Key' });

export function idempotent(options: IdempotencyOptions = {}): Middleware {
  const retentionHours = options.retentionHours ?? 24;
  const lockSeconds = options.lockSeconds ?? 15;
  const heartbeatSeconds = options.heartbeatSeconds ?? 5;
  const marksWork = options.marksWork ?? false;
  if (!(heartbeatSeconds > 0 && heartbeatSeconds < lockSeconds)) throw new Error(`heartbeatSeconds (${heartbeatSeconds}) must be positive and below lockSeconds (${lockSeconds})`);
  return async (ctx, next) => {
    const key = idempotencyKeyOf(ctx);
    if (!key) return next();
    const em = ctx.state.em;
    const owner = idempotencyOwner(ctx);
    const request = `${ctx.method} ${ctx.path}\n`;
    const fingerprint = sha256(request + canonicalJson(ctx.request.body ?? {}));
    // Rows claimed before migration 0009 hold the fingerprint of the raw bytes (taken only when one is met).
    const legacyFingerprint = () => sha256(request + (ctx.state.rawBody ?? ''));
    const holder = randomUUID();

    const claim = () => claimKey(em, { owner, key, method: ctx.method, path: ctx.path, fingerprint }, holder, { lockSeconds, retentionHours });

    let row: KeyClaim | undefined = await claim();
    /** this request made the row: nothing ran under its generation before us */
    let fresh = row !== undefined;
    if (!row) {
      const stored = await findKey(em, owner, key);
      if (!stored) {
        row = await claim(); // released between our insert and select
        fresh = row !== undefined;
      } else if (stored.expired && (stored.state === 'completed' || !stored.locked)) {
        // Past its retention the key may name a new request: a new row, a new generation.
        await deleteExpiredKey(em, stored.id);
        row = await claim();
        fresh = row !== undefined;
      } else if (
        stored.method !== ctx.method ||
        stored.path !== ctx.path ||
        (stored.fingerprint !== fingerprint && !(stored.generation === null && stored.fingerprint === legacyFingerprint()))
      ) {
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
        throw stillRunning();
      } else {
        // The request that held the key died (its heartbeat stopped) or released it after starting work:
        // take it over, with its generation, and re-attach to whatever it started.
        if (await takeOverKey(em, stored.id, holder, lockSeconds)) row = { id: stored.id, generation: stored.generation };
      }
    }
    if (!row) throw stillRunning();
    const id = row.id;
    const state: IdempotencyClaim = { owner, key, generation: row.generation, working: false, fresh };
    ctx.state.idempotency = state;

    // The heartbeat: its own EntityManager fork, so that it never runs inside the route's transactions.
    const lockEm = em.fork();
    let beating = Promise.resolve();
    const heartbeat = setInterval(() => {
      beating = extendKeyLock(lockEm, id, holder, lockSeconds).then(
        () => undefined,
        (error: unknown) => ctx.state.log?.warn({ err: error }, 'could not extend the Idempotency-Key lock'),
      );
    }, heartbeatSeconds * 1000);
    heartbeat.unref();

    const complete = (status: number, body: unknown) => completeKey(lockEm, id, holder, status, body === undefined ? null : JSON.stringify(body));
    /**
     * Not an outcome: the key is free again. A row under which work may have begun (taken over, or the route
     * said so) stays with its generation and fingerprint, unlocked, so the same request re-attaches; a row
     * under which nothing ran is deleted, so a corrected request may use the key.
     */
    const release = () => releaseKey(lockEm, id, holder, !(fresh && !state.working));
    const isOutcome = (status: number, error?: AppError): boolean => {
      if (status >= 500 || status === 202 || status === 429) return false;
      if (error && transientErrors.has(error)) return false;
      if (status < 400 || state.working) return true;
      return marksWork ? false : !VALIDATION_STATUSES.has(status);
    };

    try {
      await next();
    } catch (error) {
      clearInterval(heartbeat);
      await beating;
      if (error instanceof AppError && isOutcome(error.status, error)) {
        await complete(error.status, errorBody(error.type, error.message, error.field, error.details));
      } else {
        await release();
      }
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
    await beating;
    if (isOutcome(ctx.status)) await complete(ctx.status, ctx.body);
    else await release();
  };
}
