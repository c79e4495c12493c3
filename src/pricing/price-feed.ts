/**
 * Token rates (USD per token unit) for quotes. `static`: the rates operators set in the database.
 * `http`: a CoinGecko-style endpoint (./http-price-feed.ts), whose readings expire after
 * PRICE_FEED_MAX_AGE_SECONDS. A feed answers null when it has no usable rate: quotes then fail closed
 * with 503 price_unavailable (docs/decisions/0033-price-feed.md). `createPriceFeed` (./index.ts) picks one.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenRate } from '../db/entities/index.ts';
import type { Clock } from '../domain/clock.ts';
import { Dec, type TokenCurrency } from '../domain/money.ts';

export interface TokenRateReading {
  usd: Dec;
  asOf: Date;
}

export interface PriceFeed {
  /** The current rate, or null when the feed has none (the caller answers 503 price_unavailable). */
  rate(em: EntityManager, currency: TokenCurrency): Promise<TokenRateReading | null>;
}

export const staticPriceFeed: PriceFeed = {
  async rate(em, currency) {
    const row = await em.findOne(TokenRate, { currency });
    return row ? { usd: new Dec(row.usd), asOf: row.updatedAt } : null;
  },
};

/** A reading stamped this far in the future is a broken feed, not clock skew. */
const FUTURE_TOLERANCE_MS = 60_000;

/** Passes on only readings at most `maxAgeSeconds` old (by the reading's own time); older ones are no rate at all. */
export function withMaxAge(feed: PriceFeed, options: { maxAgeSeconds: number; clock: Clock }): PriceFeed {
  return {
    async rate(em, currency) {
      const reading = await feed.rate(em, currency);
      if (!reading) return null;
      const age = options.clock.now().getTime() - reading.asOf.getTime();
      if (age > options.maxAgeSeconds * 1000 || age < -FUTURE_TOLERANCE_MS) return null;
      return reading;
    },
  };
}
