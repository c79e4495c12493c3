/**
 * The subscriptions read model (migration 0005). Written by the checkout request and by the subscription
 * activities; read by the API. Plain SQL: the partial unique index and row locks are the point here.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { BillingPeriod } from '../../domain/billing-periods.ts';
import { accountStatus, type LiveSubscriptionStatus, type SubscriptionStatus } from '../../domain/subscriptions.ts';

export interface Subscription {
  id: string;
  tenantId: string;
  planId: string;
  region: string;
  status: SubscriptionStatus;
  billPeriod: BillingPeriod;
  /** USD, decimal text: the price at checkout */
  price: string;
  anchor: Date;
  period: number;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  workflowId: string;
  arrearsSince: Date | null;
  suspendedAt: Date | null;
  canceledAt: Date | null;
  createdAt: Date;
}

/** A live subscription with the plan fields the account shows. */
export interface SubscribedPlan extends Subscription {
  planType: string;
  planName: string;
  planDescription: string;
}

const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const COLUMNS = `s.id, s.tenant_id, s.plan_id::text as plan_id, s.region, s.status, s.bill_period, s.price::text as price, s.period, s.workflow_id,
  ${iso('s.anchor')} as anchor, ${iso('s.current_period_start')} as current_period_start, ${iso('s.current_period_end')} as current_period_end,
  ${iso('s.arrears_since')} as arrears_since, ${iso('s.suspended_at')} as suspended_at, ${iso('s.canceled_at')} as canceled_at, ${iso('s.created_at')} as created_at`;

type Row = Record<string, string | number | null>;
const date = (value: string | number | null | undefined) => (value === null || value === undefined ? null : new Date(String(value)));

function toSubscription(row: Row): Subscription {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    planId: String(row.plan_id),
    region: String(row.region),
    status: row.status as SubscriptionStatus,
    billPeriod: row.bill_period as BillingPeriod,
    price: String(row.price),
    anchor: date(row.anchor)!,
    period: Number(row.period),
    currentPeriodStart: date(row.current_period_start)!,
    currentPeriodEnd: date(row.current_period_end)!,
    workflowId: String(row.workflow_id),
    arrearsSince: date(row.arrears_since),
    suspendedAt: date(row.suspended_at),
    canceledAt: date(row.canceled_at),
    createdAt: date(row.created_at)!,
  };
}

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
  const [row] = await em.execute<Row[]>(`select ${COLUMNS} from subscriptions s where s.id = ?${options.forUpdate ? ' for update' : ''}`, [id]);
  return row ? toSubscription(row) : null;
}

/** The tenant's subscription to the plan: the live one, else the latest that ended. */
export async function latestSubscription(em: EntityManager, tenantId: string, planId: string): Promise<Subscription | null> {
  const [row] = await em.execute<Row[]>(
    `select ${COLUMNS} from subscriptions s where s.tenant_id = ? and s.plan_id = ? order by (s.status <> 'canceled') desc, s.created_at desc, s.id desc limit 1`,
    [tenantId, planId],
  );
  return row ? toSubscription(row) : null;
}

/** The tenant's live subscriptions with their plans, oldest first, and whether any subscription ever ended. */
export async function tenantSubscriptions(em: EntityManager, tenantId: string): Promise<{ live: SubscribedPlan[]; anyCanceled: boolean }> {
  const rows = await em.execute<Row[]>(
    `select ${COLUMNS}, p.type as plan_type, p.name as plan_name, p.description as plan_description
       from subscriptions s join plans p on p.plan_id = s.plan_id
      where s.tenant_id = ? and s.status <> 'canceled' order by s.created_at, s.id`,
    [tenantId],
  );
  const [canceled] = await em.execute<{ any: boolean }[]>(`select exists (select 1 from subscriptions where tenant_id = ? and status = 'canceled') as any`, [tenantId]);
  return {
    live: rows.map((row) => ({ ...toSubscription(row), planType: String(row.plan_type), planName: String(row.plan_name), planDescription: String(row.plan_description) })),
    anyCanceled: canceled?.any === true,
  };
}

/** The account's status from its subscriptions (seed 001 `status`; "" when it never subscribed). */
export async function tenantSubscriptionStatus(em: EntityManager, tenantId: string): Promise<SubscriptionStatus | ''> {
  const rows = await em.execute<{ status: SubscriptionStatus }[]>(`select distinct status from subscriptions where tenant_id = ?`, [tenantId]);
  return accountStatus(rows.map((row) => row.status));
}

/** Workflow ids of the tenant's subscriptions that wait for money (arrears or suspended). */
export async function unpaidSubscriptionWorkflowIds(em: EntityManager, tenantId: string): Promise<string[]> {
  const rows = await em.execute<{ workflow_id: string }[]>(`select workflow_id from subscriptions where tenant_id = ? and status in ('arrears', 'suspended') order by id`, [
    tenantId,
  ]);
  return rows.map((row) => row.workflow_id);
}

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
