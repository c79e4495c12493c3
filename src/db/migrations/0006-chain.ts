import { Migration } from '@mikro-orm/migrations';

/**
 * Token payments on chain: the deposit address of each token prepay, every transfer the engine saw (its
 * identity is (chain_id, tx_hash, log_index), so it counts once), and the watcher's cursor per token
 * contract with the hash of the last block it processed (to notice a reorg under it).
 */
export class Migration0006Chain extends Migration {
  override name = '0006-chain';

  override up(): void {
    this.addSql(`
      create table deposit_addresses (
        address text primary key check (address ~ '^0x[0-9a-f]{40}$'),
        chain_id bigint not null check (chain_id > 0),
        tenant_id text not null references tenants(id),
        pre_pay_id bigint not null unique,
        token text not null check (token in ('USDT_ERC20', 'ANKR_ERC20')),
        -- BIP32 non-hardened child index of DEPOSIT_XPUB; equal to pre_pay_id
        derivation_index bigint not null check (derivation_index between 0 and 2147483647),
        created_at timestamptz not null default now()
      );
      create index deposit_addresses_tenant_idx on deposit_addresses (tenant_id);

      create table chain_transfers (
        id bigserial primary key,
        chain_id bigint not null check (chain_id > 0),
        tx_hash text not null check (tx_hash ~ '^0x[0-9a-f]{64}$'),
        log_index integer not null check (log_index >= 0),
        token text not null check (token in ('USDT_ERC20', 'ANKR_ERC20')),
        from_address text not null check (from_address ~ '^0x[0-9a-f]{40}$'),
        to_address text not null check (to_address ~ '^0x[0-9a-f]{40}$'),
        -- in token units (not wei), exact: unconstrained numeric keeps every one of the 18 decimals
        amount numeric not null check (amount > 0),
        block_number bigint not null check (block_number >= 0),
        block_hash text not null check (block_hash ~ '^0x[0-9a-f]{64}$'),
        confirmations integer not null check (confirmations >= 0),
        -- seen: recorded, not acted on (below depth, or not sent to one of our addresses);
        -- signalled: handed to the prepay's workflow; credited: a credit workflow owns it;
        -- orphaned: its block left the canonical chain before it reached depth
        status text not null check (status in ('seen', 'signalled', 'credited', 'orphaned')),
        source text not null check (source in ('watcher', 'route')),
        tenant_id text references tenants(id),
        pre_pay_id bigint,
        movement_id text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (chain_id, tx_hash, log_index)
      );
      create index chain_transfers_tenant_idx on chain_transfers (tenant_id, created_at desc) where tenant_id is not null;
      create index chain_transfers_prepay_idx on chain_transfers (pre_pay_id) where pre_pay_id is not null;
      create index chain_transfers_seen_idx on chain_transfers (chain_id, token, block_number) where status = 'seen';

      create table watcher_cursors (
        chain_id bigint not null,
        token_contract text not null check (token_contract ~ '^0x[0-9a-f]{40}$'),
        -- the last block whose logs were fully processed, and its hash when processed
        block_number bigint not null check (block_number >= 0),
        block_hash text not null check (block_hash ~ '^0x[0-9a-f]{64}$'),
        updated_at timestamptz not null default now(),
        primary key (chain_id, token_contract)
      );
    `);
  }
}
