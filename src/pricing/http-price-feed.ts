/**
 * The `http` price feed: a CoinGecko-style simple-price endpoint,
 * `GET {base}/simple/price?ids=ankr,tether&vs_currencies=usd&include_last_updated_at=true`, answering
 * `{"ankr": {"usd": 0.0234, "last_updated_at": 1700000000}, …}`. The rate is read from the number's
 * source text, never through a float. Any failure (network, status, shape) is "no rate": quotes fail
 * closed rather than price with a guess.
 */
import { Dec, type TokenCurrency } from '../domain/money.ts';
import type { PriceFeed } from './price-feed.ts';

/** The feed's coin ids. */
export const FEED_COIN_IDS: Record<TokenCurrency, string> = { ANKR_ERC20: 'ankr', USDT_ERC20: 'tether' };

const RATE_TEXT = /^(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d{1,3})?$/;

export interface HttpPriceFeedOptions {
  baseUrl: string;
  timeoutMs?: number;
}

export function httpPriceFeed(options: HttpPriceFeedOptions): PriceFeed {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/simple/price?ids=${Object.values(FEED_COIN_IDS).join(',')}&vs_currencies=usd&include_last_updated_at=true`;
  return {
    async rate(_em, currency) {
      let text: string;
      try {
        const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
        if (!response.ok) return null;
        text = await response.text();
      } catch {
        return null;
      }
      return readRate(text, FEED_COIN_IDS[currency]);
    },
  };
}

/** The rate and its time from a simple-price answer, or null when the coin is missing or malformed. */
export function readRate(text: string, coinId: string): { usd: Dec; asOf: Date } | null {
  let body: unknown;
  try {
    body = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && context?.source !== undefined ? { numberText: context.source } : value,
    );
  } catch {
    return null;
  }
  const entry = (body as Record<string, unknown> | null)?.[coinId] as { usd?: { numberText?: string }; last_updated_at?: { numberText?: string } } | undefined;
  const usdText = entry?.usd?.numberText;
  const updatedText = entry?.last_updated_at?.numberText;
  if (!usdText || !RATE_TEXT.test(usdText) || !updatedText || !/^\d{1,12}$/.test(updatedText)) return null;
  const usd = new Dec(usdText);
  if (!usd.isFinite() || usd.lte(0)) return null;
  return { usd, asOf: new Date(Number(updatedText) * 1000) };
}
