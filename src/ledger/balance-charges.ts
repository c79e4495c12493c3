/**
 * Charges paid from a tenant's balance (plan subscriptions): the ledger moves the money from the tenant's
 * balance to revenue and a `balance` money movement (what `/payment/v1/amounts` lists) records it, in one
 * database transaction (a nested one when the caller already holds a transaction). Once per key.
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Dec } from '../domain/money.ts';
import { platform, tenantBalance } from './accounts.ts';
import { recordTransaction } from './ledger.ts';

export interface BalanceChargeInput {
  /** the ledger idempotency key, e.g. `subscription-{id}-period-{n}` */
  idempotencyKey: string;
  tenantId: string;
  kind: string;
  /** USD */
  amount: Dec;
  /** what the customer reads in the amounts list (the plan's name) */
  description: string;
  metadata?: Record<string, unknown>;
}

export interface BalanceCharge {
  /** the movement's `trans_id` */
  movementId: string;
  ledgerTransactionId: string;
  /** false when the key had been charged before (nothing new moved) */
  created: boolean;
}

/** The movement id of a balance charge, derived from its ledger key so that a repeated charge finds it. */
export function balanceChargeMovementId(idempotencyKey: string): string {
  return `tr_${createHash('sha256').update(`balance-charge\n${idempotencyKey}`).digest('base64url').slice(0, 22)}`;
}

/**
 * Takes `amount` from the tenant's USD balance, once per key. A balance that does not suffice throws
 * InsufficientBalanceError and writes nothing.
 */
export async function chargeFromBalance(em: EntityManager, input: BalanceChargeInput, now: Date): Promise<BalanceCharge> {
  const movementId = balanceChargeMovementId(input.idempotencyKey);
  return em.transactional(async (tx) => {
    const { transactionId, created } = await recordTransaction(tx, {
      idempotencyKey: input.idempotencyKey,
      tenantId: input.tenantId,
      kind: input.kind,
      description: input.description,
      postings: [
        { account: tenantBalance(input.tenantId, 'USD'), amount: input.amount.negated() },
        { account: platform('revenue', 'USD'), amount: input.amount },
      ],
      metadata: { ...(input.metadata ?? {}), movement_id: movementId },
    });
    await tx.execute(
      `insert into money_movements (id, tenant_id, kind, currency, amount, payment_method, description, status, ledger_transaction_id, created_at, updated_at)
       values (?, ?, ?, 'USD', ?::numeric, 'balance', ?, 'finish', ?, ?, ?) on conflict (id) do nothing`,
      [movementId, input.tenantId, input.kind, input.amount.toFixed(), input.description, transactionId, now, now],
    );
    return { movementId, ledgerTransactionId: transactionId, created };
  });
}
