/** Cards of a team (DESIGN §7, §11): register a gateway token, list, delete, choose the default; and the team's balances. */
import type { Router } from '@koa/router';
import type { Card, MoneyMovement } from '../../db/entities/index.ts';
import { addCard, deleteCard, listCards, setDefaultCard } from '../../db/repositories/cards.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { teamOf } from '../tenancy.ts';
import { CURRENCIES, Dec, toCanonicalString } from '../../domain/money.ts';
import { listMovements } from '../../ledger/movements.ts';
import { formatTimestamp } from '../format.ts';
import { GatewayUnavailableError, InvalidCardTokenError, type CardGateway } from '../../gateway/card-gateway.ts';
import { tenantBalances } from '../../ledger/ledger.ts';
import { parseWith } from '../validation.ts';
import { AddCardBody, CurrencyParam, ListTransactionsQuery } from './schemas.ts';

export function mountCardRoutes(router: Router, deps: { gateway: CardGateway; clock: Clock }): void {
  router.post('/teams/:team_id/cards', async (ctx) => {
    const teamId = await teamOf(ctx);
    const body = parseWith(AddCardBody, ctx.request.body);
    let tokenised;
    try {
      tokenised = await deps.gateway.tokenise(body.token, teamId);
    } catch (error) {
      if (error instanceof InvalidCardTokenError) throw new AppError('invalid_request', error.message, { field: 'token' });
      if (error instanceof GatewayUnavailableError) throw new AppError('service_unavailable', 'The card gateway is unavailable; try again.', { cause: error });
      throw error;
    }
    const card = await addCard(ctx.state.em, teamId, deps.gateway.name, tokenised, deps.clock.now());
    ctx.status = 201;
    ctx.body = cardBody(card);
  });

  router.get('/teams/:team_id/cards', async (ctx) => {
    const teamId = await teamOf(ctx);
    ctx.body = { cards: (await listCards(ctx.state.em, teamId)).map(cardBody) };
  });

  router.delete('/teams/:team_id/cards/:card_id', async (ctx) => {
    const teamId = await teamOf(ctx);
    const card = await deleteCard(ctx.state.em, teamId, ctx.params.card_id ?? '', deps.clock.now());
    if (!card) throw notFound(`Card ${ctx.params.card_id}`, 'card_id');
    ctx.body = { card_id: card.id, deleted: true };
  });

  router.post('/teams/:team_id/cards/:card_id/default', async (ctx) => {
    const teamId = await teamOf(ctx);
    const card = await setDefaultCard(ctx.state.em, teamId, ctx.params.card_id ?? '');
    if (!card) throw notFound(`Card ${ctx.params.card_id}`, 'card_id');
    ctx.body = cardBody(card);
  });

  router.get('/teams/:team_id/balances', async (ctx) => {
    const teamId = await teamOf(ctx);
    const balances = await tenantBalances(ctx.state.em, teamId);
    ctx.body = { balances: Object.fromEntries(CURRENCIES.map((currency) => [currency, toCanonicalString(balances[currency])])) };
  });

  // One balance's movements (USD, or a token's: overpayments and late transfers), newest first.
  router.get('/teams/:team_id/balances/:currency/transactions', async (ctx) => {
    const teamId = await teamOf(ctx);
    const currency = parseWith(CurrencyParam, ctx.params.currency, 'currency');
    const query = parseWith(ListTransactionsQuery, ctx.query);
    const page = await listMovements(ctx.state.em, teamId, currency, query.limit, query.starting_after);
    ctx.body = { transactions: page.movements.map(transactionBody), has_more: page.hasMore };
  });
}

/** A movement as /v2alpha writes amounts: an exact decimal string in its currency. */
export function transactionBody(movement: MoneyMovement) {
  return {
    trans_id: movement.id,
    created_at: formatTimestamp(movement.createdAt),
    amount: toCanonicalString(new Dec(movement.amount)),
    currency: movement.currency,
    description: movement.description,
    payment_method: movement.paymentMethod,
    status: movement.status,
  };
}

export function cardBody(card: Card) {
  return { card_id: card.id, brand: card.brand, last4: card.last4, exp_month: card.expMonth, exp_year: card.expYear, is_default: card.isDefault };
}
