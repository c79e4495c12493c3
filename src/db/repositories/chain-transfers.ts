/**
 * Writes to a transfer's chain_transfers row that more than one process makes: the delivery (API or
 * watcher) that records and signals it, and the worker's credit that records its movement. Both hold
 * the transfer's lock for their transaction. A row lock is not enough: a delivery inserts the row in
 * the same transaction that signals, and a credit that runs before that transaction commits would not
 * see the row at all, so its `movement_id` would never be written (seen on a starved core).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Dec, TokenCurrency } from '../../domain/money.ts';
import { transferKey, type TransferIdentity } from '../../domain/token-transfer.ts';

/** A transaction-scoped advisory lock on one transfer's identity; released at commit or rollback. */
export async function lockTransfer(tx: EntityManager, identity: TransferIdentity): Promise<void> {
  await tx.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`chain-transfer:${transferKey(identity)}`]);
}

/** Records the movement that credited the transfer on its row (when the row exists yet; the delivery records it otherwise). */
export async function recordTransferMovement(tx: EntityManager, identity: TransferIdentity, movementId: string, now: Date): Promise<void> {
  await tx.execute('update chain_transfers set movement_id = ?, updated_at = ? where chain_id = ? and tx_hash = ? and log_index = ? and movement_id is null', [
    movementId,
    now,
    identity.chainId,
    identity.txHash,
    identity.logIndex,
  ]);
}

/** The movement that credited the transfer, when its credit has landed. */
export async function settledTransferMovement(tx: EntityManager, movementId: string): Promise<string | null> {
  const [row] = await tx.execute<{ id: string }[]>(`select id from money_movements where id = ? and status = 'finish'`, [movementId]);
  return row?.id ?? null;
}

/**
 * Reserves a credited transfer's amount for the token prepay whose first payment it counts toward (decision
 * 0052), in the credit's transaction: no other payment from the balance can take it meanwhile.
 */
export async function reserveTransfer(
  tx: EntityManager,
  identity: TransferIdentity,
  reservation: { prePayId: number; tenantId: string; currency: TokenCurrency; amount: Dec },
): Promise<void> {
  await tx.execute(
    `insert into token_payment_reservations (chain_id, tx_hash, log_index, prepay_id, tenant_id, currency, amount)
     values (?, ?, ?, ?, ?, ?, ?::numeric) on conflict do nothing`,
    [identity.chainId, identity.txHash, identity.logIndex, reservation.prePayId, reservation.tenantId, reservation.currency, reservation.amount.toFixed()],
  );
}
