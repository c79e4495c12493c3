import { ApiKey } from './api-key.entity.ts';
import { Cluster, Plan, Region, TokenRate } from './catalog.entity.ts';
import { Quote } from './quote.entity.ts';
import { Tenant } from './tenant.entity.ts';
import { Card } from './card.entity.ts';
import { LedgerAccount, LedgerPosting, LedgerTransaction } from './ledger.entity.ts';
import { MoneyMovement } from './money-movement.entity.ts';
import { Subscription } from './subscription.entity.ts';
import { EngineEvent } from './event.entity.ts';
import { PrepayRecord } from './prepay.entity.ts';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from './webhook.entity.ts';

export const entities = [
  Tenant,
  ApiKey,
  Region,
  Plan,
  Cluster,
  TokenRate,
  Quote,
  Card,
  LedgerAccount,
  LedgerTransaction,
  LedgerPosting,
  MoneyMovement,
  Subscription,
  EngineEvent,
  PrepayRecord,
  WebhookEndpoint,
  WebhookDelivery,
  WebhookAttempt,
];

export * from './api-key.entity.ts';
export * from './catalog.entity.ts';
export * from './quote.entity.ts';
export * from './tenant.entity.ts';
export * from './card.entity.ts';
export * from './ledger.entity.ts';
export * from './money-movement.entity.ts';
export * from './subscription.entity.ts';
export * from './event.entity.ts';
export * from './prepay.entity.ts';
export * from './webhook.entity.ts';
