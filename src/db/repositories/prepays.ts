/**
 * The prepays read model: one row per prepay (what the API shows and lists), written by the API when it
 * allocates the id (prepay-allocation.ts) and then only by the workflow's activities, in the workflow's order
 * (`sync_seq`).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../domain/errors.ts';
import { Dec, type Currency } from '../../domain/money.ts';
import type { AppBinding, PrepaySnapshot, PrepayStatus } from '../../domain/prepay.ts';
import { toDate } from '../rows.ts';

export interface Prepay {
  id: number;
  tenantId: string;
  paymentType: Currency;
  quoteId: string | null;
  cardId: string | null;
  period: number;
  autoRenewal: boolean;
  status: PrepayStatus;
  amount: Dec;
  usd: Dec;
  cycle: number;
  monthsRecognized: number;
  app: AppBinding | null;
  boundAt: Date | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  failureCode: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** USD refunded over all cycles */
  refundedUsd: Dec;
  /** token prepays: token units counted toward the first payment so far */
  receivedAmount: Dec;
  /** token prepays: when the first payment's window closes (the quote's rate-lock expiry) */
  paymentDeadline: Date | null;
  /** token prepays: the deposit address, lower-case */
  depositAddress: string | null;
}

/** A prepays row as PREPAY_COLUMNS selects it. */
export interface PrepayRow {
  id: string;
  tenant_id: string;
  payment_type: Currency;
  quote_id: string | null;
  card_id: string | null;
  period: number;
  auto_renewal: boolean;
  status: PrepayStatus;
  amount: string;
  usd: string;
  cycle: number;
  months_recognized: number;
  app_id: string | null;
  cluster_id: string | null;
  chart_name: string | null;
  cpu_limit: number | null;
  mem_limit: number | null;
  storage_limit: number | null;
  icon_url: string | null;
  project_name: string | null;
  bound_at: Date | string | null;
  period_start: Date | string | null;
  period_end: Date | string | null;
  failure_code: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  refunded_usd: string;
  received_amount: string;
  payment_deadline: Date | string | null;
  deposit_address: string | null;
}

/** The columns toPrepay reads, as text where exact. */
export const PREPAY_COLUMNS = `id::text as id, tenant_id, payment_type, quote_id, card_id, period, auto_renewal, status, amount::text as amount,
  usd::text as usd, cycle, months_recognized, app_id, cluster_id, chart_name, cpu_limit, mem_limit, storage_limit, icon_url,
  project_name, bound_at, period_start, period_end, failure_code, created_at, updated_at,
  (select coalesce(sum(pp.refunded_usd), 0) from prepay_payments pp where pp.prepay_id = prepays.id)::text as refunded_usd,
  received_amount::text as received_amount, payment_deadline,
  (select d.address from deposit_addresses d where d.pre_pay_id = prepays.id) as deposit_address`;

const toDateOrNull = (value: Date | string | null): Date | null => (value === null ? null : toDate(value));

export function toPrepay(row: PrepayRow): Prepay {
  return {
    id: Number(row.id),
    tenantId: row.tenant_id,
    paymentType: row.payment_type,
    quoteId: row.quote_id,
    cardId: row.card_id,
    period: row.period,
    autoRenewal: row.auto_renewal,
    status: row.status,
    amount: new Dec(row.amount),
    usd: new Dec(row.usd),
    cycle: row.cycle,
    monthsRecognized: row.months_recognized,
    app:
      row.app_id === null
        ? null
        : {
            appId: row.app_id,
            clusterId: row.cluster_id ?? '',
            chartName: row.chart_name ?? '',
            cpuLimit: row.cpu_limit ?? 0,
            memLimit: row.mem_limit ?? 0,
            storageLimit: row.storage_limit ?? 0,
            iconUrl: row.icon_url ?? '',
            projectName: row.project_name ?? '',
          },
    boundAt: toDateOrNull(row.bound_at),
    periodStart: toDateOrNull(row.period_start),
    periodEnd: toDateOrNull(row.period_end),
    failureCode: row.failure_code,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    refundedUsd: new Dec(row.refunded_usd),
    receivedAmount: new Dec(row.received_amount),
    paymentDeadline: toDateOrNull(row.payment_deadline),
    depositAddress: row.deposit_address,
  };
}

