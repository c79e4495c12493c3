import { Migration } from '@mikro-orm/migrations';

/**
 * Rate-limit counters (decision 0091), shared by every API replica: one row per API key and route class,
 * in the layout of rate-limiter-flexible's RateLimiterPostgres (`expire` in epoch milliseconds). A row whose
 * window expired is reset by the next request of its key, so the table holds at most one row per key and class.
 */
export class Migration0015RateLimits extends Migration {
  override name = '0015-rate-limits';

  override up(): void {
    this.addSql(`
      create table rate_limits (
        key varchar(255) primary key,
        points integer not null default 0,
        expire bigint
      );
    `);
  }
}
