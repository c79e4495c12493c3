/**
 * What the chain node says about a token transfer, for everyone who hands one to `deliverTransfer`: the
 * built-in watcher re-checks each log it read, the watcher route checks what an external watcher reports
 * (decision 0102). One client construction, one Transfer event, one way to count the depth, one check.
 */
import {
  BlockNotFoundError,
  createPublicClient,
  decodeEventLog,
  http,
  parseAbiItem,
  TransactionReceiptNotFoundError,
  webSocket,
  type Block,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { AppError } from '../domain/errors.ts';
import { toMinorUnits } from '../domain/money.ts';
import type { ObservedTransfer } from './deliver.ts';
import type { ChainSettings, TokenContract } from './settings.ts';

export const TRANSFER_EVENT = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

export interface RpcClientOptions {
  /** ms per JSON-RPC call over http (default 20 s) */
  timeoutMs?: number;
  /** retries of a failed http call (default 2) */
  retryCount?: number;
}

/** A viem public client for the chain's JSON-RPC (http or WebSocket), with no response caching. */
export function publicClientFor(chain: ChainSettings, options: RpcClientOptions = {}): PublicClient {
  if (!chain.rpcUrl) throw new Error('CHAIN_RPC_URL is not set');
  const transport = /^wss?:/.test(chain.rpcUrl) ? webSocket(chain.rpcUrl) : http(chain.rpcUrl, { retryCount: options.retryCount ?? 2, timeout: options.timeoutMs ?? 20_000 });
  return createPublicClient({ transport, cacheTime: 0 }) as PublicClient;
}

/** The highest block at the depth the chain settings require, for a head just read: head − confirmations + 1, or the `finalized` block. */
export async function confirmedHeadAt(client: PublicClient, chain: Pick<ChainSettings, 'confirmations'>, head: number): Promise<number> {
  if (chain.confirmations === 'finalized') {
    const finalized = await client.getBlock({ blockTag: 'finalized' });
    return Number(finalized.number);
  }
  return head - chain.confirmations + 1;
}

/** A transfer as someone claims it happened: the facts the node must confirm. Hashes and addresses 0x hex, any case. */
export interface ClaimedTransfer {
  txHash: `0x${string}`;
  logIndex: number;
  blockNumber: number;
  blockHash: string;
  from: string;
  to: string;
  /** base units (wei): the decimal token amount converted with the token's decimals (toMinorUnits) */
  value: bigint;
}

/** The field of a claim the node contradicts (the watcher route's body names them so). */
export type ClaimedField = 'tx_hash' | 'block_number' | 'block_hash' | 'log_index' | 'token' | 'from' | 'to' | 'amount';

export type TransferCheck =
  | {
      ok: true;
      /** the block's timestamp, as the node has it */
      blockTime: Date;
    }
  | { ok: false; field: ClaimedField; reason: string };

/**
 * Checks a claimed transfer against the node: the transaction's receipt exists and succeeded, in the
 * claimed block; the receipt has a log at the claimed index that is a `Transfer` of the token's contract
 * with exactly the claimed from, to and value; and the claimed block is canonical (the node's block at
 * that number has that hash). Answers the first fact that differs. An unreachable node throws (viem's
 * error), which is not an answer about the claim.
 */
export async function checkTransferOnChain(client: PublicClient, token: TokenContract, claim: ClaimedTransfer): Promise<TransferCheck> {
  const [receipt, block] = await Promise.all([receiptOf(client, claim.txHash), blockAt(client, claim.blockNumber)]);
  const differs = (field: ClaimedField, reason: string): TransferCheck => ({ ok: false, field, reason });
  const blockHash = claim.blockHash.toLowerCase();

  if (!receipt) return differs('tx_hash', `The node has no transaction ${claim.txHash}.`);
  if (receipt.status !== 'success') return differs('tx_hash', `Transaction ${claim.txHash} reverted: it moved no tokens.`);
  if (Number(receipt.blockNumber) !== claim.blockNumber) {
    return differs('block_number', `Transaction ${claim.txHash} is in block ${receipt.blockNumber}, not ${claim.blockNumber}.`);
  }
  if (receipt.blockHash.toLowerCase() !== blockHash) {
    return differs('block_hash', `Transaction ${claim.txHash} is in block ${receipt.blockHash}, not ${blockHash}.`);
  }
  const log = receipt.logs.find((candidate) => candidate.logIndex === claim.logIndex);
  const transfer = log ? transferOf(log) : null;
  if (!log || !transfer) return differs('log_index', `Log ${claim.logIndex} of block ${claim.blockNumber} is not a Transfer event of transaction ${claim.txHash}.`);
  if (log.address.toLowerCase() !== token.address) {
    return differs('token', `Log ${claim.logIndex} is a Transfer of contract ${log.address.toLowerCase()}, not of the ${token.currency} contract ${token.address}.`);
  }
  if (transfer.from.toLowerCase() !== claim.from.toLowerCase()) return differs('from', `Log ${claim.logIndex} is a transfer from ${transfer.from.toLowerCase()}.`);
  if (transfer.to.toLowerCase() !== claim.to.toLowerCase()) return differs('to', `Log ${claim.logIndex} is a transfer to ${transfer.to.toLowerCase()}.`);
  if (transfer.value !== claim.value) return differs('amount', `Log ${claim.logIndex} transfers ${transfer.value} base units, not ${claim.value}.`);
  if (!block || block.hash.toLowerCase() !== blockHash) {
    return differs('block_hash', `Block ${claim.blockNumber} on the canonical chain is ${block?.hash.toLowerCase() ?? 'not there yet'}, not ${blockHash}.`);
  }
  return { ok: true, blockTime: new Date(Number(block.timestamp) * 1000) };
}

/** The transaction's receipt, or null when the node has none (never mined, or a reorg took it). */
export async function receiptOf(client: PublicClient, hash: `0x${string}`): Promise<TransactionReceipt | null> {
  try {
    return await client.getTransactionReceipt({ hash });
  } catch (error) {
    if (error instanceof TransactionReceiptNotFoundError) return null;
    throw error;
  }
}

/** The node's block at a number, or null when it has none yet. */
async function blockAt(client: PublicClient, blockNumber: number): Promise<Block<bigint, false, 'latest'> | null> {
  try {
    return await client.getBlock({ blockNumber: BigInt(blockNumber) });
  } catch (error) {
    if (error instanceof BlockNotFoundError) return null;
    throw error;
  }
}

function transferOf(log: TransactionReceipt['logs'][number]): { from: string; to: string; value: bigint } | null {
  try {
    const decoded = decodeEventLog({ abi: [TRANSFER_EVENT], data: log.data, topics: log.topics, strict: true });
    return decoded.args;
  } catch {
    return null;
  }
}

/** A transfer the node confirmed, with the depth the node gives it. */
export interface VerifiedReport {
  /** the report with the node's confirmations and block timestamp */
  transfer: ObservedTransfer;
  /** whether the node has the transfer's block at the required depth (or finalized) */
  atDepth: boolean;
  /** the confirmations the depth takes now: CHAIN_CONFIRMATIONS, or with `finalized` head − finalized block + 1 */
  requiredConfirmations: number;
}

/** Checks reports of transfers (the watcher route) against the chain's node before anything is recorded. */
export interface TransferVerifier {
  /**
   * The report as the node confirms it, or an AppError: 422 `unprocessable` naming the first field the node
   * contradicts, 503 `service_unavailable` when the node cannot answer (unreachable, another chain, behind
   * the reported block).
   */
  verify(report: ObservedTransfer): Promise<VerifiedReport>;
}

/** A route answers while its caller waits: shorter than the watcher's patience with the node. */
const ROUTE_RPC_OPTIONS: RpcClientOptions = { timeoutMs: 10_000, retryCount: 1 };

export function transferVerifier(chain: ChainSettings, client: PublicClient = publicClientFor(chain, ROUTE_RPC_OPTIONS)): TransferVerifier {
  // Checked once per process, again after a failure: a node of another chain would contradict every report.
  let servesChain: Promise<void> | undefined;
  const checkChain = (): Promise<void> => {
    servesChain ??= client.getChainId().then((chainId) => {
      if (chainId !== chain.chainId) {
        throw new AppError('service_unavailable', `CHAIN_RPC_URL serves chain ${chainId}, but CHAIN_ID is ${chain.chainId}: reports cannot be checked.`);
      }
    });
    servesChain.catch(() => {
      servesChain = undefined;
    });
    return servesChain;
  };

  return {
    async verify(report) {
      const token = chain.tokens.find((candidate) => candidate.currency === report.token);
      if (!token) {
        throw new AppError('service_unavailable', `${report.token} transfers cannot be checked: TOKEN_${report.token}_ADDRESS is not configured.`, { field: 'token' });
      }
      try {
        await checkChain();
        const claim: ClaimedTransfer = {
          txHash: report.txHash as `0x${string}`,
          logIndex: report.logIndex,
          blockNumber: report.blockNumber,
          blockHash: report.blockHash,
          from: report.from,
          to: report.to,
          value: toMinorUnits(report.amount, token.currency),
        };
        const [check, [head, confirmedHead]] = await Promise.all([
          checkTransferOnChain(client, token, claim),
          client.getBlockNumber({ cacheTime: 0 }).then(async (head) => [Number(head), await confirmedHeadAt(client, chain, Number(head))] as const),
        ]);
        if (!check.ok) {
          if (check.field === 'tx_hash' && report.blockNumber > head) {
            // Our node may lag the watcher's: a retry later may find the transaction.
            throw new AppError('service_unavailable', `The chain node is at block ${head}, below the reported block ${report.blockNumber}; report again later.`);
          }
          throw new AppError('unprocessable', `The chain does not confirm the report: ${check.reason}`, { field: check.field });
        }
        if (report.blockTime && report.blockTime.getTime() !== check.blockTime.getTime()) {
          throw new AppError('unprocessable', `Block ${report.blockNumber} has the timestamp ${check.blockTime.getTime() / 1000}, not ${report.blockTime.getTime() / 1000}.`, {
            field: 'block_timestamp',
          });
        }
        return {
          // at least its own block: the head was read alongside the receipt and may be one behind it
          transfer: { ...report, confirmations: Math.max(head - report.blockNumber + 1, 1), blockTime: check.blockTime },
          atDepth: report.blockNumber <= confirmedHead,
          requiredConfirmations: chain.confirmations === 'finalized' ? Math.max(head - confirmedHead + 1, 1) : chain.confirmations,
        };
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError('service_unavailable', 'The chain node (CHAIN_RPC_URL) did not answer; the report was not recorded and may be sent again.', { cause: error });
      }
    },
  };
}
