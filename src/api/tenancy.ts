/**
 * Which tenant a request acts on, checked the same way on every route: the key may act on it (403
 * otherwise) and it exists (404 otherwise). The seed APIs name it `namespace` (v1) or `team_id` (v2alpha).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { tenantExists } from '../db/repositories/tenants.ts';
import { notFound } from '../domain/errors.ts';
import { principalOf } from './context.ts';
import { assertTenantAccess, type Principal } from './middleware/auth.ts';
import { identifier, parseWith } from './validation.ts';

/** The tenant named in a body or query (`field`), which the principal may act on and which exists. */
export async function tenantOr404(em: EntityManager, tenantId: string, principal: Principal, field = 'namespace'): Promise<void> {
  assertTenantAccess(principal, tenantId, field);
  if (!(await tenantExists(em, tenantId))) throw notFound(`Tenant ${tenantId}`, field);
}

export type RouteContext = { params: Record<string, string | undefined>; state: { em: EntityManager; principal?: Principal } };

/** The path's team (`:team_id`), which the key may act on and which exists. */
export async function teamOf(ctx: RouteContext): Promise<string> {
  const teamId = parseWith(identifier, ctx.params.team_id, 'team_id');
  assertTenantAccess(principalOf(ctx.state), teamId, 'team_id');
  if (!(await tenantExists(ctx.state.em, teamId))) throw notFound(`Team ${teamId}`, 'team_id');
  return teamId;
}
