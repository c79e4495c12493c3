import { Migration } from '@mikro-orm/migrations';

/**
 * The cancel requests made under an Idempotency-Key (decision 0050): which claim asked to cancel which
 * prepay, written before the cancel is sent. A retry of that claim whose first attempt's answer was lost (or
 * was a 202) finds the prepay canceled and answers the cancel, not "already canceled".
 */
export class Migration0016PrepayCancelRequests extends Migration {
  override name = '0016-prepay-cancel-requests';

  override up(): void {
    this.addSql(`
      create table prepay_cancel_requests (
        prepay_id bigint not null references prepays(id),
        -- idempotencyToken(): the claim's owner, key and generation, hashed
        token text not null,
        created_at timestamptz not null default now(),
        primary key (prepay_id, token)
      );
    `);
  }
}
