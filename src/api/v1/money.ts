/** `/payment/v1` money routes: recharge, balance, amounts, and the operator's refund. */
import { createHash, randomBytes } from 'node:crypto';
import type { Router } from '@koa/router';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { MoneyMovement } from '../../db/entities/index.ts';
import { defaultCard, findTenantCard } from '../../db/repositories/cards.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { Dec, toJsonNumber } from '../../domain/money.ts';
import { tenantBalances } from '../../ledger/ledger.ts';
import { tenantSubscriptionStatus } from '../../db/repositories/subscriptions.ts';
import { signalUnpaidSubscriptions } from '../../temporal/subscriptions.ts';
import { createPendingMovement, creditNewMovement, findTenantMovement, listMovements, settleCredit } from '../../ledger/movements.ts';
import type { RechargeInput, RechargeResult, RefundInput, RefundResult } from '../../workflows/index.ts';
import { principalOf } from '../context.ts';
import { tenantOr404 } from '../tenancy.ts';
import { formatTimestamp } from '../format.ts';
import { requireScope } from '../middleware/auth.ts';
import { beginIdempotentWork, idempotencyOf, idempotencyToken, idempotent, transient, type IdempotencyClaim } from '../middleware/idempotency.ts';
import { waitFor } from '../wait.ts';
import { opaqueId, parseWith } from '../validation.ts';
import { ListAmountsQuery, NamespaceQuery, RechargeBody, RefundBody } from './schemas.ts';
import { installationOf } from '../../db/repositories/installation.ts';
import type { Installation } from '../../domain/installation.ts';
import { refundWorkflowId, startRecharge, startRefund } from '../../temporal/movements.ts';
import { count } from '../../metrics/record.ts';

export interface MoneyRouteDeps {
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  /** how long a request waits for a workflow's outcome before answering 202 pending */
  waitSeconds: number;
  /** webhook delivery's schedule, for the deliveries a request starts (decision 0098) */
  webhookScheduleSeconds: readonly number[];
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
    // the seed's meaning: the USD balance's movements (token balances list theirs under /v2alpha/teams/{team_id}/balances)
    const page = await listMovements(ctx.state.em, query.namespace, 'USD', query.limit, query.starting_after);
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

