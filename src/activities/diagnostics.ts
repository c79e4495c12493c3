import type { Orm } from '../db/orm.ts';

/** Proves the worker reaches PostgreSQL and names the schema version it sees. */
export function createDiagnosticsActivities(deps: { orm: Orm }) {
  return {
    async checkDatabase(_input: { workflowId: string }): Promise<{ reachable: boolean; migrations: string[] }> {
      const em = deps.orm.em.fork();
      const rows = await em.getConnection().execute<{ name: string }[]>('select name from mikro_orm_migrations order by id');
      return { reachable: true, migrations: rows.map((row) => row.name) };
    },
  };
}
