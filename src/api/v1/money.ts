/** `/payment/v1` money routes: recharge, balance, amounts, and the operator's refund. */
import { createHash, randomBytes } from 'node:crypto';
import type { Router } from '@koa/router';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { MoneyMovement, Tenant } from '../../db/entities/index.ts';
import { defaultCard, findTenantCard } from '../../db/repositories/cards.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { Dec, toJsonNumber } from '../../domain/money.ts';
import { tenantBalances } from '../../ledger/ledger.ts';
import { tenantSubscriptionStatus } from '../../db/repositories/subscriptions.ts';
import { signalUnpaidSubscriptions } from '../../temporal/subscriptions.ts';
import { createPendingMovement, findTenantMovement, listMovements, settleCredit } from '../../ledger/movements.ts';
import type { RechargeInput, RechargeResult, RefundInput, RefundResult } from '../../workflows/index.ts';
import { principalOf } from '../context.ts';
import { formatTimestamp } from '../format.ts';
import { assertTenantAccess, requireScope } from '../middleware/auth.ts';
import { idempotencyKeyOf, idempotencyOwner, idempotent } from '../middleware/idempotency.ts';
import { waitFor } from '../wait.ts';
import { opaqueId, parseWith } from '../validation.ts';
import { ListAmountsQuery, NamespaceQuery, RechargeBody, RefundBody } from './schemas.ts';

export interface MoneyRouteDeps {
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  /** how long a request waits for a workflow's outcome before answering 202 pending */
  waitSeconds: number;
}

export function mountMoneyRoutes(router: Router, deps: MoneyRouteDeps): void {
  router.get('/balance', async (ctx) => {
    const { namespace } = parseWith(NamespaceQuery, ctx.query);
    await tenantOr404(ctx.state.em, namespace, principalOf(ctx.state));
    const balances = await tenantBalances(ctx.state.em, namespace);
    ctx.body = { balance: toJsonNumber(balances.USD), status: await tenantSubscriptionStatus(ctx.state.em, namespace) };
  });

  router.get('/amounts', async (ctx) => {
    const query = parseWith(ListAmountsQuery, ctx.query);
    await tenantOr404(ctx.state.em, query.namespace, principalOf(ctx.state));
    const page = await listMovements(ctx.state.em, query.namespace, query.limit, query.starting_after);
    ctx.set('X-Has-More', String(page.hasMore));
    ctx.body = page.movements.map(amountBody);
  });

  router.get('/amount/:trans_id', async (ctx) => {
    const { namespace } = parseWith(NamespaceQuery, ctx.query);
    await tenantOr404(ctx.state.em, namespace, principalOf(ctx.state));
    const transId = parseWith(opaqueId, ctx.params.trans_id, 'trans_id');
    const movement = await findTenantMovement(ctx.state.em, namespace, transId);
    if (!movement) throw notFound(`Transaction ${transId}`, 'trans_id');
    ctx.body = amountBody(movement);
  });

  router.post('/recharge', idempotent(), async (ctx) => {
    const body = parseWith(RechargeBody, ctx.request.body);
    const principal = principalOf(ctx.state);
    await tenantOr404(ctx.state.em, body.namespace, principal, 'namespace');
    const transId = businessId(ctx, 'tr');
    const description = body.description ?? 'Balance recharge';
    const now = deps.clock.now();

    if (body.payment_method === 'manual') {
      if (principal.scope !== 'operator') throw new AppError('forbidden', 'Only an operator may record a manual credit.', { field: 'payment_method' });
      await createPendingMovement(ctx.state.em, { id: transId, tenantId: body.namespace, kind: 'manual_credit', currency: 'USD', amount: body.amount, paymentMethod: 'manual', description }, now);
      await settleCredit(ctx.state.em, transId, {}, now);
      // Unpaid subscriptions retry their charge now. The credit stands if Temporal is unreachable: they also retry daily.
      await signalUnpaidSubscriptions(ctx.state.em, deps.temporal, body.namespace).catch((error: unknown) => {
        ctx.state.log.warn({ err: error, tenantId: body.namespace }, 'could not signal unpaid subscriptions');
      });
      ctx.body = await balanceAnswer(ctx.state.em, body.namespace, transId);
      return;
    }

    const card = body.card_id ? await findTenantCard(ctx.state.em, body.namespace, body.card_id) : await defaultCard(ctx.state.em, body.namespace);
    if (!card) {
      throw body.card_id
        ? notFound(`Card ${body.card_id}`, 'card_id')
        : new AppError('unprocessable', 'The tenant has no default card; register one or send card_id.', { field: 'card_id' });
    }
    await createPendingMovement(ctx.state.em, { id: transId, tenantId: body.namespace, kind: 'recharge', currency: 'USD', amount: body.amount, paymentMethod: 'card', description, cardId: card.id }, now);
    const input: RechargeInput = { transId, tenantId: body.namespace, cardId: card.id, amount: body.amount.toFixed(), description };
    const handle = await deps.temporal.workflow.start('rechargeWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId: `recharge-${transId}`,
      args: [input],
      // A retry of the same request joins the running or finished recharge; it never starts a second one.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    }).catch(async (error: unknown) => {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return deps.temporal.workflow.getHandle(`recharge-${transId}`);
      throw error;
    });
    const outcome = await waitFor<RechargeResult>(handle.result(), deps.waitSeconds);
    if (!outcome) {
      ctx.status = 202;
      ctx.body = { trans_id: transId, status: 'pending' };
      return;
    }
    if (outcome.status === 'declined') {
      throw new AppError('card_declined', `The card was declined: ${outcome.message}`, { field: 'card_id', details: { trans_id: transId, decline_code: outcome.declineCode } });
    }
    ctx.body = await balanceAnswer(ctx.state.em, body.namespace, transId);
  });

  router.post('/amount/:trans_id/refund', requireScope('operator'), idempotent(), async (ctx) => {
    const body = parseWith(RefundBody, ctx.request.body);
    const transId = parseWith(opaqueId, ctx.params.trans_id, 'trans_id');
    const movement = await ctx.state.em.findOne(MoneyMovement, { id: transId });
    if (!movement) throw notFound(`Transaction ${transId}`, 'trans_id');
    if (movement.status === 'refunded') throw new AppError('conflict', `Transaction ${transId} is already refunded.`, { field: 'trans_id' });
    if (movement.status !== 'finish') throw new AppError('conflict', `Transaction ${transId} is ${movement.status} and cannot be refunded.`, { field: 'trans_id' });
    const input: RefundInput = { transId, reason: body.reason };
    let result: RefundResult;
    try {
      result = await deps.temporal.workflow.execute('refundWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId: `refund-${transId}`,
        args: [input],
        // One refund per transaction: a second request while or after it ran is refused here.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new AppError('conflict', `Transaction ${transId} is already being refunded or was refunded.`, { field: 'trans_id' });
      throw error;
    }
    if (result.status === 'refused') {
      throw new AppError(result.errorType === 'insufficient_balance' ? 'insufficient_balance' : 'conflict', result.message, { field: 'trans_id' });
    }
    const refunded = await ctx.state.em.fork().findOne(MoneyMovement, { id: transId });
    ctx.body = amountBody(refunded!);
  });
}

