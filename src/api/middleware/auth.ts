import type { Middleware } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../domain/errors.ts';
import type { ApiKeyScope } from '../../db/entities/index.ts';
import { findActiveKeyByHash, hashApiKey, sameHash } from '../../db/repositories/api-keys.ts';
import type { KeyCache } from './key-cache.ts';
import { count } from '../../metrics/record.ts';

export interface Principal {
  scope: ApiKeyScope;
  /** the tenant a tenant key belongs to; null for operator and watcher keys */
  tenantId: string | null;
  keyId: string;
}

/**
 * Resolves `Authorization: Bearer <key>` to a principal. The environment's OPERATOR_API_KEY is an
 * operator key that lives outside the database (the first key, from which all others are made). A key
 * found valid in the last second is not looked up again (`keys`, key-cache.ts).
 */
export function authenticate(options: { operatorApiKey: string | undefined; keys?: KeyCache }): Middleware {
  // the presented key is hashed once per request, and compared with the operator key's hash in constant time
  const operatorKeyHash = options.operatorApiKey ? hashApiKey(options.operatorApiKey) : undefined;
  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw refused('missing_key', new AppError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".'));
    const keyHash = hashApiKey(match[1]);
    if (operatorKeyHash && sameHash(keyHash, operatorKeyHash)) {
      ctx.state.principal = { scope: 'operator', tenantId: null, keyId: 'env:OPERATOR_API_KEY' } satisfies Principal;
      return next();
    }
    let principal = options.keys?.get(keyHash);
    if (!principal) {
      const found = await findActiveKeyByHash(ctx.state.em as EntityManager, keyHash);
      if (!found) throw refused('invalid_key', new AppError('unauthorized', 'The API key is not valid or has been revoked.'));
      principal = { scope: found.scope, tenantId: found.tenantId ?? null, keyId: found.id };
      options.keys?.set(keyHash, principal);
    }
    ctx.state.principal = principal satisfies Principal;
    await next();
  };
}

/** Lets only the given scopes through; others get 403. */
export function requireScope(...scopes: ApiKeyScope[]): Middleware {
  return async (ctx, next) => {
    const principal = ctx.state.principal as Principal | undefined;
    if (!principal) throw refused('missing_key', new AppError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".'));
    if (!scopes.includes(principal.scope))
      throw refused('wrong_scope', new AppError('forbidden', `This route needs ${/^[aeiou]/.test(scopes[0] ?? '') ? 'an' : 'a'} ${scopes.join(' or ')} key.`));
    await next();
  };
}

/** A tenant key may act only on its own tenant; operators on any. Throws 403 otherwise. */
export function assertTenantAccess(principal: Principal, tenantId: string, field?: string): void {
  if (principal.scope === 'operator') return;
  if (principal.scope === 'tenant' && principal.tenantId === tenantId) return;
  throw refused('foreign_tenant', new AppError('forbidden', 'This key may not act on that tenant.', { field }));
}

/** Counts a refusal in auth_failures_total by its reason (decision 0099) and answers it, to be thrown. */
export function refused(reason: 'missing_key' | 'invalid_key' | 'wrong_scope' | 'foreign_tenant' | 'watcher_signature', error: AppError): AppError {
  count('auth_failures_total', { reason });
  return error;
}
