/**
 * Card charges and refunds at the gateway, and the ledger side of recharges and refunds. Business
 * failures (declines, refused refunds) are non-retryable ApplicationFailures with a stable type;
 * gateway outages are plain errors, so Temporal retries them with the same idempotency key.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Orm } from '../db/orm.ts';
import { Card, MoneyMovement } from '../db/entities/index.ts';
import type { RecordEventInput } from './events.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError } from '../domain/errors.ts';
import { FAILURES } from '../domain/failures.ts';
import { formatTimestamp } from '../domain/format.ts';
import { Dec, parseDecimal } from '../domain/money.ts';
import { CardDeclinedError, GatewayRequestRefusedError, InvalidCardTokenError, type CardGateway } from '../gateway/card-gateway.ts';
import { signalUnpaidSubscriptions } from '../temporal/subscriptions.ts';
import { failMovement, recordGatewayRefund, reverseMovement, settleCredit, undoMovementReversal } from '../ledger/movements.ts';

/** A permanent gateway refusal of a charge, as the non-retryable failure the decline paths handle (details: declineCode). */
export function chargeRefusedFailure(error: unknown): ApplicationFailure | undefined {
  const code = error instanceof GatewayRequestRefusedError ? error.code : error instanceof InvalidCardTokenError ? 'card_unknown' : undefined;
  if (!code) return undefined;
  return ApplicationFailure.create({ type: FAILURES.chargeRefused.type, message: (error as Error).message, nonRetryable: true, details: [{ declineCode: code }] });
}

/** A permanent gateway refusal of a refund, as a non-retryable failure (details: code). */
export function refundRefusedFailure(error: unknown): ApplicationFailure | undefined {
  if (!(error instanceof GatewayRequestRefusedError)) return undefined;
  return ApplicationFailure.create({ type: FAILURES.gatewayRefundRefused.type, message: error.message, nonRetryable: true, details: [{ code: error.code }] });
}

export interface ChargeCardInput {
  idempotencyKey: string;
  tenantId: string;
  cardId: string;
  /** USD, decimal string */
  amount: string;
  offSession: boolean;
  description: string;
}

/** A money movement as an event's data: the fields its GET route answers, amounts as exact decimal strings. */
export function movementEventData(movement: MoneyMovement): Record<string, unknown> {
  return {
    trans_id: movement.id,
    creation_time: formatTimestamp(movement.createdAt),
    amount: new Dec(movement.amount).toFixed(),
    currency: movement.currency,
    description: movement.description,
    payment_method: movement.paymentMethod,
    status: movement.status,
  };
}

type RecordsEvents = { recordEvent: (input: RecordEventInput) => Promise<unknown> };

