import { Migration } from '@mikro-orm/migrations';

/**
 * The platform's own accounts (card clearing, deferred revenue, revenue, …) keep no running balance
 * (decision 0106). Every movement of every tenant posts to them; updating one cached balance row per
 * posting took that row's lock, so all tenants' money movements queued behind one row. Their balance is the
 * sum of their postings, computed when asked (the ledger check proves every currency sums to zero). Tenant
 * balances stay cached: they are checked against going negative under their own row's lock.
 */
export class Migration0019PlatformBalancesOnDemand extends Migration {
  override name = '0019-platform-balances-on-demand';

  override up(): void {
    this.addSql(`
      alter table ledger_accounts alter column balance drop not null, alter column balance drop default;
      update ledger_accounts set balance = null where kind <> 'tenant_balance';
      alter table ledger_accounts add constraint ledger_accounts_balance_cached_for_tenants check ((kind = 'tenant_balance') = (balance is not null));
    `);
  }
}