/** The seed's amount shape, plus the currency for token movements. */
export function amountBody(movement: MoneyMovement) {
  return {
    trans_id: movement.id,
    creation_time: formatTimestamp(movement.createdAt),
    amount: toJsonNumber(new Dec(movement.amount)),
    currency: movement.currency,
    description: movement.description,
    payment_method: movement.paymentMethod,
    status: movement.status,
  };
}

async function balanceAnswer(em: Parameters<typeof tenantBalances>[0], tenantId: string, transId: string) {
  const balances = await tenantBalances(em, tenantId);
  return { balance: toJsonNumber(balances.USD), status: 'active', trans_id: transId };
}

export async function tenantOr404(em: Parameters<typeof tenantBalances>[0], tenantId: string, principal: ReturnType<typeof principalOf>, field = 'namespace'): Promise<void> {
  assertTenantAccess(principal, tenantId, field);
  if (!(await em.findOne(Tenant, { id: tenantId }))) throw notFound(`Tenant ${tenantId}`, field);
}

/**
 * The id of what a money request creates. With an Idempotency-Key it is derived from the key (and its
 * owner), so a retry after a lost answer finds the same movement and workflow instead of paying twice.
 */
export function businessId(ctx: Parameters<typeof idempotencyOwner>[0], prefix: string): string {
  const key = idempotencyKeyOf(ctx);
  if (!key) return `${prefix}_${randomBytes(12).toString('base64url')}`;
  const digest = createHash('sha256').update(`${idempotencyOwner(ctx)}\n${ctx.method} ${ctx.path}\n${key}`).digest('base64url');
  return `${prefix}_${digest.slice(0, 22)}`;
}
