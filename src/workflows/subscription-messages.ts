/**
 * The SubscriptionWorkflow's contract: its input, the signal a recharge sends, the status query and the
 * cancel update. The API and the activities import these definitions; they hold no workflow logic.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BillingPeriod } from '../domain/billing-periods.ts';
import type { LiveSubscriptionStatus, SubscriptionStatus } from '../domain/subscriptions.ts';

/** One run covers one period; continue-as-new carries this state to the next. */
export interface SubscriptionInput {
  subscriptionId: string;
  tenantId: string;
  planId: string;
  billPeriod: BillingPeriod;
  /** USD per period, decimal text (the price at checkout) */
  price: string;
  /** ISO time: periods are calendar months (or years) from here */
  anchor: string;
  /** the current period: paid when active/canceling, due when arrears/suspended */
  period: number;
  status: LiveSubscriptionStatus;
  /** ISO time the current period's charge first failed */
  arrearsSince?: string | undefined;
  /** ISO time the subscription was suspended */
  suspendedAt?: string | undefined;
}

export interface SubscriptionView {
  subscriptionId: string;
  status: SubscriptionStatus;
  period: number;
  periodStart: string;
  periodEnd: string;
  arrearsSince: string | null;
  suspendedAt: string | null;
  /** when an unpaid subscription is suspended (arrears) or canceled (suspended) unless paid */
  nextDeadline: string | null;
}

export type SubscriptionResult = { status: 'canceled'; reason: 'canceled_by_customer' | 'unpaid'; period: number };

/** The custom search attributes a subscription keeps current (registered by src/temporal/search-attributes.ts). */
export const SUBSCRIPTION_SEARCH_ATTRIBUTES = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  planId: defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('SubscriptionStatus', SearchAttributeType.KEYWORD),
};

/** A recharge landed: try the unpaid period's charge now. */
export const retryChargeSignal = defineSignal('retryCharge');

export const subscriptionStatusQuery = defineQuery<SubscriptionView>('subscriptionStatus');

/**
 * Cancel: a paid subscription ends at its period's end (`canceling`, then `canceled`); an unpaid one
 * ends at once. Answers the status after the change.
 */
export const cancelSubscriptionUpdate = defineUpdate<SubscriptionView>('cancelSubscription');