export function createPaymentActivities(deps: { orm: Orm; gateway: CardGateway; clock: Clock }, events: RecordsEvents) {
  /** `transaction.refunded`, once the refund is complete (its key: the movement's). */
  const refunded = (movement: MoneyMovement) =>
    events.recordEvent({
      key: `movement-${movement.id}-refunded`,
      tenantId: movement.tenantId,
      type: 'transaction.refunded',
      data: { ...movementEventData(movement), refund_reason: movement.refundReason ?? null },
    });
  return {
    async chargeCard(input: ChargeCardInput): Promise<{ chargeId: string }> {
      const card = await deps.orm.em.fork().findOne(Card, { id: input.cardId, tenantId: input.tenantId });
      if (!card || card.deletedAt) {
        throw ApplicationFailure.create({ type: FAILURES.cardDeclined.type, message: 'The card was removed.', nonRetryable: true, details: [{ declineCode: 'card_removed' }] });
      }
      try {
        const result = await deps.gateway.charge({
          idempotencyKey: input.idempotencyKey,
          cardRef: card.gatewayRef,
          customerRef: card.gatewayCustomerRef ?? undefined,
          amount: parseDecimal(input.amount),
          currency: 'USD',
          offSession: input.offSession,
          description: input.description,
        });
        return { chargeId: result.chargeId };
      } catch (error) {
        if (error instanceof CardDeclinedError) {
          throw ApplicationFailure.create({ type: FAILURES.cardDeclined.type, message: error.message, nonRetryable: true, details: [{ declineCode: error.declineCode }] });
        }
        throw chargeRefusedFailure(error) ?? error;
      }
    },

    async refundCharge(input: { idempotencyKey: string; chargeId: string; amount: string }): Promise<{ refundId: string }> {
      try {
        const result = await deps.gateway.refund({ idempotencyKey: input.idempotencyKey, chargeId: input.chargeId, amount: new Dec(input.amount) });
        return { refundId: result.refundId };
      } catch (error) {
        throw refundRefusedFailure(error) ?? error;
      }
    },

    /**
     * Settles the credit (once), records `balance.recharged` (once), and with `resumeUnpaidSubscriptions` signals
     * the tenant's subscriptions that wait for money to retry their charge now (decision 0111); a retry of this
     * activity signals them again, which a paid subscription ignores.
     */
    async settleCredit(input: { movementId: string; gatewayChargeId: string | null; resumeUnpaidSubscriptions?: boolean }): Promise<{ status: string; signaled?: number }> {
      const movement = await settleCredit(deps.orm.em.fork(), input.movementId, { gatewayChargeId: input.gatewayChargeId }, deps.clock.now());
      // after the credit's commit: a retry settles nothing twice and records the same event id
      if (movement.status === 'finish' && movement.kind === 'recharge') {
        await events.recordEvent({ key: `movement-${movement.id}-recharged`, tenantId: movement.tenantId, type: 'balance.recharged', data: movementEventData(movement) });
      }
      if (input.resumeUnpaidSubscriptions && movement.status === 'finish') {
        return { status: movement.status, signaled: await signalUnpaidSubscriptions(deps.orm.em.fork(), Context.current().client, movement.tenantId) };
      }
      return { status: movement.status };
    },

    /** Answers the movement's status (`failed`, or what it already was: repeating is a no-op). */
    async failMovement(input: { movementId: string; code: string; message: string }): Promise<{ status: string }> {
      const movement = await failMovement(deps.orm.em.fork(), input.movementId, { code: input.code, message: input.message }, deps.clock.now());
      return { status: movement.status };
    },

    /** The ledger side of a refund; a refusal (not finished, balance spent) is final. */
    async reverseMovement(input: { movementId: string; reason: string }): Promise<{ paymentMethod: string; chargeId: string | null; amount: string }> {
      try {
        const movement = await reverseMovement(deps.orm.em.fork(), input.movementId, input.reason, deps.clock.now());
        // no card to refund: the reversal is the whole refund
        if (movement.paymentMethod !== 'card' || !movement.gatewayChargeId) await refunded(movement);
        return { paymentMethod: movement.paymentMethod, chargeId: movement.gatewayChargeId ?? null, amount: new Dec(movement.amount).toFixed() };
      } catch (error) {
        if (error instanceof AppError) {
          throw ApplicationFailure.create({ type: FAILURES.refundRefused.type, message: error.message, nonRetryable: true, details: [{ errorType: error.type }] });
        }
        throw error;
      }
    },

    /** The gateway refused the refund for good: the ledger's reversal is undone, the money is the tenant's again. */
    async undoMovementReversal(input: { movementId: string; reason: string }): Promise<{ status: string }> {
      const movement = await undoMovementReversal(deps.orm.em.fork(), input.movementId, input.reason, deps.clock.now());
      return { status: movement.status };
    },

    async recordGatewayRefund(input: { movementId: string; refundId: string }): Promise<{ refundId: string; status: string | null }> {
      await recordGatewayRefund(deps.orm.em.fork(), input.movementId, input.refundId, deps.clock.now());
      const movement = await deps.orm.em.fork().findOne(MoneyMovement, { id: input.movementId });
      if (movement) await refunded(movement);
      return { refundId: input.refundId, status: movement?.status ?? null };
    },
  };
}
