import { Migration } from '@mikro-orm/migrations';

/**
 * Token prepayments (DESIGN §5): the read model shows how much of a token prepay's first payment has
 * arrived (token units counted toward it and credited) and until when it may arrive (the quote's
 * rate-lock expiry). A token prepay has no card.
 */
export class Migration0007TokenPrepays extends Migration {
  override name = '0007-token-prepays';

  override up(): void {
    this.addSql(`
      alter table prepays
        -- unconstrained numeric: the sum of many 18-decimal transfers must never overflow the read model
        add column received_amount numeric not null default 0 check (received_amount >= 0),
        add column payment_deadline timestamptz,
        add constraint prepays_card_only_for_usd check (payment_type = 'USD' or card_id is null),
        add constraint prepays_deadline_only_for_tokens check (payment_type <> 'USD' or payment_deadline is null);
    `);
  }
}
