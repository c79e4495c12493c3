/**
 * The subscription side effects: charging a period from the balance (and keeping the read model current
 * in the same database transaction), status changes of the read model, and waking unpaid subscriptions
 * after a recharge. A short balance is a non-retryable `InsufficientBalance` failure: the workflow turns
 * it into arrears.
 */
import { recordEventIn } from '../db/repositories/events.ts';
import { subscriptionEventKeys, subscriptionEventData } from '../db/views/subscription.ts';
import { eventIdFor } from '../domain/events.ts';
import type { WebhookSettings } from '../domain/webhooks.ts';
import { startPendingDeliveries } from '../temporal/webhooks.ts';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Orm } from '../db/orm.ts';
import { findSubscription, markPeriodPaid, markStatus, tenantSubscriptions } from '../db/repositories/subscriptions.ts';
import type { Clock } from '../domain/clock.ts';
import { Dec } from '../domain/money.ts';
import { balanceWillNotCover, periodChargeKey, type SubscriptionStatus } from '../domain/subscriptions.ts';
import { chargeFromBalance } from '../ledger/balance-charges.ts';
import { findPlan } from '../db/repositories/catalog.ts';
import { FAILURES } from '../domain/failures.ts';
import { InsufficientBalanceError, tenantBalances } from '../ledger/ledger.ts';
import { signalUnpaidSubscriptions } from '../temporal/subscriptions.ts';

export interface PeriodRef {
  period: number;
  /** ISO times */
  start: string;
  end: string;
}

export interface ChargePeriodResult {
  transId: string;
  /** USD balance after the charge, decimal text */
  balance: string;
  /** the balance will not cover what comes due next (the account's `notification`) */
  balanceLow: boolean;
}

export function createSubscriptionActivities(deps: { orm: Orm; clock: Clock; webhooks: WebhookSettings }) {
  return {
    /** Charges one period from the balance with the key `subscription-{id}-period-{n}`, once. */
    async chargeSubscriptionPeriod(input: { subscriptionId: string } & PeriodRef): Promise<ChargePeriodResult> {
      let result: ChargePeriodResult;
      try {
        result = await deps.orm.em.fork().transactional(async (tx) => {
          const subscription = await findSubscription(tx, input.subscriptionId, { forUpdate: true });
          if (!subscription || subscription.status === 'canceled') {
            throw ApplicationFailure.create({ type: FAILURES.subscriptionGone.type, message: `Subscription ${input.subscriptionId} is canceled or unknown.`, nonRetryable: true });
          }
          const plan = await findPlan(tx, subscription.planId);
          const now = deps.clock.now();
          const charge = await chargeFromBalance(
            tx,
            {
              idempotencyKey: periodChargeKey(subscription.id, input.period),
              tenantId: subscription.tenantId,
              kind: 'subscription',
              amount: new Dec(subscription.price),
              description: plan?.name ?? 'Plan subscription',
              metadata: { subscription_id: subscription.id, plan_id: subscription.planId, period: input.period },
            },
            now,
          );
          await markPeriodPaid(tx, subscription.id, { period: input.period, start: new Date(input.start), end: new Date(input.end) }, now);
          // its events in the same transaction (the outbox): a retry finds them recorded
          const paid = (await findSubscription(tx, subscription.id))!;
          const view = subscriptionEventData(paid);
          if (input.period > 1) {
            await recordEventIn(tx, { key: subscriptionEventKeys.renewed(paid.id, input.period), tenantId: paid.tenantId, type: 'subscription.renewed', data: view }, now);
          }
          if (subscription.status === 'arrears' || subscription.status === 'suspended') {
            const data = { ...view, resumed_from: subscription.status };
            await recordEventIn(tx, { key: subscriptionEventKeys.resumed(paid.id, input.period), tenantId: paid.tenantId, type: 'subscription.resumed', data }, now);
          }
          const balance = (await tenantBalances(tx, subscription.tenantId)).USD;
          const { live } = await tenantSubscriptions(tx, subscription.tenantId);
          const balanceLow = balanceWillNotCover(
            balance,
            live.map((row) => ({ status: row.status, price: new Dec(row.price) })),
          );
          return { transId: charge.movementId, balance: balance.toFixed(), balanceLow };
        });
      } catch (error) {
        if (error instanceof InsufficientBalanceError) {
          throw ApplicationFailure.create({ type: FAILURES.insufficientBalance.type, message: error.message, nonRetryable: true });
        }
        throw error;
      }
      const { client, info } = Context.current();
      for (const key of [subscriptionEventKeys.renewed(input.subscriptionId, input.period), subscriptionEventKeys.resumed(input.subscriptionId, input.period)]) {
        await startPendingDeliveries(client, deps.orm.em.fork(), info.taskQueue, eventIdFor(key), deps.webhooks.scheduleSeconds);
      }
      return result;
    },

    /** Writes a status change to the read model; a canceled subscription is never changed again. */
    async setSubscriptionStatus(input: {
      subscriptionId: string;
      status: Exclude<SubscriptionStatus, 'active'>;
      at: string;
      period?: PeriodRef;
    }): Promise<{ status: Exclude<SubscriptionStatus, 'active'> }> {
      const period = input.period ? { period: input.period.period, start: new Date(input.period.start), end: new Date(input.period.end) } : undefined;
      await markStatus(deps.orm.em.fork(), input.subscriptionId, { status: input.status, at: new Date(input.at), period }, deps.clock.now());
      return { status: input.status };
    },

    /** After a recharge: every unpaid subscription of the tenant retries its charge now. */
    async resumeUnpaidSubscriptions(input: { tenantId: string }): Promise<{ signaled: number }> {
      return { signaled: await signalUnpaidSubscriptions(deps.orm.em.fork(), Context.current().client, input.tenantId) };
    },
  };
}
