/**
 * The chain scanner: reads the Transfer logs of the configured token contracts with eth_getLogs in
 * bounded block ranges and hands the transfers to our deposit addresses to `deliverTransfer`.
 *
 * * Confirmed zone (up to head − confirmations + 1, or the `finalized` block): every log to a deposit
 *   address is re-checked against its receipt and the canonical hash of its block, then delivered.
 *   After each range the cursor (block number and hash) is saved per token contract, so a restart resumes
 *   there; delivery is idempotent by transfer identity, so a range scanned twice credits nothing twice.
 * * Unconfirmed zone (above that, at most one range): transfers to deposit addresses are recorded `seen`
 *   with their confirmations, never acted on. A `seen` transfer whose block is later confirmed without it
 *   (a reorg took it) becomes `orphaned`.
 * * A cursor whose block hash is no longer canonical means a reorg deeper than the depth: the scanner
 *   steps back by the depth and scans again (and says so loudly in the log).
 */
import { parseAbiItem, type Log, type PublicClient } from 'viem';
import type { Client } from '@temporalio/client';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import { fromMinorUnits } from '../domain/money.ts';
import type { Logger } from '../logger.ts';
import { deliverTransfer, TransferConflictError, type DeliveryOutcome, type ObservedTransfer } from '../chain/deliver.ts';
import { knownDepositAddresses } from '../chain/deposit-address.ts';
import { FINALIZED_EQUIVALENT_CONFIRMATIONS, type ChainSettings, type TokenContract } from '../chain/settings.ts';
import { checkTransferOnChain, confirmedHeadAt, publicClientFor, TRANSFER_EVENT } from '../chain/verify-transfer.ts';
import { loadCursor, markOrphans, saveCursor } from './cursors.ts';
import { DEFAULT_WEBHOOK_SETTINGS } from '../domain/webhooks.ts';
import { count } from '../metrics/record.ts';
import { startPendingDeliveries } from '../temporal/webhooks.ts';

const DECIMALS_FUNCTION = parseAbiItem('function decimals() view returns (uint8)');

type TransferLog = Log<bigint, number, false, typeof TRANSFER_EVENT, true>;

export interface ScannerDeps {
  orm: Orm;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  clock: Clock;
  chain: ChainSettings;
  /** most blocks per eth_getLogs call */
  blockRange: number;
  /** first block to scan when a token has no cursor yet; default: the confirmed head at that time */
  startBlock?: number;
  /** the webhook retry schedule of the deliveries of the events the watcher records */
  webhookScheduleSeconds?: readonly number[];
  /** a client of the caller's; otherwise one is made from chain.rpcUrl */
  client?: PublicClient;
}

export interface PassReport {
  head: number;
  confirmedHead: number;
  delivered: DeliveryOutcome[];
  /** `seen` transfers found gone from the canonical chain */
  orphaned: number;
  /** credited or signalled transfers found gone (a reorg deeper than the depth): their `transfer.orphaned` events */
  reorgedCredits: string[];
  /** times the chain changed under a cursor or a range during this pass */
  reorgs: number;
}

/** The chain changed while a range was being read; the range is scanned again on the next pass. */
class ChainMovedError extends Error {}

export interface Scanner {
  /** Checks the RPC serves the configured chain and that each token contract has the decimals of its currency. */
  verifyChain(): Promise<void>;
  runPass(): Promise<PassReport>;
}

