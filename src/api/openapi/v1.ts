/** `/payment/v1` in the OpenAPI document: regions, plans, the balance and its movements, subscriptions. */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { MOVEMENT_STATUSES, PAYMENT_METHODS } from '../../db/entities/money-movement.entity.ts';
import { SUBSCRIPTION_STATUSES } from '../../domain/subscriptions.ts';
import { CURRENCIES } from '../../domain/money.ts';
import { CancelSubscriptionBody, CheckoutBody, ListAmountsQuery, ListMarketQuery, NamespaceQuery, RechargeBody, RefundBody } from '../v1/schemas.ts';
import { DecimalNumber, IdempotencyKeyHeader, json, operation, security, Timestamp } from './common.ts';

const tags = ['Plans and balance (/payment/v1)'];
const tenantOrOperator = security('tenantKey', 'operatorKey');
const idempotencyHeader = z.object({ 'Idempotency-Key': IdempotencyKeyHeader });

export const Region = z.strictObject({ identification: z.string(), region_describe: z.string() }).meta({ id: 'Region' });

const MarketPlan = z
  .strictObject({
    plan_id: z.string(),
    type: z.string(),
    price: DecimalNumber,
    level: z.string().optional(),
    name: z.string(),
    bill_period: z.string().meta({ description: '`M` (monthly) or `Y` (yearly).' }),
    description: z.string(),
    creation_time: Timestamp,
  })
  .meta({ id: 'MarketPlan' });

const Amount = z
  .strictObject({
    trans_id: z.string(),
    creation_time: Timestamp,
    amount: DecimalNumber,
    currency: z.enum(CURRENCIES),
    description: z.string(),
    payment_method: z.enum(PAYMENT_METHODS),
    status: z.enum(MOVEMENT_STATUSES),
  })
  .meta({
    id: 'Amount',
    description: 'A money movement of the team (seed shape, plus its currency).',
    example: {
      trans_id: 'tr_03Fwerqe2',
      creation_time: '2026-09-26T09:30:03Z',
      amount: 12.23,
      currency: 'USD',
      description: 'Plan A',
      payment_method: 'balance',
      status: 'finish',
    },
  });

const SubscriptionStatusOrNone = z.enum(['', ...SUBSCRIPTION_STATUSES]).meta({ description: 'The most urgent status of the team’s subscriptions; empty when it has none.' });

const Balance = z.strictObject({ balance: DecimalNumber, status: SubscriptionStatusOrNone }).meta({ id: 'Balance', example: { balance: 50000.89, status: 'active' } });

const MoneyAnswer = z
  .strictObject({ balance: DecimalNumber, status: z.string(), trans_id: z.string() })
  .meta({ id: 'RechargeAnswer', description: 'The USD balance after the movement, and the movement’s id.', example: { balance: 6000.89, status: 'active', trans_id: 'tr_…' } });

const Pending = (status: string) =>
  json(
    `Accepted and still running; the movement \`trans_id\` shows how it ends (\`GET /payment/v1/amount/{trans_id}\`). Retry with the same Idempotency-Key to wait again.`,
    z.strictObject({ trans_id: z.string(), status: z.literal(status) }),
  );

const Subscription = z
  .strictObject({
    subscription_id: z.string(),
    plan_id: z.string(),
    namespace: z.string(),
    region: z.string(),
    status: z.enum(SUBSCRIPTION_STATUSES),
    price: DecimalNumber,
    bill_period: z.string(),
    period: z.int().meta({ description: 'The number of the current billing period, from 1.' }),
    current_period_start: Timestamp,
    current_period_end: Timestamp,
    arrears_since: Timestamp.nullable(),
    suspended_at: Timestamp.nullable(),
    canceled_at: Timestamp.nullable(),
    creation_time: Timestamp,
  })
  .meta({ id: 'Subscription' });

const Account = z
  .strictObject({
    purchased: z.boolean(),
    notification: z.boolean().meta({ description: 'True when the balance will not cover what comes due next.' }),
    plans: z.array(z.strictObject({ plan_id: z.string(), type: z.string(), price: DecimalNumber, bill_period: z.enum(['monthly', 'yearly']), description: z.string() })),
    status: SubscriptionStatusOrNone,
    balance: z.strictObject({ balance: DecimalNumber }),
  })
  .meta({
    id: 'Account',
    example: {
      purchased: false,
      notification: false,
      plans: [{ plan_id: '2736123def7232', type: 'normal', price: 10, bill_period: 'monthly', description: '1 CPU Core, 512M Memory' }],
      status: '',
      balance: { balance: 0 },
    },
  });

const Checkout = z
  .strictObject({ balance: DecimalNumber, status: z.enum(SUBSCRIPTION_STATUSES), subscription_id: z.string(), trans_id: z.string() })
  .meta({ id: 'CheckoutAnswer' });

const TransIdPath = z.object({ trans_id: z.string().meta({ description: 'The movement’s id.' }) });
const PlanIdPath = z.object({ plan_id: z.string() });

