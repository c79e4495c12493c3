/** Token rates (USD per token unit) for quotes. `static`: the rates operators set in the database. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenRate } from '../db/entities/index.ts';
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
