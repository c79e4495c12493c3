import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const Region = defineEntity({
  name: 'Region',
  tableName: 'regions',
  properties: {
    identification: p.string().primary(),
    regionDescribe: p.string().fieldName('region_describe'),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type Region = InferEntity<typeof Region>;

export const PLAN_STATUSES = ['available', 'unavailable'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];
export const BILL_PERIODS = ['M', 'Y'] as const;
export type BillPeriod = (typeof BILL_PERIODS)[number];

/** A fixed-price plan of a region's market (seed 001). `price` is USD, exact. */
export const Plan = defineEntity({
  name: 'Plan',
  tableName: 'plans',
  properties: {
    id: p.uuid().primary().fieldName('plan_id'),
    region: p.string(),
    type: p.string(),
    level: p.string().nullable(),
    name: p.string(),
    price: p.decimal('string'),
    billPeriod: p.string().fieldName('bill_period').$type<BillPeriod>(),
    description: p.string(),
    comment: p.string().nullable(),
    status: p.string().$type<PlanStatus>(),
    creationTime: p.datetime().fieldName('creation_time'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type Plan = InferEntity<typeof Plan>;

/** A cluster's price book (DESIGN §4). Rates are exact decimals; the JSON maps hold decimal strings. */
export const Cluster = defineEntity({
  name: 'Cluster',
  tableName: 'clusters',
  properties: {
    id: p.string().primary().fieldName('cluster_id'),
    cpuCoreMonthUsd: p.decimal('string').fieldName('cpu_core_month_usd'),
    memoryGibMonthUsd: p.decimal('string').fieldName('memory_gib_month_usd'),
    storageGibMonthUsd: p.decimal('string').fieldName('storage_gib_month_usd'),
    chartMultipliers: p.json<Record<string, string>>().fieldName('chart_multipliers'),
    periodDiscounts: p.json<Record<string, string>>().fieldName('period_discounts'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type Cluster = InferEntity<typeof Cluster>;

/** A static token rate: USD per one token unit, set by an operator. */
export const TokenRate = defineEntity({
  name: 'TokenRate',
  tableName: 'token_rates',
  properties: {
    currency: p.string().primary(),
    usd: p.decimal('string'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type TokenRate = InferEntity<typeof TokenRate>;