export async function findPrepay(em: EntityManager, prePayId: number): Promise<Prepay | null> {
  const [row] = await em.execute<PrepayRow[]>(`select ${PREPAY_COLUMNS} from prepays where id = ?`, [prePayId]);
  return row ? toPrepay(row) : null;
}

/** The tenant's prepay, or null (another tenant's prepay is "not found"). */
export async function findTenantPrepay(em: EntityManager, tenantId: string, prePayId: number): Promise<Prepay | null> {
  const prepay = await findPrepay(em, prePayId);
  return prepay && prepay.tenantId === tenantId ? prepay : null;
}

/**
 * Newest first; `startingAfter` is the last pre_pay_id of the previous page. A cursor that names no prepay
 * of the tenant (unknown, or another tenant's) is a 404 on `starting_after`, as on every list (decision 0060).
 */
export async function listTenantPrepays(em: EntityManager, tenantId: string, limit: number, startingAfter?: number): Promise<{ prepays: Prepay[]; hasMore: boolean }> {
  if (startingAfter !== undefined) {
    const [cursor] = await em.execute<{ id: string }[]>('select id::text as id from prepays where id = ? and tenant_id = ?', [startingAfter, tenantId]);
    if (!cursor) throw new AppError('not_found', `Prepay ${startingAfter} was not found.`, { field: 'starting_after' });
  }
  const rows = await em.execute<PrepayRow[]>(`select ${PREPAY_COLUMNS} from prepays where tenant_id = ? and (?::bigint is null or id < ?::bigint) order by id desc limit ?`, [
    tenantId,
    startingAfter ?? null,
    startingAfter ?? null,
    limit + 1,
  ]);
  return { prepays: rows.slice(0, limit).map(toPrepay), hasMore: rows.length > limit };
}

/**
 * Writes the workflow's state; a snapshot older than the stored one (a late retry) changes nothing. A
 * snapshot without `received` (card prepays, later token cycles) leaves the received amount as it is.
 */
export async function writePrepaySnapshot(em: EntityManager, snapshot: PrepaySnapshot, seq: number, now: Date): Promise<boolean> {
  const app = snapshot.app;
  const rows = await em.execute<{ id: string }[]>(
    `update prepays set status = ?, cycle = ?, card_id = ?, auto_renewal = ?, amount = ?::numeric, usd = ?::numeric,
       received_amount = coalesce(?::numeric, received_amount), months_recognized = ?,
       app_id = ?, cluster_id = ?, chart_name = ?, cpu_limit = ?, mem_limit = ?, storage_limit = ?, icon_url = ?, project_name = ?,
       bound_at = ?, period_start = ?, period_end = ?, failure_code = ?, sync_seq = ?, updated_at = ?
     where id = ? and sync_seq < ? returning id::text as id`,
    [
      snapshot.status,
      snapshot.cycle,
      snapshot.cardId,
      snapshot.autoRenewal,
      snapshot.amount,
      snapshot.usd ?? snapshot.amount,
      snapshot.received ?? null,
      snapshot.monthsRecognized,
      app?.appId ?? null,
      app?.clusterId ?? null,
      app?.chartName ?? null,
      app?.cpuLimit ?? null,
      app?.memLimit ?? null,
      app?.storageLimit ?? null,
      app?.iconUrl ?? null,
      app?.projectName ?? null,
      snapshot.boundAt ? new Date(snapshot.boundAt) : null,
      snapshot.periodStart ? new Date(snapshot.periodStart) : null,
      snapshot.periodEnd ? new Date(snapshot.periodEnd) : null,
      snapshot.failureCode,
      seq,
      now,
      snapshot.prePayId,
      seq,
    ],
  );
  return rows.length > 0;
}

// The invoice report moved to ./invoices.ts; kept here for the tests that read it from this module.
