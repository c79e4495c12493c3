/** `/v2alpha` in the OpenAPI document: quotes, cards, card and token prepays, binding, invoices, events, balances. */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { CURRENCIES } from '../../domain/money.ts';
import { MOVEMENT_STATUSES, PAYMENT_METHODS } from '../../db/entities/money-movement.entity.ts';
import { PREPAY_STATUSES } from '../../domain/prepay.ts';
import {
  AcquirePreAmountBody,
  AddCardBody,
  CallBackAppInfoBody,
  CancelPrepayBody,
  ChangePrepayCardBody,
  CreatePrePaymentCardBody,
  CreatePrePaymentTokenBody,
  CurrencyParam,
  InvoiceListQuery,
  ListPrepaysQuery,
  ListTransactionsQuery,
  PaymentTypeParam,
  SetAutoRenewalBody,
  TokenTypeParam,
} from '../v2alpha/schemas.ts';
import { ListEventsQuery } from '../v2alpha/events.ts';
import { DecimalString, IdempotencyKeyHeader, json, operation, security, Timestamp } from './common.ts';

const tenantOrOperator = security('tenantKey', 'operatorKey');
const idempotencyHeader = z.object({ 'Idempotency-Key': IdempotencyKeyHeader });
const TeamPath = z.object({ team_id: z.string().meta({ description: 'The team (a tenant key may name only its own).' }) });
const PrepayPath = TeamPath.extend({ pre_pay_id: z.string().meta({ description: 'The prepay’s id, a positive integer.' }) });
const CardPath = TeamPath.extend({ card_id: z.string() });
const quoteTags = ['Quotes and prepays (/v2alpha)'];
const cardTags = ['Cards and balances (/v2alpha)'];

const Success = z.strictObject({ code: z.literal(0), message: z.literal('success') });

const Quote = z
  .strictObject({
    amount: DecimalString.meta({ description: 'What to pay, in the payment type’s currency.' }),
    usd: DecimalString,
    quote_id: z.uuid().meta({ description: 'Pass it to the prepay to pay exactly this amount.' }),
    currency: PaymentTypeParam,
    rate: DecimalString.meta({ description: 'USD per unit of the currency (1 for USD).' }),
    expires_at: Timestamp,
  })
  .meta({
    id: 'Quote',
    example: { amount: '33.3', usd: '33.3', quote_id: '3f0c1c84-5a0e-4d55-9d55-1e2f3a4b5c6d', currency: 'USD', rate: '1', expires_at: '2026-12-03T10:15:00Z' },
  });

const Card = z
  .strictObject({ card_id: z.string(), brand: z.string(), last4: z.string(), exp_month: z.int(), exp_year: z.int(), is_default: z.boolean() })
  .meta({ id: 'Card', example: { card_id: 'card_T7lt-s6xhlW8AQzs', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030, is_default: true } });

