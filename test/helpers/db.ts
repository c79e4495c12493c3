/** Raw SQL for tests: reading and setting rows directly where no API shows them. */
import type { Orm } from '../../src/db/orm.ts';

/** Runs a raw query on a fresh fork of `orm`'s entity manager and answers its rows. */
export async function sql<T = Record<string, unknown>>(orm: Orm, query: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.fork().execute<T[]>(query, params);
}

/** `sql` bound to an ORM read when each query runs (a test file's stack starts in beforeAll). */
export function sqlOn(orm: () => Orm): <T = Record<string, unknown>>(query: string, params?: unknown[]) => Promise<T[]> {
  return (query, params) => sql(orm(), query, params);
}

/** How many rows of `table` match the `where` clause. */
export async function countRows(orm: Orm, table: string, where = 'true', params: unknown[] = []): Promise<number> {
  const [row] = await sql<{ count: string | number }>(orm, `select count(*) as count from ${table} where ${where}`, params);
  return Number(row?.count);
}
