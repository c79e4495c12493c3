/**
 * CallBackAppInfo from the seed: binds the app a paid prepay pays for (card or token), through the prepay's
 * workflow, and answers "success" only when the answer shows that app bound to a prepay that serves it.
 */
import type { z } from 'zod';
import type { Router } from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import { findCluster, priceBookOf } from '../../db/repositories/catalog.ts';
import { installationOf } from '../../db/repositories/installation.ts';
import { findPrepay, type Prepay } from '../../db/repositories/prepays.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { FAILURES } from '../../domain/failures.ts';
import { sameApp, type AppBinding, type PrepayStatus } from '../../domain/prepay.ts';
import { priceResources } from '../../domain/pricing.ts';
import { PrepayRejection, updatePrepay } from '../../temporal/prepays.ts';
import { bindAppUpdate, type PrepayView } from '../../workflows/prepay-messages.ts';
import { principalOf } from '../context.ts';
import type { Principal } from '../middleware/auth.ts';
import { parseWith } from '../validation.ts';
import { withTimeout } from '../wait.ts';
import { rejectionToAppError } from './prepay-refusals.ts';
import type { PrepayRouteDeps } from './prepays.ts';
import { CallBackAppInfoBody, PaymentTypeParam } from './schemas.ts';

/** Statuses of a prepay that paid for, and serves (or served to its end), its bound app. */
const SERVED_STATUSES: ReadonlySet<PrepayStatus> = new Set(['active', 'renewing', 'past_due', 'completed']);
/** Closed without serving the app to the end of what was paid: a callback must not hear "success". */
const UNSERVED_CLOSED_STATUSES: ReadonlySet<PrepayStatus> = new Set(['refunded', 'canceled', 'expired', 'payment_failed']);

const notServed = (prePayId: number, status: string) =>
  new AppError('conflict', `Prepay ${prePayId} is ${status}; it does not pay for this app.`, { field: 'pre_pay_id', details: { status } });

function appOfCallback(body: z.infer<typeof CallBackAppInfoBody>): AppBinding {
  return {
    appId: body.app_id,
    clusterId: body.cluster_id,
    chartName: body.chart_name,
    cpuLimit: body.cpu_limit,
    memLimit: body.mem_limit,
    storageLimit: body.storage_limit,
    iconUrl: body.icon_url,
    projectName: body.project_name,
  };
}

export function mountCallbackAppInfoRoute(router: Router, deps: Pick<PrepayRouteDeps, 'temporal' | 'waitSeconds'>): void {
  router.post('/:type/callback_app_info', async (ctx) => {
    const paymentType = parseWith(PaymentTypeParam, ctx.params.type, 'type');
    const body = parseWith(CallBackAppInfoBody, ctx.request.body);
    const em = ctx.state.em;
    const prepay = await visiblePrepay(em, principalOf(ctx.state), body.pre_pay_id, 'pre_pay_id');
    // Seed clients repeat the callback again and again: a repeat of the bound app is answered from the read
    // model, without a new Workflow Update (each one grows the workflow's history; decision 0050).
    const repeated = prepay.paymentType === paymentType && prepay.app !== null && sameApp(prepay.app, appOfCallback(body));
    if (repeated && SERVED_STATUSES.has(prepay.status)) {
      ctx.body = { code: 0, message: 'success' };
      return;
    }
    if (repeated && UNSERVED_CLOSED_STATUSES.has(prepay.status)) throw notServed(prepay.id, prepay.status);
    const cluster = await findCluster(em, body.cluster_id);
    if (!cluster) throw notFound(`Cluster ${body.cluster_id}`, 'cluster_id');
    const app = appOfCallback(body);
    const resources = { cpuMillicores: app.cpuLimit, memoryMib: app.memLimit, storageGib: app.storageLimit };
    const { usd } = priceResources(priceBookOf(cluster), resources, app.chartName, prepay.period);
    let bound: PrepayView;
    try {
      bound = await withTimeout(
        updatePrepay(deps.temporal, await installationOf(em), prepay.id, bindAppUpdate, { paymentType, app, costUsd: usd.toFixed(), tenantId: prepay.tenantId }),
        deps.waitSeconds,
        `Prepay ${prepay.id}`,
      );
    } catch (error) {
      // A prepay that closed after serving its app still answers a repeated callback of that app.
      const closedWithSameApp =
        error instanceof PrepayRejection && error.type === FAILURES.prepayClosed.type && prepay.paymentType === paymentType && prepay.app && sameApp(prepay.app, app);
      if (!closedWithSameApp) throw await rejectionToAppError(em, prepay.id, error);
      const now = await findPrepay(em.fork(), prepay.id);
      if (!now || !SERVED_STATUSES.has(now.status)) throw notServed(prepay.id, now?.status ?? 'closed');
      ctx.body = { code: 0, message: 'success' };
      return;
    }
    // "success" only when the answer shows this app bound to a paid prepay: never for one that ended refunded or canceled.
    if (!bound.app || !sameApp(bound.app, app) || !SERVED_STATUSES.has(bound.status)) throw notServed(prepay.id, bound.status);
    ctx.body = { code: 0, message: 'success' };
  });
}

/** A prepay the principal may see: its own tenant's, or any for an operator; otherwise "not found". */
async function visiblePrepay(em: EntityManager, principal: Principal, prePayId: number, field: string): Promise<Prepay> {
  const prepay = await findPrepay(em, prePayId);
  if (!prepay || (principal.scope !== 'operator' && prepay.tenantId !== principal.tenantId)) throw notFound(`Prepay ${prePayId}`, field);
  return prepay;
}
