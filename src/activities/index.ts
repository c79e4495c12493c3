/** All activities, built from their dependencies so that tests pass real or sandbox ones. */
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import { installationScopedGateway, type CardGateway } from '../gateway/card-gateway.ts';
import { installationOf } from '../db/repositories/installation.ts';
import { staticPriceFeed, type PriceFeed } from '../pricing/price-feed.ts';
import { createDiagnosticsActivities } from './diagnostics.ts';
import { createPaymentActivities } from './payments.ts';
import { createEventActivities } from './events.ts';
import { createPrepayActivities } from './prepay.ts';
import { createReconcileActivities } from './reconcile.ts';
import { createSubscriptionActivities } from './subscriptions.ts';
import { createTokenPrepayActivities } from './token-prepay.ts';
import { createTokenTransferActivities } from './token-transfers.ts';
import { createWebhookActivities } from './webhooks.ts';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../domain/webhooks.ts';
import { meteredGateway } from '../metrics/worker.ts';

export interface ActivityDeps {
  orm: Orm;
  clock: Clock;
  gateway: CardGateway;
  /** token rates for renewals of token prepays; the operators' static rates when omitted */
  priceFeed?: PriceFeed;
  /** webhook delivery's schedule, timeout and target policy; the defaults when omitted */
  webhooks?: WebhookSettings;
}

export function createActivities(given: ActivityDeps) {
  // Every gateway key the activities send is scoped by this database's installation (decision 0090); every answer is counted (0099).
  const gateway = meteredGateway(installationScopedGateway(given.gateway, () => installationOf(given.orm)));
  const deps = { ...given, gateway, webhooks: given.webhooks ?? DEFAULT_WEBHOOK_SETTINGS };
  const events = createEventActivities(deps);
  return {
    ...createDiagnosticsActivities(deps),
    ...createPaymentActivities(deps, events),
    ...events,
    ...createWebhookActivities(deps, events),
    ...createPrepayActivities(deps, events),
    ...createSubscriptionActivities(deps),
    ...createTokenTransferActivities(deps),
    ...createReconcileActivities(deps),
    ...createTokenPrepayActivities({ ...deps, priceFeed: deps.priceFeed ?? staticPriceFeed }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
