/**
 * Plan subscriptions paid from the balance (DESIGN §6): statuses, the dunning clock, and the stable names
 * (workflow ids, ledger keys, event keys) that make every step happen once. Pure: workflows use it.
 */
import { Dec } from './money.ts';
import { scopedId, type Installation } from './installation.ts';

export const SUBSCRIPTION_STATUSES = ['active', 'canceling', 'arrears', 'suspended', 'canceled'] as const;
/**
 * `active`: the current period is paid. `canceling`: paid, ends at the period's end. `arrears`: the
 * current period is due and the balance was short (service continues for the grace period).
 * `suspended`: still unpaid after the grace period. `canceled`: over (final).
 */
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
export type LiveSubscriptionStatus = Exclude<SubscriptionStatus, 'canceled'>;

/** Days in arrears before a subscription is suspended. */
export const ARREARS_GRACE_DAYS = 7;
/** Days suspended before a subscription is canceled. */
export const SUSPENSION_DAYS = 30;
/** While unpaid, the charge is also retried this often, in case a recharge's signal was lost. */
export const UNPAID_RETRY_HOURS = 24;

export const DAY_MS = 24 * 3600 * 1000;

/** One workflow per tenant and plan; a new checkout after a cancellation reuses the id. */
export const subscriptionWorkflowId = (installation: Installation, tenantId: string, planId: string) => scopedId(installation, 'subscription', `${tenantId}-${planId}`);

/** The ledger idempotency key of a period's charge: stable across retries, replays and continue-as-new. */
export const periodChargeKey = (subscriptionId: string, period: number) => `subscription-${subscriptionId}-period-${period}`;

/** The key of an event about a subscription (`arrears`, `suspended`, `canceled`, `balance-low`), once per period. */
export const subscriptionEventKey = (subscriptionId: string, period: number, what: string) => `subscription-${subscriptionId}-period-${period}-${what}`;

/** Statuses that will be charged again (a `canceling` subscription will not). */
export const CHARGEABLE_STATUSES: readonly SubscriptionStatus[] = ['active', 'arrears', 'suspended'];

/** Most urgent first: the account's status is the most urgent of its subscriptions'. */
const URGENCY: readonly SubscriptionStatus[] = ['suspended', 'arrears', 'active', 'canceling', 'canceled'];

/** The account's status (seed 001 `status`): "" for a tenant that never subscribed. */
export function accountStatus(statuses: readonly SubscriptionStatus[]): SubscriptionStatus | '' {
  return URGENCY.find((status) => statuses.includes(status)) ?? '';
}

/** The account holds a plan being served and paid for (`purchased`). */
export function isPurchased(statuses: readonly SubscriptionStatus[]): boolean {
  return statuses.some((status) => status === 'active' || status === 'canceling');
}

/**
 * `notification`: the balance will not cover what comes due next — the next charge of every
 * subscription that renews, plus every unpaid period.
 */
export function balanceWillNotCover(balance: Dec, subscriptions: readonly { status: SubscriptionStatus; price: Dec }[]): boolean {
  const due = subscriptions.filter((subscription) => CHARGEABLE_STATUSES.includes(subscription.status)).reduce((sum, subscription) => sum.plus(subscription.price), new Dec(0));
  return due.gt(0) && balance.lt(due);
}
