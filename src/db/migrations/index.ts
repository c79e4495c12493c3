import { Migration0001Foundation } from './0001-foundation.ts';
import { Migration0002MoneySpine } from './0002-money-spine.ts';
import { Migration0003Events } from './0003-events.ts';
import { Migration0004Prepays } from './0004-prepays.ts';
import { Migration0005Subscriptions } from './0005-subscriptions.ts';
import { Migration0006Chain } from './0006-chain.ts';
import { Migration0007TokenPrepays } from './0007-token-prepays.ts';
import { Migration0009IdempotencyGenerations } from './0009-idempotency-generations.ts';
import { Migration0011TokenPaymentReservations } from './0011-token-payment-reservations.ts';
import { Migration0012Reconciliation } from './0012-reconciliation.ts';
import { Migration0013TransferBlockTime } from './0013-transfer-block-time.ts';
import { Migration0014Installation } from './0014-installation.ts';
import { Migration0015RateLimits } from './0015-rate-limits.ts';
import { Migration0016PrepayCancelRequests } from './0016-prepay-cancel-requests.ts';
import { Migration0017Webhooks } from './0017-webhooks.ts';
import { Migration0018TransferReorged } from './0018-transfer-reorged.ts';
import { Migration0019PlatformBalancesOnDemand } from './0019-platform-balances-on-demand.ts';

/** Every migration, in order. Listed explicitly so that the bundle, tests and production agree. */
export const migrationsList = [
  { name: '0001-foundation', class: Migration0001Foundation },
  { name: '0002-money-spine', class: Migration0002MoneySpine },
  { name: '0003-events', class: Migration0003Events },
  { name: '0004-prepays', class: Migration0004Prepays },
  { name: '0005-subscriptions', class: Migration0005Subscriptions },
  { name: '0006-chain', class: Migration0006Chain },
  { name: '0007-token-prepays', class: Migration0007TokenPrepays },
  { name: '0009-idempotency-generations', class: Migration0009IdempotencyGenerations },
  { name: '0011-token-payment-reservations', class: Migration0011TokenPaymentReservations },
  { name: '0012-reconciliation', class: Migration0012Reconciliation },
  { name: '0013-transfer-block-time', class: Migration0013TransferBlockTime },
  { name: '0014-installation', class: Migration0014Installation },
  { name: '0015-rate-limits', class: Migration0015RateLimits },
  { name: '0016-prepay-cancel-requests', class: Migration0016PrepayCancelRequests },
  { name: '0017-webhooks', class: Migration0017Webhooks },
  { name: '0018-transfer-reorged', class: Migration0018TransferReorged },
  { name: '0019-platform-balances-on-demand', class: Migration0019PlatformBalancesOnDemand },
];
