import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** One customer account: the `team_id` of /v2alpha and the `namespace` of /payment/v1. */
export const Tenant = defineEntity({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: p.string().primary(),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type Tenant = InferEntity<typeof Tenant>;
