/**
 * Price of resources over a period, from a cluster's price book (DESIGN §4). Pure and deterministic:
 * the API quotes with it, and the prepay workflow re-prices renewals with it.
 */
import { Dec, roundUp, roundUsd, TOKEN_QUOTE_DECIMALS, type Currency } from './money.ts';

export const MIN_PERIOD_MONTHS = 1;
export const MAX_PERIOD_MONTHS = 12;

/** Upper bounds of one quote's resources: far above any real app, low enough to catch unit mistakes. */
export const RESOURCE_LIMITS = {
  cpuMillicores: 1_024_000, // 1024 cores
  memoryMib: 16_777_216, // 16 TiB
  storageGib: 1_048_576, // 1 PiB
} as const;

/**
 * The largest quote total that can be stored exactly: `usd` is numeric(20, 2) and `amount` numeric(38, 18)
 * in the quotes table. Within the resource bounds a price book with large rates (or a tiny token rate)
 * can exceed them; such a quote is refused with 422 instead of failing in the database.
 */
export const MAX_QUOTE_USD = new Dec('999999999999999999.99');
export const MAX_QUOTE_AMOUNT = new Dec('99999999999999999999.99');

export interface Resources {
  /** millicores */
  cpuMillicores: number;
  /** MiB */
  memoryMib: number;
  /** GiB */
  storageGib: number;
}

export interface PriceBook {
  cpuCoreMonthUsd: Dec;
  memoryGibMonthUsd: Dec;
  storageGibMonthUsd: Dec;
  /** chart name → multiplier of the monthly price; charts not listed cost 1×. */
  chartMultipliers: Record<string, Dec>;
  /** months → discount fraction; the entry with the most months not above the period applies. */
  periodDiscounts: Record<string, Dec>;
}

export interface PriceBreakdown {
  /** unrounded USD per month, before the chart multiplier */
  monthlyBase: Dec;
  multiplier: Dec;
  discount: Dec;
  /** the USD total, rounded once, half-up, to cents */
  usd: Dec;
}

/** The discount for a period: the table entry with the largest month count ≤ period, else 0. */
export function discountFor(periodDiscounts: Record<string, Dec>, period: number): Dec {
  let best: { months: number; discount: Dec } | undefined;
  for (const [key, discount] of Object.entries(periodDiscounts)) {
    const months = Number(key);
    if (months <= period && (!best || months > best.months)) best = { months, discount };
  }
  return best?.discount ?? new Dec(0);
}

/** Prices resources for `period` months: full precision throughout, one half-up rounding to cents at the end. */
export function priceResources(book: PriceBook, resources: Resources, chartName: string, period: number): PriceBreakdown {
  const cores = new Dec(resources.cpuMillicores).dividedBy(1000);
  const memoryGib = new Dec(resources.memoryMib).dividedBy(1024);
  const storageGib = new Dec(resources.storageGib);
  const monthlyBase = cores.times(book.cpuCoreMonthUsd).plus(memoryGib.times(book.memoryGibMonthUsd)).plus(storageGib.times(book.storageGibMonthUsd));
  // Own keys only: a chart named "constructor" or "__proto__" must not pick up Object.prototype members.
  const multiplier = Object.hasOwn(book.chartMultipliers, chartName) ? (book.chartMultipliers[chartName] ?? new Dec(1)) : new Dec(1);
  const discount = discountFor(book.periodDiscounts, period);
  const exact = monthlyBase.times(multiplier).times(period).times(new Dec(1).minus(discount));
  return { monthlyBase, multiplier, discount, usd: roundUsd(exact) };
}

/**
 * The amount to pay in `currency` for a USD total. USD and USDT equal the USD total (seed rule);
 * other tokens are the total divided by the rate (USD per token), rounded up to the quote scale.
 */
export function tokenAmountFor(usd: Dec, currency: Currency, usdPerToken: Dec): Dec {
  if (currency === 'USD' || currency === 'USDT_ERC20') return usd;
  if (usdPerToken.lte(0)) throw new RangeError('a token rate must be positive');
  return roundUp(usd.dividedBy(usdPerToken), TOKEN_QUOTE_DECIMALS);
}
