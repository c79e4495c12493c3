import { Migration } from '@mikro-orm/migrations';

/**
 * Tokens that arrived toward a token prepay's first payment are the team's (on its balance), but earmarked:
 * while the prepay waits for its payment, no other payment from that balance may take them (another
 * prepay's renewal, say). One row per counted transfer; a reservation counts only while its prepay is
 * `awaiting_payment` (the read model), and at most up to the prepay's amount. Decision 0052.
 */
export class Migration0011TokenPaymentReservations extends Migration {
  override name = '0011-token-payment-reservations';

  override up(): void {
    this.addSql(`
      create table token_payment_reservations (
        chain_id bigint not null,
        tx_hash text not null,
        log_index integer not null,
        prepay_id bigint not null references prepays(id),
        tenant_id text not null references tenants(id),
        currency text not null check (currency in ('USDT_ERC20', 'ANKR_ERC20')),
        amount numeric(48, 18) not null check (amount > 0),
        created_at timestamptz not null default now(),
        primary key (chain_id, tx_hash, log_index)
      );
      create index token_payment_reservations_tenant_idx on token_payment_reservations (tenant_id, currency);
    `);
  }
}
