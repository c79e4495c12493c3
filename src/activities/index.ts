/** All activities, built from their dependencies so that tests pass real or sandbox ones. */
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import { createDiagnosticsActivities } from './diagnostics.ts';

export interface ActivityDeps {
  orm: Orm;
  clock: Clock;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createDiagnosticsActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