const Prepay = z
  .strictObject({
    pre_pay_id: z.int(),
    team_id: z.string(),
    status: z.enum(PREPAY_STATUSES),
    payment_type: PaymentTypeParam,
    amount: DecimalString,
    usd: DecimalString,
    period: z.int().meta({ description: 'Months bought, 1 to 12.' }),
    auto_renewal: z.union([z.literal(0), z.literal(1)]),
    card_id: z.string().nullable(),
    quote_id: z.string().nullable(),
    cycle: z.int().meta({ description: 'Which period of the prepay runs: 1, then one more per renewal.' }),
    months_recognized: z.int(),
    app: z
      .strictObject({
        app_id: z.string(),
        cluster_id: z.string(),
        chart_name: z.string(),
        cpu_limit: z.int(),
        mem_limit: z.int(),
        storage_limit: z.int(),
        icon_url: z.string(),
        project_name: z.string(),
        bound_at: Timestamp.nullable(),
      })
      .nullable(),
    period_start: Timestamp.nullable(),
    period_end: Timestamp.nullable(),
    refunded_usd: DecimalString,
    deposit_address: z.string().nullable().meta({ description: 'Token prepays: where to send the tokens (checksummed).' }),
    payment_deadline: Timestamp.nullable(),
    received_amount: DecimalString.nullable(),
    failure_code: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Prepay', description: 'A prepay as the engine holds it; its events carry the same object (docs/events.md).' });

const PrepayCreated = Success.extend({ pre_pay_id: z.int() }).meta({ id: 'PrepayCreated', example: { code: 0, message: 'success', pre_pay_id: 12 } });

const TokenPrepayCreated = Success.extend({
  pre_pay_id: z.int(),
  deposit_address: z.string(),
  token_contract: z.string(),
  token_amount: DecimalString.meta({ description: 'Send exactly this many tokens (partial transfers add up).' }),
  expires_at: Timestamp.meta({ description: 'The payment deadline.' }),
  chain_id: z.int(),
  usd: DecimalString,
}).meta({ id: 'TokenPrepayCreated' });

const IconList = z.array(z.strictObject({ icon_url: z.string() }));
const InvoiceList = z
  .strictObject({
    invoice_list: z.array(
      z.strictObject({
        period: z.string().meta({ description: 'The month, `YYYY-MM-01`.' }),
        total_usd: DecimalString,
        icon_url_list: IconList,
        info: z.array(
          z.strictObject({
            period: z.string(),
            payment_method: z.enum(['USD', 'ANKR', 'USDT']),
            total_usd: DecimalString,
            total_amount: DecimalString.meta({ description: 'In the payment method’s currency.' }),
            icon_url_list: IconList,
          }),
        ),
      }),
    ),
  })
  .meta({
    id: 'InvoiceList',
    example: {
      invoice_list: [
        {
          period: '2020-08-01',
          total_usd: '32.12',
          icon_url_list: [{ icon_url: 'xxxx' }, { icon_url: 'yyyyy' }],
          info: [{ period: '2020-08-01', payment_method: 'USD', total_usd: '22.2', total_amount: '22.2', icon_url_list: [{ icon_url: 'xxxx' }, { icon_url: 'yyyyy' }] }],
        },
      ],
    },
  });

const EventList = z
  .strictObject({
    events: z.array(
      z.strictObject({
        id: z.string(),
        type: z.string().meta({ description: 'One of the catalogue (docs/events.md).' }),
        created_at: Timestamp,
        data: z.record(z.string(), z.unknown()),
      }),
    ),
    has_more: z.boolean(),
  })
  .meta({ id: 'EventList' });

const Balances = z.strictObject({
  balances: z.strictObject(Object.fromEntries(CURRENCIES.map((currency) => [currency, DecimalString])) as Record<(typeof CURRENCIES)[number], typeof DecimalString>),
});

const Transaction = z
  .strictObject({
    trans_id: z.string(),
    created_at: Timestamp,
    amount: DecimalString.meta({ description: 'In the balance’s currency.' }),
    currency: z.enum(CURRENCIES),
    description: z.string(),
    payment_method: z.enum(PAYMENT_METHODS),
    status: z.enum(MOVEMENT_STATUSES),
  })
  .meta({ id: 'Transaction' });

const Pending = json(
  'The card is being charged; the prepay’s status says how it ends (`GET …/prepays/{pre_pay_id}`). Retry with the same Idempotency-Key to wait again.',
  z.strictObject({ code: z.literal(0), message: z.literal('pending'), pre_pay_id: z.int(), status: z.literal('awaiting_payment') }),
);

export const v2alphaPaths: ZodOpenApiPathsObject = {
  '/v2alpha/{type}/acquire_pre_amount': {
    post: operation({
      operationId: 'acquirePreAmount',
      summary: 'Quote a prepay (GetPreAmount)',
      description: 'The price of the resources for `period` months on the cluster, in the payment type’s currency; a quote is locked until `expires_at`.',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: z.object({ type: PaymentTypeParam }) },
      requestBody: {
        content: {
          'application/json': {
            schema: AcquirePreAmountBody,
            example: { cluster_id: 'demo-cluster', chart_name: '', cpu_limit: 100, mem_limit: 100, storage_limit: 100, period: 3 },
          },
        },
      },
      responses: { 200: json('The quote.', Quote) },
      errors: [404, 422],
    }),
  },
  '/v2alpha/teams/{team_id}/cards/{card_id}': {
    post: operation({
      operationId: 'createPrePaymentCard',
      summary: 'Prepay by card (CreatePrePaymentCard)',
      description: 'Charges the card `amount` (from a quote) for `period` months; then bind the app with callback_app_info.',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: CardPath, header: idempotencyHeader },
      requestBody: {
        content: { 'application/json': { schema: CreatePrePaymentCardBody, example: { team_id: 'acme', card_id: 'card_…', amount: '22.2', period: 12, auto_renewal: 1 } } },
      },
      responses: { 200: json('Paid.', PrepayCreated), 202: Pending },
      errors: [402, 404, 409, 422],
    }),
    delete: operation({
      operationId: 'deleteCard',
      summary: 'Remove a card',
      tags: cardTags,
      security: tenantOrOperator,
      requestParams: { path: CardPath },
      responses: { 200: json('Removed.', z.strictObject({ card_id: z.string(), deleted: z.literal(true) })) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/tokens/{type}': {
    post: operation({
      operationId: 'createPrePaymentToken',
      summary: 'Prepay in ERC20 tokens',
      description: 'Answers a deposit address; the prepay is paid when the quoted token amount has arrived there before the deadline (docs/tokens.md).',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath.extend({ type: TokenTypeParam }), header: idempotencyHeader },
      requestBody: { content: { 'application/json': { schema: CreatePrePaymentTokenBody } } },
      responses: { 200: json('Created: pay to the deposit address.', TokenPrepayCreated) },
      errors: [404, 409, 422],
    }),
  },
  '/v2alpha/{type}/callback_app_info': {
    post: operation({
      operationId: 'callBackAppInfo',
      summary: 'Bind the deployed app to a paid prepay (CallBackAppInfo)',
      description: 'Starts the prepay’s months. A repeat with the same app answers success again.',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: z.object({ type: PaymentTypeParam }) },
      requestBody: {
        content: {
          'application/json': {
            schema: CallBackAppInfoBody,
            example: {
              app_id: 'app-1',
              pre_pay_id: 12,
              cluster_id: 'demo-cluster',
              chart_name: 'nginx',
              cpu_limit: 1000,
              mem_limit: 0,
              storage_limit: 0,
              icon_url: '',
              project_name: 'shop',
            },
          },
        },
      },
      responses: { 200: json('Bound.', Success.meta({ example: { code: 0, message: 'success' } })) },
      errors: [404, 409, 422],
    }),
  },
  '/v2alpha/{team_id}/invoice_list': {
    get: operation({
      operationId: 'getPreInvoiceList',
      summary: 'The team’s prepay payments by month (GetPreInvoiceList)',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath, query: InvoiceListQuery },
      responses: { 200: json('Months, newest first.', InvoiceList) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/prepays': {
    get: operation({
      operationId: 'listPrepays',
      summary: 'List the team’s prepays, newest first',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath, query: ListPrepaysQuery },
      responses: { 200: json('A page of prepays.', z.strictObject({ prepays: z.array(Prepay), has_more: z.boolean() })) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/prepays/{pre_pay_id}': {
    get: operation({
      operationId: 'getPrepay',
      summary: 'One prepay',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: PrepayPath },
      responses: { 200: json('The prepay.', Prepay) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/prepays/{pre_pay_id}/auto_renewal': {
    put: operation({
      operationId: 'setPrepayAutoRenewal',
      summary: 'Switch a prepay’s auto-renewal on or off',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: PrepayPath },
      requestBody: { content: { 'application/json': { schema: SetAutoRenewalBody } } },
      responses: { 200: json('The prepay.', Prepay) },
      errors: [404, 409, 422],
    }),
  },
  '/v2alpha/teams/{team_id}/prepays/{pre_pay_id}/card': {
    put: operation({
      operationId: 'changePrepayCard',
      summary: 'Pay a prepay’s renewals with another card',
      tags: quoteTags,
      security: tenantOrOperator,
      requestParams: { path: PrepayPath },
      requestBody: { content: { 'application/json': { schema: ChangePrepayCardBody } } },
      responses: { 200: json('The prepay.', Prepay) },
      errors: [404, 409, 422],
    }),
  },
  '/v2alpha/teams/{team_id}/prepays/{pre_pay_id}/cancel': {
    post: operation({
      operationId: 'cancelPrepay',
      summary: 'Cancel a prepay, refunding its unused months (operator)',
      tags: quoteTags,
      security: security('operatorKey'),
      requestParams: { path: PrepayPath, header: idempotencyHeader },
      requestBody: { content: { 'application/json': { schema: CancelPrepayBody } } },
      responses: { 200: json('Canceled and refunded.', Prepay), 202: json('Accepted; the refund is still running. Poll the prepay.', Prepay) },
      errors: [404, 409, 422],
    }),
  },
  '/v2alpha/teams/{team_id}/cards': {
    post: operation({
      operationId: 'addCard',
      summary: 'Register a card from a gateway token',
      description: 'The sandbox gateway’s test tokens are in docs/cards.md (`tok_visa`, …).',
      tags: cardTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath },
      requestBody: { content: { 'application/json': { schema: AddCardBody, example: { token: 'tok_visa' } } } },
      responses: { 201: json('Registered.', Card) },
      errors: [404, 409],
    }),
    get: operation({
      operationId: 'listCards',
      summary: 'List the team’s cards',
      tags: cardTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath },
      responses: { 200: json('The cards.', z.strictObject({ cards: z.array(Card) })) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/cards/{card_id}/default': {
    post: operation({
      operationId: 'setDefaultCard',
      summary: 'Make a card the team’s default',
      tags: cardTags,
      security: tenantOrOperator,
      requestParams: { path: CardPath },
      responses: { 200: json('The card.', Card) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/balances': {
    get: operation({
      operationId: 'listBalances',
      summary: 'The team’s balance in every currency',
      tags: cardTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath },
      responses: { 200: json('The balances.', Balances) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/balances/{currency}/transactions': {
    get: operation({
      operationId: 'listBalanceTransactions',
      summary: 'List the movements of one of the team’s balances, newest first',
      description: 'USD, or a token balance (overpayments, late transfers, refunds of token prepays). `/payment/v1/amounts` lists the USD ones in the seed’s shape.',
      tags: cardTags,
      security: tenantOrOperator,
      requestParams: { path: TeamPath.extend({ currency: CurrencyParam }), query: ListTransactionsQuery },
      responses: { 200: json('A page of movements.', z.strictObject({ transactions: z.array(Transaction), has_more: z.boolean() })) },
      errors: [404],
    }),
  },
  '/v2alpha/teams/{team_id}/events': {
    get: operation({
      operationId: 'listEvents',
      summary: 'List the team’s events, newest first',
      description: 'The same events are delivered to webhook endpoints (docs/webhooks.md, docs/events.md).',
      tags: ['Events and webhooks'],
      security: tenantOrOperator,
      requestParams: { path: TeamPath, query: ListEventsQuery },
      responses: { 200: json('A page of events.', EventList) },
      errors: [404],
    }),
  },
};
