/** `/payment/v1`: plans and balances (seed 001). Answers use the seed's shapes and JSON numbers. */
import { Router } from '@koa/router';
import { findRegion, listMarket, listRegions } from '../../db/repositories/catalog.ts';
import type { Plan } from '../../db/entities/index.ts';
import { notFound } from '../../domain/errors.ts';
import { Dec, toJsonNumber } from '../../domain/money.ts';
import { requireScope } from '../middleware/auth.ts';
import { parseWith } from '../validation.ts';
import { formatTimestamp } from '../format.ts';
import { ListMarketQuery } from './schemas.ts';
import { mountMoneyRoutes, type MoneyRouteDeps } from './money.ts';
import { mountSubscriptionRoutes } from './subscriptions.ts';

export function v1Router(deps: MoneyRouteDeps): Router {
  const router = new Router({ prefix: '/payment/v1' });
  router.use(requireScope('tenant', 'operator'));

  router.get('/regions', async (ctx) => {
    const regions = await listRegions(ctx.state.em);
    ctx.body = regions.map((region) => ({ identification: region.identification, region_describe: region.regionDescribe }));
  });

  router.get('/market', async (ctx) => {
    const query = parseWith(ListMarketQuery, ctx.query);
    if (!(await findRegion(ctx.state.em, query.region))) throw notFound(`Region ${query.region}`, 'region');
    const plans = await listMarket(ctx.state.em, query.region, query.type);
    ctx.body = { plans: plans.map(marketPlan) };
  });

  mountMoneyRoutes(router, deps);
  mountSubscriptionRoutes(router, deps);

  return router;
}

export function marketPlan(plan: Plan) {
  return {
    plan_id: plan.id,
    type: plan.type,
    price: toJsonNumber(new Dec(plan.price)),
    ...(plan.level !== null && plan.level !== undefined ? { level: plan.level } : {}),
    name: plan.name,
    bill_period: plan.billPeriod,
    description: plan.description,
    creation_time: formatTimestamp(plan.creationTime),
  };
}
