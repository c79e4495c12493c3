/**
 * Money movements (`trans_id`, what /payment/v1/amounts lists) and the ledger transactions behind
 * them. Each function is one database transaction and is safe to repeat (activities are retried).
 */
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { MoneyMovement, type PaymentMethod } from '../db/entities/index.ts';
import { AppError } from '../domain/errors.ts';
import { Dec, type Currency } from '../domain/money.ts';
import { platform, tenantBalance, type PlatformAccount } from './accounts.ts';
import { creditInBatch } from './credit-batches.ts';
import { recordTransaction, reversalPostings, tenantBalances } from './ledger.ts';

export interface NewMovement {
  id: string;
  tenantId: string;
  kind: string;
  currency: Currency;
  amount: Dec;
  paymentMethod: PaymentMethod;
  description: string;
  cardId?: string | null;
}

/** Creates a pending movement; an existing one with that id is returned as it is (retries, replays). */
export async function createPendingMovement(em: EntityManager, input: NewMovement, now: Date): Promise<MoneyMovement> {
  await em.execute(
    `insert into money_movements (id, tenant_id, kind, currency, amount, payment_method, description, status, card_id, created_at, updated_at)
     values (?, ?, ?, ?, ?::numeric, ?, ?, 'pending', ?, ?, ?) on conflict (id) do nothing`,
    [input.id, input.tenantId, input.kind, input.currency, input.amount.toFixed(), input.paymentMethod, input.description, input.cardId ?? null, now, now],
  );
  const movement = await em.fork().findOne(MoneyMovement, { id: input.id });
  if (!movement) throw new Error(`movement ${input.id} was not written`);
  if (movement.tenantId !== input.tenantId) throw new Error(`movement ${input.id} belongs to another tenant`);
  return movement;
}

/** Where the money of a credit to a tenant balance comes from, by payment method. */
const CREDIT_SOURCE: Record<'card' | 'manual' | 'token', PlatformAccount> = { card: 'card_clearing', manual: 'manual_funding', token: 'token_clearing' };

/**
 * Writes a new credit movement, settled: with the new credits that arrive meanwhile, in one database
 * transaction (group commit, credit-batches.ts), or, when the batch cannot take it, one by one
 * (createPendingMovement, then settleCredit). Answers the tenant's balance after its credit: right after it in a
 * batch, as read after its commit one by one. A movement that may exist already (a retry) is settled with
 * settleCredit instead.
 */
export async function creditNewMovement(em: EntityManager, input: NewMovement & { paymentMethod: 'card' | 'manual' | 'token' }, now: Date): Promise<Dec> {
  const settled = await creditInBatch(em, { ...input, source: CREDIT_SOURCE[input.paymentMethod], now }, async (alone) => {
    await createPendingMovement(alone, input, now);
    const movement = await settleCredit(alone, input.id, {}, now);
    return { balance: (await tenantBalances(alone, input.tenantId))[input.currency], transactionId: movement.ledgerTransactionId! };
  });
  return settled.balance;
}

/**
 * Settles a pending credit movement: the ledger moves the money into the tenant's balance (key
 * `movement-{id}`) and the movement becomes `finish`, in one database transaction. Repeating it is a no-op.
 */
