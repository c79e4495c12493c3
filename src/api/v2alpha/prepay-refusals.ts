/**
 * A prepay workflow's refusal of an Update, as the API error a client gets: the error type and field of the
 * failure catalogue (src/domain/failures.ts), and for a closed prepay the status it closed in.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { findPrepay } from '../../db/repositories/prepays.ts';
import { AppError } from '../../domain/errors.ts';
import { FAILURES, failureOf } from '../../domain/failures.ts';
import { PrepayRejection } from '../../temporal/prepays.ts';

/** The AppError for a PrepayRejection; any other error is answered as it is. */
export async function rejectionToAppError(em: EntityManager, prePayId: number, error: unknown): Promise<unknown> {
  if (!(error instanceof PrepayRejection)) return error;
  const mapped = failureOf(error.type)?.http ?? { error: 'conflict' as const };
  let message = error.message;
  if (error.type === FAILURES.prepayClosed.type) {
    // The workflow's status when it said one: the row may still show the status before.
    const status = error.status ?? (await findPrepay(em.fork(), prePayId))?.status ?? 'closed';
    message = `Prepay ${prePayId} is ${status}; it can no longer be changed.`;
  }
  return new AppError(mapped.error, message, { field: mapped.field });
}
