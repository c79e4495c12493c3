import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const API_KEY_SCOPES = ['tenant', 'operator', 'watcher'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** A bearer key. Only its SHA-256 is stored; the key itself is shown once, when created. */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.string().primary(),
    keyHash: p.string().fieldName('key_hash').unique(),
    scope: p.string().$type<ApiKeyScope>(),
    tenantId: p.string().fieldName('tenant_id').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    revokedAt: p.datetime().fieldName('revoked_at').nullable(),
  },
});
export type ApiKey = InferEntity<typeof ApiKey>;
