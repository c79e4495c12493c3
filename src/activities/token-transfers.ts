/**
 * Crediting a token transfer to a team's balance: a `token` money movement (credit from the
 * token_clearing account, ledger key `movement-{id}`), once per transfer identity.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Orm } from '../db/orm.ts';
import { lockTransfer, recordTransferMovement, reserveTransfer } from '../db/repositories/chain-transfers.ts';
import { transferMovementId } from '../chain/identity.ts';
import type { Clock } from '../domain/clock.ts';
import { FAILURES } from '../domain/failures.ts';
import { CURRENCY_DECIMALS, parseDecimal, type Dec } from '../domain/money.ts';
import type { TokenTransferSignal } from '../domain/token-transfer.ts';
import { createPendingMovement, settleCredit } from '../ledger/movements.ts';
import { count } from '../metrics/record.ts';

export interface CreditTokenTransferInput {
  transfer: TokenTransferSignal;
  tenantId: string;
  /** the token prepay whose first payment this transfer counts toward: its amount is reserved for it, in the same database transaction as the credit */
  reserveFor?: number;
}

export function createTokenTransferActivities(deps: { orm: Orm; clock: Clock }) {
  return {
    /** Credits the transfer's amount to the tenant's balance in its token; repeating it credits nothing more. */
    async creditTokenTransfer(input: CreditTokenTransferInput): Promise<{ movementId: string; status: string }> {
      const { transfer } = input;
      const amount = validAmount(transfer);
      const movementId = transferMovementId(transfer);
      const now = deps.clock.now();
      const before = await createPendingMovement(
        deps.orm.em.fork(),
        {
          id: movementId,
          tenantId: input.tenantId,
          kind: 'token_transfer',
          currency: transfer.token,
          amount,
          paymentMethod: 'token',
          description: `Token transfer ${transfer.txHash} (log ${transfer.logIndex}) on chain ${transfer.chainId}`,
        },
        now,
      );
      // The credit and its reservation in one database transaction: no payment can take the tokens in between.
      const credited = await deps.orm.em.fork().transactional(async (em) => {
        // Waits for a delivery of this transfer still in its transaction, so that the row it inserted is seen.
        await lockTransfer(em, transfer);
        const movement = await settleCredit(em, movementId, {}, now);
        await recordTransferMovement(em, transfer, movementId, now);
        if (input.reserveFor !== undefined) {
          await reserveTransfer(em, transfer, { prePayId: input.reserveFor, tenantId: input.tenantId, currency: transfer.token, amount });
        }
        return { movementId, status: movement.status };
      });
      // After the commit, and only when this call found the transfer not yet credited (a repeat counts nothing).
      if (before.status === 'pending') count('token_transfers_credited_total', { currency: transfer.token });
      return credited;
    },
  };
}

function validAmount(transfer: TokenTransferSignal): Dec {
  let amount: Dec;
  try {
    amount = parseDecimal(transfer.amount);
  } catch {
    throw invalid(`amount ${JSON.stringify(transfer.amount)} is not a plain decimal`);
  }
  if (amount.lte(0)) throw invalid('amount must be positive');
  if (amount.decimalPlaces() > CURRENCY_DECIMALS[transfer.token]) throw invalid(`amount has more than ${CURRENCY_DECIMALS[transfer.token]} decimals for ${transfer.token}`);
  return amount;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FAILURES.invalidTransfer.type, message, nonRetryable: true });
}