  router.post('/recharge', idempotent({ marksWork: true }), async (ctx) => {
    const body = parseWith(RechargeBody, ctx.request.body);
    const principal = principalOf(ctx.state);
    await tenantOr404(ctx.state.em, body.namespace, principal, 'namespace');
    if (body.payment_method === 'manual' && principal.scope !== 'operator') {
      throw new AppError('forbidden', 'Only an operator may record a manual credit.', { field: 'payment_method' });
    }
    const installation = await installationOf(ctx.state.em);
    const transId = businessId(ctx, 'tr', installation);
    const description = body.description ?? 'Balance recharge';
    const now = deps.clock.now();
    // A retry of a request whose answer was lost (or whose API died) re-attaches to its movement before any
    // check that time can change (the card may be gone or no longer the default): its terms are the movement's.
    // (A claim this request made is new: nothing of it exists yet, and there is nothing to look for.)
    const claim = idempotencyOf(ctx);
    let movement = claim && !claim.fresh ? await ctx.state.em.fork().findOne(MoneyMovement, { id: transId }) : null;
    if (movement && movement.tenantId !== body.namespace) throw new Error(`movement ${transId} belongs to another tenant`);

    if (movement ? movement.paymentMethod === 'manual' : body.payment_method === 'manual') {
      beginIdempotentWork(ctx);
      let balance: Dec;
      if (movement) {
        await settleCredit(ctx.state.em, transId, {}, now);
        balance = (await tenantBalances(ctx.state.em, body.namespace)).USD;
      } else {
        // New: written with the other new credits of the moment, in one database transaction (decision 0108).
        balance = await creditNewMovement(
          ctx.state.em,
          { id: transId, tenantId: body.namespace, kind: 'manual_credit', currency: 'USD', amount: body.amount, paymentMethod: 'manual', description },
          now,
        );
      }
      // Unpaid subscriptions retry their charge now. The credit stands if Temporal is unreachable: they also retry daily.
      await signalUnpaidSubscriptions(ctx.state.em, deps.temporal, body.namespace).catch((error: unknown) => {
        ctx.state.log.warn({ err: error, tenantId: body.namespace }, 'could not signal unpaid subscriptions');
      });
      ctx.body = { balance: toJsonNumber(balance), status: 'active', trans_id: transId };
      return;
    }

    if (!movement) {
      const card = body.card_id ? await findTenantCard(ctx.state.em, body.namespace, body.card_id) : await defaultCard(ctx.state.em, body.namespace);
      if (!card) {
        throw body.card_id
          ? notFound(`Card ${body.card_id}`, 'card_id')
          : new AppError('unprocessable', 'The tenant has no default card; register one or send card_id.', { field: 'card_id' });
      }
      beginIdempotentWork(ctx);
      movement = await createPendingMovement(
        ctx.state.em,
        { id: transId, tenantId: body.namespace, kind: 'recharge', currency: 'USD', amount: body.amount, paymentMethod: 'card', description, cardId: card.id },
        now,
      );
    }
    beginIdempotentWork(ctx);
    const input: RechargeInput = {
      transId,
      tenantId: movement.tenantId,
      cardId: movement.cardId ?? '',
      amount: new Dec(movement.amount).toFixed(),
      description: movement.description,
    };
    const handle = await startRecharge(deps.temporal, installation, deps.taskQueue, input);
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

  router.post('/amount/:trans_id/refund', requireScope('operator'), idempotent({ marksWork: true }), async (ctx) => {
    const body = parseWith(RefundBody, ctx.request.body);
    const transId = parseWith(opaqueId, ctx.params.trans_id, 'trans_id');
    const movement = await ctx.state.em.findOne(MoneyMovement, { id: transId });
    if (!movement) throw notFound(`Transaction ${transId}`, 'trans_id');
    const workflowId = refundWorkflowId(transId);
    const token = idempotencyToken(ctx);
    // A retry of this key's own refund (its answer was lost, or its API died) re-attaches to that refund
    // before looking at the movement, which its own refund has made `refunded`.
    let handle = token ? await ownRefund(deps.temporal, workflowId, token) : undefined;
    if (handle) beginIdempotentWork(ctx);
    if (!handle) {
      if (movement.status === 'refunded') throw new AppError('conflict', `Transaction ${transId} is already refunded.`, { field: 'trans_id' });
      if (movement.status !== 'finish') throw new AppError('conflict', `Transaction ${transId} is ${movement.status} and cannot be refunded.`, { field: 'trans_id' });
      const input: RefundInput = { transId, reason: body.reason };
      beginIdempotentWork(ctx);
      try {
        // One refund per transaction: a second request while or after it ran is refused here; the same
        // request retried re-attaches (ownRefund, by the token in the memo).
        handle = await startRefund(deps.temporal, await installationOf(ctx.state.em), deps.taskQueue, input, token);
        count('refunds_requested_total', { payment_method: movement.paymentMethod });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        handle = token ? await ownRefund(deps.temporal, workflowId, token) : undefined;
        if (!handle) {
          const running = await deps.temporal.workflow
            .getHandle(workflowId)
            .describe()
            .then(
              (description) => description.status.name === 'RUNNING',
              () => false,
            );
          const refused = new AppError('conflict', `Transaction ${transId} is already being refunded or was refunded.`, { field: 'trans_id' });
          // Another request's refund still running is no outcome of this one: its key is released.
          throw running ? transient(refused) : refused;
        }
      }
    }
    // At most the wait, then 202: the refund goes on, and the transaction shows `refunded` when it is done.
    const result = await waitFor<RefundResult>(handle.result(), deps.waitSeconds);
    if (!result) {
      ctx.status = 202;
      ctx.body = { trans_id: transId, status: 'refund_pending' };
      return;
    }
    if (result.status === 'refused') {
      throw new AppError(result.errorType === 'insufficient_balance' ? 'insufficient_balance' : 'conflict', result.message, { field: 'trans_id' });
    }
    const refunded = await ctx.state.em.fork().findOne(MoneyMovement, { id: transId });
    ctx.body = amountBody(refunded!);
  });
}

/** The refund workflow this Idempotency-Key claim started, unless it failed (a failed refund may be run again). */
async function ownRefund(temporal: Client, workflowId: string, token: string): Promise<WorkflowHandle | undefined> {
  const handle = temporal.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    if (description.memo?.idempotency !== token) return undefined;
    if (['FAILED', 'TERMINATED', 'CANCELLED', 'TIMED_OUT'].includes(description.status.name)) return undefined;
    return handle;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
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

/**
 * The id of what a money request creates. With an Idempotency-Key it is derived from the key, its owner and
 * its generation (decision 0070), so a retry after a lost answer finds the same movement and workflow instead
 * of paying twice, and the same key reused after its retention names a new one.
 */
export function businessId(ctx: { method: string; path: string; state: { idempotency?: IdempotencyClaim } }, prefix: string, installation: Installation): string {
  const claim = idempotencyOf(ctx);
  if (!claim) return `${prefix}_${randomBytes(12).toString('base64url')}`;
  // Claims made before migration 0009 have no generation: their ids stay what they always were.
  const generation = claim.generation === null ? '' : `\n${claim.generation}`;
  // A reset database repeats owners, keys and generations: the installation keeps its ids its own (decision 0090).
  const scope = installation.legacy ? '' : `\n${installation.id}`;
  const digest = createHash('sha256').update(`${claim.owner}\n${ctx.method} ${ctx.path}\n${claim.key}${generation}${scope}`).digest('base64url');
  return `${prefix}_${digest.slice(0, 22)}`;
}
