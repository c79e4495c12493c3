/**
 * Delivery of an observed token transfer: the one path by which the built-in watcher and the watcher
 * route hand a transfer to the engine. A transfer's identity is (chain_id, tx_hash, log_index); its row
 * in chain_transfers is locked while it is acted on, so concurrent deliveries of the same transfer
 * (two watchers, a replayed route call, a restart) act once:
 *
 * * below the confirmation depth: recorded `seen` with its confirmations, nothing else;
 * * to an address that is not one of ours: recorded `seen` and logged, never credited;
 * * to the deposit address of an open prepay, in its token: the `tokenTransfer` signal to `prepay-{id}`;
 * * otherwise (the prepay's workflow is closed or never ran, or another token was sent): the
 *   CreditTransferWorkflow credits the team's balance in that token. A late transfer is never lost.
 *
 * The action happens before the row says so, inside the row's transaction: a crash in between leaves
 * the row `seen` and the next delivery acts again. The transfer's lock (lockTransfer) is held for the
 * transaction, so a credit the signal causes waits for the row and records its movement there. Crediting is idempotent by the workflow id; a signal
 * may then be sent twice, so the prepay workflow counts each identity once.
 */
import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import { Dec, type TokenCurrency } from '../domain/money.ts';
import { lockTransfer, settledTransferMovement } from '../db/repositories/chain-transfers.ts';
import { installationOf } from '../db/repositories/installation.ts';
import type { CreditTransferReason, TokenTransferSignal, TransferIdentity } from '../domain/token-transfer.ts';
import type { Logger } from '../logger.ts';
import { signalTokenTransfer, startCreditTransfer } from '../temporal/transfers.ts';
import { findDepositAddress } from './deposit-address.ts';
import { transferMovementId } from './identity.ts';

export interface ObservedTransfer extends TransferIdentity {
  token: TokenCurrency;
  /** lower-case 0x addresses */
  from: string;
  to: string;
  /** token units, exact */
  amount: Dec;
  blockNumber: number;
  /** lower-case 0x hash */
  blockHash: string;
  /** the block's timestamp, when the observer read it */
  blockTime?: Date;
  /** blocks on top of and including the transfer's block, as its observer saw it */
  confirmations: number;
}

export type TransferStatus = 'seen' | 'signalled' | 'credited' | 'orphaned';

export type DeliveryReason = 'below_depth' | 'unknown_address' | 'too_large' | 'orphaned' | 'prepay_open' | 'already_delivered' | CreditTransferReason;

export interface DeliveryOutcome {
  status: TransferStatus;
  reason: DeliveryReason;
  /** true when an earlier delivery had already acted on this transfer */
  duplicate: boolean;
  tenantId: string | null;
  prePayId: number | null;
  movementId: string | null;
}

export interface DeliveryDeps {
  em: EntityManager;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  now: Date;
}

export interface DeliveryOptions {
  /** whether the transfer is as deep as the chain settings require (the caller knows how it counts) */
  atDepth: boolean;
  source: 'watcher' | 'route';
}

/** A different transfer was already recorded under this identity: a broken or lying reporter. */
export class TransferConflictError extends AppError {
  constructor(identity: TransferIdentity) {
    super('conflict', `A different transfer was already recorded as ${identity.txHash} log ${identity.logIndex} on chain ${identity.chainId}.`, { field: 'tx_hash' });
  }
}

/** money_movements holds 20 integer digits; a larger transfer waits for an operator instead of failing a workflow forever. */
const LARGEST_CREDITABLE = new Dec('1e20');

interface TransferRow {
  id: string;
  token: TokenCurrency;
  from_address: string;
  to_address: string;
  amount: string;
  block_number: string;
  block_hash: string;
  confirmations: number;
  status: TransferStatus;
  tenant_id: string | null;
  pre_pay_id: string | null;
  movement_id: string | null;
  /** when a deep reorg took its block (the raw timestamp); null when its block is canonical */
  reorged_at: string | null;
}

