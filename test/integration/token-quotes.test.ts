/**
 * Token quotes with PRICE_FEED=http (a local stand-in of the feed): a fresh rate prices ANKR, a stale,
 * missing or failing one makes token quotes 503 price_unavailable, and USD and USDT quotes still work.
 */
import type { HttpAnswer } from '../helpers/http.ts';
import { startPriceFeedStandIn, type PriceFeedStandIn } from '../helpers/price-feed-stand-in.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { TOKENS_WITHOUT_RPC } from '../helpers/watcher.ts';
import { createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { createCluster } from '../helpers/catalog.ts';

let feed: PriceFeedStandIn;
let stack: TestStack;
let tenant: TestTenant;
let clusterId: string;

beforeAll(async () => {
  feed = await startPriceFeedStandIn();
  stack = await startStack({ PRICE_FEED: 'http', PRICE_FEED_URL: feed.url, PRICE_FEED_MAX_AGE_SECONDS: '300', ...TOKENS_WITHOUT_RPC });
  tenant = await createTenant(stack);
  // 1 core at $100 a month: 1000 millicores for one month cost exactly $100
  clusterId = await createCluster(stack, { cpu_core_month_usd: '100', memory_gib_month_usd: '1', storage_gib_month_usd: '1' });
});
afterAll(async () => {
  await stack?.close();
  await feed?.close();
});

const quote = (type: string): Promise<HttpAnswer> =>
  tenant.call('POST', `/v2alpha/${type}/acquire_pre_amount`, { body: { cluster_id: clusterId, chart_name: '', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 } });

function expectPriceUnavailable(answer: HttpAnswer): void {
  expect({ status: answer.status, body: answer.body }).toEqual({
    status: 503,
    body: { code: 503, message: expect.stringMatching(/ANKR_ERC20.*USD quotes still work/), error: { type: 'price_unavailable' } },
  });
}

describe('token quotes from the http price feed', () => {
  it('prices ANKR at the fresh rate, exactly', async () => {
    feed.quote({ ankr: '0.032', tether: '1.0001' }, 10);
    expect(expectStatus(await quote('ANKR_ERC20'), 200).body).toMatchObject({ amount: '3125', usd: '100', rate: '0.032', currency: 'ANKR_ERC20' });
  });

  it('answers 503 price_unavailable for a stale rate while USD and USDT quotes still work', async () => {
    feed.quote({ ankr: '0.032', tether: '1.0001' }, 301);
    expectPriceUnavailable(await quote('ANKR_ERC20'));
    expect(expectStatus(await quote('USD'), 200).body).toMatchObject({ amount: '100', usd: '100', rate: '1' });
    expect(expectStatus(await quote('USDT_ERC20'), 200).body).toMatchObject({ amount: '100', usd: '100', rate: '1' });
  });

  it('answers 503 when the feed lacks the coin or fails, and prices again once it recovers', async () => {
    feed.quote({ tether: '1' }, 0);
    expectPriceUnavailable(await quote('ANKR_ERC20'));
    feed.answer({ status: 502, body: 'bad gateway' });
    expectPriceUnavailable(await quote('ANKR_ERC20'));
    feed.quote({ ankr: '0.04' }, 0);
    expect(expectStatus(await quote('ANKR_ERC20'), 200).body).toMatchObject({ amount: '2500', rate: '0.04' });
  });
});
