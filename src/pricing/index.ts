/** The price feeds, and `createPriceFeed`, which picks the one the configuration names (as gateway/index.ts picks a card gateway). */
import type { Config } from '../config.ts';
import type { Clock } from '../domain/clock.ts';
import { httpPriceFeed } from './http-price-feed.ts';
import { staticPriceFeed, withMaxAge, type PriceFeed } from './price-feed.ts';

export { staticPriceFeed, withMaxAge, type PriceFeed, type TokenRateReading } from './price-feed.ts';

/** The feed PRICE_FEED names. Static rates are operators' decisions and do not expire; http readings do. */
export function createPriceFeed(config: Pick<Config, 'PRICE_FEED' | 'PRICE_FEED_URL' | 'PRICE_FEED_MAX_AGE_SECONDS'>, clock: Clock): PriceFeed {
  if (config.PRICE_FEED === 'static') return staticPriceFeed;
  if (!config.PRICE_FEED_URL) throw new Error('PRICE_FEED_URL is required when PRICE_FEED=http');
  return withMaxAge(httpPriceFeed({ baseUrl: config.PRICE_FEED_URL }), { maxAgeSeconds: config.PRICE_FEED_MAX_AGE_SECONDS, clock });
}
