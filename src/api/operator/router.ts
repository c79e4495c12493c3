/** `/operator/v1`: tenants, keys and the catalog. Operator keys only. */
import { Router } from '@koa/router';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import { Tenant, type Cluster, type Plan } from '../../db/entities/index.ts';
import { issueApiKey, revokeApiKey } from '../../db/repositories/api-keys.ts';
import type { KeyCache } from '../middleware/key-cache.ts';
import { createPlan, findCluster, findPlan, findRegion, upsertCluster, upsertRegion, upsertTokenRate } from '../../db/repositories/catalog.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, conflict, notFound } from '../../domain/errors.ts';
import { Dec, toCanonicalString, toFixedString, toJsonNumber } from '../../domain/money.ts';
import type { SystemCheckInput } from '../../workflows/index.ts';
import { runSystemCheck, systemCheckWorkflowId } from '../../temporal/system-check.ts';
import { principalOf } from '../context.ts';
import { checkLedger } from '../../ledger/ledger.ts';
import { setGauge } from '../../metrics/record.ts';
import { formatTimestamp } from '../format.ts';
import { requireScope } from '../middleware/auth.ts';
import { mountWebhookEndpointRoutes } from '../webhook-endpoints.ts';
import type { WebhookSettings } from '../../domain/webhooks.ts';
import { parseWith, identifier, opaqueId } from '../validation.ts';
import { CreateApiKeyBody, CreatePlanBody, CreateTenantBody, CreateTenantKeyBody, PatchPlanBody, PutClusterBody, PutRateBody, PutRegionBody, RateTypeParam } from './schemas.ts';

export interface OperatorDeps {
  clock: Clock;
  temporal: Client;
  taskQueue: string;
  webhooks: WebhookSettings;
  /** this process's cache of valid keys: a revoked key is forgotten at once (other replicas within its TTL) */
  keys?: KeyCache;
}

