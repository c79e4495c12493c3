/** The chain watcher's side of a test: prepay ids for deposit addresses, and scanner passes whose credits are awaited. */
import type { Client } from '@temporalio/client';
import type { Orm } from '../../src/db/orm.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { creditTransferWorkflowId } from '../../src/domain/token-transfer.ts';
import type { Scanner } from '../../src/watcher/scanner.ts';
import { sql } from './db.ts';

/** Prepay ids far above any sequence other test files use, so their deposit addresses never collide. */
export function freshPrePayId(): number {
  return 1_000_000_000 + Math.floor(Math.random() * 1_000_000_000);
}

/** Runs a scanner pass, waits for the credit workflows it started and answers the pass's report. */
export async function passAwaitingCredits(scanner: Scanner, engine: { orm: Orm; temporal: Client; chainId: number }) {
  const report = await scanner.runPass();
  for (const outcome of report.delivered.filter((delivered) => delivered.status === 'credited' && !delivered.duplicate)) {
    const [row] = await sql<{ tx_hash: string; log_index: number }>(engine.orm, 'select tx_hash, log_index from chain_transfers where movement_id = ?', [outcome.movementId]);
    await engine.temporal.workflow
      .getHandle(creditTransferWorkflowId(await installationOf(engine.orm), { chainId: engine.chainId, txHash: row!.tx_hash, logIndex: row!.log_index }))
      .result();
  }
  return report;
}

/**
 * A stack's token settings with no RPC, the external-watcher route's mode: token quotes and token prepays
 * are open (an engine without them answers 503 to both), nothing is scanned. Files with a chain set their own.
 */
export const TOKENS_WITHOUT_RPC = {
  CHAIN_ID: '31337',
  // the account node m/44'/60'/0'/0 of the BIP39 test mnemonic "legal winner thank year wave sausage worth useful legal winner thank yellow"
  DEPOSIT_XPUB: 'xpub6EPuWo2Zez8qnWR1a44VViRzRwan7Ct5XaKCz2anC2xSQLCUUvhGEnGYBohKCsocJHEkYQ143QJH8fixW8ixUxrh6bU52qG2tPe1vqCJjiD',
  TOKEN_ANKR_ERC20_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  TOKEN_USDT_ERC20_ADDRESS: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
} as const;
