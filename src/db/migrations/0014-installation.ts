import { Migration } from '@mikro-orm/migrations';

/**
 * The installation (decision 0090): one row naming this database's installation of the engine. Its id is
 * chosen on first start (ENGINE_INSTANCE_ID, or generated) and is part of every workflow id, search attribute
 * and gateway idempotency key the installation makes, so that a reset or second database beside the same
 * Temporal namespace or card-gateway account never shares an id with this one.
 *
 * `legacy` is true when this migration runs on a database that already holds money or prepays: their
 * workflows were started, and their gateway keys sent, under the old unscoped ids, which must not change
 * while they run (a charge retried under a new key is a second charge). Such an installation keeps the old
 * forms; a database that starts empty uses the scoped ones from its first request.
 */
export class Migration0014Installation extends Migration {
  override name = '0014-installation';

  override up(): void {
    this.addSql(`
      create table engine_installation (
        singleton boolean primary key default true check (singleton),
        id text check (id ~ '^[a-z0-9]{1,16}$'),
        legacy boolean not null,
        created_at timestamptz not null default now(),
        named_at timestamptz
      );
      insert into engine_installation (legacy)
        select exists (select 1 from ledger_transactions) or exists (select 1 from money_movements)
            or exists (select 1 from prepays) or exists (select 1 from subscriptions)
            or exists (select 1 from idempotency_keys) or exists (select 1 from chain_transfers);
    `);
  }
}
