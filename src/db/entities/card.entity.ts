import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A tenant's card: the gateway's reference plus brand, last4 and expiry. Never a card number. */
export const Card = defineEntity({
  name: 'Card',
  tableName: 'cards',
  properties: {
    id: p.string().primary(),
    tenantId: p.string().fieldName('tenant_id'),
    gateway: p.string(),
    gatewayRef: p.string().fieldName('gateway_ref'),
    /** the gateway's customer holding the card (Stripe `cus_…`), needed to charge it again off-session */
    gatewayCustomerRef: p.string().fieldName('gateway_customer_ref').nullable(),
    brand: p.string(),
    last4: p.string(),
    expMonth: p.integer().fieldName('exp_month'),
    expYear: p.integer().fieldName('exp_year'),
    isDefault: p.boolean().fieldName('is_default'),
    createdAt: p.datetime().fieldName('created_at'),
    deletedAt: p.datetime().fieldName('deleted_at').nullable(),
  },
});
export type Card = InferEntity<typeof Card>;