export async function settleCredit(em: EntityManager, movementId: string, details: { gatewayChargeId?: string | null }, now: Date): Promise<MoneyMovement> {
  return em.transactional(async (tx) => {
    const movement = await tx.findOne(MoneyMovement, { id: movementId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!movement) throw new Error(`movement ${movementId} not found`);
    if (movement.status === 'finish' || movement.status === 'refunded') return movement;
    if (movement.status === 'failed') throw new Error(`movement ${movementId} failed and cannot be settled`);
    const source = CREDIT_SOURCE[movement.paymentMethod as 'card' | 'manual' | 'token'];
    if (!source) throw new Error(`movement ${movementId} is not a credit (${movement.paymentMethod})`);
    const amount = new Dec(movement.amount);
    const { transactionId } = await recordTransaction(tx, {
      idempotencyKey: `movement-${movement.id}`,
      tenantId: movement.tenantId,
      kind: movement.kind,
      description: movement.description,
      postings: [
        { account: platform(source, movement.currency), amount: amount.negated() },
        { account: tenantBalance(movement.tenantId, movement.currency), amount },
      ],
      metadata: { movement_id: movement.id, gateway_charge_id: details.gatewayChargeId ?? null },
    });
    movement.status = 'finish';
    movement.ledgerTransactionId = transactionId;
    movement.gatewayChargeId = details.gatewayChargeId ?? movement.gatewayChargeId ?? null;
    movement.updatedAt = now;
    await tx.flush();
    return movement;
  });
}

/** Marks a pending movement failed (a declined card); nothing moved. Repeating it is a no-op. */
export async function failMovement(em: EntityManager, movementId: string, failure: { code: string; message: string }, now: Date): Promise<MoneyMovement> {
  return em.transactional(async (tx) => {
    const movement = await tx.findOne(MoneyMovement, { id: movementId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!movement) throw new Error(`movement ${movementId} not found`);
    if (movement.status !== 'pending') return movement;
    movement.status = 'failed';
    movement.failureCode = failure.code;
    movement.failureMessage = failure.message;
    movement.updatedAt = now;
    await tx.flush();
    return movement;
  });
}

/**
 * Reverses a finished movement in the ledger (key `refund-{id}`) and marks it `refunded`, once.
 * A movement that is not `finish` is a 409; a tenant balance that no longer holds the money is a 402.
 */
export async function reverseMovement(em: EntityManager, movementId: string, reason: string, now: Date): Promise<MoneyMovement> {
  return em.transactional(async (tx) => {
    const movement = await tx.findOne(MoneyMovement, { id: movementId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!movement) throw new AppError('not_found', `Transaction ${movementId} was not found.`, { field: 'trans_id' });
    if (movement.status === 'refunded' && movement.refundLedgerTransactionId) return movement;
    if (movement.status === 'finish' && movement.refundLedgerTransactionId) {
      // A refund was booked and undone because the gateway refused it: its key is spent; an operator refunds by hand.
      throw new AppError('conflict', `The card gateway refused the refund of transaction ${movementId}; an operator must return the money another way.`, { field: 'trans_id' });
    }
    if (movement.status !== 'finish' || !movement.ledgerTransactionId) {
      throw new AppError('conflict', `Transaction ${movementId} is ${movement.status} and cannot be refunded.`, { field: 'trans_id' });
    }
    const { transactionId } = await recordTransaction(tx, {
      idempotencyKey: `refund-${movement.id}`,
      tenantId: movement.tenantId,
      kind: 'refund',
      description: `Refund of ${movement.id}: ${reason}`,
      postings: await reversalPostings(tx, movement.ledgerTransactionId),
      reversesId: movement.ledgerTransactionId,
      metadata: { movement_id: movement.id, reason },
    });
    movement.status = 'refunded';
    movement.refundLedgerTransactionId = transactionId;
    movement.refundReason = reason;
    movement.updatedAt = now;
    await tx.flush();
    return movement;
  });
}

/**
 * Undoes the ledger side of a refund the card gateway refused for good (key `refund-{id}-undone`): the money
 * goes back to the tenant's balance and the movement is `finish` again, with its refund transaction kept for
 * the record. Repeating it is a no-op.
 */
export async function undoMovementReversal(em: EntityManager, movementId: string, reason: string, now: Date): Promise<MoneyMovement> {
  return em.transactional(async (tx) => {
    const movement = await tx.findOne(MoneyMovement, { id: movementId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!movement?.refundLedgerTransactionId) throw new Error(`movement ${movementId} has no refund to undo`);
    if (movement.status === 'finish') return movement;
    await recordTransaction(tx, {
      idempotencyKey: `refund-${movement.id}-undone`,
      tenantId: movement.tenantId,
      kind: 'refund_undone',
      description: `Refund of ${movement.id} undone: ${reason}`,
      postings: await reversalPostings(tx, movement.refundLedgerTransactionId),
      reversesId: movement.refundLedgerTransactionId,
      metadata: { movement_id: movement.id, reason },
    });
    movement.status = 'finish';
    movement.updatedAt = now;
    await tx.flush();
    return movement;
  });
}

export async function recordGatewayRefund(em: EntityManager, movementId: string, refundId: string, now: Date): Promise<void> {
  await em.execute('update money_movements set gateway_refund_id = ?, updated_at = ? where id = ?', [refundId, now, movementId]);
}

export async function findTenantMovement(em: EntityManager, tenantId: string, movementId: string): Promise<MoneyMovement | null> {
  return em.findOne(MoneyMovement, { id: movementId, tenantId });
}

/** The movements of one of the tenant's balances, newest first; `startingAfter` is the last trans_id of the previous page. */
export async function listMovements(
  em: EntityManager,
  tenantId: string,
  currency: Currency,
  limit: number,
  startingAfter?: string,
): Promise<{ movements: MoneyMovement[]; hasMore: boolean }> {
  let cursor: MoneyMovement | null = null;
  if (startingAfter) {
    cursor = await findTenantMovement(em, tenantId, startingAfter);
    if (!cursor || cursor.currency !== currency) throw new AppError('not_found', `Transaction ${startingAfter} was not found.`, { field: 'starting_after' });
  }
  const where = cursor ? { tenantId, currency, $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $lt: cursor.id } }] } : { tenantId, currency };
  const rows = await em.find(MoneyMovement, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
  return { movements: rows.slice(0, limit), hasMore: rows.length > limit };
}
