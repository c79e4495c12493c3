/**
 * The token prepayment (DESIGN §5, §11): `POST /v2alpha/teams/{team_id}/tokens/{type}` with
 * `{quote_id, amount, period, auto_renewal}`. The token amount and the deadline come only from a locked
 * quote of that token; the prepay gets its own deposit address (child `pre_pay_id` of DEPOSIT_XPUB) and
 * its workflow waits for the transfers. The answer does not wait for the payment.
 */
import type { Router } from '@koa/router';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { getAddress } from 'viem';
import { registerDepositAddress } from '../../chain/deposit-address.ts';
import type { ChainSettings } from '../../chain/settings.ts';
import { tokenSettings } from './token-settings.ts';
import { matchingQuote } from './quote-checks.ts';
import { allocateTokenPrepay, findIdempotentPrepay } from '../../db/repositories/prepay-allocation.ts';
import type { Clock } from '../../domain/clock.ts';
import { invalid } from '../../domain/errors.ts';
import { Dec, toCanonicalString } from '../../domain/money.ts';
import type { PrepayTimings } from '../../domain/prepay.ts';
import { startTokenPrepay } from '../../temporal/prepays.ts';
import { installationOf } from '../../db/repositories/installation.ts';
import type { PrepayInput } from '../../workflows/prepay.ts';
import { formatTimestamp } from '../format.ts';
import { beginIdempotentWork, idempotent } from '../middleware/idempotency.ts';
import { parseWith } from '../validation.ts';
import { prepayIdempotencyOf } from './prepay-idempotency.ts';
import { teamOf } from '../tenancy.ts';
import { CreatePrePaymentTokenBody, TokenTypeParam } from './schemas.ts';

export interface TokenPrepayRouteDeps {
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  /** null when no chain is configured */
  chain: ChainSettings | null;
  timings: Partial<PrepayTimings>;
}

export function mountTokenPrepayRoutes(router: Router, deps: TokenPrepayRouteDeps): void {
  router.post('/teams/:team_id/tokens/:type', idempotent({ marksWork: true }), async (ctx) => {
    const teamId = await teamOf(ctx);
    if (ctx.params.type === 'USD') {
      throw invalid('type: USD prepayments are paid by card: POST /v2alpha/teams/{team_id}/cards/{card_id}.', 'type');
    }
    const token = parseWith(TokenTypeParam, ctx.params.type, 'type');
    const { chain, depositXpub, contract } = tokenSettings(deps.chain, token);
    const body = parseWith(CreatePrePaymentTokenBody, ctx.request.body);
    const em = ctx.state.em;
    const idempotency = prepayIdempotencyOf(ctx);
    // A retry whose first answer was lost (or whose API died) re-attaches to its prepay before the quote is
    // looked at: the quote has expired by then, but the prepay and its deposit address are the request's.
    let prepay = idempotency ? await findIdempotentPrepay(em, idempotency, deps.clock.now()) : null;
    if (prepay && prepay.paymentType !== token) throw new Error(`prepay ${prepay.id} of this Idempotency-Key is in ${prepay.paymentType}, not ${token}`);
    if (!prepay) {
      const quote = await matchingQuote(em, teamId, body, token, deps.clock.now());
      beginIdempotentWork(ctx);
      ({ prepay } = await allocateTokenPrepay(
        em,
        {
          tenantId: teamId,
          paymentType: token,
          quoteId: quote.id,
          period: body.period,
          autoRenewal: body.auto_renewal === 1,
          amount: new Dec(quote.amount),
          usd: new Dec(quote.usd),
          paymentDeadline: quote.expiresAt,
          idempotency,
        },
        deps.clock.now(),
      ));
    }
    beginIdempotentWork(ctx);
    const deposit = await registerDepositAddress(em, { tenantId: teamId, prePayId: prepay.id, token, chainId: chain.chainId, depositXpub });
    // A retry of a request whose first answer was lost reads the first one's terms from its row.
    const deadline = prepay.paymentDeadline;
    if (!deadline) throw new Error(`token prepay ${prepay.id} has no payment deadline`);
    const input: PrepayInput = {
      prePayId: prepay.id,
      tenantId: teamId,
      paymentType: token,
      cardId: null,
      period: prepay.period,
      autoRenewal: prepay.autoRenewal,
      amount: prepay.amount.toFixed(),
      usd: prepay.usd.toFixed(),
      tokenPayment: { depositAddress: deposit.checksumAddress, deadline: deadline.toISOString() },
      timings: deps.timings,
    };
    try {
      await startTokenPrepay(deps.temporal, await installationOf(em), deps.taskQueue, input);
    } catch (error) {
      // The prepay already ran to its end (a replay after it closed): the terms answered are still its own.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    ctx.body = {
      code: 0,
      message: 'success',
      pre_pay_id: prepay.id,
      deposit_address: deposit.checksumAddress,
      token_contract: getAddress(contract.address),
      token_amount: toCanonicalString(prepay.amount),
      expires_at: formatTimestamp(deadline),
      chain_id: chain.chainId,
      usd: toCanonicalString(prepay.usd),
    };
  });
}
