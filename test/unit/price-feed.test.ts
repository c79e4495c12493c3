/**
 * The http price feed against a local stand-in of a CoinGecko-style endpoint: exact rates from the
 * number's text, the staleness limit, and "no rate" (never a guess) on every kind of failure.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig } from '../../src/config.ts';
import { Dec } from '../../src/domain/money.ts';
import { httpPriceFeed, readRate } from '../../src/pricing/http-price-feed.ts';
import { createPriceFeed, staticPriceFeed, withMaxAge, type PriceFeed } from '../../src/pricing/index.ts';
import { startPriceFeedStandIn, type PriceFeedStandIn } from '../helpers/price-feed-stand-in.ts';

const noDatabase = undefined as unknown as EntityManager;
let standIn: PriceFeedStandIn;

beforeAll(async () => {
  standIn = await startPriceFeedStandIn();
});
afterAll(async () => {
  await standIn.close();
});

const clockAt = (date: Date) => ({ now: () => date });

describe('the http price feed', () => {
  it('asks for ankr and tether in USD and reads the rate exactly, with its time', async () => {
    const feed = httpPriceFeed({ baseUrl: `${standIn.url}/` });
    standIn.answer({ status: 200, body: '{"ankr":{"usd":0.02345678912345678912345,"last_updated_at":1767225600},"tether":{"usd":1.0002,"last_updated_at":1767225660}}' });
    const ankr = await feed.rate(noDatabase, 'ANKR_ERC20');
    expect(ankr?.usd.toFixed()).toBe('0.02345678912345678912345');
    expect(ankr?.asOf.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect((await feed.rate(noDatabase, 'USDT_ERC20'))?.usd.toFixed()).toBe('1.0002');
    expect(standIn.requests.at(-1)).toBe('/api/v3/simple/price?ids=ankr,tether&vs_currencies=usd&include_last_updated_at=true');
  });

  it('accepts the exponent form such feeds use for small prices', () => {
    expect(readRate('{"ankr":{"usd":2.345e-5,"last_updated_at":1}}', 'ankr')?.usd.eq(new Dec('0.00002345'))).toBe(true);
  });

  it.each([
    ['an error status', { status: 500, body: '{"ankr":{"usd":0.02,"last_updated_at":1767225600}}' }],
    ['a body that is not JSON', { status: 200, body: '<html>rate limited</html>' }],
    ['a missing coin', { status: 200, body: '{"tether":{"usd":1,"last_updated_at":1767225600}}' }],
    ['a missing time', { status: 200, body: '{"ankr":{"usd":0.02}}' }],
    ['a zero rate', { status: 200, body: '{"ankr":{"usd":0,"last_updated_at":1767225600}}' }],
    ['a negative rate', { status: 200, body: '{"ankr":{"usd":-0.02,"last_updated_at":1767225600}}' }],
    ['a rate as a string', { status: 200, body: '{"ankr":{"usd":"0.02","last_updated_at":1767225600}}' }],
    ['an answer too slow', { status: 200, body: '{"ankr":{"usd":0.02,"last_updated_at":1767225600}}', delayMs: 500 }],
  ])('has no rate on %s', async (_what, answer) => {
    standIn.answer(answer);
    expect(await httpPriceFeed({ baseUrl: standIn.url, timeoutMs: 200 }).rate(noDatabase, 'ANKR_ERC20')).toBeNull();
  });

  it('has no rate when the feed cannot be reached', async () => {
    expect(await httpPriceFeed({ baseUrl: 'http://127.0.0.1:9/api', timeoutMs: 500 }).rate(noDatabase, 'ANKR_ERC20')).toBeNull();
  });
});

describe('the staleness limit', () => {
  const reading = { usd: new Dec('0.02'), asOf: new Date('2026-01-01T00:00:00Z') };
  const fixed: PriceFeed = { rate: async () => reading };

  it('passes a reading up to the limit and refuses an older one or one from the future', async () => {
    const at = (iso: string) => withMaxAge(fixed, { maxAgeSeconds: 300, clock: clockAt(new Date(iso)) }).rate(noDatabase, 'ANKR_ERC20');
    expect(await at('2026-01-01T00:05:00Z')).toBe(reading);
    expect(await at('2026-01-01T00:05:01Z')).toBeNull();
    expect(await at('2025-12-31T23:59:30Z')).toBe(reading);
    expect(await at('2025-12-31T23:58:59Z')).toBeNull();
  });

  it('applies to the http feed that PRICE_FEED=http builds, not to static rates', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1/x', PRICE_FEED: 'http', PRICE_FEED_URL: standIn.url, PRICE_FEED_MAX_AGE_SECONDS: '60' });
    const feed = createPriceFeed(config, { now: () => new Date() });
    standIn.quote({ ankr: '0.0271' }, 30);
    expect((await feed.rate(noDatabase, 'ANKR_ERC20'))?.usd.toFixed()).toBe('0.0271');
    standIn.quote({ ankr: '0.0271' }, 61);
    expect(await feed.rate(noDatabase, 'ANKR_ERC20')).toBeNull();
    expect(createPriceFeed(loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1/x' }), { now: () => new Date() })).toBe(staticPriceFeed);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1/x', PRICE_FEED: 'http' })).toThrow(/PRICE_FEED_URL is required when PRICE_FEED=http/);
  });
});