export function operatorRouter(deps: OperatorDeps): Router {
  const router = new Router({ prefix: '/operator/v1' });
  router.use(requireScope('operator'));

  router.post('/tenants', async (ctx) => {
    const body = parseWith(CreateTenantBody, ctx.request.body);
    const tenant = ctx.state.em.create(Tenant, { id: body.tenant_id, createdAt: deps.clock.now() });
    try {
      await ctx.state.em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw conflict(`Tenant ${body.tenant_id} already exists.`, 'tenant_id');
      throw error;
    }
    ctx.status = 201;
    ctx.body = { tenant_id: tenant.id, created_at: formatTimestamp(tenant.createdAt) };
  });

  router.get('/tenants/:tenant_id', async (ctx) => {
    const tenantId = parseWith(identifier, ctx.params.tenant_id, 'tenant_id');
    const tenant = await ctx.state.em.findOne(Tenant, { id: tenantId });
    if (!tenant) throw notFound(`Tenant ${tenantId}`, 'tenant_id');
    ctx.body = { tenant_id: tenant.id, created_at: formatTimestamp(tenant.createdAt) };
  });

  router.post('/tenants/:tenant_id/api_keys', async (ctx) => {
    const tenantId = parseWith(identifier, ctx.params.tenant_id, 'tenant_id');
    parseWith(CreateTenantKeyBody, ctx.request.body);
    if (!(await ctx.state.em.findOne(Tenant, { id: tenantId }))) throw notFound(`Tenant ${tenantId}`, 'tenant_id');
    const issued = await issueApiKey(ctx.state.em, 'tenant', tenantId);
    ctx.status = 201;
    ctx.body = { api_key: issued.apiKey, key_id: issued.keyId, scope: issued.scope, tenant_id: tenantId };
  });

  router.post('/api_keys', async (ctx) => {
    const body = parseWith(CreateApiKeyBody, ctx.request.body);
    const issued = await issueApiKey(ctx.state.em, body.scope, null);
    ctx.status = 201;
    ctx.body = { api_key: issued.apiKey, key_id: issued.keyId, scope: issued.scope };
  });

  router.delete('/api_keys/:key_id', async (ctx) => {
    const key = await revokeApiKey(ctx.state.em, parseWith(opaqueId, ctx.params.key_id, 'key_id'));
    if (!key) throw notFound(`API key ${ctx.params.key_id}`, 'key_id');
    deps.keys?.forget(key.id);
    ctx.body = { key_id: key.id, scope: key.scope, revoked_at: formatTimestamp(key.revokedAt ?? deps.clock.now()) };
  });

  router.put('/regions/:identification', async (ctx) => {
    const identification = parseWith(identifier, ctx.params.identification, 'identification');
    const body = parseWith(PutRegionBody, ctx.request.body);
    const region = await upsertRegion(ctx.state.em, identification, body.region_describe, deps.clock.now());
    ctx.body = { identification: region.identification, region_describe: region.regionDescribe };
  });

  router.post('/plans', async (ctx) => {
    const body = parseWith(CreatePlanBody, ctx.request.body);
    if (!(await findRegion(ctx.state.em, body.region))) throw notFound(`Region ${body.region}`, 'region');
    const plan = await createPlan(
      ctx.state.em,
      {
        region: body.region,
        type: body.type,
        level: body.level,
        name: body.name,
        price: body.price,
        billPeriod: body.bill_period,
        description: body.description,
        comment: body.comment,
        status: body.status,
      },
      deps.clock.now(),
    );
    ctx.status = 201;
    ctx.body = operatorPlan(plan);
  });

  router.get('/plans/:plan_id', async (ctx) => {
    ctx.body = operatorPlan(await planOr404(ctx.state.em, ctx.params.plan_id));
  });

  router.patch('/plans/:plan_id', async (ctx) => {
    const plan = await planOr404(ctx.state.em, ctx.params.plan_id);
    const body = parseWith(PatchPlanBody, ctx.request.body);
    if (body.type !== undefined) plan.type = body.type;
    if (body.level !== undefined) plan.level = body.level;
    if (body.name !== undefined) plan.name = body.name;
    if (body.price !== undefined) plan.price = toFixedString(body.price, 2);
    if (body.bill_period !== undefined) plan.billPeriod = body.bill_period;
    if (body.description !== undefined) plan.description = body.description;
    if (body.comment !== undefined) plan.comment = body.comment;
    if (body.status !== undefined) plan.status = body.status;
    plan.updatedAt = deps.clock.now();
    await ctx.state.em.flush();
    ctx.body = operatorPlan(plan);
  });

  router.put('/clusters/:cluster_id', async (ctx) => {
    const clusterId = parseWith(identifier, ctx.params.cluster_id, 'cluster_id');
    const body = parseWith(PutClusterBody, ctx.request.body);
    const cluster = await upsertCluster(
      ctx.state.em,
      clusterId,
      {
        cpuCoreMonthUsd: body.cpu_core_month_usd,
        memoryGibMonthUsd: body.memory_gib_month_usd,
        storageGibMonthUsd: body.storage_gib_month_usd,
        chartMultipliers: body.chart_multipliers ?? {},
        periodDiscounts: body.period_discounts ?? {},
      },
      deps.clock.now(),
    );
    ctx.body = priceBookBody(cluster);
  });

  router.get('/clusters/:cluster_id', async (ctx) => {
    const clusterId = parseWith(identifier, ctx.params.cluster_id, 'cluster_id');
    const cluster = await findCluster(ctx.state.em, clusterId);
    if (!cluster) throw notFound(`Cluster ${clusterId}`, 'cluster_id');
    ctx.body = priceBookBody(cluster);
  });

  router.put('/rates/:type', async (ctx) => {
    const currency = parseWith(RateTypeParam, ctx.params.type, 'type');
    const body = parseWith(PutRateBody, ctx.request.body);
    const rate = await upsertTokenRate(ctx.state.em, currency, body.usd, deps.clock.now());
    ctx.body = { type: rate.currency, usd: toCanonicalString(new Dec(rate.usd)), updated_at: formatTimestamp(rate.updatedAt) };
  });

  router.get('/ledger/check', async (ctx) => {
    const check = await checkLedger(ctx.state.em);
    // what an alert watches (docs/operations.md#metrics): the route computes the check, the gauge keeps its last outcome
    setGauge('ledger_check_ok', {}, check.ok ? 1 : 0);
    ctx.body = { ok: check.ok, currencies: check.currencies, drifted_accounts: check.driftedAccounts };
  });

  router.get('/diagnostics/worker', async (ctx) => {
    const principal = principalOf(ctx.state);
    const input: SystemCheckInput = { requestedBy: principal.keyId };
    const workflowId = systemCheckWorkflowId(ctx.state.requestId);
    try {
      const result = await runSystemCheck(deps.temporal, deps.taskQueue, ctx.state.requestId, input);
      ctx.body = { ok: true, ...result };
    } catch (error) {
      throw new AppError('service_unavailable', 'No worker completed the system check in time.', { cause: error, details: { workflow_id: workflowId } });
    }
  });

  mountWebhookEndpointRoutes(router, '/webhook_endpoints', async () => null, { temporal: deps.temporal, taskQueue: deps.taskQueue, clock: deps.clock, webhooks: deps.webhooks });
  return router;
}

async function planOr404(em: Parameters<typeof findPlan>[0], planId: string | undefined): Promise<Plan> {
  const id = planId ?? '';
  const plan = await findPlan(em, id);
  if (!plan) throw notFound(`Plan ${id}`, 'plan_id');
  return plan;
}

function operatorPlan(plan: Plan) {
  return {
    plan_id: plan.id,
    region: plan.region,
    type: plan.type,
    level: plan.level ?? null,
    name: plan.name,
    price: toJsonNumber(new Dec(plan.price)),
    bill_period: plan.billPeriod,
    description: plan.description,
    comment: plan.comment ?? null,
    status: plan.status,
    creation_time: formatTimestamp(plan.creationTime),
  };
}

function priceBookBody(cluster: Cluster) {
  const canonical = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, toCanonicalString(new Dec(value))]));
  return {
    cluster_id: cluster.id,
    cpu_core_month_usd: toCanonicalString(new Dec(cluster.cpuCoreMonthUsd)),
    memory_gib_month_usd: toCanonicalString(new Dec(cluster.memoryGibMonthUsd)),
    storage_gib_month_usd: toCanonicalString(new Dec(cluster.storageGibMonthUsd)),
    chart_multipliers: canonical(cluster.chartMultipliers),
    period_discounts: canonical(cluster.periodDiscounts),
    updated_at: formatTimestamp(cluster.updatedAt),
  };
}
