/**
 * Card prepayments (DESIGN §5, §11): CreatePrePaymentCard from the seed, plus a team's prepays, switching auto-renewal, changing the card, and the operator's cancel. Every change
 * goes through the prepay's workflow (an Update, answered after the workflow wrote its read model);
 * reads come from the read model.
 */
import type { Router } from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { findTenantCard } from '../../db/repositories/cards.ts';
import { canceledByRequest, forgetCancelRequest, recordCancelRequest } from '../../db/repositories/prepay-cancel-requests.ts';
import { findPrepayPayment } from '../../db/repositories/prepay-payments.ts';
import { allocateCardPrepay, findIdempotentPrepay } from '../../db/repositories/prepay-allocation.ts';
import { findPrepay, findTenantPrepay, listTenantPrepays, type Prepay } from '../../db/repositories/prepays.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, invalid, notFound } from '../../domain/errors.ts';
import { FAILURES } from '../../domain/failures.ts';
import { isTerminalPrepayStatus, type PrepayTimings } from '../../domain/prepay.ts';
import { PrepayRejection, startCardPrepay, updatePrepay } from '../../temporal/prepays.ts';
import { installationOf } from '../../db/repositories/installation.ts';
import { cancelUpdate, changeCardUpdate, setAutoRenewalUpdate, type PaymentOutcome, type PrepayInput } from '../../workflows/prepay-messages.ts';
import { prepayBody } from './prepay-presenters.ts';
import { matchingQuote } from './quote-checks.ts';
import { teamOf, type RouteContext } from '../tenancy.ts';
import { requireScope } from '../middleware/auth.ts';
import { beginIdempotentWork, idempotencyToken, idempotent, transient } from '../middleware/idempotency.ts';
import { prepayIdempotencyOf } from './prepay-idempotency.ts';
import { rejectionToAppError } from './prepay-refusals.ts';
import { identifier, parseWith } from '../validation.ts';
import { waitFor, withTimeout } from '../wait.ts';
import { CancelPrepayBody, ChangePrepayCardBody, CreatePrePaymentCardBody, ListPrepaysQuery, PrePayIdParam, SetAutoRenewalBody } from './schemas.ts';

export interface PrepayRouteDeps {
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  /** how long CreatePrePaymentCard waits for the charge before answering 202 */
  waitSeconds: number;
  /** the lifecycle's timings given to new prepays (binding timeout, renewal notice) */
  timings: Partial<PrepayTimings>;
}

