/**
 * The prepays read model: one row per prepay (what the API shows and lists), written by the API when it
 * allocates the id and then only by the workflow's activities, in the workflow's order (`sync_seq`).
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../domain/errors.ts';
import { Dec, type Currency, type TokenCurrency } from '../../domain/money.ts';
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

interface PrepayRow {
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

const COLUMNS = `id::text as id, tenant_id, payment_type, quote_id, card_id, period, auto_renewal, status, amount::text as amount,
  usd::text as usd, cycle, months_recognized, app_id, cluster_id, chart_name, cpu_limit, mem_limit, storage_limit, icon_url,
  project_name, bound_at, period_start, period_end, failure_code, created_at, updated_at,
  (select coalesce(sum(pp.refunded_usd), 0) from prepay_payments pp where pp.prepay_id = prepays.id)::text as refunded_usd,
  received_amount::text as received_amount, payment_deadline,
  (select d.address from deposit_addresses d where d.pre_pay_id = prepays.id) as deposit_address`;

const toDateOrNull = (value: Date | string | null): Date | null => (value === null ? null : toDate(value));

function toPrepay(row: PrepayRow): Prepay {
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

export interface NewCardPrepay {
  tenantId: string;
  cardId: string;
  quoteId: string | null;
  period: number;
  autoRenewal: boolean;
  /** USD */
  amount: Dec;
  /** with an Idempotency-Key: its owner, key and generation, so that a retry gets the same pre_pay_id */
  idempotency: PrepayIdempotency | null;
}

/**
 * The Idempotency-Key claim that allocates a prepay. `generation` is the claim's (decision 0070): a prepay
 * allocated under another generation of the same key belongs to an earlier request. Null for a claim made
 * before migration 0009, whose prepays are matched by owner and key within `retentionHours` as before.
 */
export interface PrepayIdempotency {
  owner: string;
  key: string;
  /** undefined is null: a claim without a generation */
  generation?: string | null;
  retentionHours: number;
}

export interface NewTokenPrepay {
  tenantId: string;
  paymentType: TokenCurrency;
  quoteId: string;
  period: number;
  autoRenewal: boolean;
  /** token units, from the quote */
  amount: Dec;
  /** the quote's USD total */
  usd: Dec;
  /** the quote's rate-lock expiry: the first payment must have arrived by then */
  paymentDeadline: Date;
  idempotency: PrepayIdempotency | null;
}

/** A card prepay's pre_pay_id (see allocatePrepay). */
export async function allocateCardPrepay(em: EntityManager, input: NewCardPrepay, now: Date): Promise<{ prepay: Prepay; created: boolean }> {
  const fingerprint = [input.tenantId, input.cardId, input.quoteId, input.period, input.autoRenewal, input.amount.toFixed()];
  return allocatePrepay(em, { ...input, paymentType: 'USD', usd: input.amount, paymentDeadline: null, fingerprint }, now);
}

/** A token prepay's pre_pay_id (see allocatePrepay). */
export async function allocateTokenPrepay(em: EntityManager, input: NewTokenPrepay, now: Date): Promise<{ prepay: Prepay; created: boolean }> {
  const fingerprint = [input.tenantId, input.paymentType, input.quoteId, input.period, input.autoRenewal, input.amount.toFixed()];
  return allocatePrepay(em, { ...input, cardId: null, fingerprint }, now);
}

/**
 * Allocates a pre_pay_id and writes the prepay as `awaiting_payment`. With an Idempotency-Key, a retry
 * (after a lost answer or a crashed API) gets the prepay of the first request, for as long as the key is
 * kept; the same key asking for another prepay (another `fingerprint` of the request) is a 422.
 */
