/**
 * The demo catalog `npm start` seeds: two regions with plans (the seed document's examples), a demo
 * cluster price book and an ANKR rate. Idempotent: it only adds what is missing and never overwrites
 * what an operator changed.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Cluster, Plan, Region, Tenant, TokenRate } from './entities/index.ts';
import { createPlan, upsertCluster, upsertRegion, upsertTokenRate } from './repositories/catalog.ts';
import { Dec } from '../domain/money.ts';

export const DEMO = {
  tenantId: 'demo-team',
  clusterId: 'demo-cluster',
  regions: [
    { identification: 'cn-north-1', describe: '铸造一区' },
    { identification: 'cn-north-2', describe: '铸造二区' },
  ],
  plans: [
    { region: 'cn-north-1', type: 'C', level: 'S', name: 'Starter', price: '20', description: '1 CPU Core, 512M Memory' },
    { region: 'cn-north-1', type: 'C', level: 'M', name: 'Standard', price: '40.88', description: '2 CPU Cores, 1G Memory' },
    { region: 'cn-north-1', type: 'C', level: 'L', name: 'Large', price: '88.88', description: '4 CPU Cores, 2G Memory' },
    { region: 'cn-north-2', type: 'normal', level: 'S', name: 'Normal', price: '10', description: '1 CPU Core, 512M Memory' },
  ],
  priceBook: {
    cpuCoreMonthUsd: '20',
    memoryGibMonthUsd: '5',
    storageGibMonthUsd: '0.1',
    chartMultipliers: { wordpress: '1.2' },
    periodDiscounts: { '6': '0.05', '12': '0.1' },
  },
  ankrUsd: '0.02',
} as const;

export async function seedDemoCatalog(em: EntityManager, now: Date): Promise<void> {
  for (const region of DEMO.regions) {
    if (!(await em.findOne(Region, { identification: region.identification }))) {
      await upsertRegion(em, region.identification, region.describe, now);
    }
  }
  for (const plan of DEMO.plans) {
    if (!(await em.findOne(Plan, { region: plan.region, name: plan.name }))) {
      await createPlan(em, { ...plan, price: new Dec(plan.price), billPeriod: 'M', status: 'available' }, now);
    }
  }
  if (!(await em.findOne(Cluster, { id: DEMO.clusterId }))) {
    const book = DEMO.priceBook;
    const decimals = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, new Dec(value)]));
    await upsertCluster(
      em,
      DEMO.clusterId,
      {
        cpuCoreMonthUsd: new Dec(book.cpuCoreMonthUsd),
        memoryGibMonthUsd: new Dec(book.memoryGibMonthUsd),
        storageGibMonthUsd: new Dec(book.storageGibMonthUsd),
        chartMultipliers: decimals(book.chartMultipliers),
        periodDiscounts: decimals(book.periodDiscounts),
      },
      now,
    );
  }
  if (!(await em.findOne(TokenRate, { currency: 'ANKR_ERC20' }))) {
    await upsertTokenRate(em, 'ANKR_ERC20', new Dec(DEMO.ankrUsd), now);
  }
  if (!(await em.findOne(Tenant, { id: DEMO.tenantId }))) {
    em.create(Tenant, { id: DEMO.tenantId, createdAt: now });
    await em.flush();
  }
}
