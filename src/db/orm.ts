/**
 * The MikroORM composition: config, init, migrations. Callers own the returned ORM and close it.
 */
import { MikroORM, defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { entities } from './entities/index.ts';
import { migrationsList } from './migrations/index.ts';

export type Orm = MikroORM;

export function ormConfig(databaseUrl: string, options: { debug?: boolean; poolMax?: number } = {}) {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: { migrationsList, tableName: 'mikro_orm_migrations', transactional: true, allOrNothing: true, silent: true, snapshot: false },
    pool: { min: 0, max: options.poolMax ?? 10 },
    debug: options.debug ?? false,
    // Exact decimals stay strings; timestamps are UTC.
    forceUtcTimezone: true,
    allowGlobalContext: false,
  });
}

export async function initOrm(databaseUrl: string, options: { poolMax?: number } = {}): Promise<Orm> {
  return MikroORM.init(ormConfig(databaseUrl, options));
}

/** An arbitrary constant that names the engine's migration lock among PostgreSQL advisory locks. */
const MIGRATION_LOCK_ID = 7_413_221_001;

/**
 * Applies pending migrations (a no-op when none are pending). Several processes may start at once (API
 * replicas, `npm run migrate`): a session advisory lock, held on a connection of its own, lets one run
 * them while the others wait and then find nothing pending.
 */
/** The names of the applied migrations, in order. */
export async function appliedMigrations(orm: Orm): Promise<string[]> {
  const rows = await orm.em.fork().getConnection().execute<{ name: string }[]>('select name from mikro_orm_migrations order by id');
  return rows.map((row) => row.name);
}

/** One round trip to PostgreSQL: throws when the database does not answer. */
export async function pingDatabase(orm: Orm): Promise<void> {
  await orm.em.fork().getConnection().execute('select 1');
}

export async function migrate(orm: Orm): Promise<string[]> {
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl') });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await orm.migrator.up();
    return applied.map((migration) => migration.name);
  } finally {
    await lock.end();
  }
}
