import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency keys under crashes and retries (decision 0070).
 *
 * * `generation`: a key's claims are numbered; the business ids a request derives from its key include the
 *   generation, so the same key reused after its retention (row deleted, claimed again) names a new request.
 *   Rows claimed before this migration keep `null` and the ids they always had.
 * * `holder`: the request that holds the claim now; a heartbeat, a completion or a release by a request whose
 *   claim was taken over changes nothing.
 * * `prepays.idempotency_generation`: the generation whose request allocated the prepay.
 */
export class Migration0009IdempotencyGenerations extends Migration {
  override name = '0009-idempotency-generations';

  override up(): void {
    this.addSql(`
      create sequence idempotency_key_generations;
      alter table idempotency_keys
        add column generation bigint,
        add column holder text;
      alter table idempotency_keys alter column generation set default nextval('idempotency_key_generations');
      alter sequence idempotency_key_generations owned by idempotency_keys.generation;

      alter table prepays add column idempotency_generation bigint;
    `);
  }
}
