/** `/v2alpha`: prepayments (seed 000). Amounts are canonical decimal strings. */
import { Router } from '@koa/router';
import { toCanonicalString } from '../../domain/money.ts';
import type { PriceFeed } from '../../pricing/price-feed.ts';
import { createQuote } from '../../pricing/quotes.ts';
import type { Clock } from '../../domain/clock.ts';
import { principalOf } from '../context.ts';
import { formatTimestamp } from '../format.ts';
import { tokenSettings } from './token-settings.ts';
import { requireScope } from '../middleware/auth.ts';
import { parseWith } from '../validation.ts';
import { AcquirePreAmountBody, PaymentTypeParam } from './schemas.ts';
import { mountCardRoutes } from './cards.ts';
import type { CardGateway } from '../../gateway/card-gateway.ts';
import { mountPrepayRoutes, type PrepayRouteDeps } from './prepays.ts';
import { mountCallbackAppInfoRoute } from './callback-app-info.ts';
import { mountInvoiceRoutes } from './invoices.ts';
import { mountTokenPrepayRoutes } from './token-prepays.ts';
import type { ChainSettings } from '../../chain/settings.ts';
import { mountEventRoutes } from './events.ts';
import { teamOf } from '../tenancy.ts';
import { mountWebhookEndpointRoutes, type WebhookRouteDeps } from '../webhook-endpoints.ts';

export interface V2alphaDeps {
  priceFeed: PriceFeed;
  clock: Clock;
  quoteTtlSeconds: number;
  gateway: CardGateway;
  /** prepayments: the Temporal client and task queue, the wait for a charge, the lifecycle's timings */
  prepays: Omit<PrepayRouteDeps, 'clock'>;
  /** null when no chain is configured: token prepayments answer 503 */
  chain: ChainSettings | null;
  webhooks: WebhookRouteDeps;
}

export function v2alphaRouter(deps: V2alphaDeps): Router {
  const router = new Router({ prefix: '/v2alpha' });
  router.use(requireScope('tenant', 'operator'));

  router.post('/:type/acquire_pre_amount', async (ctx) => {
    const currency = parseWith(PaymentTypeParam, ctx.params.type, 'type');
    const body = parseWith(AcquirePreAmountBody, ctx.request.body);
    // a token the engine cannot take payments in is refused as the token prepay refuses it, before any price
    if (currency !== 'USD') tokenSettings(deps.chain, currency);
    const principal = principalOf(ctx.state);
    const quote = await createQuote(
      ctx.state.em,
      { priceFeed: deps.priceFeed, ttlSeconds: deps.quoteTtlSeconds, now: deps.clock.now() },
      {
        tenantId: principal.tenantId,
        currency,
        clusterId: body.cluster_id,
        chartName: body.chart_name,
        resources: { cpuMillicores: body.cpu_limit, memoryMib: body.mem_limit, storageGib: body.storage_limit },
        period: body.period,
      },
    );
    ctx.body = {
      amount: toCanonicalString(quote.amount),
      usd: toCanonicalString(quote.usd),
      quote_id: quote.quoteId,
      currency: quote.currency,
      rate: toCanonicalString(quote.rate),
      expires_at: formatTimestamp(quote.expiresAt),
    };
  });

  mountCardRoutes(router, { gateway: deps.gateway, clock: deps.clock });
  mountPrepayRoutes(router, { ...deps.prepays, clock: deps.clock });
  mountCallbackAppInfoRoute(router, deps.prepays);
  mountTokenPrepayRoutes(router, { temporal: deps.prepays.temporal, taskQueue: deps.prepays.taskQueue, timings: deps.prepays.timings, clock: deps.clock, chain: deps.chain });
  mountInvoiceRoutes(router);
  mountEventRoutes(router);
  mountWebhookEndpointRoutes(router, '/teams/:team_id/webhook_endpoints', teamOf, deps.webhooks);
  return router;
}
