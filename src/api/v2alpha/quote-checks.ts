/**
 * The one check of a prepayment's quote, for card (USD) and token prepays alike: the tenant's own (or an
 * operator's) quote, in the prepay's currency, not expired, for the request's period and amount. The
 * request repeats the quote's terms, so a client that priced something else is told, not charged.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Quote } from '../../db/entities/index.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { Dec, toCanonicalString, type Currency } from '../../domain/money.ts';
import { formatTimestamp } from '../format.ts';

/** The quote when it matches; otherwise the 404 or 422 that names the field that differs. */
export async function matchingQuote(em: EntityManager, teamId: string, request: { quote_id: string; amount: Dec; period: number }, currency: Currency, now: Date): Promise<Quote> {
  const quoteId = request.quote_id;
  const quote = await em.findOne(Quote, { id: quoteId });
  if (!quote || (quote.tenantId !== null && quote.tenantId !== teamId)) throw notFound(`Quote ${quoteId}`, 'quote_id');
  if (quote.currency !== currency) {
    const needs = currency === 'USD' ? 'a card prepayment needs a USD quote' : `this prepayment needs a ${currency} quote`;
    throw new AppError('unprocessable', `Quote ${quoteId} is in ${quote.currency}; ${needs}.`, { field: 'quote_id' });
  }
  if (quote.expiresAt.getTime() <= now.getTime()) {
    throw new AppError('quote_expired', `Quote ${quoteId} expired at ${formatTimestamp(quote.expiresAt)}; ask for a new one.`, { field: 'quote_id' });
  }
  if (quote.period !== request.period) throw new AppError('unprocessable', `period: the quote is for ${quote.period} months, not ${request.period}.`, { field: 'period' });
  // A card prepay pays the quote's USD; a token prepay its token amount.
  const quoted = new Dec(currency === 'USD' ? quote.usd : quote.amount);
  if (!quoted.eq(request.amount)) {
    const what = currency === 'USD' ? "the quote's amount" : "the quote's token amount";
    throw new AppError('unprocessable', `amount: ${what} is ${toCanonicalString(quoted)}, not ${toCanonicalString(request.amount)}.`, { field: 'amount' });
  }
  return quote;
}
