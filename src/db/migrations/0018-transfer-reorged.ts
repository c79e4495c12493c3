import { Migration } from '@mikro-orm/migrations';

/**
 * A credited (or signalled) transfer whose block a reorg deeper than the confirmation depth took away: the
 * credit stands (money is never taken back silently), `reorged_at` says when the watcher found the block
 * gone, and a `transfer.orphaned` event tells the platform and the operator. Cleared when the same
 * transfer is found again at depth in another block (re-mined).
 */
export class Migration0018TransferReorged extends Migration {
  override name = '0018-transfer-reorged';

  override up(): void {
    this.addSql(`alter table chain_transfers add column reorged_at timestamptz`);
  }
}
