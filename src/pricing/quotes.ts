/** Quoting (GetPreAmount): price the resources, lock the token rate, store the quote. */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { insertQuote } from '../db/repositories/quotes.ts';
import { clusterPriceBook } from '../db/repositories/catalog.ts';
import { AppError } from '../domain/errors.ts';
import { CURRENCY_DECIMALS, Dec, toFixedString, type Currency } from '../domain/money.ts';
import { MAX_QUOTE_AMOUNT, MAX_QUOTE_USD, priceResources, tokenAmountFor, type Resources } from '../domain/pricing.ts';
import type { PriceFeed } from './price-feed.ts';

export interface QuoteRequest {
  tenantId: string | null;
  currency: Currency;
  clusterId: string;
  chartName: string;
  resources: Resources;
  period: number;
}

export interface QuoteResult {
  quoteId: string;
  currency: Currency;
  usd: Dec;
  amount: Dec;
  /** USD per token unit; 1 for USD and for USDT (pegged by the seed rule) */
  rate: Dec;
  expiresAt: Date;
}

export async function createQuote(em: EntityManager, deps: { priceFeed: PriceFeed; ttlSeconds: number; now: Date }, request: QuoteRequest): Promise<QuoteResult> {
  const book = await clusterPriceBook(em, request.clusterId);
  if (!book) throw new AppError('not_found', `Cluster ${request.clusterId} was not found.`, { field: 'cluster_id' });

  const { usd } = priceResources(book, request.resources, request.chartName, request.period);
  if (usd.lte(0)) {
    throw new AppError('amount_too_small', 'These resources cost less than one cent for the period; ask for more.', { field: 'cpu_limit' });
  }

  const rate = await lockedRate(em, deps.priceFeed, request.currency);
  const amount = tokenAmountFor(usd, request.currency, rate);
  if (usd.gt(MAX_QUOTE_USD) || amount.gt(MAX_QUOTE_AMOUNT)) {
    throw new AppError('amount_too_large', 'These resources cost more than one quote can hold for the period; ask for less.');
  }
  const expiresAt = new Date(deps.now.getTime() + deps.ttlSeconds * 1000);
  const quoteId = randomUUID();
  await insertQuote(em, {
    id: quoteId,
    tenant_id: request.tenantId,
    currency: request.currency,
    cluster_id: request.clusterId,
    chart_name: request.chartName,
    cpu_limit: request.resources.cpuMillicores,
    mem_limit: request.resources.memoryMib,
    storage_limit: request.resources.storageGib,
    period: request.period,
    usd: toFixedString(usd, CURRENCY_DECIMALS.USD),
    amount: amount.toFixed(),
    rate: rate.toFixed(),
    created_at: deps.now,
    expires_at: expiresAt,
  });
  return { quoteId, currency: request.currency, usd, amount, rate, expiresAt };
}

async function lockedRate(em: EntityManager, feed: PriceFeed, currency: Currency): Promise<Dec> {
  if (currency === 'USD' || currency === 'USDT_ERC20') return new Dec(1);
  const reading = await feed.rate(em, currency);
  if (!reading || reading.usd.lte(0)) {
    throw new AppError('price_unavailable', `No current ${currency} rate is available; token quotes are paused. USD quotes still work.`);
  }
  return reading.usd;
}
