import { Migration0001Foundation } from './0001-foundation.ts';
import { Migration0002MoneySpine } from './0002-money-spine.ts';

/** Every migration, in order. Listed explicitly so that the bundle, tests and production agree. */
export const migrationsList = [
  { name: '0001-foundation', class: Migration0001Foundation },
  { name: '0002-money-spine', class: Migration0002MoneySpine },
];
