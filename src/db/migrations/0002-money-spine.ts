import { Migration } from '@mikro-orm/migrations';

/**
 * The money spine: a double-entry ledger (accounts, transactions, immutable postings), customer-facing
 * money movements (the /payment/v1 "amounts"), cards, the sandbox card gateway's own records, and
 * idempotency keys of the API.
 */
export class Migration0002MoneySpine extends Migration {
  override name = '0002-money-spine';

  override up(): void {
    this.addSql(`
      create table ledger_accounts (
        id bigserial primary key,
        code text not null unique,
        kind text not null,
        tenant_id text references tenants(id),
        currency text not null check (currency in ('USD', 'USDT_ERC20', 'ANKR_ERC20')),
        -- A cached sum of the account's postings, updated in the same database transaction as they are
        -- written (UPDATE takes the row lock, so concurrent writers serialise and never lose an update).
        balance numeric(48, 18) not null default 0,
        allow_negative boolean not null,
        created_at timestamptz not null default now(),
        check (allow_negative or balance >= 0)
      );
      create index ledger_accounts_tenant_idx on ledger_accounts (tenant_id) where tenant_id is not null;

      create table ledger_transactions (
        id uuid primary key,
        idempotency_key text not null unique,
        tenant_id text references tenants(id),
        kind text not null,
        description text not null,
        reverses_id uuid unique references ledger_transactions(id),
        metadata jsonb not null default '{}',
        created_at timestamptz not null default now()
      );
      create index ledger_transactions_tenant_idx on ledger_transactions (tenant_id, created_at desc);

      create table ledger_postings (
        id bigserial primary key,
        transaction_id uuid not null references ledger_transactions(id),
        account_id bigint not null references ledger_accounts(id),
        currency text not null,
        amount numeric(48, 18) not null check (amount <> 0),
        created_at timestamptz not null default now()
      );
      create index ledger_postings_transaction_idx on ledger_postings (transaction_id);
      create index ledger_postings_account_idx on ledger_postings (account_id);

      -- The ledger is append-only: postings and transactions are never changed or removed.
      create function ledger_forbid_change() returns trigger language plpgsql as $$
      begin
        raise exception 'the ledger is append-only: % on % is not allowed', tg_op, tg_table_name;
      end $$;
      create trigger ledger_postings_append_only before update or delete on ledger_postings
        for each row execute function ledger_forbid_change();
      create trigger ledger_transactions_append_only before update or delete on ledger_transactions
        for each row execute function ledger_forbid_change();

      -- Every ledger transaction balances per currency, checked at commit.
      create function ledger_check_balanced() returns trigger language plpgsql as $$
      declare unbalanced text;
      begin
        select currency into unbalanced from ledger_postings
          where transaction_id = new.transaction_id group by currency having sum(amount) <> 0 limit 1;
        if unbalanced is not null then
          raise exception 'ledger transaction % does not sum to zero in %', new.transaction_id, unbalanced;
        end if;
        return null;
      end $$;
      create constraint trigger ledger_postings_balanced after insert on ledger_postings
        deferrable initially deferred for each row execute function ledger_check_balanced();

      create table cards (
        id text primary key,
        tenant_id text not null references tenants(id),
        gateway text not null,
        gateway_ref text not null,
        gateway_customer_ref text,
        brand text not null,
        last4 text not null check (last4 ~ '^[0-9]{4}$'),
        exp_month integer not null check (exp_month between 1 and 12),
        exp_year integer not null,
        is_default boolean not null default false,
        created_at timestamptz not null default now(),
        deleted_at timestamptz
      );
      create index cards_tenant_idx on cards (tenant_id, created_at desc) where deleted_at is null;
      create unique index cards_one_default_idx on cards (tenant_id) where is_default and deleted_at is null;

      create table money_movements (
        id text primary key,
        tenant_id text not null references tenants(id),
        kind text not null,
        currency text not null check (currency in ('USD', 'USDT_ERC20', 'ANKR_ERC20')),
        amount numeric(38, 18) not null check (amount > 0),
        payment_method text not null check (payment_method in ('balance', 'card', 'token', 'manual')),
        description text not null,
        status text not null check (status in ('pending', 'finish', 'failed', 'refunded')),
        card_id text references cards(id),
        gateway_charge_id text,
        failure_code text,
        failure_message text,
        ledger_transaction_id uuid references ledger_transactions(id),
        refund_ledger_transaction_id uuid references ledger_transactions(id),
        gateway_refund_id text,
        refund_reason text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create index money_movements_tenant_idx on money_movements (tenant_id, created_at desc, id desc);

      create table idempotency_keys (
        id bigserial primary key,
        owner text not null,
        key text not null,
        method text not null,
        path text not null,
        fingerprint text not null,
        state text not null check (state in ('in_progress', 'completed')),
        response_status integer,
        response_body text,
        locked_until timestamptz not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        unique (owner, key)
      );
      create index idempotency_keys_expiry_idx on idempotency_keys (expires_at);

      -- The sandbox card gateway's own records (src/gateway/sandbox-gateway.ts). A charge row per
      -- idempotency key: the key is the charge's identity, so a repeated key can never charge twice.
      create table sandbox_cards (
        ref text primary key,
        token text not null,
        tenant_id text not null,
        created_at timestamptz not null default now()
      );

      create table sandbox_charges (
        idempotency_key text primary key,
        card_ref text not null references sandbox_cards(ref),
        amount numeric(20, 2) not null check (amount > 0),
        currency text not null,
        off_session boolean not null,
        -- attempts made with this key; 'unavailable' is the only outcome that a later attempt may change
        attempts integer not null default 1 check (attempts >= 1),
        outcome text not null check (outcome in ('succeeded', 'declined', 'unavailable')),
        charge_id text unique,
        decline_code text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        check ((outcome = 'succeeded') = (charge_id is not null)),
        check ((outcome = 'declined') = (decline_code is not null))
      );
      create index sandbox_charges_card_idx on sandbox_charges (card_ref);

      create table sandbox_refunds (
        idempotency_key text primary key,
        charge_id text not null references sandbox_charges(charge_id),
        refund_id text not null unique,
        amount numeric(20, 2) not null check (amount > 0),
        created_at timestamptz not null default now()
      );
      create index sandbox_refunds_charge_idx on sandbox_refunds (charge_id);
    `);
  }
}
