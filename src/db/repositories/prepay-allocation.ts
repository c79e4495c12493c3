/**
 * A prepay's pre_pay_id, allocated by the API before its workflow starts, and found again by the
 * Idempotency-Key claim that allocated it (a retry after a lost answer or a crashed API).
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../domain/errors.ts';
import type { Currency, Dec, TokenCurrency } from '../../domain/money.ts';
import { findPrepay, type Prepay } from './prepays.ts';

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
  const inserted = await em.execute<{ id: string }[]>(
    `insert into prepays (tenant_id, payment_type, quote_id, card_id, period, auto_renewal, status, amount, usd, payment_deadline,
                          idempotency_owner, idempotency_key, idempotency_fingerprint, idempotency_generation, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, 'awaiting_payment', ?::numeric, ?::numeric, ?, ?, ?, ?, ?::bigint, ?, ?)
     on conflict (idempotency_owner, idempotency_key) do nothing returning id::text as id`,
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
  if (inserted[0]) return { prepay: await allocated(em, inserted[0].id), created: true };

  const [existing] = await em.execute<{ id: string; idempotency_fingerprint: string }[]>(
    `select id::text as id, idempotency_fingerprint from prepays where idempotency_owner = ? and idempotency_key = ?`,
    [input.idempotency?.owner ?? null, input.idempotency?.key ?? null],
  );
  if (!existing) throw new Error('a prepay with this idempotency key vanished');
  if (existing.idempotency_fingerprint !== fingerprint) {
    throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used for another prepayment; use a new key for a new request.', { field: 'Idempotency-Key' });
  }
  return { prepay: await allocated(em, existing.id), created: false };
}

/** The prepay just allocated (or found by its key), read in the same transaction. */
async function allocated(em: EntityManager, id: string): Promise<Prepay> {
  const prepay = await findPrepay(em, Number(id));
  if (!prepay) throw new Error(`prepay ${id} vanished within its own transaction`);
  return prepay;
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
  const [row] = await em.execute<{ id: string }[]>(
    `select id::text as id from prepays
      where idempotency_owner = ? and idempotency_key = ?
        and (idempotency_generation = ?::bigint
             or (idempotency_generation is null and created_at >= ?::timestamptz - make_interval(hours => ?)))`,
    [idempotency.owner, idempotency.key, idempotency.generation ?? null, now, idempotency.retentionHours],
  );
  return row ? findPrepay(em, Number(row.id)) : null;
}
