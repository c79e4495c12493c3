/** Chooses the card gateway from the configuration (CARD_GATEWAY: `sandbox` by default, or `stripe`). */
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import type { CardGateway } from './card-gateway.ts';
import { createSandboxGateway } from './sandbox-gateway.ts';
import { createStripeGateway } from './stripe-gateway.ts';

/** The configuration the gateway reads (validated by src/config.ts). */
export type GatewayConfig = {
  CARD_GATEWAY: 'sandbox' | 'stripe';
  STRIPE_API_KEY?: string | undefined;
  STRIPE_API_BASE?: string | undefined;
};

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
