/** All activities, built from their dependencies so that tests pass real or sandbox ones. */
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import type { CardGateway } from '../gateway/card-gateway.ts';
import { createDiagnosticsActivities } from './diagnostics.ts';
import { createPaymentActivities } from './payments.ts';
import { createEventActivities } from './events.ts';
import { createPrepayActivities } from './prepay.ts';
import { createSubscriptionActivities } from './subscriptions.ts';
import { createTokenTransferActivities } from './token-transfers.ts';

export interface ActivityDeps {
  orm: Orm;
  clock: Clock;
  gateway: CardGateway;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createDiagnosticsActivities(deps),
    ...createPaymentActivities(deps),
    ...createEventActivities(deps),
    ...createPrepayActivities(deps),
    ...createSubscriptionActivities(deps),
    ...createTokenTransferActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
