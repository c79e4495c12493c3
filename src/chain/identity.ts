/** Ids derived from a transfer's identity, so that every retry and replay lands on the same rows. */
import { createHash } from 'node:crypto';
import { transferKey, type TransferIdentity } from '../domain/token-transfer.ts';

/** The `trans_id` of the money movement that credits a transfer to a team's balance. */
export function transferMovementId(identity: TransferIdentity): string {
  return `tr_${createHash('sha256')
    .update(`token-transfer\n${transferKey(identity)}`)
    .digest('base64url')
    .slice(0, 22)}`;
}
