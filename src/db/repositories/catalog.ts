/** Regions, plans, cluster price books and static token rates: the catalog operators manage. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { Cluster, Plan, Region, TokenRate, type BillPeriod, type PlanStatus } from '../entities/index.ts';
import { Dec, toFixedString, type TokenCurrency } from '../../domain/money.ts';
import type { PriceBook } from '../../domain/pricing.ts';

export async function listRegions(em: EntityManager): Promise<Region[]> {
  return em.find(Region, {}, { orderBy: { identification: 'asc' } });
}

/** Creates or renames a region; concurrent calls cannot collide (INSERT … ON CONFLICT). */
export async function upsertRegion(em: EntityManager, identification: string, regionDescribe: string, now: Date): Promise<Region> {
  return em.upsert(Region, { identification, regionDescribe, createdAt: now, updatedAt: now }, { onConflictFields: ['identification'], onConflictExcludeFields: ['createdAt'] });
}

export async function findRegion(em: EntityManager, identification: string): Promise<Region | null> {
  return em.findOne(Region, { identification });
}

/** Available plans of a region, the type matched case-insensitively, cheapest first. */
export async function listMarket(em: EntityManager, region: string, type: string | undefined): Promise<Plan[]> {
  const plans = await em.find(Plan, { region, status: 'available' }, { orderBy: { price: 'asc', creationTime: 'asc' } });
  if (type === undefined) return plans;
  const wanted = type.toLowerCase();
  return plans.filter((plan) => plan.type.toLowerCase() === wanted);
}

export interface NewPlan {
  region: string;
  type: string;
  level?: string | undefined;
  name: string;
  price: Dec;
  billPeriod: BillPeriod;
  description: string;
  comment?: string | undefined;
  status: PlanStatus;
}

export async function createPlan(em: EntityManager, input: NewPlan, now: Date): Promise<Plan> {
  const plan = em.create(Plan, {
    id: randomUUID(),
    region: input.region,
    type: input.type,
    level: input.level ?? null,
    name: input.name,
    price: toFixedString(input.price, 2),
    billPeriod: input.billPeriod,
    description: input.description,
    comment: input.comment ?? null,
    status: input.status,
    creationTime: now,
    updatedAt: now,
  });
  await em.flush();
  return plan;
}

/** The shape of a UUID (plans' ids): anything else names no row, and PostgreSQL would refuse it as a uuid. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The plan, or null (also for an id that is not a UUID). */
export async function findPlan(em: EntityManager, planId: string): Promise<Plan | null> {
  return UUID.test(planId) ? em.findOne(Plan, { id: planId }) : null;
}

export interface PriceBookInput {
  cpuCoreMonthUsd: Dec;
  memoryGibMonthUsd: Dec;
  storageGibMonthUsd: Dec;
  chartMultipliers: Record<string, Dec>;
  periodDiscounts: Record<string, Dec>;
}

const stringify = (map: Record<string, Dec>) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, value.toFixed()]));

export async function upsertCluster(em: EntityManager, clusterId: string, book: PriceBookInput, now: Date): Promise<Cluster> {
  return em.upsert(
    Cluster,
    {
      id: clusterId,
      cpuCoreMonthUsd: book.cpuCoreMonthUsd.toFixed(),
      memoryGibMonthUsd: book.memoryGibMonthUsd.toFixed(),
      storageGibMonthUsd: book.storageGibMonthUsd.toFixed(),
      chartMultipliers: stringify(book.chartMultipliers),
      periodDiscounts: stringify(book.periodDiscounts),
      updatedAt: now,
    },
    { onConflictFields: ['id'] },
  );
}

export async function findCluster(em: EntityManager, clusterId: string): Promise<Cluster | null> {
  return em.findOne(Cluster, { id: clusterId });
}

const toDecimals = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, new Dec(value)]));

export function priceBookOf(cluster: Cluster): PriceBook {
  return {
    cpuCoreMonthUsd: new Dec(cluster.cpuCoreMonthUsd),
    memoryGibMonthUsd: new Dec(cluster.memoryGibMonthUsd),
    storageGibMonthUsd: new Dec(cluster.storageGibMonthUsd),
    chartMultipliers: toDecimals(cluster.chartMultipliers),
    periodDiscounts: toDecimals(cluster.periodDiscounts),
  };
}

export async function upsertTokenRate(em: EntityManager, currency: TokenCurrency, usd: Dec, now: Date): Promise<TokenRate> {
  return em.upsert(TokenRate, { currency, usd: usd.toFixed(), updatedAt: now }, { onConflictFields: ['currency'] });
}
