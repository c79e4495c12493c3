/** The request's Idempotency-Key claim as the prepays' allocation needs it (its generation included; decision 0070). */
import type { PrepayIdempotency } from '../../db/repositories/prepay-allocation.ts';
import { idempotencyOf, type IdempotencyClaim } from '../middleware/idempotency.ts';

/** How long an Idempotency-Key keeps its prepay (as the idempotency middleware keeps the answer). */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

export function prepayIdempotencyOf(ctx: { state: { idempotency?: IdempotencyClaim } }): PrepayIdempotency | null {
  const claim = idempotencyOf(ctx);
  return claim ? { owner: claim.owner, key: claim.key, generation: claim.generation, retentionHours: IDEMPOTENCY_RETENTION_HOURS } : null;
}
