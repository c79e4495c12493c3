import { Migration } from '@mikro-orm/migrations';

/** Tenants, API keys, the catalog (regions, plans, cluster price books, token rates) and quotes. */
export class Migration0001Foundation extends Migration {
  override name = '0001-foundation';

  override up(): void {
    this.addSql(`
      create table tenants (
        id text primary key,
        created_at timestamptz not null default now()
      );

      create table api_keys (
        id text primary key,
        key_hash text not null unique,
        scope text not null check (scope in ('tenant', 'operator', 'watcher')),
        tenant_id text references tenants(id),
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        check ((scope = 'tenant') = (tenant_id is not null))
      );

      create table regions (
        identification text primary key,
        region_describe text not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );

      create table plans (
        plan_id uuid primary key,
        region text not null references regions(identification),
        type text not null,
        level text,
        name text not null,
        price numeric(20, 2) not null check (price > 0),
        bill_period text not null check (bill_period in ('M', 'Y')),
        description text not null,
        comment text,
        status text not null check (status in ('available', 'unavailable')),
        creation_time timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create index plans_market_idx on plans (region, lower(type)) where status = 'available';

      create table clusters (
        cluster_id text primary key,
        cpu_core_month_usd numeric(30, 12) not null check (cpu_core_month_usd >= 0),
        memory_gib_month_usd numeric(30, 12) not null check (memory_gib_month_usd >= 0),
        storage_gib_month_usd numeric(30, 12) not null check (storage_gib_month_usd >= 0),
        chart_multipliers jsonb not null default '{}',
        period_discounts jsonb not null default '{}',
        updated_at timestamptz not null default now()
      );

      create table token_rates (
        currency text primary key check (currency in ('USDT_ERC20', 'ANKR_ERC20')),
        usd numeric(30, 12) not null check (usd > 0),
        updated_at timestamptz not null default now()
      );

      create table quotes (
        id uuid primary key,
        tenant_id text references tenants(id),
        currency text not null check (currency in ('USD', 'USDT_ERC20', 'ANKR_ERC20')),
        cluster_id text not null references clusters(cluster_id),
        chart_name text not null,
        cpu_limit integer not null check (cpu_limit >= 0),
        mem_limit integer not null check (mem_limit >= 0),
        storage_limit integer not null check (storage_limit >= 0),
        period integer not null check (period between 1 and 12),
        usd numeric(20, 2) not null check (usd > 0),
        amount numeric(38, 18) not null check (amount > 0),
        rate numeric(30, 12) not null check (rate > 0),
        created_at timestamptz not null default now(),
        expires_at timestamptz not null
      );
      create index quotes_tenant_idx on quotes (tenant_id, created_at desc);
    `);
  }
}
