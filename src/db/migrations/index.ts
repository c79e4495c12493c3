import { Migration0001Foundation } from './0001-foundation.ts';

/** Every migration, in order. Listed explicitly so that the bundle, tests and production agree. */
export const migrationsList = [{ name: '0001-foundation', class: Migration0001Foundation }];
