/**
 * `/payment/v1` plan subscriptions paid from the balance (seed 001 `checkout` and `account`, plus reading
 * and canceling a subscription). The first period is charged in the checkout request, atomically with the
 * subscription row; the SubscriptionWorkflow charges the later ones.
 */
import { subscriptionEventKeys, subscriptionView } from '../../db/views/subscription.ts';
import { eventIdFor } from '../../domain/events.ts';
import { startPendingDeliveries } from '../../temporal/webhooks.ts';
import type { Router } from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { findPlan, findRegion } from '../../db/repositories/catalog.ts';
import { findSubscription, latestSubscription, tenantSubscriptions, type Subscription } from '../../db/repositories/subscriptions.ts';
import { AppError, conflict, notFound } from '../../domain/errors.ts';
import { Dec, toJsonNumber } from '../../domain/money.ts';
import { accountStatus, balanceWillNotCover, isPurchased, periodChargeKey, type SubscriptionStatus } from '../../domain/subscriptions.ts';
import { InsufficientBalanceError, tenantBalances } from '../../ledger/ledger.ts';
import { balanceChargeMovementId } from '../../ledger/balance-charges.ts';
import { installationOf } from '../../db/repositories/installation.ts';
import { checkoutSubscription, type CheckoutOutcome } from '../../ledger/subscription-checkout.ts';
import { ensureSubscriptionWorkflow } from '../../temporal/subscriptions.ts';
import { cancelSubscriptionUpdate } from '../../workflows/subscription-messages.ts';
import { principalOf } from '../context.ts';
import { beginIdempotentWork, idempotencyOf, idempotent } from '../middleware/idempotency.ts';
import { parseWith } from '../validation.ts';
import { businessId, type MoneyRouteDeps } from './money.ts';
import { tenantOr404 } from '../tenancy.ts';
import { CancelSubscriptionBody, CheckoutBody, NamespaceQuery } from './schemas.ts';
import { withTimeout } from '../wait.ts';

/** The account's `bill_period` words (seed 001 writes "monthly" there, and "M" in the market). */
const BILL_PERIOD_WORDS = { M: 'monthly', Y: 'yearly' } as const;

