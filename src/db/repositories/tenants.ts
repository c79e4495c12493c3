/** Tenants: whether one exists, remembered once seen. */
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Tenants seen to exist, per database (the driver of its ORM). A tenant is never removed (its movements,
 * ledger and invoices refer to it), so once seen it is not asked for again; one not found is asked each time.
 * Bounded: past MAX_KNOWN it starts again from empty.
 */
const knownTenants = new WeakMap<object, Set<string>>();
const MAX_KNOWN = 100_000;

/** Whether the tenant exists (committed). */
export async function tenantExists(em: EntityManager, tenantId: string): Promise<boolean> {
  let known = knownTenants.get(em.getDriver());
  if (known?.has(tenantId)) return true;
  const [row] = await em.execute<{ id: string }[]>('select id from tenants where id = ?', [tenantId]);
  if (!row) return false;
  if (!known || known.size >= MAX_KNOWN) knownTenants.set(em.getDriver(), (known = new Set()));
  known.add(tenantId);
  return true;
}
