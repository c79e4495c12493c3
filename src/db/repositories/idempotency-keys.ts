/**
 * The `idempotency_keys` table behind the Idempotency-Key middleware (src/api/middleware/idempotency.ts,
 * decision 0070): one row per (owner, key), claimed by one request at a time with a lock that its holder's
 * heartbeat extends, and completed with the answer to replay. Every write names the holder, so a request
 * that lost its lock can no longer change the row.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { inBatches } from '../batches.ts';

export interface StoredKey {
  id: string;
  method: string;
  path: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: string | null;
  generation: string | null;
  locked: boolean;
  expired: boolean;
}

export interface KeyClaim {
  id: string;
  generation: string | null;
}

/** Inserts the key locked by `holder`, unless a row for it exists; answers the new row. Concurrent claims share one statement (group commit). */
export function claimKey(
  em: EntityManager,
  key: { owner: string; key: string; method: string; path: string; fingerprint: string },
  holder: string,
  lock: { lockSeconds: number; retentionHours: number },
): Promise<KeyClaim | undefined> {
  return claims(em, { ...key, holder, lockSeconds: lock.lockSeconds, retentionHours: lock.retentionHours });
}

interface Claim {
  owner: string;
  key: string;
  method: string;
  path: string;
  fingerprint: string;
  holder: string;
  lockSeconds: number;
  retentionHours: number;
}

/** Claims in one insert; two claims of one key in a batch: the first makes the row, the second finds it (do nothing). */
const claims = inBatches<Claim, KeyClaim | undefined>(
  async (em, batch) => {
    const rows = await em.execute<{ holder: string; id: string; generation: string }[]>(
      `insert into idempotency_keys (owner, key, method, path, fingerprint, state, holder, locked_until, expires_at)
       select owner, key, method, path, fingerprint, 'in_progress', holder, now() + make_interval(secs => lock_seconds), now() + make_interval(hours => retention_hours)
         from jsonb_to_recordset(?::jsonb) as c(owner text, key text, method text, path text, fingerprint text, holder text, lock_seconds int, retention_hours int)
       on conflict (owner, key) do nothing returning holder, id::text as id, generation::text as generation`,
      [JSON.stringify(batch.map((claim) => ({ ...claim, lock_seconds: claim.lockSeconds, retention_hours: claim.retentionHours })))],
    );
    const made = new Map(rows.map((row) => [row.holder, { id: row.id, generation: row.generation }]));
    return batch.map((claim) => made.get(claim.holder));
  },
  async (em, claim) => {
    const rows = await em.execute<{ id: string; generation: string }[]>(
      `insert into idempotency_keys (owner, key, method, path, fingerprint, state, holder, locked_until, expires_at)
       values (?, ?, ?, ?, ?, 'in_progress', ?, now() + make_interval(secs => ?), now() + make_interval(hours => ?))
       on conflict (owner, key) do nothing returning id::text as id, generation::text as generation`,
      [claim.owner, claim.key, claim.method, claim.path, claim.fingerprint, claim.holder, claim.lockSeconds, claim.retentionHours],
    );
    return rows[0];
  },
);

/** The key's row as it stands, with whether its lock is held and whether its retention has passed. */
export async function findKey(em: EntityManager, owner: string, key: string): Promise<StoredKey | undefined> {
  const [stored] = await em.execute<StoredKey[]>(
    `select id::text as id, method, path, fingerprint, state, response_status, response_body, generation::text as generation,
            locked_until > now() as locked, expires_at < now() as expired
       from idempotency_keys where owner = ? and key = ?`,
    [owner, key],
  );
  return stored;
}

/** Deletes a row past its retention that no request holds (completed, or its lock expired). */
export async function deleteExpiredKey(em: EntityManager, id: string): Promise<void> {
  await em.execute(`delete from idempotency_keys where id = ? and expires_at < now() and (state = 'completed' or locked_until <= now())`, [id]);
}

/** Takes over an in-progress row whose lock expired; false when another request was faster. */
export async function takeOverKey(em: EntityManager, id: string, holder: string, lockSeconds: number): Promise<boolean> {
  const taken = await em.execute<{ id: string }[]>(
    `update idempotency_keys set locked_until = now() + make_interval(secs => ?), holder = ?
      where id = ? and state = 'in_progress' and locked_until <= now() returning id::text as id`,
    [lockSeconds, holder, id],
  );
  return taken.length > 0;
}

/** The holder's heartbeat: its lock for another `lockSeconds`. */
export async function extendKeyLock(em: EntityManager, id: string, holder: string, lockSeconds: number): Promise<void> {
  await em.execute(`update idempotency_keys set locked_until = now() + make_interval(secs => ?) where id = ? and holder = ? and state = 'in_progress'`, [lockSeconds, id, holder]);
}

/** Stores the answer to replay (`body` as its JSON text, verbatim). Concurrent answers share one statement (group commit). */
export function completeKey(em: EntityManager, id: string, holder: string, status: number, body: string | null): Promise<void> {
  return completions(em, { id, holder, status, body });
}

interface Completion {
  id: string;
  holder: string;
  status: number;
  body: string | null;
}

const completions = inBatches<Completion, void>(
  async (em, batch) => {
    await em.execute(
      `update idempotency_keys k set state = 'completed', response_status = c.status, response_body = c.body
         from jsonb_to_recordset(?::jsonb) as c(id bigint, holder text, status int, body text)
        where k.id = c.id and k.holder = c.holder and k.state = 'in_progress'`,
      [JSON.stringify(batch)],
    );
    return batch.map(() => undefined);
  },
  async (em, answer) => {
    await em.execute(`update idempotency_keys set state = 'completed', response_status = ?, response_body = ? where id = ? and holder = ? and state = 'in_progress'`, [
      answer.status,
      answer.body,
      answer.id,
      answer.holder,
    ]);
  },
);

/** Frees a key whose request ended without an outcome: deleted when nothing ran under it, else unlocked for its retry. */
export async function releaseKey(em: EntityManager, id: string, holder: string, keepRow: boolean): Promise<void> {
  if (keepRow) await em.execute(`update idempotency_keys set locked_until = now(), holder = null where id = ? and holder = ? and state = 'in_progress'`, [id, holder]);
  else await em.execute(`delete from idempotency_keys where id = ? and holder = ? and state = 'in_progress'`, [id, holder]);
}