export const v1Paths: ZodOpenApiPathsObject = {
  '/payment/v1/regions': {
    get: operation({ operationId: 'listRegions', summary: 'List the regions', tags, security: tenantOrOperator, responses: { 200: json('The regions.', z.array(Region)) } }),
  },
  '/payment/v1/market': {
    get: operation({
      operationId: 'listMarket',
      summary: 'List the plans sold in a region',
      tags,
      security: tenantOrOperator,
      requestParams: { query: ListMarketQuery },
      responses: { 200: json('The region’s available plans, optionally of one type.', z.strictObject({ plans: z.array(MarketPlan) })) },
      errors: [404],
    }),
  },
  '/payment/v1/balance': {
    get: operation({
      operationId: 'getBalance',
      summary: 'The team’s USD balance',
      tags,
      security: tenantOrOperator,
      requestParams: { query: NamespaceQuery },
      responses: { 200: json('The balance and the subscriptions’ status.', Balance) },
      errors: [404],
    }),
  },
  '/payment/v1/amounts': {
    get: operation({
      operationId: 'listAmounts',
      summary: 'List the team’s USD balance movements, newest first',
      description: 'Paginated with `limit` and `starting_after` (a `trans_id`); the `X-Has-More` header says whether more follow.',
      tags,
      security: tenantOrOperator,
      requestParams: { query: ListAmountsQuery },
      responses: { 200: { ...json('A page of movements.', z.array(Amount)), headers: z.object({ 'X-Has-More': z.enum(['true', 'false']) }) } },
      errors: [404],
    }),
  },
  '/payment/v1/amount/{trans_id}': {
    get: operation({
      operationId: 'getAmount',
      summary: 'One movement',
      tags,
      security: tenantOrOperator,
      requestParams: { path: TransIdPath, query: NamespaceQuery },
      responses: { 200: json('The movement.', Amount) },
      errors: [404],
    }),
  },
  '/payment/v1/recharge': {
    post: operation({
      operationId: 'recharge',
      summary: 'Recharge the balance by card (or, for an operator, credit it manually)',
      description:
        'Charges the team’s card (its default one unless `card_id`) and credits the balance. `payment_method: "manual"` (operator keys only) credits money received another way, such as a bank transfer.',
      tags,
      security: tenantOrOperator,
      requestParams: { header: idempotencyHeader },
      requestBody: { content: { 'application/json': { schema: RechargeBody, example: { amount: 1234.34, namespace: 'chaizs' } } } },
      responses: { 200: json('Credited.', MoneyAnswer), 202: Pending('pending') },
      errors: [402, 404, 409, 422],
    }),
  },
  '/payment/v1/amount/{trans_id}/refund': {
    post: operation({
      operationId: 'refundAmount',
      summary: 'Refund a movement (operator)',
      description: 'A card recharge is refunded at the gateway, then debited from the balance; the balance must still hold it.',
      tags,
      security: security('operatorKey'),
      requestParams: { path: TransIdPath, header: idempotencyHeader },
      requestBody: { content: { 'application/json': { schema: RefundBody } } },
      responses: { 200: json('Refunded: the movement, now `refunded`.', Amount), 202: Pending('refund_pending') },
      errors: [402, 404, 409, 422],
    }),
  },
  '/payment/v1/checkout': {
    post: operation({
      operationId: 'checkout',
      summary: 'Subscribe the team to a plan, paying its first period from the balance',
      tags,
      security: tenantOrOperator,
      requestParams: { header: idempotencyHeader },
      requestBody: { content: { 'application/json': { schema: CheckoutBody, example: { plan_id: 'zwwqe', namespace: 'chaizs', region: 'cn-north-1' } } } },
      responses: { 200: json('Subscribed: the balance after the first period’s charge.', Checkout) },
      errors: [402, 404, 409, 422],
    }),
  },
  '/payment/v1/account': {
    get: operation({
      operationId: 'getAccount',
      summary: 'The team’s plans, status and balance',
      tags,
      security: tenantOrOperator,
      requestParams: { query: NamespaceQuery },
      responses: { 200: json('The account.', Account) },
      errors: [404],
    }),
  },
  '/payment/v1/subscriptions/{plan_id}': {
    get: operation({
      operationId: 'getSubscription',
      summary: 'The team’s latest subscription to a plan',
      tags,
      security: tenantOrOperator,
      requestParams: { path: PlanIdPath, query: NamespaceQuery },
      responses: { 200: json('The subscription.', Subscription) },
      errors: [404],
    }),
  },
  '/payment/v1/subscriptions/{plan_id}/cancel': {
    post: operation({
      operationId: 'cancelSubscription',
      summary: 'Cancel a subscription at the end of its paid period (at once when unpaid)',
      tags,
      security: tenantOrOperator,
      requestParams: { path: PlanIdPath },
      requestBody: { content: { 'application/json': { schema: CancelSubscriptionBody } } },
      responses: { 200: json('The subscription, `canceling` or `canceled`.', Subscription) },
      errors: [404, 409],
    }),
  },
};
