/**
 * The money step of a checkout: the subscription row and the charge of its first period from the balance
 * (key `subscription-{id}-period-1`), in one database transaction, so that a short balance creates
 * nothing and two concurrent checkouts of one plan charge once (the second waits on the partial unique
 * index, then finds the first one's subscription).
 */
import { recordEventIn } from '../db/repositories/events.ts';
import { subscriptionEventKeys, subscriptionEventData } from '../db/views/subscription.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Plan } from '../db/entities/index.ts';
import { findSubscription, insertSubscription, latestSubscription, type Subscription } from '../db/repositories/subscriptions.ts';
import { installationOf } from '../db/repositories/installation.ts';
import { periodWindow } from '../domain/billing-periods.ts';
import { Dec } from '../domain/money.ts';
import { periodChargeKey, subscriptionWorkflowId } from '../domain/subscriptions.ts';
import { balanceChargeMovementId, chargeFromBalance } from './balance-charges.ts';

export type CheckoutOutcome =
  /** this checkout's subscription: created now, or by an earlier attempt with the same id */
  | { kind: 'subscribed'; subscription: Subscription; transId: string }
  /** the tenant already has a live subscription to the plan (another checkout) */
  | { kind: 'already_subscribed'; subscription: Subscription };

/**
 * Subscribes the tenant to the plan with the id `subscriptionId`, anchored at `now`. Throws
 * InsufficientBalanceError (nothing written) when the balance does not cover the first period.
 */
export async function checkoutSubscription(em: EntityManager, input: { subscriptionId: string; tenantId: string; plan: Plan }, now: Date): Promise<CheckoutOutcome> {
  const { subscriptionId: id, tenantId, plan } = input;
  const chargeKey = periodChargeKey(id, 1);
  const installation = await installationOf(em);
  return em.transactional(async (tx) => {
    const inserted = await insertSubscription(
      tx,
      {
        id,
        tenantId,
        planId: plan.id,
        region: plan.region,
        billPeriod: plan.billPeriod,
        price: plan.price,
        anchor: now,
        currentPeriodEnd: periodWindow(now, plan.billPeriod, 1).end,
        workflowId: subscriptionWorkflowId(installation, tenantId, plan.id),
      },
      now,
    );
    if (inserted) {
      await chargeFromBalance(
        tx,
        {
          idempotencyKey: chargeKey,
          tenantId,
          kind: 'subscription',
          amount: new Dec(plan.price),
          description: plan.name,
          metadata: { subscription_id: id, plan_id: plan.id, period: 1 },
        },
        now,
      );
    }
    const own = await findSubscription(tx, id);
    // the checkout's event in its own transaction (the outbox); the caller starts its deliveries
    if (own && inserted) await recordEventIn(tx, { key: subscriptionEventKeys.created(id), tenantId, type: 'subscription.created', data: subscriptionEventData(own) }, now);
    if (own) return { kind: 'subscribed', subscription: own, transId: balanceChargeMovementId(chargeKey) };
    const other = await latestSubscription(tx, tenantId, plan.id);
    if (!other) throw new Error(`checkout of plan ${plan.id} for ${tenantId} conflicted with no subscription`);
    return { kind: 'already_subscribed', subscription: other };
  });
}
