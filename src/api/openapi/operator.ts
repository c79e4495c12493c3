/** `/operator/v1` in the OpenAPI document: tenants, keys, the catalog, token rates and the operators' checks. */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { API_KEY_SCOPES } from '../../db/entities/api-key.entity.ts';
import { BILL_PERIODS, PLAN_STATUSES } from '../../db/entities/catalog.entity.ts';
import { CURRENCIES } from '../../domain/money.ts';
import {
  CreateApiKeyBody,
  CreatePlanBody,
  CreateTenantBody,
  CreateTenantKeyBody,
  PatchPlanBody,
  PutClusterBody,
  PutRateBody,
  PutRegionBody,
  RateTypeParam,
} from '../operator/schemas.ts';
import { identifier } from '../validation.ts';
import { DecimalNumber, DecimalString, json, operation, security, Timestamp } from './common.ts';
import { Region } from './v1.ts';

const tags = ['Operator (/operator/v1)'];
const operatorOnly = security('operatorKey');

const Tenant = z.strictObject({ tenant_id: z.string(), created_at: Timestamp }).meta({ id: 'Tenant', example: { tenant_id: 'chaizs', created_at: '2026-12-03T10:00:00Z' } });

const IssuedApiKey = z
  .strictObject({
    api_key: z.string().meta({ description: 'The key itself, answered this once: only its SHA-256 is kept.' }),
    key_id: z.string().meta({ description: 'The key’s id, to revoke it.' }),
    scope: z.enum(API_KEY_SCOPES),
  })
  .meta({ id: 'IssuedApiKey' });

const IssuedTenantKey = z
  .strictObject({ ...IssuedApiKey.shape, scope: z.literal('tenant'), tenant_id: z.string() })
  .meta({ id: 'IssuedTenantKey', example: { api_key: 'pk_tenant_…', key_id: 'key_Jc0wH4nVqVxz', scope: 'tenant', tenant_id: 'chaizs' } });

const RevokedApiKey = z
  .strictObject({ key_id: z.string(), scope: z.enum(API_KEY_SCOPES), revoked_at: Timestamp.meta({ description: 'When the key was first revoked; revoking again keeps it.' }) })
  .meta({ id: 'RevokedApiKey' });

const OperatorPlan = z
  .strictObject({
    plan_id: z.string(),
    region: z.string(),
    type: z.string(),
    level: z.string().nullable(),
    name: z.string(),
    price: DecimalNumber,
    bill_period: z.enum(BILL_PERIODS).meta({ description: '`M` (monthly) or `Y` (yearly).' }),
    description: z.string(),
    comment: z.string().nullable(),
    status: z.enum(PLAN_STATUSES),
    creation_time: Timestamp,
  })
  .meta({ id: 'OperatorPlan', description: 'A plan as the operator sees it: with its region, comment and status.' });

const PriceBook = z
  .strictObject({
    cluster_id: z.string(),
    cpu_core_month_usd: DecimalString,
    memory_gib_month_usd: DecimalString,
    storage_gib_month_usd: DecimalString,
    chart_multipliers: z.record(z.string(), DecimalString).meta({ description: 'By chart name: the monthly price is multiplied by it (by 1 for a chart not named).' }),
    period_discounts: z
      .record(z.string(), DecimalString)
      .meta({ description: 'By months ("1" to "12"): the fraction taken off a prepayment of at least that many months (the largest such key applies).' }),
    updated_at: Timestamp,
  })
  .meta({ id: 'PriceBook', description: 'A cluster’s price book: USD per CPU core, GiB of memory and GiB of storage per month.' });

const TokenRate = z.strictObject({ type: RateTypeParam, usd: DecimalString.meta({ description: 'USD per one token unit.' }), updated_at: Timestamp }).meta({ id: 'TokenRate' });

const LedgerCheck = z
  .strictObject({
    ok: z.boolean().meta({ description: 'True when every currency’s postings sum to zero and no cached balance drifted.' }),
    currencies: z.array(z.strictObject({ currency: z.enum(CURRENCIES), sum: DecimalString })),
    drifted_accounts: z.array(z.string()).meta({ description: 'The codes of accounts whose cached balance differs from the sum of their postings (should be none).' }),
  })
  .meta({ id: 'LedgerCheck' });

// the workflow's result as it is, in camelCase (unlike the rest of the API)
const SystemCheck = z
  .strictObject({
    ok: z.literal(true),
    workflowId: z.string(),
    taskQueue: z.string(),
    database: z.strictObject({ reachable: z.boolean(), migrations: z.array(z.string()).meta({ description: 'The migrations the worker sees applied.' }) }),
    checkedAt: Timestamp,
  })
  .meta({ id: 'SystemCheck', description: 'A worker ran the system-check workflow and reached PostgreSQL.' });

const TenantIdPath = z.object({ tenant_id: identifier });
const PlanIdPath = z.object({ plan_id: z.string().meta({ description: 'The plan’s id (a UUID).' }) });

