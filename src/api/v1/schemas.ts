import { z } from 'zod';
import { MINIMUM_CARD_CHARGE_USD } from '../../gateway/card-gateway.ts';
import { identifier, jsonNumberAmount, pageLimit } from '../validation.ts';

export const ListMarketQuery = z.strictObject({
  region: identifier,
  type: z.string().min(1, 'must not be empty').max(32, 'must be at most 32 characters').optional(),
});

export const NamespaceQuery = z.strictObject({ namespace: identifier });

export const ListAmountsQuery = z.strictObject({
  namespace: identifier,
  limit: pageLimit,
  starting_after: z.string().min(1).max(64).optional(),
});

/** A recharge: at most 1,000,000.00 USD at once, cents at most. */
export const RechargeBody = z
  .strictObject({
    amount: jsonNumberAmount({ maxDecimals: 2, positive: true, max: '1000000' }),
    namespace: identifier,
    card_id: z.string().min(1).max(64).optional(),
    payment_method: z.enum(['card', 'manual'], { error: 'must be "card" or "manual"' }).optional(),
    description: z.string().max(256, 'must be at most 256 characters').optional(),
  })
  .refine((body) => body.payment_method === 'manual' || body.amount.gte(MINIMUM_CARD_CHARGE_USD), {
    // The gateway refuses card charges below its minimum for good; a manual credit may be any positive amount.
    message: `must be at least ${MINIMUM_CARD_CHARGE_USD} for a card recharge (the smallest card charge)`,
    path: ['amount'],
  });

export const RefundBody = z.strictObject({
  reason: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(512, 'must be at most 512 characters'),
});

/** A checkout: subscribe the namespace to a plan of a region (seed 001). */
export const CheckoutBody = z.strictObject({
  plan_id: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  namespace: identifier,
  region: identifier,
});

export const CancelSubscriptionBody = z.strictObject({ namespace: identifier });