export function mountPrepayRoutes(router: Router, deps: PrepayRouteDeps): void {
  router.post('/teams/:team_id/cards/:card_id', idempotent({ marksWork: true }), async (ctx) => {
    const teamId = await teamOf(ctx);
    const cardId = parseWith(identifier, ctx.params.card_id, 'card_id');
    const body = parseWith(CreatePrePaymentCardBody, ctx.request.body);
    if (body.team_id !== teamId) throw invalid('team_id: must equal the team_id of the path.', 'team_id');
    if (body.card_id !== cardId) throw invalid('card_id: must equal the card_id of the path.', 'card_id');
    const em = ctx.state.em;
    const idempotency = prepayIdempotencyOf(ctx);
    // A retry whose first answer was lost (or whose API died) re-attaches to its prepay before any check that
    // time can change: the quote may have expired and the card may be gone since the first request charged it.
    const own = idempotency ? await findIdempotentPrepay(em, idempotency, deps.clock.now()) : null;
    if (!own) {
      if (!(await findTenantCard(em, teamId, cardId))) throw notFound(`Card ${cardId}`, 'card_id');
      if (body.quote_id) await matchingQuote(em, teamId, { ...body, quote_id: body.quote_id }, 'USD', deps.clock.now());
    }

    beginIdempotentWork(ctx);
    const { prepay } = await allocateCardPrepay(
      em,
      {
        tenantId: teamId,
        cardId,
        quoteId: body.quote_id ?? null,
        period: body.period,
        autoRenewal: body.auto_renewal === 1,
        amount: body.amount,
        idempotency,
      },
      deps.clock.now(),
    );
    const input: PrepayInput = {
      prePayId: prepay.id,
      tenantId: teamId,
      paymentType: 'USD',
      cardId: prepay.cardId ?? cardId,
      period: body.period,
      autoRenewal: body.auto_renewal === 1,
      amount: body.amount.toFixed(),
      timings: deps.timings,
    };
    let outcome: PaymentOutcome | undefined;
    try {
      outcome = await waitFor(startCardPrepay(deps.temporal, await installationOf(em), deps.taskQueue, input), deps.waitSeconds);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      outcome = await closedOutcome(em, prepay.id); // a retry of a request whose prepay already ended
    }
    if (!outcome) {
      ctx.status = 202;
      ctx.body = { code: 0, message: 'pending', pre_pay_id: prepay.id, status: 'awaiting_payment' };
      return;
    }
    if (outcome.status === 'declined') {
      throw new AppError('card_declined', `The card was declined: ${outcome.message}`, {
        field: 'card_id',
        details: { pre_pay_id: prepay.id, decline_code: outcome.declineCode },
      });
    }
    ctx.body = { code: 0, message: 'success', pre_pay_id: prepay.id };
  });

  router.get('/teams/:team_id/prepays', async (ctx) => {
    const teamId = await teamOf(ctx);
    const query = parseWith(ListPrepaysQuery, ctx.query);
    const page = await listTenantPrepays(ctx.state.em, teamId, query.limit, query.starting_after);
    ctx.body = { prepays: page.prepays.map(prepayBody), has_more: page.hasMore };
  });

  router.get('/teams/:team_id/prepays/:pre_pay_id', async (ctx) => {
    const prepay = await pathPrepay(ctx);
    ctx.body = prepayBody(prepay);
  });

  router.put('/teams/:team_id/prepays/:pre_pay_id/auto_renewal', async (ctx) => {
    const prepay = await pathPrepay(ctx);
    const body = parseWith(SetAutoRenewalBody, ctx.request.body);
    // Already so: answered from the read model without a Workflow Update (repeats must not grow the history).
    if (prepay.autoRenewal === (body.auto_renewal === 1) && !isTerminalPrepayStatus(prepay.status)) {
      ctx.body = prepayBody(prepay);
      return;
    }
    await withTimeout(
      updatePrepay(deps.temporal, await installationOf(ctx.state.em), prepay.id, setAutoRenewalUpdate, { autoRenewal: body.auto_renewal === 1, tenantId: prepay.tenantId }),
      deps.waitSeconds,
      `Prepay ${prepay.id}`,
    ).catch(async (error: unknown) => {
      throw await rejectionToAppError(ctx.state.em, prepay.id, error);
    });
    ctx.body = prepayBody((await findPrepay(ctx.state.em.fork(), prepay.id))!);
  });

  router.put('/teams/:team_id/prepays/:pre_pay_id/card', async (ctx) => {
    const prepay = await pathPrepay(ctx);
    const body = parseWith(ChangePrepayCardBody, ctx.request.body);
    if (!(await findTenantCard(ctx.state.em, prepay.tenantId, body.card_id))) throw notFound(`Card ${body.card_id}`, 'card_id');
    await withTimeout(
      updatePrepay(deps.temporal, await installationOf(ctx.state.em), prepay.id, changeCardUpdate, { cardId: body.card_id, tenantId: prepay.tenantId }),
      deps.waitSeconds,
      `Prepay ${prepay.id}`,
    ).catch(async (error: unknown) => {
      throw await rejectionToAppError(ctx.state.em, prepay.id, error);
    });
    ctx.body = prepayBody((await findPrepay(ctx.state.em.fork(), prepay.id))!);
  });

  router.post('/teams/:team_id/prepays/:pre_pay_id/cancel', requireScope('operator'), idempotent(), async (ctx) => {
    const prepay = await pathPrepay(ctx);
    const body = parseWith(CancelPrepayBody, ctx.request.body);
    // Which claim asked, before asking: a retry whose first answer was lost (or a 202) answers the cancel it made.
    const token = idempotencyToken(ctx);
    // Work begins here: the key keeps its generation when this attempt ends without an outcome (a 202, a crash).
    beginIdempotentWork(ctx);
    // Only while the prepay is not closed: a new request for a canceled prepay stays "already canceled" (409).
    if (token) await recordCancelRequest(ctx.state.em.fork(), prepay.id, token);
    // The cancel's answer waits for its refund: at most the wait, then 202 with the prepay as it stands (poll it).
    const canceled = await waitFor(
      updatePrepay(deps.temporal, await installationOf(ctx.state.em), prepay.id, cancelUpdate, {
        reason: body.reason,
        tenantId: prepay.tenantId,
        ...(token ? { requestId: token } : {}),
      }).catch(async (error: unknown) => {
        if (token && error instanceof PrepayRejection && error.type === FAILURES.prepayClosed.type) {
          // A running workflow accepts a retry of a cancel it accepted, so its refusal (it says its status) is
          // for a request that did not cancel; only a closed workflow leaves the question to the table.
          if (error.status === undefined && (await canceledByRequest(ctx.state.em.fork(), prepay.id, token))) return 'canceled by this request';
          await forgetCancelRequest(ctx.state.em.fork(), prepay.id, token);
        }
        const refusal = await rejectionToAppError(ctx.state.em, prepay.id, error);
        // "being charged right now; retry in a moment" is no outcome of the key: its retry must be able to cancel.
        throw error instanceof PrepayRejection && error.type === FAILURES.prepayNotCancelable.type && refusal instanceof AppError ? transient(refusal) : refusal;
      }),
      deps.waitSeconds,
    );
    if (!canceled) ctx.status = 202;
    ctx.body = prepayBody((await findPrepay(ctx.state.em.fork(), prepay.id))!);
  });
}

async function pathPrepay(ctx: RouteContext): Promise<Prepay> {
  const teamId = await teamOf(ctx);
  const prePayId = parseWith(PrePayIdParam, ctx.params.pre_pay_id, 'pre_pay_id');
  const prepay = await findTenantPrepay(ctx.state.em, teamId, prePayId);
  if (!prepay) throw notFound(`Prepay ${prePayId}`, 'pre_pay_id');
  return prepay;
}

/**
 * The charge outcome of a prepay whose workflow already closed, from what PostgreSQL recorded: paid only when
 * its first cycle's payment is booked. A closed workflow that booked nothing for this row (a prepay id that
 * names another installation's or tenant's old workflow, or a workflow terminated before it charged) is no
 * success: 409 for an operator, never "success" for money that was not taken.
 */
async function closedOutcome(em: EntityManager, prePayId: number): Promise<PaymentOutcome> {
  const fork = em.fork();
  const payment = await findPrepayPayment(fork, prePayId, 1);
  if (payment) return { status: 'paid', prePayId, chargeId: payment.gatewayChargeId ?? '' };
  const prepay = await findPrepay(fork, prePayId);
  if (prepay?.status === 'payment_failed') {
    const declineCode = prepay.failureCode ?? 'card_declined';
    return { status: 'declined', prePayId, declineCode, message: `the charge was declined (${declineCode})` };
  }
  throw new AppError('conflict', `The workflow of prepay ${prePayId} closed without recording its payment; nothing is known to be charged. An operator must review it.`, {
    field: 'pre_pay_id',
    details: { pre_pay_id: prePayId, status: prepay?.status ?? null },
  });
}
