/** Regions, plans, cluster price books and static token rates: the catalog operators manage. */
import { inBatches } from '../batches.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { Cluster, Plan, Region, TokenRate, type BillPeriod, type PlanStatus } from '../entities/index.ts';
import { Dec, toFixedString, type TokenCurrency } from '../../domain/money.ts';
import type { PriceBook } from '../../domain/pricing.ts';

/**
 * Every region, by identification. The most frequent read of the API: the lists of concurrent requests share
 * one query (src/db/batches.ts), which starts after each of them arrived, so none answers a list older than its
 * request. Plain rows, each request its own copy.
 */
export async function listRegions(em: EntityManager): Promise<{ identification: string; regionDescribe: string }[]> {
  return (await regionLists(em, undefined)).map((region) => ({ ...region }));
}

const selectRegions = async (em: EntityManager) =>
  (await em.execute<{ identification: string; region_describe: string }[]>('select identification, region_describe from regions order by identification')).map((row) => ({
    identification: row.identification,
    regionDescribe: row.region_describe,
  }));

const regionLists = inBatches<undefined, { identification: string; regionDescribe: string }[]>(
  async (em, requests) => {
    const regions = await selectRegions(em);
    return requests.map(() => regions);
  },
  (em) => selectRegions(em),
);

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

/**
 * The cluster's price book as it is now, or null when there is no such cluster. Asked by every quote: the
 * lookups of concurrent quotes share one query (src/db/batches.ts), which starts after each of them arrived, so
 * a quote never prices with a book older than its request.
 */
export function clusterPriceBook(em: EntityManager, clusterId: string): Promise<PriceBook | null> {
  return priceBookLookups(em, clusterId);
}

type PriceBookRow = {
  cluster_id: string;
  cpu_core_month_usd: string;
  memory_gib_month_usd: string;
  storage_gib_month_usd: string;
  chart_multipliers: Record<string, string>;
  period_discounts: Record<string, string>;
};

const PRICE_BOOK = `select cluster_id, cpu_core_month_usd::text as cpu_core_month_usd, memory_gib_month_usd::text as memory_gib_month_usd,
  storage_gib_month_usd::text as storage_gib_month_usd, chart_multipliers, period_discounts from clusters where cluster_id`;

const bookOf = (row: PriceBookRow | undefined): PriceBook | null =>
  row
    ? priceBookOf({
        cpuCoreMonthUsd: row.cpu_core_month_usd,
        memoryGibMonthUsd: row.memory_gib_month_usd,
        storageGibMonthUsd: row.storage_gib_month_usd,
        chartMultipliers: row.chart_multipliers,
        periodDiscounts: row.period_discounts,
      })
    : null;

const priceBookLookups = inBatches<string, PriceBook | null>(
  async (em, clusterIds) => {
    const unique = [...new Set(clusterIds)];
    const rows = await em.execute<PriceBookRow[]>(`${PRICE_BOOK} in (${unique.map(() => '?').join(', ')})`, unique);
    return clusterIds.map((clusterId) => bookOf(rows.find((row) => row.cluster_id === clusterId)));
  },
  async (em, clusterId) => bookOf((await em.execute<PriceBookRow[]>(`${PRICE_BOOK} = ?`, [clusterId]))[0]),
);

const toDecimals = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, new Dec(value)]));

export function priceBookOf(cluster: Pick<Cluster, 'cpuCoreMonthUsd' | 'memoryGibMonthUsd' | 'storageGibMonthUsd' | 'chartMultipliers' | 'periodDiscounts'>): PriceBook {
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
