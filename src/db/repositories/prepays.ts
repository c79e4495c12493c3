/**
 * The prepays read model: one row per prepay (what the API shows and lists), written by the API when it
 * allocates the id (prepay-allocation.ts) and then only by the workflow's activities, in the workflow's order
 * (`sync_seq`). Both writes are SQL, their guards being the point; reads go through the PrepayRecord entity.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../domain/errors.ts';
import { Dec, type Currency } from '../../domain/money.ts';
import type { AppBinding, PrepaySnapshot, PrepayStatus } from '../../domain/prepay.ts';
import { PrepayRecord } from '../entities/prepay.entity.ts';

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

/** Rows are read as snapshots, outside the identity map: they are written with SQL, so a kept entity would be stale. */
const SNAPSHOT = { disableIdentityMap: true } as const;

export function toPrepay(row: PrepayRecord): Prepay {
  return {
    id: row.id,
    tenantId: row.tenantId,
    paymentType: row.paymentType,
    quoteId: row.quoteId ?? null,
    cardId: row.cardId ?? null,
    period: row.period,
    autoRenewal: row.autoRenewal,
    status: row.status,
    amount: new Dec(row.amount),
    usd: new Dec(row.usd),
    cycle: row.cycle,
    monthsRecognized: row.monthsRecognized,
    app:
      row.appId === null || row.appId === undefined
        ? null
        : {
            appId: row.appId,
            clusterId: row.clusterId ?? '',
            chartName: row.chartName ?? '',
            cpuLimit: row.cpuLimit ?? 0,
            memLimit: row.memLimit ?? 0,
            storageLimit: row.storageLimit ?? 0,
            iconUrl: row.iconUrl ?? '',
            projectName: row.projectName ?? '',
          },
    boundAt: row.boundAt ?? null,
    periodStart: row.periodStart ?? null,
    periodEnd: row.periodEnd ?? null,
    failureCode: row.failureCode ?? null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    refundedUsd: new Dec(row.refundedUsd),
    receivedAmount: new Dec(row.receivedAmount),
    paymentDeadline: row.paymentDeadline ?? null,
    depositAddress: row.depositAddress ?? null,
  };
}

export async function findPrepay(em: EntityManager, prePayId: number): Promise<Prepay | null> {
  const row = await em.findOne(PrepayRecord, { id: prePayId }, SNAPSHOT);
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
  if (startingAfter !== undefined && (await em.count(PrepayRecord, { id: startingAfter, tenantId })) === 0) {
    throw new AppError('not_found', `Prepay ${startingAfter} was not found.`, { field: 'starting_after' });
  }
  const rows = await em.find(
    PrepayRecord,
    { tenantId, ...(startingAfter === undefined ? {} : { id: { $lt: startingAfter } }) },
    { ...SNAPSHOT, orderBy: { id: 'desc' }, limit: limit + 1 },
  );
  return { prepays: rows.slice(0, limit).map(toPrepay), hasMore: rows.length > limit };
}

/** The order number of the prepay's stored snapshot (0 before the workflow wrote one). */
export async function prepaySyncSeq(em: EntityManager, prePayId: number): Promise<number | null> {
  const [row] = await em.execute<{ sync_seq: string }[]>('select sync_seq::text as sync_seq from prepays where id = ?', [prePayId]);
  return row ? Number(row.sync_seq) : null;
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
