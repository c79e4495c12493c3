/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits (a deploy step). */
import { loadConfig } from '../src/config.ts';
import { initOrm, migrate } from '../src/db/orm.ts';

const config = loadConfig();
const orm = await initOrm(config.DATABASE_URL, { poolMax: 1 });
try {
  const applied = await migrate(orm);
  process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
} finally {
  await orm.close();
}
