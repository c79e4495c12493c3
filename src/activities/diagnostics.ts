import { appliedMigrations, type Orm } from '../db/orm.ts';

/** Proves the worker reaches PostgreSQL and names the schema version it sees. */
export function createDiagnosticsActivities(deps: { orm: Orm }) {
  return {
    async checkDatabase(_input: { workflowId: string }): Promise<{ reachable: boolean; migrations: string[] }> {
      return { reachable: true, migrations: await appliedMigrations(deps.orm) };
    },
  };
}
