/**
 * A subscription as its events carry it: the fields `GET /payment/v1/subscriptions/{plan_id}` answers, the
 * price as an exact decimal string (an event's data is JSON stored and sent as it is, never a float).
 */
import { formatTimestamp } from '../../domain/format.ts';
import { Dec, toCanonicalString } from '../../domain/money.ts';
import type { Subscription } from '../repositories/subscriptions.ts';

export function subscriptionView(subscription: Subscription) {
  const at = (date: Date | null | undefined) => (date ? formatTimestamp(date) : null);
  return {
    subscription_id: subscription.id,
    plan_id: subscription.planId,
    namespace: subscription.tenantId,
    region: subscription.region,
    status: subscription.status,
    price: toCanonicalString(new Dec(subscription.price)),
    bill_period: subscription.billPeriod,
    period: subscription.period,
    current_period_start: formatTimestamp(subscription.currentPeriodStart),
    current_period_end: formatTimestamp(subscription.currentPeriodEnd),
    arrears_since: at(subscription.arrearsSince),
    suspended_at: at(subscription.suspendedAt),
    canceled_at: at(subscription.canceledAt),
    creation_time: formatTimestamp(subscription.createdAt),
  };
}

/** A subscription's event data: the facts every subscription event carries, and the subscription as its GET answers it. */
export function subscriptionEventData(subscription: Subscription) {
  return {
    subscription_id: subscription.id,
    plan_id: subscription.planId,
    period: subscription.period,
    status: subscription.status,
    subscription: subscriptionView(subscription),
  };
}

/** The event keys of a subscription's own events (stable: a retry records nothing twice). */
export const subscriptionEventKeys = {
  created: (id: string) => `subscription-${id}-created`,
  renewed: (id: string, period: number) => `subscription-${id}-period-${period}-renewed`,
  resumed: (id: string, period: number) => `subscription-${id}-period-${period}-resumed`,
};
