/**
 * The installation row (migration 0014, decision 0090): named once, on the first start, then read once per
 * ORM and kept, since it never changes.
 */
import { randomBytes } from 'node:crypto';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { INSTALLATION_ID_PATTERN, type Installation } from '../../domain/installation.ts';

type Source = MikroORM | EntityManager;

const known = new WeakMap<object, Promise<Installation>>();

/** 12 characters of [a-z2-7]: 60 random bits. */
function generatedId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from(randomBytes(12), (byte) => alphabet[byte % 32]).join('');
}

function emOf(source: Source): EntityManager {
  return source instanceof MikroORM ? source.em : source;
}

/**
 * Names the installation on its first start (with `requested`, ENGINE_INSTANCE_ID, or a generated id) and
 * answers it. A database named before must carry the requested id: a process configured for another
 * installation refuses to run against it.
 */
export async function claimInstallation(source: Source, requested?: string): Promise<Installation> {
  if (requested !== undefined && !INSTALLATION_ID_PATTERN.test(requested)) {
    throw new Error(`ENGINE_INSTANCE_ID must be 1–16 lower-case letters and digits, not ${JSON.stringify(requested)}`);
  }
  const em = emOf(source).fork();
  // Concurrent first starts (API replicas, the worker): the first update names it, the others read that name.
  await em.execute(`update engine_installation set id = ?, named_at = now() where id is null`, [requested ?? generatedId()]);
  const [row] = await em.execute<{ id: string; legacy: boolean }[]>('select id, legacy from engine_installation');
  if (!row) throw new Error('engine_installation is empty: run the migrations (npm run migrate)');
  if (requested !== undefined && row.id !== requested) {
    throw new Error(
      `This database belongs to installation ${row.id}, but ENGINE_INSTANCE_ID is ${requested}: refusing to run one installation's engine against another's database.`,
    );
  }
  return { id: row.id, legacy: row.legacy };
}

/** The installation of the database behind `source`, read once per ORM (its configuration object) and kept. */
export function installationOf(source: Source): Promise<Installation> {
  const em = emOf(source);
  const key = em.config;
  let installation = known.get(key);
  if (!installation) {
    installation = claimInstallation(em);
    known.set(key, installation);
    installation.catch(() => known.delete(key));
  }
  return installation;
}

/** The highest prepay id the database's sequence has handed out; 0 when none. */
export async function lastPrepayId(source: Source): Promise<number> {
  const [row] = await emOf(source).fork().execute<{ last: string }[]>(`select (case when is_called then last_value else 0 end)::text as last from prepay_ids`);
  return Number(row?.last ?? 0);
}
