/** The test database's installation (decision 0090): the scoped forms of its gateway keys. */
import type { Orm } from '../../src/db/orm.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { gatewayIdempotencyKey } from '../../src/domain/installation.ts';

/** The key the card gateway sees for one of the engine's keys (a LIKE pattern works too). */
export async function gatewayKey(orm: Orm, key: string): Promise<string> {
  return gatewayIdempotencyKey(await installationOf(orm), key);
}
