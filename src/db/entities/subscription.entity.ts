import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { BillingPeriod } from '../../domain/billing-periods.ts';
import type { SubscriptionStatus } from '../../domain/subscriptions.ts';

/**
 * A tenant's subscription to a fixed-price plan, paid from its balance: the read model the subscription
 * workflow's activities keep current (migration 0005). Read through this entity; written only by the guarded
 * statements of db/repositories/subscriptions.ts (the partial unique index and "never after canceled" are
 * the point of those).
 */
export const Subscription = defineEntity({
  name: 'Subscription',
  tableName: 'subscriptions',
  properties: {
    id: p.string().primary(),
    tenantId: p.string().fieldName('tenant_id'),
    planId: p.uuid().fieldName('plan_id'),
    region: p.string(),
    status: p.string().$type<SubscriptionStatus>(),
    billPeriod: p.string().fieldName('bill_period').$type<BillingPeriod>(),
    /** USD, decimal text: the price at checkout, what every period costs */
    price: p.decimal('string'),
    /** periods are calendar months (or years) from the anchor, never chained */
    anchor: p.datetime(),
    period: p.integer(),
    currentPeriodStart: p.datetime().fieldName('current_period_start'),
    currentPeriodEnd: p.datetime().fieldName('current_period_end'),
    workflowId: p.string().fieldName('workflow_id'),
    arrearsSince: p.datetime().fieldName('arrears_since').nullable(),
    suspendedAt: p.datetime().fieldName('suspended_at').nullable(),
    canceledAt: p.datetime().fieldName('canceled_at').nullable(),
    /** Temporal's close status of a workflow that ended without closing the subscription (reconciliation) */
    workflowClosedStatus: p.string().fieldName('workflow_closed_status').nullable(),
    workflowClosedAt: p.datetime().fieldName('workflow_closed_at').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type Subscription = InferEntity<typeof Subscription>;