export function createScanner(deps: ScannerDeps): Scanner {
  const { chain, logger } = deps;
  const client = deps.client ?? publicClientFor(chain);

  return {
    async verifyChain() {
      const chainId = await client.getChainId();
      if (chainId !== chain.chainId) throw new Error(`CHAIN_RPC_URL serves chain ${chainId}, but CHAIN_ID is ${chain.chainId}`);
      for (const token of chain.tokens) {
        const decimals = await client.readContract({ address: token.address, abi: [DECIMALS_FUNCTION], functionName: 'decimals' });
        if (decimals !== token.decimals) {
          throw new Error(`the ${token.currency} contract ${token.address} has ${decimals} decimals; the engine expects ${token.decimals}`);
        }
      }
    },

    async runPass() {
      const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
      const confirmedHead = await confirmedHeadAt(client, chain, head);
      const report: PassReport = { head, confirmedHead, delivered: [], orphaned: 0, reorgedCredits: [], reorgs: 0 };
      for (const token of chain.tokens) {
        try {
          await scanToken(token, head, confirmedHead, report);
        } catch (error) {
          if (!(error instanceof ChainMovedError)) throw error;
          report.reorgs += 1;
          logger.warn({ token: token.currency, reason: error.message }, 'the chain changed during a scan; the range will be scanned again');
        }
      }
      count('watcher_passes_total', {});
      if (report.reorgs > 0) count('watcher_reorgs_total', {}, report.reorgs);
      return report;
    },
  };

  async function scanToken(token: TokenContract, head: number, confirmedHead: number, report: PassReport): Promise<void> {
    let from = await resumeFrom(token, confirmedHead, report);
    while (from <= confirmedHead) {
      const to = Math.min(from + deps.blockRange - 1, confirmedHead);
      const endHash = await blockHash(to);
      const logs = await transferLogs(token, from, to);
      for (const log of await toDepositAddresses(logs)) {
        const check = await stillCanonical(token, log);
        if (!check.ok) throw new ChainMovedError(`log ${log.transactionHash}/${log.logIndex} is no longer canonical: ${check.reason}`);
        const outcome = await deliver(token, log, head, check.blockTime);
        if (outcome) report.delivered.push(outcome);
      }
      const orphans = await markOrphans(deps.orm.em.fork(), { chainId: chain.chainId, token: token.currency, fromBlock: from, toBlock: to, present: logs }, deps.clock.now());
      report.orphaned += orphans.orphaned;
      for (const eventId of orphans.reorgedCredits) {
        logger.error(
          { token: token.currency, eventId },
          'a credited token transfer is no longer on the canonical chain; the credit stands and transfer.orphaned was recorded for review',
        );
        report.reorgedCredits.push(eventId);
        // an unstarted delivery is started later by the reconciler (the outbox), so a failure here loses nothing
        await startPendingDeliveries(deps.temporal, deps.orm.em.fork(), deps.taskQueue, eventId, deps.webhookScheduleSeconds ?? DEFAULT_WEBHOOK_SETTINGS.scheduleSeconds).catch(
          (error: unknown) => logger.warn({ eventId, reason: (error as Error).message }, 'the webhook deliveries of an event could not be started now; the reconciler starts them'),
        );
      }
      if ((await blockHash(to)) !== endHash) throw new ChainMovedError(`block ${to} changed while its range was scanned`);
      await saveCursor(deps.orm.em.fork(), { chainId: chain.chainId, tokenContract: token.address, blockNumber: to, blockHash: endHash }, deps.clock.now());
      from = to + 1;
    }
    // Above the depth: only recorded, so that a transfer is visible before it counts.
    const unconfirmedFrom = Math.max(confirmedHead + 1, head - deps.blockRange + 1, 0);
    if (unconfirmedFrom <= head) {
      for (const log of await toDepositAddresses(await transferLogs(token, unconfirmedFrom, head))) {
        const outcome = await deliver(token, log, head, null);
        if (outcome) report.delivered.push(outcome);
      }
    }
  }

  /** The first block to scan for a token: after its cursor, or further back when the cursor's block left the chain. */
  async function resumeFrom(token: TokenContract, confirmedHead: number, report: PassReport): Promise<number> {
    const cursor = await loadCursor(deps.orm.em.fork(), chain.chainId, token.address);
    if (!cursor) return deps.startBlock ?? Math.max(confirmedHead, 0);
    const canonical = await blockHash(cursor.blockNumber).catch(() => null);
    if (canonical === cursor.blockHash) return cursor.blockNumber + 1;
    const depth = chain.confirmations === 'finalized' ? FINALIZED_EQUIVALENT_CONFIRMATIONS : chain.confirmations;
    const from = Math.max(cursor.blockNumber - depth + 1, deps.startBlock ?? 0, 0);
    report.reorgs += 1;
    logger.error(
      { token: token.currency, cursorBlock: cursor.blockNumber, cursorHash: cursor.blockHash, canonicalHash: canonical, rescanFrom: from },
      'reorg deeper than the confirmation depth: the cursor block is no longer canonical; scanning again from earlier blocks (a credited transfer found gone is recorded as transfer.orphaned)',
    );
    return from;
  }

  /** The range's Transfer logs in chain order; a range the RPC refuses (too many results) is read in halves. */
  async function transferLogs(token: TokenContract, from: number, to: number): Promise<TransferLog[]> {
    let logs;
    try {
      logs = await client.getLogs({ address: token.address, event: TRANSFER_EVENT, fromBlock: BigInt(from), toBlock: BigInt(to), strict: true });
    } catch (error) {
      if (to <= from) throw error;
      const middle = Math.floor((from + to) / 2);
      logger.debug({ from, to, reason: (error as Error).message }, 'eth_getLogs refused the range; reading it in halves');
      return [...(await transferLogs(token, from, middle)), ...(await transferLogs(token, middle + 1, to))];
    }
    return logs.filter((log) => !log.removed).sort((left, right) => Number(left.blockNumber - right.blockNumber) || left.logIndex - right.logIndex);
  }

  /** Only transfers of value to our deposit addresses concern the engine; the rest of the contract's traffic is ignored. */
  async function toDepositAddresses(logs: TransferLog[]): Promise<TransferLog[]> {
    const candidates = logs.filter((log) => log.args.value > 0n);
    const known = await knownDepositAddresses(
      deps.orm.em.fork(),
      chain.chainId,
      candidates.map((log) => log.args.to.toLowerCase()),
    );
    return candidates.filter((log) => known.has(log.args.to.toLowerCase()));
  }

  /** The log is in the receipt of a successful transaction in the block it names, and that block is canonical (the same check as the watcher route's). */
  async function stillCanonical(token: TokenContract, log: TransferLog) {
    return checkTransferOnChain(client, token, {
      txHash: log.transactionHash,
      logIndex: log.logIndex,
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash,
      from: log.args.from,
      to: log.args.to,
      value: log.args.value,
    });
  }

  /**
   * `blockTime`: the block's timestamp of a checked log in the confirmed zone (a transfer mined before a payment
   * deadline counts even when confirmed after it); null above the depth, where a log is only recorded.
   */
  async function deliver(token: TokenContract, log: TransferLog, head: number, blockTime: Date | null): Promise<DeliveryOutcome | null> {
    const atDepth = blockTime !== null;
    const transfer: ObservedTransfer = {
      chainId: chain.chainId,
      txHash: log.transactionHash.toLowerCase(),
      logIndex: log.logIndex,
      token: token.currency,
      from: log.args.from.toLowerCase(),
      to: log.args.to.toLowerCase(),
      amount: fromMinorUnits(log.args.value, token.currency),
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash.toLowerCase(),
      confirmations: head - Number(log.blockNumber) + 1,
      ...(blockTime ? { blockTime } : {}),
    };
    try {
      return await deliverTransfer({ em: deps.orm.em.fork(), temporal: deps.temporal, taskQueue: deps.taskQueue, logger, now: deps.clock.now() }, transfer, {
        atDepth,
        source: 'watcher',
      });
    } catch (error) {
      // The chain is the truth; a report that recorded other facts under this identity is not retried forever.
      if (!(error instanceof TransferConflictError)) throw error;
      logger.error(
        { txHash: transfer.txHash, logIndex: transfer.logIndex },
        'a different transfer was recorded earlier under this identity (a bad external report?); not delivered',
      );
      return null;
    }
  }

  async function blockHash(blockNumber: number): Promise<string> {
    const block = await client.getBlock({ blockNumber: BigInt(blockNumber) });
    return block.hash.toLowerCase();
  }
}
