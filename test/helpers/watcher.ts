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
