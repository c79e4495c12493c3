import { Migration } from '@mikro-orm/migrations';

/**
 * The block timestamp of each observed transfer, when its observer read it (decision 0052): a transfer that the
 * reconciliation sends again to a prepay started late still counts when it was mined before the deadline.
 */
export class Migration0013TransferBlockTime extends Migration {
  override name = '0013-transfer-block-time';

  override up(): void {
    this.addSql('alter table chain_transfers add column block_time timestamptz;');
  }
}
