/** The watcher's persisted state: a cursor per token contract, and the orphaning of vanished transfers. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordEventIn } from '../db/repositories/events.ts';
import { count } from '../metrics/record.ts';
import { Dec, type TokenCurrency } from '../domain/money.ts';
import { transferKey } from '../domain/token-transfer.ts';

export interface WatcherCursor {
  chainId: number;
  /** lower-case 0x address of the token contract */
  tokenContract: string;
  /** the last block whose logs were fully processed */
  blockNumber: number;
  /** its hash when it was processed: a different canonical hash later means a reorg under the cursor */
  blockHash: string;
}

export async function loadCursor(em: EntityManager, chainId: number, tokenContract: string): Promise<WatcherCursor | null> {
  const [row] = await em.execute<{ block_number: string; block_hash: string }[]>(
    'select block_number::text as block_number, block_hash from watcher_cursors where chain_id = ? and token_contract = ?',
    [chainId, tokenContract],
  );
  return row ? { chainId, tokenContract, blockNumber: Number(row.block_number), blockHash: row.block_hash } : null;
}

export async function saveCursor(em: EntityManager, cursor: WatcherCursor, now: Date): Promise<void> {
  await em.execute(
    `insert into watcher_cursors (chain_id, token_contract, block_number, block_hash, updated_at) values (?, ?, ?, ?, ?)
     on conflict (chain_id, token_contract) do update set block_number = excluded.block_number, block_hash = excluded.block_hash, updated_at = excluded.updated_at`,
    [cursor.chainId, cursor.tokenContract, cursor.blockNumber, cursor.blockHash, now],
  );
}

export interface OrphanReport {
  /** `seen` transfers marked `orphaned` (never credited: nothing to undo) */
  orphaned: number;
  /** the `transfer.orphaned` events of credited or signalled transfers found gone (their deliveries to start) */
  reorgedCredits: string[];
}

/**
 * Marks `orphaned` the `seen` transfers of a token recorded in blocks [fromBlock, toBlock] that the
 * canonical chain, read at depth, does not contain (`present`: every Transfer log of the range).
 * A credited or signalled transfer found gone (a reorg deeper than the depth) keeps its credit: it is
 * flagged `reorged_at` and a `transfer.orphaned` event is recorded in the same transaction, once per
 * transfer and block, for the platform and the operator to decide.
 */
export async function markOrphans(
  em: EntityManager,
  range: { chainId: number; token: TokenCurrency; fromBlock: number; toBlock: number; present: { transactionHash: string; logIndex: number }[] },
  now: Date,
): Promise<OrphanReport> {
  const rows = await em.execute<OrphanCandidate[]>(
    `select id::text as id, tx_hash, log_index, status, tenant_id, pre_pay_id::text as pre_pay_id, movement_id, from_address, to_address,
            amount::text as amount, block_number::text as block_number, block_hash
       from chain_transfers
      where chain_id = ? and token = ? and block_number between ? and ?
        and (status = 'seen' or (status in ('signalled', 'credited') and reorged_at is null))`,
    [range.chainId, range.token, range.fromBlock, range.toBlock],
  );
  const present = new Set(range.present.map((log) => `${log.transactionHash.toLowerCase()}:${log.logIndex}`));
  const gone = rows.filter((row) => !present.has(`${row.tx_hash}:${row.log_index}`));
  const seen = gone.filter((row) => row.status === 'seen').map((row) => row.id);
  if (seen.length > 0) {
    await em.execute(`update chain_transfers set status = 'orphaned', updated_at = ? where status = 'seen' and id in (${seen.map(() => '?').join(', ')})`, [now, ...seen]);
  }
  const reorgedCredits: string[] = [];
  for (const row of gone.filter((candidate) => candidate.status !== 'seen')) {
    const eventId = await em.transactional(async (tx) => {
      const [flagged] = await tx.execute<{ id: string }[]>(
        'update chain_transfers set reorged_at = ?, updated_at = ? where id = ? and reorged_at is null and block_hash = ? returning id::text as id',
        [now, now, row.id, row.block_hash],
      );
      if (!flagged) return null;
      const identity = { chainId: range.chainId, txHash: row.tx_hash, logIndex: row.log_index };
      return recordEventIn(
        tx,
        { key: `transfer-${transferKey(identity)}-orphaned-${row.block_hash}`, tenantId: row.tenant_id, type: 'transfer.orphaned', data: orphanedTransferData(range, row, now) },
        now,
      );
    });
    if (eventId) {
      reorgedCredits.push(eventId);
      count('token_transfers_orphaned_total', { currency: range.token, credited_as: row.status });
    }
  }
  return { orphaned: seen.length, reorgedCredits };
}

interface OrphanCandidate {
  id: string;
  tx_hash: string;
  log_index: number;
  status: 'seen' | 'signalled' | 'credited';
  tenant_id: string | null;
  pre_pay_id: string | null;
  movement_id: string | null;
  from_address: string;
  to_address: string;
  amount: string;
  block_number: string;
  block_hash: string;
}

/** The transfer as `transfer.credited` carried it, with the credit it gave and the block that is gone. */
function orphanedTransferData(range: { chainId: number; token: TokenCurrency }, row: OrphanCandidate, now: Date): Record<string, unknown> {
  return {
    trans_id: row.movement_id,
    pre_pay_id: row.pre_pay_id === null ? null : Number(row.pre_pay_id),
    chain_id: range.chainId,
    tx_hash: row.tx_hash,
    log_index: row.log_index,
    token: range.token,
    amount: new Dec(row.amount).toFixed(),
    from: row.from_address,
    to: row.to_address,
    block_number: Number(row.block_number),
    block_hash: row.block_hash,
    // what the engine did with it before the block went away; the credit stands until an operator decides
    credited_as: row.status,
    reorged_at: now.toISOString(),
  };
}