async function allocatePrepay(
  em: EntityManager,
  input: Omit<NewTokenPrepay, 'paymentType' | 'quoteId' | 'paymentDeadline'> & {
    paymentType: Currency;
    cardId: string | null;
    quoteId: string | null;
    paymentDeadline: Date | null;
    fingerprint: unknown[];
  },
  now: Date,
): Promise<{ prepay: Prepay; created: boolean }> {
  const amount = input.amount.toFixed();
  const fingerprint = input.idempotency ? createHash('sha256').update(JSON.stringify(input.fingerprint)).digest('hex') : null;
  if (input.idempotency) await retireEarlierGenerations(em, input.idempotency, now);
  const inserted = await em.execute<PrepayRow[]>(
    `insert into prepays (tenant_id, payment_type, quote_id, card_id, period, auto_renewal, status, amount, usd, payment_deadline,
                          idempotency_owner, idempotency_key, idempotency_fingerprint, idempotency_generation, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, 'awaiting_payment', ?::numeric, ?::numeric, ?, ?, ?, ?, ?::bigint, ?, ?)
     on conflict (idempotency_owner, idempotency_key) do nothing returning ${COLUMNS}`,
    [
      input.tenantId,
      input.paymentType,
      input.quoteId,
      input.cardId,
      input.period,
      input.autoRenewal,
      amount,
      input.usd.toFixed(),
      input.paymentDeadline,
      input.idempotency?.owner ?? null,
      input.idempotency?.key ?? null,
      fingerprint,
      input.idempotency?.generation ?? null,
      now,
      now,
    ],
  );
  if (inserted[0]) return { prepay: toPrepay(inserted[0]), created: true };

  const [existing] = await em.execute<(PrepayRow & { idempotency_fingerprint: string })[]>(
    `select ${COLUMNS}, idempotency_fingerprint from prepays where idempotency_owner = ? and idempotency_key = ?`,
    [input.idempotency?.owner ?? null, input.idempotency?.key ?? null],
  );
  if (!existing) throw new Error('a prepay with this idempotency key vanished');
  if (existing.idempotency_fingerprint !== fingerprint) {
    throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used for another prepayment; use a new key for a new request.', { field: 'Idempotency-Key' });
  }
  return { prepay: toPrepay(existing), created: false };
}

/**
 * A key gives up the prepays of its earlier requests: those of another generation (the key was reused after
 * its retention), and those allocated before migration 0009 once older than the retention.
 */
async function retireEarlierGenerations(em: EntityManager, idempotency: PrepayIdempotency, now: Date): Promise<void> {
  await em.execute(
    `update prepays set idempotency_owner = null, idempotency_key = null, idempotency_fingerprint = null, idempotency_generation = null
      where idempotency_owner = ? and idempotency_key = ?
        and ((idempotency_generation is not null and idempotency_generation is distinct from ?::bigint)
             or created_at < ?::timestamptz - make_interval(hours => ?))`,
    [idempotency.owner, idempotency.key, idempotency.generation ?? null, now, idempotency.retentionHours],
  );
}

/**
 * The prepay that this Idempotency-Key claim already allocated (a retry after a lost answer or a crashed API),
 * or null. Read before the request's checks, so that a retry re-attaches to its prepay whatever time changed.
 */
export async function findIdempotentPrepay(em: EntityManager, idempotency: PrepayIdempotency, now: Date): Promise<Prepay | null> {
  const [row] = await em.execute<PrepayRow[]>(
    `select ${COLUMNS} from prepays
      where idempotency_owner = ? and idempotency_key = ?
        and (idempotency_generation = ?::bigint
             or (idempotency_generation is null and created_at >= ?::timestamptz - make_interval(hours => ?)))`,
    [idempotency.owner, idempotency.key, idempotency.generation ?? null, now, idempotency.retentionHours],
  );
  return row ? toPrepay(row) : null;
}

export async function findPrepay(em: EntityManager, prePayId: number): Promise<Prepay | null> {
  const [row] = await em.execute<PrepayRow[]>(`select ${COLUMNS} from prepays where id = ?`, [prePayId]);
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
  const rows = await em.execute<PrepayRow[]>(`select ${COLUMNS} from prepays where tenant_id = ? and (?::bigint is null or id < ?::bigint) order by id desc limit ?`, [
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
export { monthlyPayments, type MonthlyPayments } from './invoices.ts';
