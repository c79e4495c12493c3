/**
 * `prepay_cancel_requests`: which API requests (by their Idempotency-Key claim) asked to cancel a prepay,
 * so that a retry whose first answer was lost answers the cancel it made rather than "already canceled".
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { TERMINAL_PREPAY_STATUSES } from '../../domain/prepay.ts';

/** Records that the request asks to cancel the prepay, only while the prepay's row does not say it is closed. */
export async function recordCancelRequest(em: EntityManager, prePayId: number, token: string): Promise<void> {
  await em.execute(
    `insert into prepay_cancel_requests (prepay_id, token) select id, ? from prepays
       where id = ? and status not in (${TERMINAL_PREPAY_STATUSES.map(() => '?').join(', ')}) on conflict do nothing`,
    [token, prePayId, ...TERMINAL_PREPAY_STATUSES],
  );
}

/** The prepay is canceled, and this request asked for it (an earlier attempt of the same request). */
export async function canceledByRequest(em: EntityManager, prePayId: number, token: string): Promise<boolean> {
  const [row] = await em.execute<{ status: string }[]>('select p.status from prepays p join prepay_cancel_requests r on r.prepay_id = p.id and r.token = ? where p.id = ?', [
    token,
    prePayId,
  ]);
  return row?.status === 'canceled';
}

/** The request did not cancel (it was refused as closed): its record goes, so that a retry is refused the same way. */
export async function forgetCancelRequest(em: EntityManager, prePayId: number, token: string): Promise<void> {
  await em.execute('delete from prepay_cancel_requests where prepay_id = ? and token = ?', [prePayId, token]);
}
