/** Chooses the card gateway from the configuration (CARD_GATEWAY: `sandbox` by default, or `stripe`). */
import { z } from 'zod';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import type { CardGateway } from './card-gateway.ts';
import { createSandboxGateway } from './sandbox-gateway.ts';
import { createStripeGateway } from './stripe-gateway.ts';

/** The gateway's environment variables, as a shape to spread into the engine's config object. */
export const gatewayConfigShape = {
  CARD_GATEWAY: z.enum(['sandbox', 'stripe']).default('sandbox'),
  STRIPE_API_KEY: z.string().min(1).optional(),
  /** The Stripe API's base URL, without a path (a regional endpoint, a proxy, or a local stand-in in tests). */
  STRIPE_API_BASE: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
};

export type GatewayConfig = {
  CARD_GATEWAY: 'sandbox' | 'stripe';
  STRIPE_API_KEY?: string | undefined;
  STRIPE_API_BASE?: string | undefined;
};

/** The cross-field rule of the gateway's variables, for `.superRefine` on whichever object holds them. */
export function refineGatewayConfig(config: GatewayConfig, context: z.RefinementCtx): void {
  if (config.CARD_GATEWAY === 'stripe' && config.STRIPE_API_KEY === undefined) {
    context.addIssue({ code: 'custom', path: ['STRIPE_API_KEY'], message: 'is required when CARD_GATEWAY=stripe' });
  }
}

/** The gateway's part of the configuration, on its own. */
export const gatewayConfigSchema = z.object(gatewayConfigShape).superRefine(refineGatewayConfig);

export function createCardGateway(config: GatewayConfig, deps: { orm: Orm; clock?: Clock }): CardGateway {
  switch (config.CARD_GATEWAY) {
    case 'sandbox':
      return createSandboxGateway(deps);
    case 'stripe':
      if (!config.STRIPE_API_KEY) throw new Error('STRIPE_API_KEY is required when CARD_GATEWAY=stripe.');
      return createStripeGateway({ apiKey: config.STRIPE_API_KEY, apiBase: config.STRIPE_API_BASE });
  }
}

export * from './card-gateway.ts';
export { countCharges, countRefunds } from './sandbox-gateway.ts';
