import { Migration } from '@mikro-orm/migrations';

/**
 * Prepayments (DESIGN §5): the read model of each PrepayWorkflow (written by its activities; the
 * workflow is the source of truth for the lifecycle) and one row per paid cycle, which the invoice list
 * sums. `pre_pay_id` is an integer from a sequence, allocated by the API before the workflow starts.
 */
export class Migration0004Prepays extends Migration {
  override name = '0004-prepays';

  override up(): void {
    this.addSql(`
      create sequence prepay_ids as bigint;

      create table prepays (
        id bigint primary key default nextval('prepay_ids'),
        tenant_id text not null references tenants(id),
        payment_type text not null check (payment_type in ('USD', 'USDT_ERC20', 'ANKR_ERC20')),
        quote_id uuid references quotes(id),
        card_id text references cards(id),
        period integer not null check (period between 1 and 12),
        auto_renewal boolean not null,
        status text not null check (status in ('awaiting_payment', 'payment_failed', 'awaiting_binding', 'active', 'renewing',
                                               'past_due', 'completed', 'expired', 'refunded', 'canceled')),
        -- the current cycle's price: amount in the payment currency, usd its USD value
        amount numeric(38, 18) not null check (amount > 0),
        usd numeric(20, 2) not null check (usd > 0),
        cycle integer not null default 1 check (cycle >= 1),
        months_recognized integer not null default 0 check (months_recognized between 0 and 12),
        -- the bound app (CallBackAppInfo)
        app_id text,
        cluster_id text,
        chart_name text,
        cpu_limit integer,
        mem_limit integer,
        storage_limit integer,
        icon_url text,
        project_name text,
        bound_at timestamptz,
        period_start timestamptz,
        period_end timestamptz,
        failure_code text,
        -- an Idempotency-Key's request always gets the same pre_pay_id (and so the same workflow); the
        -- fingerprint is of what was asked for, so that the key cannot be reused for another prepay
        idempotency_owner text,
        idempotency_key text,
        idempotency_fingerprint text,
        -- the workflow's write order: an older snapshot never overwrites a newer one
        sync_seq bigint not null default 0,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (idempotency_owner, idempotency_key),
        check ((idempotency_key is null) = (idempotency_fingerprint is null)),
        check ((app_id is null) = (bound_at is null))
      );
      alter sequence prepay_ids owned by prepays.id;
      create index prepays_tenant_idx on prepays (tenant_id, id desc);

      create table prepay_payments (
        id bigserial primary key,
        prepay_id bigint not null references prepays(id),
        cycle integer not null check (cycle >= 1),
        tenant_id text not null references tenants(id),
        currency text not null check (currency in ('USD', 'USDT_ERC20', 'ANKR_ERC20')),
        amount numeric(38, 18) not null check (amount > 0),
        usd numeric(20, 2) not null check (usd > 0),
        payment_method text not null check (payment_method in ('card', 'token', 'balance')),
        card_id text references cards(id),
        gateway_charge_id text,
        ledger_transaction_id uuid not null references ledger_transactions(id),
        paid_at timestamptz not null,
        -- refunds are sums of what went back (a cancellation refunds part, a binding timeout all)
        refunded_amount numeric(38, 18) not null default 0,
        refunded_usd numeric(20, 2) not null default 0,
        refund_ledger_transaction_id uuid references ledger_transactions(id),
        gateway_refund_id text,
        refunded_at timestamptz,
        unique (prepay_id, cycle),
        check (refunded_amount >= 0 and refunded_amount <= amount),
        check (refunded_usd >= 0 and refunded_usd <= usd)
      );
      create index prepay_payments_tenant_idx on prepay_payments (tenant_id, paid_at desc);
    `);
  }
}