export function mountSubscriptionRoutes(router: Router, deps: MoneyRouteDeps): void {
  router.post('/checkout', idempotent({ marksWork: true }), async (ctx) => {
    const body = parseWith(CheckoutBody, ctx.request.body);
    const em = ctx.state.em;
    await tenantOr404(em, body.namespace, principalOf(ctx.state), 'namespace');
    const subscriptionId = businessId(ctx, 'sub', await installationOf(em));
    // A retry of a checkout whose answer was lost (or whose API died) re-attaches to its subscription before
    // any check that time can change (the plan may no longer be sold, the balance may be spent).
    const own = idempotencyOf(ctx) ? await findSubscription(em, subscriptionId) : null;
    if (own && own.tenantId !== body.namespace) throw new Error(`subscription ${subscriptionId} belongs to another tenant`);
    let outcome: CheckoutOutcome;
    if (own) {
      beginIdempotentWork(ctx);
      outcome = { kind: 'subscribed', subscription: own, transId: balanceChargeMovementId(periodChargeKey(own.id, 1)) };
    } else {
      const plan = await findPlan(em, body.plan_id);
      if (!plan) throw notFound(`Plan ${body.plan_id}`, 'plan_id');
      if (!(await findRegion(em, body.region))) throw notFound(`Region ${body.region}`, 'region');
      if (plan.region !== body.region) throw conflict(`Plan ${plan.id} is not sold in region ${body.region}.`, 'region');
      if (plan.status !== 'available') throw conflict(`Plan ${plan.id} is not available.`, 'plan_id');

      beginIdempotentWork(ctx);
      outcome = await checkoutSubscription(em, { subscriptionId, tenantId: body.namespace, plan }, deps.clock.now()).catch((error: unknown) => {
        if (error instanceof InsufficientBalanceError) {
          throw new AppError('insufficient_balance', `The balance does not cover the first period of plan ${plan.id}; recharge first.`, { field: 'namespace' });
        }
        throw error;
      });
    }
    const subscription = outcome.subscription;
    // The row is committed: make sure its workflow runs (this also repairs an earlier attempt that
    // committed and then failed to start it).
    if (subscription.status !== 'canceled') await ensureSubscriptionWorkflow(deps.temporal, await installationOf(ctx.state.em), deps.taskQueue, subscription);
    if (outcome.kind === 'subscribed') {
      const eventId = eventIdFor(subscriptionEventKeys.created(subscription.id));
      await startPendingDeliveries(deps.temporal, ctx.state.em.fork(), deps.taskQueue, eventId, deps.webhookScheduleSeconds);
    }
    if (outcome.kind === 'already_subscribed') {
      throw new AppError('conflict', `${body.namespace} is already subscribed to plan ${subscription.planId} (status ${subscription.status}).`, {
        field: 'plan_id',
        details: { subscription_id: subscription.id, subscription_status: subscription.status },
      });
    }
    const balances = await tenantBalances(em, body.namespace);
    ctx.body = { balance: toJsonNumber(balances.USD), status: subscription.status, subscription_id: subscription.id, trans_id: outcome.transId };
  });

  router.get('/account', async (ctx) => {
    const { namespace } = parseWith(NamespaceQuery, ctx.query);
    await tenantOr404(ctx.state.em, namespace, principalOf(ctx.state));
    const { live, anyCanceled } = await tenantSubscriptions(ctx.state.em, namespace);
    const balance = (await tenantBalances(ctx.state.em, namespace)).USD;
    const statuses: SubscriptionStatus[] = [...live.map((subscription) => subscription.status), ...(anyCanceled ? (['canceled'] as const) : [])];
    ctx.body = {
      purchased: isPurchased(statuses),
      notification: balanceWillNotCover(
        balance,
        live.map((subscription) => ({ status: subscription.status, price: new Dec(subscription.price) })),
      ),
      plans: live.map((subscription) => ({
        plan_id: subscription.planId,
        type: subscription.planType,
        price: toJsonNumber(new Dec(subscription.price)),
        bill_period: BILL_PERIOD_WORDS[subscription.billPeriod],
        description: subscription.planDescription,
      })),
      status: accountStatus(statuses),
      balance: { balance: toJsonNumber(balance) },
    };
  });

  router.get('/subscriptions/:plan_id', async (ctx) => {
    const { namespace } = parseWith(NamespaceQuery, ctx.query);
    await tenantOr404(ctx.state.em, namespace, principalOf(ctx.state));
    ctx.body = subscriptionBody(await subscriptionOr404(ctx.state.em, namespace, ctx.params.plan_id));
  });

  router.post('/subscriptions/:plan_id/cancel', async (ctx) => {
    const { namespace } = parseWith(CancelSubscriptionBody, ctx.request.body);
    await tenantOr404(ctx.state.em, namespace, principalOf(ctx.state), 'namespace');
    const subscription = await subscriptionOr404(ctx.state.em, namespace, ctx.params.plan_id);
    if (subscription.status === 'canceled') throw conflict(`The subscription to plan ${subscription.planId} is already canceled.`, 'plan_id');
    const cancel = () => withTimeout(deps.temporal.workflow.getHandle(subscription.workflowId).executeUpdate(cancelSubscriptionUpdate), deps.waitSeconds, 'The subscription');
    try {
      await cancel().catch(async (error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        await ensureSubscriptionWorkflow(deps.temporal, await installationOf(ctx.state.em), deps.taskQueue, subscription);
        return cancel();
      });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw conflict(`The subscription to plan ${subscription.planId} is already canceled.`, 'plan_id');
      throw error;
    }
    ctx.body = subscriptionBody((await findSubscription(ctx.state.em.fork(), subscription.id))!);
  });
}

async function subscriptionOr404(em: EntityManager, tenantId: string, planId: string | undefined): Promise<Subscription> {
  const subscription = planId ? await latestSubscription(em, tenantId, planId) : null;
  if (!subscription) throw notFound(`A subscription to plan ${planId}`, 'plan_id');
  return subscription;
}

/** The subscription as its events carry it, but the price a JSON number, as the /payment/v1 routes write amounts. */
function subscriptionBody(subscription: Subscription) {
  return { ...subscriptionView(subscription), price: toJsonNumber(new Dec(subscription.price)) };
}
