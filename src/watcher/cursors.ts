/** The watcher's persisted state: a cursor per token contract, and the orphaning of vanished transfers. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TokenCurrency } from '../domain/money.ts';

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

/**
 * Marks `orphaned` the `seen` transfers of a token recorded in blocks [fromBlock, toBlock] that the
 * canonical chain, read at depth, does not contain (`present`: every Transfer log of the range).
 * Answers how many it marked.
 */
export async function markOrphans(
  em: EntityManager,
  range: { chainId: number; token: TokenCurrency; fromBlock: number; toBlock: number; present: { transactionHash: string; logIndex: number }[] },
  now: Date,
): Promise<number> {
  const seen = await em.execute<{ id: string; tx_hash: string; log_index: number }[]>(
    `select id::text as id, tx_hash, log_index from chain_transfers
      where chain_id = ? and token = ? and status = 'seen' and block_number between ? and ?`,
    [range.chainId, range.token, range.fromBlock, range.toBlock],
  );
  if (seen.length === 0) return 0;
  const present = new Set(range.present.map((log) => `${log.transactionHash.toLowerCase()}:${log.logIndex}`));
  const gone = seen.filter((row) => !present.has(`${row.tx_hash}:${row.log_index}`)).map((row) => row.id);
  if (gone.length === 0) return 0;
  await em.execute(`update chain_transfers set status = 'orphaned', updated_at = ? where status = 'seen' and id in (${gone.map(() => '?').join(', ')})`, [now, ...gone]);
  return gone.length;
}