export async function deliverTransfer(deps: DeliveryDeps, transfer: ObservedTransfer, options: DeliveryOptions): Promise<DeliveryOutcome> {
  const normalised = normalise(transfer);
  return deps.em.transactional(async (tx) => {
    // Before the row: a credit of this transfer running meanwhile waits for this transaction (see lockTransfer).
    await lockTransfer(tx, normalised);
    const row = await lockRow(tx, normalised, options.source, deps.now);
    const outcome = (status: TransferStatus, reason: DeliveryReason, extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome => ({
      status,
      reason,
      duplicate: false,
      tenantId: row.tenant_id,
      prePayId: row.pre_pay_id === null ? null : Number(row.pre_pay_id),
      movementId: row.movement_id,
      ...extra,
    });

    const sameBlock = row.block_hash === normalised.blockHash;
    if (row.status === 'signalled' || row.status === 'credited') {
      if (row.reorged_at !== null && !sameBlock && options.atDepth) {
        // A credited transfer whose block a deep reorg took, re-mined in another block: its credit was right after all.
        await tx.execute('update chain_transfers set reorged_at = null, block_number = ?, block_hash = ?, confirmations = ?, updated_at = ? where id = ?', [
          normalised.blockNumber,
          normalised.blockHash,
          normalised.confirmations,
          deps.now,
          row.id,
        ]);
        deps.logger.info(
          { txHash: normalised.txHash, logIndex: normalised.logIndex, blockNumber: normalised.blockNumber },
          'a reorged credited transfer was re-mined; its credit stands',
        );
      }
      return outcome(row.status, 'already_delivered', { duplicate: true });
    }
    // An orphaned transfer comes back only when it is reported in another block (re-mined after a reorg).
    if (row.status === 'orphaned' && sameBlock) return outcome('orphaned', 'orphaned');
    await tx.execute(
      `update chain_transfers set status = 'seen', block_number = ?, block_hash = ?, confirmations = ?,
              block_time = case when ? then coalesce(?::timestamptz, block_time) else ?::timestamptz end, updated_at = ? where id = ?`,
      [
        normalised.blockNumber,
        normalised.blockHash,
        sameBlock ? Math.max(row.confirmations, normalised.confirmations) : normalised.confirmations,
        sameBlock,
        normalised.blockTime ?? null,
        normalised.blockTime ?? null,
        deps.now,
        row.id,
      ],
    );
    if (!options.atDepth) return outcome('seen', 'below_depth');

    const deposit = await findDepositAddress(tx, normalised.chainId, normalised.to);
    if (!deposit) {
      deps.logger.warn(
        { chainId: normalised.chainId, txHash: normalised.txHash, logIndex: normalised.logIndex, to: normalised.to },
        'token transfer to an address that is not a deposit address; recorded, not credited',
      );
      return outcome('seen', 'unknown_address');
    }
    await tx.execute('update chain_transfers set tenant_id = ?, pre_pay_id = ? where id = ?', [deposit.tenantId, deposit.prePayId, row.id]);
    const owner = { tenantId: deposit.tenantId, prePayId: deposit.prePayId };
    if (normalised.amount.gte(LARGEST_CREDITABLE)) {
      deps.logger.error(
        { txHash: normalised.txHash, logIndex: normalised.logIndex, amount: normalised.amount.toFixed() },
        'token transfer too large to credit automatically; an operator must review it',
      );
      return outcome('seen', 'too_large', { ...owner, movementId: null });
    }

    const signal = toSignal(normalised);
    const installation = await installationOf(deps.em);
    if (deposit.token === normalised.token) {
      let signalled: boolean;
      try {
        signalled = await signalTokenTransfer(deps.temporal, installation, deposit.prePayId, signal);
      } catch (error) {
        throw unavailable(error);
      }
      if (signalled) {
        // A credit that landed before this transaction (an earlier delivery's signal whose transaction was lost) is recorded here.
        const credited = row.movement_id ?? (await settledTransferMovement(tx, transferMovementId(normalised)));
        await tx.execute(`update chain_transfers set status = 'signalled', movement_id = ?, updated_at = ? where id = ?`, [credited, deps.now, row.id]);
        return outcome('signalled', 'prepay_open', { ...owner, movementId: credited });
      }
    }
    const reason: CreditTransferReason = deposit.token === normalised.token ? 'no_open_prepay' : 'token_mismatch';
    try {
      await startCreditTransfer(deps.temporal, installation, deps.taskQueue, { transfer: signal, tenantId: deposit.tenantId, prePayId: deposit.prePayId, reason });
    } catch (error) {
      throw unavailable(error);
    }
    const movementId = transferMovementId(normalised);
    await tx.execute(`update chain_transfers set status = 'credited', movement_id = ?, updated_at = ? where id = ?`, [movementId, deps.now, row.id]);
    return outcome('credited', reason, { ...owner, movementId });
  });
}

/**
 * The transfer's row, inserted `seen` when new, locked for this transaction. A row with other facts under
 * the same identity (token, addresses, amount) is refused: the same log cannot change its content.
 */
async function lockRow(tx: EntityManager, transfer: ObservedTransfer, source: DeliveryOptions['source'], now: Date): Promise<TransferRow> {
  await tx.execute(
    `insert into chain_transfers (chain_id, tx_hash, log_index, token, from_address, to_address, amount, block_number, block_hash, confirmations, status, source, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?::numeric, ?, ?, ?, 'seen', ?, ?, ?) on conflict (chain_id, tx_hash, log_index) do nothing`,
    [
      transfer.chainId,
      transfer.txHash,
      transfer.logIndex,
      transfer.token,
      transfer.from,
      transfer.to,
      transfer.amount.toFixed(),
      transfer.blockNumber,
      transfer.blockHash,
      transfer.confirmations,
      source,
      now,
      now,
    ],
  );
  const [row] = await tx.execute<TransferRow[]>(
    `select id::text as id, token, from_address, to_address, amount::text as amount, block_number::text as block_number, block_hash, confirmations,
            status, tenant_id, pre_pay_id::text as pre_pay_id, movement_id, reorged_at
       from chain_transfers where chain_id = ? and tx_hash = ? and log_index = ? for update`,
    [transfer.chainId, transfer.txHash, transfer.logIndex],
  );
  if (!row) throw new Error(`chain transfer ${transfer.txHash}/${transfer.logIndex} vanished`);
  if (row.token !== transfer.token || row.from_address !== transfer.from || row.to_address !== transfer.to || !new Dec(row.amount).eq(transfer.amount)) {
    throw new TransferConflictError(transfer);
  }
  return row;
}

function unavailable(error: unknown): AppError {
  return new AppError('service_unavailable', 'Temporal is unavailable; the transfer was not processed and may be sent again.', { cause: error });
}

function normalise(transfer: ObservedTransfer): ObservedTransfer {
  return {
    ...transfer,
    txHash: transfer.txHash.toLowerCase(),
    blockHash: transfer.blockHash.toLowerCase(),
    from: transfer.from.toLowerCase(),
    to: transfer.to.toLowerCase(),
  };
}

function toSignal(transfer: ObservedTransfer): TokenTransferSignal {
  return {
    chainId: transfer.chainId,
    txHash: transfer.txHash,
    logIndex: transfer.logIndex,
    token: transfer.token,
    amount: transfer.amount.toFixed(),
    from: transfer.from,
    to: transfer.to,
    blockNumber: transfer.blockNumber,
    ...(transfer.blockTime ? { blockTime: transfer.blockTime.toISOString() } : {}),
  };
}
