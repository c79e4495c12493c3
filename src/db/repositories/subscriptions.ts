/**
 * The subscriptions read model (migration 0005). Written by the checkout request and by the subscription
 * activities with plain SQL, because the partial unique index (one live subscription per tenant and plan)
 * and "a canceled subscription never changes again" are the point of those statements; read through the
 * Subscription entity.
 */
import { LockMode } from '@mikro-orm/core';
import { inBatches } from '../batches.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Plan } from '../entities/catalog.entity.ts';
import { UUID } from './catalog.ts';
import { Subscription } from '../entities/subscription.entity.ts';
import type { BillingPeriod } from '../../domain/billing-periods.ts';
import { accountStatus, type LiveSubscriptionStatus, type SubscriptionStatus } from '../../domain/subscriptions.ts';

export type { Subscription } from '../entities/subscription.entity.ts';

/** A live subscription with the plan fields the account shows. */
export interface SubscribedPlan extends Subscription {
  planType: string;
  planName: string;
  planDescription: string;
}

/**
 * Rows are read as snapshots, outside the identity map: the statements below write them with SQL, so an
 * entity kept from an earlier read of the same EntityManager would be stale.
 */
const SNAPSHOT = { disableIdentityMap: true } as const;

export interface NewSubscription {
  id: string;
  tenantId: string;
  planId: string;
  region: string;
  billPeriod: BillingPeriod;
  price: string;
  anchor: Date;
  currentPeriodEnd: Date;
  workflowId: string;
}

/**
 * Inserts an active subscription in its first period. Answers false, writing nothing, when the id exists
 * or the tenant already has a live subscription to the plan (a concurrent insert waits for the other
 * transaction and then conflicts, so two checkouts cannot both succeed).
 */
export async function insertSubscription(em: EntityManager, input: NewSubscription, now: Date): Promise<boolean> {
  const rows = await em.execute<{ id: string }[]>(
    `insert into subscriptions (id, tenant_id, plan_id, region, status, bill_period, price, anchor, period, current_period_start, current_period_end, workflow_id, created_at, updated_at)
     values (?, ?, ?, ?, 'active', ?, ?::numeric, ?, 1, ?, ?, ?, ?, ?) on conflict do nothing returning id`,
    [input.id, input.tenantId, input.planId, input.region, input.billPeriod, input.price, input.anchor, input.anchor, input.currentPeriodEnd, input.workflowId, now, now],
  );
  return rows.length > 0;
}

export async function findSubscription(em: EntityManager, id: string, options: { forUpdate?: boolean } = {}): Promise<Subscription | null> {
  return em.findOne(Subscription, { id }, { ...SNAPSHOT, ...(options.forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}) });
}

/** The tenant's subscription to the plan: the live one (there is at most one), else the latest that ended; null for a plan id that is not a UUID. */
export async function latestSubscription(em: EntityManager, tenantId: string, planId: string): Promise<Subscription | null> {
  if (!UUID.test(planId)) return null;
  const live = await em.findOne(Subscription, { tenantId, planId, status: { $ne: 'canceled' } }, SNAPSHOT);
  if (live) return live;
  const [ended] = await em.find(Subscription, { tenantId, planId }, { ...SNAPSHOT, orderBy: { createdAt: 'desc', id: 'desc' }, limit: 1 });
  return ended ?? null;
}

/** The tenant's live subscriptions with their plans, oldest first, and whether any subscription ever ended. */
export async function tenantSubscriptions(em: EntityManager, tenantId: string): Promise<{ live: SubscribedPlan[]; anyCanceled: boolean }> {
  const live = await em.find(Subscription, { tenantId, status: { $ne: 'canceled' } }, { ...SNAPSHOT, orderBy: { createdAt: 'asc', id: 'asc' } });
  const plans = live.length === 0 ? [] : await em.find(Plan, { id: { $in: [...new Set(live.map((subscription) => subscription.planId))] } }, SNAPSHOT);
  const planOf = new Map(plans.map((plan) => [plan.id, plan]));
  const anyCanceled = (await em.count(Subscription, { tenantId, status: 'canceled' })) > 0;
  return {
    live: live.map((subscription) => {
      const plan = planOf.get(subscription.planId)!; // plan_id references plans, which are never deleted
      return { ...subscription, planType: plan.type, planName: plan.name, planDescription: plan.description };
    }),
    anyCanceled,
  };
}

/** The account's status from its subscriptions (seed 001 `status`; "" when it never subscribed). */
export async function tenantSubscriptionStatus(em: EntityManager, tenantId: string): Promise<SubscriptionStatus | ''> {
  const rows = await em.find(Subscription, { tenantId }, { ...SNAPSHOT, fields: ['status'] });
  return accountStatus(rows.map((row) => row.status));
}

/**
 * Workflow ids of the tenant's subscriptions that wait for money (arrears or suspended). Asked after every
 * manual credit: the lookups of concurrent credits share one query (src/db/batches.ts).
 */
export function unpaidSubscriptionWorkflowIds(em: EntityManager, tenantId: string): Promise<string[]> {
  return unpaidLookups(em, tenantId);
}

const UNPAID = `select tenant_id, workflow_id from subscriptions where status in ('arrears', 'suspended') and tenant_id`;

const unpaidLookups = inBatches<string, string[]>(
  async (em, tenantIds) => {
    const unique = [...new Set(tenantIds)];
    const rows = await em.execute<{ tenant_id: string; workflow_id: string }[]>(`${UNPAID} in (${unique.map(() => '?').join(', ')}) order by id`, unique);
    return tenantIds.map((tenantId) => rows.filter((row) => row.tenant_id === tenantId).map((row) => row.workflow_id));
  },
  async (em, tenantId) => (await em.execute<{ workflow_id: string }[]>(`${UNPAID} = ? order by id`, [tenantId])).map((row) => row.workflow_id),
);

/** Records a paid period: the subscription is active in `period`, whatever it was before. */
export async function markPeriodPaid(em: EntityManager, id: string, period: { period: number; start: Date; end: Date }, now: Date): Promise<void> {
  await em.execute(
    `update subscriptions set status = 'active', period = ?, current_period_start = ?, current_period_end = ?, arrears_since = null, suspended_at = null, updated_at = ?
      where id = ? and status <> 'canceled'`,
    [period.period, period.start, period.end, now, id],
  );
}

/**
 * Moves a subscription to an unpaid or ending status; `period` is the current period (the one due when
 * unpaid). A canceled subscription is never changed again.
 */
export async function markStatus(
  em: EntityManager,
  id: string,
  change: { status: Exclude<LiveSubscriptionStatus, 'active'> | 'canceled'; at: Date; period?: { period: number; start: Date; end: Date } },
  now: Date,
): Promise<void> {
  const period = change.period;
  await em.execute(
    `update subscriptions set status = ?,
            arrears_since = case when ? = 'arrears' then coalesce(arrears_since, ?) else arrears_since end,
            suspended_at = case when ? = 'suspended' then coalesce(suspended_at, ?) else suspended_at end,
            canceled_at = case when ? = 'canceled' then coalesce(canceled_at, ?) else canceled_at end,
            period = coalesce(?, period), current_period_start = coalesce(?, current_period_start), current_period_end = coalesce(?, current_period_end),
            updated_at = ?
      where id = ? and status <> 'canceled'`,
    [change.status, change.status, change.at, change.status, change.at, change.status, change.at, period?.period ?? null, period?.start ?? null, period?.end ?? null, now, id],
  );
}
