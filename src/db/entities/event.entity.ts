import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * What the engine decided, for the hosting platform to act on (migration 0003). Its id is derived from a
 * stable key, so it is written once with `insert … on conflict do nothing` (db/repositories/events.ts) and
 * read through this entity.
 */
export const EngineEvent = defineEntity({
  name: 'EngineEvent',
  tableName: 'events',
  properties: {
    id: p.string().primary(),
    /** null for the operator's own events */
    tenantId: p.string().fieldName('tenant_id').nullable(),
    type: p.string(),
    data: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type EngineEvent = InferEntity<typeof EngineEvent>;