export const operatorPaths: ZodOpenApiPathsObject = {
  '/operator/v1/tenants': {
    post: operation({
      operationId: 'createTenant',
      summary: 'Create a tenant',
      tags,
      security: operatorOnly,
      requestBody: { content: { 'application/json': { schema: CreateTenantBody, example: { tenant_id: 'chaizs' } } } },
      responses: { 201: json('Created.', Tenant) },
      errors: [409],
    }),
  },
  '/operator/v1/tenants/{tenant_id}': {
    get: operation({
      operationId: 'getTenant',
      summary: 'One tenant',
      tags,
      security: operatorOnly,
      requestParams: { path: TenantIdPath },
      responses: { 200: json('The tenant.', Tenant) },
      errors: [404],
    }),
  },
  '/operator/v1/tenants/{tenant_id}/api_keys': {
    post: operation({
      operationId: 'createTenantApiKey',
      summary: 'Issue an API key for a tenant',
      description: 'The key acts on this tenant only. It is answered once; keep it.',
      tags,
      security: operatorOnly,
      requestParams: { path: TenantIdPath },
      requestBody: { content: { 'application/json': { schema: CreateTenantKeyBody, example: {} } } },
      responses: { 201: json('Issued.', IssuedTenantKey) },
      errors: [404],
    }),
  },
  '/operator/v1/api_keys': {
    post: operation({
      operationId: 'createApiKey',
      summary: 'Issue an operator or watcher API key',
      description: 'The key is answered once; keep it.',
      tags,
      security: operatorOnly,
      requestBody: { content: { 'application/json': { schema: CreateApiKeyBody, example: { scope: 'watcher' } } } },
      responses: { 201: json('Issued.', IssuedApiKey) },
    }),
  },
  '/operator/v1/api_keys/{key_id}': {
    delete: operation({
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      tags,
      security: operatorOnly,
      requestParams: { path: z.object({ key_id: z.string().meta({ description: 'The key’s id (`key_…`).' }) }) },
      responses: { 200: json('Revoked (or revoked already).', RevokedApiKey) },
      errors: [404],
    }),
  },
  '/operator/v1/regions/{identification}': {
    put: operation({
      operationId: 'putRegion',
      summary: 'Create or rename a region',
      tags,
      security: operatorOnly,
      requestParams: { path: z.object({ identification: identifier }) },
      requestBody: { content: { 'application/json': { schema: PutRegionBody, example: { region_describe: 'Beijing' } } } },
      responses: { 200: json('The region.', Region) },
    }),
  },
  '/operator/v1/plans': {
    post: operation({
      operationId: 'createPlan',
      summary: 'Create a plan in a region’s market',
      tags,
      security: operatorOnly,
      requestBody: {
        content: {
          'application/json': {
            schema: CreatePlanBody,
            example: { region: 'cn-north-1', type: 'normal', name: 'Plan A', price: 10, bill_period: 'M', description: '1 CPU Core, 512M Memory', status: 'available' },
          },
        },
      },
      responses: { 201: json('Created.', OperatorPlan) },
      errors: [404],
    }),
  },
  '/operator/v1/plans/{plan_id}': {
    get: operation({
      operationId: 'getPlan',
      summary: 'One plan',
      tags,
      security: operatorOnly,
      requestParams: { path: PlanIdPath },
      responses: { 200: json('The plan.', OperatorPlan) },
      errors: [404],
    }),
    patch: operation({
      operationId: 'updatePlan',
      summary: 'Change a plan',
      description: 'Changes the fields sent (at least one). Subscriptions keep the price they were sold at.',
      tags,
      security: operatorOnly,
      requestParams: { path: PlanIdPath },
      requestBody: { content: { 'application/json': { schema: PatchPlanBody, example: { status: 'unavailable' } } } },
      responses: { 200: json('The plan, changed.', OperatorPlan) },
      errors: [404],
    }),
  },
  '/operator/v1/clusters/{cluster_id}': {
    put: operation({
      operationId: 'putClusterPriceBook',
      summary: 'Create or replace a cluster’s price book',
      tags,
      security: operatorOnly,
      requestParams: { path: z.object({ cluster_id: identifier }) },
      requestBody: {
        content: {
          'application/json': {
            schema: PutClusterBody,
            example: {
              cpu_core_month_usd: '20',
              memory_gib_month_usd: '5',
              storage_gib_month_usd: '0.1',
              chart_multipliers: { postgresql: '1.2' },
              period_discounts: { '12': '0.1' },
            },
          },
        },
      },
      responses: { 200: json('The price book.', PriceBook) },
    }),
    get: operation({
      operationId: 'getClusterPriceBook',
      summary: 'A cluster’s price book',
      tags,
      security: operatorOnly,
      requestParams: { path: z.object({ cluster_id: identifier }) },
      responses: { 200: json('The price book.', PriceBook) },
      errors: [404],
    }),
  },
  '/operator/v1/rates/{type}': {
    put: operation({
      operationId: 'putTokenRate',
      summary: 'Set a token’s static USD rate',
      tags,
      security: operatorOnly,
      requestParams: { path: z.object({ type: RateTypeParam }) },
      requestBody: { content: { 'application/json': { schema: PutRateBody, example: { usd: '0.025' } } } },
      responses: { 200: json('The rate.', TokenRate) },
    }),
  },
  '/operator/v1/ledger/check': {
    get: operation({
      operationId: 'checkLedger',
      summary: 'Prove the books balance',
      description: 'Every currency’s postings must sum to zero, and every cached balance must equal its postings.',
      tags,
      security: operatorOnly,
      responses: { 200: json('The check, passed or not (`ok`).', LedgerCheck) },
    }),
  },
  '/operator/v1/diagnostics/worker': {
    get: operation({
      operationId: 'checkWorker',
      summary: 'Run the system check through a worker',
      description: 'Runs a short workflow (API → Temporal → a worker → PostgreSQL and back); at most 20 seconds, then 503 with the `workflow_id` beside the error.',
      tags,
      security: operatorOnly,
      responses: { 200: json('A worker completed the check.', SystemCheck) },
    }),
  },
};
