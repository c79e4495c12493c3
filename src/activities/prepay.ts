/**
 * The side effects of PrepayWorkflow: booking payments, monthly revenue and refunds in the ledger,
 * refunding at the gateway, re-pricing a renewal, and writing the read model. Each one is safe to
 * repeat: its effect is keyed by the prepay's business step. The card charge itself is `chargeCard`
 * (payments.ts). Times come from the workflow (workflow time), not from the worker's clock.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Orm } from '../db/orm.ts';
import { findTenantCard } from '../db/repositories/cards.ts';
import { findCluster, priceBookOf } from '../db/repositories/catalog.ts';
import { findPrepayPayment } from '../db/repositories/prepay-payments.ts';
import { findPrepay, prepaySyncSeq, writePrepaySnapshot } from '../db/repositories/prepays.ts';
import { prepayView } from '../db/views/prepay.ts';
import type { EventType, RecordEventInput } from './events.ts';
import type { Clock } from '../domain/clock.ts';
import { Dec, parseDecimal, type Currency } from '../domain/money.ts';
import { prepayKeys, type AppBinding, type PrepaySnapshot, type PrepayStatus } from '../domain/prepay.ts';
import { FAILURES } from '../domain/failures.ts';
import { priceResources } from '../domain/pricing.ts';
import type { CardGateway } from '../gateway/card-gateway.ts';
import { bookPrepayPayment, bookPrepayRefund, recognisePrepayMonth } from '../ledger/prepays.ts';
import { refundRefusedFailure } from './payments.ts';

/** The statuses whose arrival is an event of its own, recorded with the snapshot (the workflow records the others). */
const STATUS_EVENTS: Partial<Record<PrepayStatus, EventType>> = {
  payment_failed: 'prepay.payment_failed',
  past_due: 'prepay.past_due',
  completed: 'prepay.completed',
  canceled: 'prepay.canceled',
};

export function createPrepayActivities(deps: { orm: Orm; gateway: CardGateway; clock: Clock }, events: { recordEvent: (input: RecordEventInput) => Promise<unknown> }) {
  return {
    async bookPrepayPayment(input: {
      prePayId: number;
      tenantId: string;
      cycle: number;
      amount: string;
      cardId: string;
      chargeId: string;
      paidAt: string;
    }): Promise<{ ledgerTransactionId: string }> {
      const amount = parseDecimal(input.amount);
      return bookPrepayPayment(deps.orm.em.fork(), {
        prePayId: input.prePayId,
        tenantId: input.tenantId,
        cycle: input.cycle,
        currency: 'USD',
        amount,
        usd: amount,
        cardId: input.cardId,
        gatewayChargeId: input.chargeId,
        paidAt: new Date(input.paidAt),
      });
    },

    /** One month's share becomes revenue, in the prepay's currency (USD unless given). */
    async recognisePrepayMonth(input: {
      prePayId: number;
      tenantId: string;
      cycle: number;
      month: number;
      amount: string;
      currency?: Currency;
    }): Promise<{ month: number; amount: string; currency: Currency }> {
      const currency = input.currency ?? 'USD';
      await recognisePrepayMonth(deps.orm.em.fork(), { ...input, currency, amount: parseDecimal(input.amount) });
      return { month: input.month, amount: input.amount, currency };
    },

    /** Refunds part or all of a cycle's charge at the gateway, then books it; the key makes both happen once. */
    async refundPrepayCycle(input: {
      prePayId: number;
      tenantId: string;
      cycle: number;
      amount: string;
      idempotencyKey: string;
      reason: string;
      refundedAt: string;
    }): Promise<{ refundId: string }> {
      const em = deps.orm.em.fork();
      const payment = await findPrepayPayment(em, input.prePayId, input.cycle);
      if (!payment?.gatewayChargeId) throw new Error(`prepay ${input.prePayId} has no card charge for cycle ${input.cycle}`);
      const amount = parseDecimal(input.amount);
      let refundId: string;
      try {
        ({ refundId } = await deps.gateway.refund({ idempotencyKey: input.idempotencyKey, chargeId: payment.gatewayChargeId, amount }));
      } catch (error) {
        throw refundRefusedFailure(error) ?? error; // refused for good: nothing booked, the workflow makes it visible
      }
      await bookPrepayRefund(em, { ...input, amount, gatewayRefundId: refundId, refundedAt: new Date(input.refundedAt) });
      return { refundId };
    },

    /** The USD price of the bound app's resources for a period, at the cluster's current price book. */
    async priceRenewal(input: { app: AppBinding; period: number }): Promise<{ usd: string }> {
      const cluster = await findCluster(deps.orm.em.fork(), input.app.clusterId);
      if (!cluster) {
        throw ApplicationFailure.create({ type: FAILURES.renewalUnpriceable.type, message: `Cluster ${input.app.clusterId} no longer exists.`, nonRetryable: true });
      }
      const resources = { cpuMillicores: input.app.cpuLimit, memoryMib: input.app.memLimit, storageGib: input.app.storageLimit };
      const { usd } = priceResources(priceBookOf(cluster), resources, input.app.chartName, input.period);
      if (usd.lte(new Dec(0))) {
        throw ApplicationFailure.create({ type: FAILURES.renewalUnpriceable.type, message: 'The bound resources cost nothing at current prices.', nonRetryable: true });
      }
      return { usd: usd.toFixed() };
    },

    /** Whether a card can pay for the tenant's prepay (it is the tenant's, and not removed). */
    async isPrepayCardUsable(input: { tenantId: string; cardId: string }): Promise<boolean> {
      return (await findTenantCard(deps.orm.em.fork(), input.tenantId, input.cardId)) !== null;
    },

    /**
     * Writes the workflow's state to the prepays row; `seq` orders the writes of one prepay. `then` is an
     * event the workflow records right after this write (its key makes it once), in this activity instead of
     * one more. Writes the workflow's snapshot. When the stored snapshot is this one (written now, or by an earlier try
     * of this activity) in a status the platform acts on that the workflow records no event for, the event
     * is recorded with the prepay as its GET answers it; its key (prepay, cycle, status) makes it once.
     */
    async syncPrepay(input: { snapshot: PrepaySnapshot; seq: number; then?: RecordEventInput }): Promise<{ status: PrepayStatus; seq: number; written: boolean }> {
      const em = deps.orm.em.fork();
      // `written` is false for a late retry whose snapshot a newer one had replaced already
      const written = await writePrepaySnapshot(em, input.snapshot, input.seq, deps.clock.now());
      const answer = { status: input.snapshot.status, seq: input.seq, written };
      // the event the workflow records with this write (decision 0109): after it, so that it carries this state
      if (input.then) await events.recordEvent(input.then);
      const type = STATUS_EVENTS[input.snapshot.status];
      if (!type || (await prepaySyncSeq(em, input.snapshot.prePayId)) !== input.seq) return answer;
      const prepay = await findPrepay(em, input.snapshot.prePayId);
      if (!prepay) return answer;
      await events.recordEvent({
        key: prepayKeys.event(prepay.id, prepay.cycle, `status-${input.snapshot.status}`),
        tenantId: prepay.tenantId,
        type,
        data: { pre_pay_id: prepay.id, cycle: prepay.cycle, prepay: prepayView(prepay) },
      });
      return answer;
    },
  };
}
