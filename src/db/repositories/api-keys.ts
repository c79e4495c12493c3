/** Creating, finding and revoking bearer keys. Keys are random; only their SHA-256 is stored. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey, type ApiKeyScope } from '../entities/index.ts';

const PREFIX: Record<ApiKeyScope, string> = { tenant: 'pk_tenant_', operator: 'pk_operator_', watcher: 'pk_watcher_' };

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Two hashApiKey() results compared in constant time. */
export function sameHash(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export interface IssuedKey {
  apiKey: string;
  keyId: string;
  scope: ApiKeyScope;
  tenantId: string | null;
}

/** Creates a key and answers it in clear text; this is the only time it is visible. */
export async function issueApiKey(em: EntityManager, scope: ApiKeyScope, tenantId: string | null): Promise<IssuedKey> {
  const apiKey = PREFIX[scope] + randomBytes(24).toString('base64url');
  const keyId = 'key_' + randomBytes(9).toString('base64url');
  em.create(ApiKey, { id: keyId, keyHash: hashApiKey(apiKey), scope, tenantId, createdAt: new Date(), revokedAt: null });
  await em.flush();
  return { apiKey, keyId, scope, tenantId };
}

export async function findActiveKey(em: EntityManager, apiKey: string): Promise<ApiKey | null> {
  return findActiveKeyByHash(em, hashApiKey(apiKey));
}

export async function findActiveKeyByHash(em: EntityManager, keyHash: string): Promise<ApiKey | null> {
  return em.findOne(ApiKey, { keyHash, revokedAt: null });
}

/** Revokes a key; answers null when there is no such key. Revoking twice keeps the first time. */
export async function revokeApiKey(em: EntityManager, keyId: string): Promise<ApiKey | null> {
  const key = await em.findOne(ApiKey, { id: keyId });
  if (!key) return null;
  key.revokedAt ??= new Date();
  await em.flush();
  return key;
}
