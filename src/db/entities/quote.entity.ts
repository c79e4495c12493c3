import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A stored price quote; it holds its token rate until `expiresAt` (DESIGN §4). */
export const Quote = defineEntity({
  name: 'Quote',
  tableName: 'quotes',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.string().fieldName('tenant_id').nullable(),
    currency: p.string(),
    clusterId: p.string().fieldName('cluster_id'),
    chartName: p.string().fieldName('chart_name'),
    cpuLimit: p.integer().fieldName('cpu_limit'),
    memLimit: p.integer().fieldName('mem_limit'),
    storageLimit: p.integer().fieldName('storage_limit'),
    period: p.integer(),
    usd: p.decimal('string'),
    amount: p.decimal('string'),
    rate: p.decimal('string'),
    createdAt: p.datetime().fieldName('created_at'),
    expiresAt: p.datetime().fieldName('expires_at'),
  },
});
export type Quote = InferEntity<typeof Quote>;
