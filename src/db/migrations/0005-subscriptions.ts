import { Migration } from '@mikro-orm/migrations';

/**
 * Plan subscriptions paid from the balance: the read model that subscription activities keep current
 * (the SubscriptionWorkflow is the process; this table is what the API reads). At most one live
 * subscription per tenant and plan, enforced by a partial unique index, so that two concurrent
 * checkouts cannot both succeed.
 */
export class Migration0005Subscriptions extends Migration {
  override name = '0005-subscriptions';

  override up(): void {
    this.addSql(`
      create table subscriptions (
        id text primary key,
        tenant_id text not null references tenants(id),
        plan_id uuid not null references plans(plan_id),
        region text not null references regions(identification),
        status text not null check (status in ('active', 'canceling', 'arrears', 'suspended', 'canceled')),
        bill_period text not null check (bill_period in ('M', 'Y')),
        -- the plan's price when the tenant checked out: what every period costs
        price numeric(20, 2) not null check (price > 0),
        -- periods are calendar months (or years) from the anchor, never chained
        anchor timestamptz not null,
        -- the current period: paid when active/canceling, due when arrears/suspended
        period integer not null check (period >= 1),
        current_period_start timestamptz not null,
        current_period_end timestamptz not null,
        workflow_id text not null,
        arrears_since timestamptz,
        suspended_at timestamptz,
        canceled_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        check (current_period_end > current_period_start),
        check ((status = 'canceled') = (canceled_at is not null))
      );
      create unique index subscriptions_one_live_idx on subscriptions (tenant_id, plan_id) where status <> 'canceled';
      create index subscriptions_tenant_idx on subscriptions (tenant_id, created_at desc);
      create index subscriptions_unpaid_idx on subscriptions (tenant_id) where status in ('arrears', 'suspended');
    `);
  }
}
