/**
 * GetPreAmount (`POST /v2alpha/{type}/acquire_pre_amount`, seed 000) over HTTP: exact prices, stored
 * quotes, and every bad input refused with the DESIGN §8 error body and nothing stored.
 */
import { request } from 'node:http';
import { Dec } from '../../src/domain/money.ts';
import { client, expectError } from '../helpers/http.ts';
import { TOKENS_WITHOUT_RPC } from '../helpers/watcher.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { sqlOn } from '../helpers/db.ts';
import { createCluster } from '../helpers/catalog.ts';
import { createTenant } from '../helpers/tenants.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
let tenant: ReturnType<typeof client>;
let tenantId: string;
/** a cluster whose price book the worked examples below use */
let clusterId: string;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

beforeAll(async () => {
  stack = await startStack(TOKENS_WITHOUT_RPC);
  operator = client(stack.url, stack.operatorKey);
  const created = await createTenant(stack, 'quotes-tenant');
  tenantId = created.id;
  tenant = created.call;
  clusterId = await createCluster(stack, {
    cpu_core_month_usd: '13.37',
    memory_gib_month_usd: '4.99',
    storage_gib_month_usd: '0.123',
    chart_multipliers: { wordpress: '1.15' },
    period_discounts: { '3': '0.05', '6': '0.1', '12': '0.2' },
  });
});
afterAll(async () => {
  await stack.close();
});

async function setAnkrRate(usd: string): Promise<void> {
  const answer = await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd } });
  expect(answer.status).toBe(200);
}

const sql = sqlOn(() => stack.orm);

async function quoteCount(): Promise<number> {
  const [row] = await sql<{ count: string | number }>('select count(*) as count from quotes');
  return Number(row?.count);
}

/** The seed's example request on the test cluster: 250 millicores, 700 MiB, 7 GiB. */
function seedBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { cluster_id: clusterId, chart_name: 'wordpress', cpu_limit: 250, mem_limit: 700, storage_limit: 7, period: 7, ...overrides };
}

interface StoredQuote {
  tenant_id: string | null;
  currency: string;
  cluster_id: string;
  chart_name: string;
  cpu_limit: number;
  mem_limit: number;
  storage_limit: number;
  period: number;
  usd: string;
  amount: string;
  rate: string;
  ttl_seconds: number;
}

async function storedQuote(quoteId: string): Promise<StoredQuote | undefined> {
  const [row] = await sql<StoredQuote>(
    `select tenant_id, currency, cluster_id, chart_name, cpu_limit, mem_limit, storage_limit, period,
            usd::text as usd, amount::text as amount, rate::text as rate,
            extract(epoch from expires_at - created_at)::int as ttl_seconds
       from quotes where id = ?`,
    [quoteId],
  );
  return row;
}

describe('quoting in USD, USDT and ANKR', () => {
  it('answers a USD quote with canonical strings, a quote id and a 15-minute expiry, and stores it', async () => {
    const before = Date.now();
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: seedBody() });
    const after = Date.now();
    expect(answer.status).toBe(200);
    // (0.25 × 13.37 + 700/1024 × 4.99 + 7 × 0.123) × 1.15 × 7 × (1 − 0.1) = 55.1680147265625 → 55.17
    expect(answer.body).toEqual({
      amount: '55.17',
      usd: '55.17',
      quote_id: expect.stringMatching(UUID),
      currency: 'USD',
      rate: '1',
      expires_at: expect.stringMatching(TIMESTAMP),
    });
    expect(answer.text).toContain('"amount":"55.17","usd":"55.17"');
    const expiresAt = Date.parse(answer.body.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor((before + 900_000) / 1000) * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + 900_000);

    expect(await storedQuote(answer.body.quote_id)).toEqual({
      tenant_id: tenantId,
      currency: 'USD',
      cluster_id: clusterId,
      chart_name: 'wordpress',
      cpu_limit: 250,
      mem_limit: 700,
      storage_limit: 7,
      period: 7,
      usd: '55.17',
      amount: '55.170000000000000000',
      rate: '1.000000000000',
      ttl_seconds: 900,
    });
  });

  it('answers USDT with the amount equal to the USD total and rate 1', async () => {
    const answer = await tenant('POST', '/v2alpha/USDT_ERC20/acquire_pre_amount', { body: seedBody() });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      amount: '55.17',
      usd: '55.17',
      quote_id: expect.stringMatching(UUID),
      currency: 'USDT_ERC20',
      rate: '1',
      expires_at: expect.stringMatching(TIMESTAMP),
    });
    expect(await storedQuote(answer.body.quote_id)).toMatchObject({ currency: 'USDT_ERC20', usd: '55.17', amount: '55.170000000000000000', rate: '1.000000000000' });
  });

  it('answers ANKR as the USD total divided by the rate, rounded up to 2 decimals', async () => {
    await setAnkrRate('0.021234');
    const answer = await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: seedBody() });
    expect(answer.status).toBe(200);
    // 55.17 / 0.021234 = 2598.19157954… → 2598.20 → "2598.2"
    expect(answer.body).toEqual({
      amount: '2598.2',
      usd: '55.17',
      quote_id: expect.stringMatching(UUID),
      currency: 'ANKR_ERC20',
      rate: '0.021234',
      expires_at: expect.stringMatching(TIMESTAMP),
    });
    expect(await storedQuote(answer.body.quote_id)).toMatchObject({
      currency: 'ANKR_ERC20',
      usd: '55.17',
      amount: '2598.200000000000000000',
      rate: '0.021234000000',
      ttl_seconds: 900,
    });
  });

  it('rounds an ANKR amount up even when the excess is tiny, and keeps an exact one exact', async () => {
    await setAnkrRate('0.03');
    // period 1, no chart: 7.6146328125 → 7.61; 7.61 / 0.03 = 253.666… → 253.67
    const rounded = await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: seedBody({ chart_name: '', period: 1 }) });
    expect(rounded.status).toBe(200);
    expect(rounded.body).toMatchObject({ amount: '253.67', usd: '7.61', rate: '0.03' });

    await setAnkrRate('0.025');
    const flat = await createCluster(stack, { cpu_core_month_usd: '100', memory_gib_month_usd: '0', storage_gib_month_usd: '0' });
    // 1 core × 100 × 1 month = 100; 100 / 0.025 = 4000 exactly
    const exact = await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', {
      body: { cluster_id: flat, chart_name: '', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 },
    });
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ amount: '4000', usd: '100', rate: '0.025', currency: 'ANKR_ERC20' });
  });

  it('locks the rate in the quote: a later rate change does not alter a stored quote', async () => {
    await setAnkrRate('0.05');
    const first = await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: seedBody() });
    await setAnkrRate('0.5');
    const second = await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: seedBody() });
    expect(first.body).toMatchObject({ amount: '1103.4', rate: '0.05' }); // 55.17 / 0.05
    expect(second.body).toMatchObject({ amount: '110.34', rate: '0.5' });
    expect(await storedQuote(first.body.quote_id)).toMatchObject({ amount: '1103.400000000000000000', rate: '0.050000000000' });
  });

  it('stores no tenant for an operator quote', async () => {
    const answer = await operator('POST', '/v2alpha/USD/acquire_pre_amount', { body: seedBody() });
    expect(answer.status).toBe(200);
    expect(await storedQuote(answer.body.quote_id)).toMatchObject({ tenant_id: null, usd: '55.17' });
  });
});

describe('chart multiplier and period discount', () => {
  it.each([
    ['', 1, '7.61'],
    ['', 2, '15.23'],
    ['', 3, '21.7'], // 3-month tier: × 0.95
    ['', 6, '41.12'], // 6-month tier: × 0.9
    ['', 12, '73.1'], // 12-month tier: × 0.8
    ['wordpress', 1, '8.76'],
    ['wordpress', 3, '24.96'],
    ['wordpress', 12, '84.07'],
    ['mysql', 1, '7.61'], // not in the table: 1×
    ['WordPress', 1, '7.61'], // chart names are matched exactly
    ['constructor', 1, '7.61'], // not an inherited object key
    ['__proto__', 1, '7.61'],
  ])('chart %j for %i months costs %s', async (chart, period, usd) => {
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: seedBody({ chart_name: chart, period }) });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ amount: usd, usd });
    expect(await storedQuote(answer.body.quote_id)).toMatchObject({ chart_name: chart, period, usd: new Dec(usd).toFixed(2) });
  });

  it('prices the seed request on a flat price book', async () => {
    const flat = await createCluster(stack, { cpu_core_month_usd: '10', memory_gib_month_usd: '2', storage_gib_month_usd: '0.1' });
    // (0.1 × 10 + 100/1024 × 2 + 100 × 0.1) × 3 = 33.5859375 → 33.59
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', {
      body: { cluster_id: flat, chart_name: '', cpu_limit: 100, mem_limit: 100, storage_limit: 100, period: 3 },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ amount: '33.59', usd: '33.59' });
  });

  it('accepts the resource bounds themselves', async () => {
    // 1024 × 13.37 + 16384 × 4.99 + 1048576 × 0.123 = 224421.888 → 224421.89
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', {
      body: seedBody({ chart_name: '', cpu_limit: 1_024_000, mem_limit: 16_777_216, storage_limit: 1_048_576, period: 1 }),
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ usd: '224421.89', amount: '224421.89' });
  });
});

describe('bad input: 400 with the error body, and no quote stored', () => {
  it.each(['BTC', 'usd', 'USDT', 'ANKR', 'CREDIT_CARD', 'ankr_erc20'])('refuses the payment type %j in the path', async (type) => {
    const before = await quoteCount();
    expectError(await tenant('POST', `/v2alpha/${type}/acquire_pre_amount`, { body: seedBody() }), 400, 'invalid_request', 'type');
    expect(await quoteCount()).toBe(before);
  });

  const withoutField = (field: string) => Object.fromEntries(Object.entries(seedBody()).filter(([key]) => key !== field));
  const cases: Array<[string, () => string, string | undefined]> = [
    ['period 0', () => JSON.stringify(seedBody({ period: 0 })), 'period'],
    ['period 13', () => JSON.stringify(seedBody({ period: 13 })), 'period'],
    ['period 1.5', () => JSON.stringify(seedBody({ period: 1.5 })), 'period'],
    ['period 3.0', () => JSON.stringify(seedBody()).replace('"period":7', '"period":3.0'), 'period'],
    ['period "3"', () => JSON.stringify(seedBody({ period: '3' })), 'period'],
    ['period -1', () => JSON.stringify(seedBody({ period: -1 })), 'period'],
    ['period null', () => JSON.stringify(seedBody({ period: null })), 'period'],
    ['period true', () => JSON.stringify(seedBody({ period: true })), 'period'],
    ['negative cpu_limit', () => JSON.stringify(seedBody({ cpu_limit: -1 })), 'cpu_limit'],
    ['negative mem_limit', () => JSON.stringify(seedBody({ mem_limit: -100 })), 'mem_limit'],
    ['negative storage_limit', () => JSON.stringify(seedBody({ storage_limit: -5 })), 'storage_limit'],
    ['fractional cpu_limit', () => JSON.stringify(seedBody({ cpu_limit: 250.5 })), 'cpu_limit'],
    ['cpu_limit as a string', () => JSON.stringify(seedBody({ cpu_limit: '250' })), 'cpu_limit'],
    ['cpu_limit in exponent form', () => JSON.stringify(seedBody()).replace('"cpu_limit":250', '"cpu_limit":2.5e2'), 'cpu_limit'],
    ['cpu_limit above 1,024,000', () => JSON.stringify(seedBody({ cpu_limit: 1_024_001 })), 'cpu_limit'],
    ['mem_limit above 16,777,216', () => JSON.stringify(seedBody({ mem_limit: 16_777_217 })), 'mem_limit'],
    ['storage_limit above 1,048,576', () => JSON.stringify(seedBody({ storage_limit: 1_048_577 })), 'storage_limit'],
    ['an absurd cpu_limit', () => JSON.stringify(seedBody()).replace('"cpu_limit":250', '"cpu_limit":100000000000000000000000'), 'cpu_limit'],
    ['an absurd storage_limit', () => JSON.stringify(seedBody({ storage_limit: Number.MAX_SAFE_INTEGER })), 'storage_limit'],
    ['all limits zero', () => JSON.stringify(seedBody({ cpu_limit: 0, mem_limit: 0, storage_limit: 0 })), 'cpu_limit'],
    ['an empty cluster_id', () => JSON.stringify(seedBody({ cluster_id: '' })), 'cluster_id'],
    ['a cluster_id with spaces', () => JSON.stringify(seedBody({ cluster_id: 'a cluster' })), 'cluster_id'],
    ['a numeric cluster_id', () => JSON.stringify(seedBody({ cluster_id: 7 })), 'cluster_id'],
    ['a numeric chart_name', () => JSON.stringify(seedBody({ chart_name: 7 })), 'chart_name'],
    ['a null chart_name', () => JSON.stringify(seedBody({ chart_name: null })), 'chart_name'],
    ['a chart_name over 128 characters', () => JSON.stringify(seedBody({ chart_name: 'c'.repeat(129) })), 'chart_name'],
    ['no cluster_id', () => JSON.stringify(withoutField('cluster_id')), 'cluster_id'],
    ['no chart_name', () => JSON.stringify(withoutField('chart_name')), 'chart_name'],
    ['no cpu_limit', () => JSON.stringify(withoutField('cpu_limit')), 'cpu_limit'],
    ['no mem_limit', () => JSON.stringify(withoutField('mem_limit')), 'mem_limit'],
    ['no storage_limit', () => JSON.stringify(withoutField('storage_limit')), 'storage_limit'],
    ['no period', () => JSON.stringify(withoutField('period')), 'period'],
    ['an unknown extra field', () => JSON.stringify(seedBody({ discount_code: 'FREE' })), 'discount_code'],
    ['a misspelt field', () => JSON.stringify({ ...withoutField('period'), peroid: 3 }), 'period'],
    ['an empty object', () => '{}', 'cluster_id'],
    ['a JSON array', () => '[]', undefined],
    ['JSON null', () => 'null', undefined],
    ['a JSON string', () => '"hello"', undefined],
  ];

  it.each(cases)('refuses %s', async (_what, body, field) => {
    const before = await quoteCount();
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { rawBody: body() });
    expectError(answer, 400, 'invalid_request', field);
    if (field) expect(answer.body.message).toContain(field);
    expect(await quoteCount()).toBe(before);
  });

  it.each([
    ['truncated', '{"cluster_id":'],
    ['trailing comma', '{"period":3,}'],
    ['single quotes', "{'period':3}"],
    ['not JSON at all', 'cluster_id=abc&period=3'],
  ])('refuses broken JSON (%s) with 400 invalid_json', async (_what, rawBody) => {
    const before = await quoteCount();
    expectError(await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { rawBody }), 400, 'invalid_json');
    expect(await quoteCount()).toBe(before);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])('refuses the content type %s with 415', async (contentType) => {
    const before = await quoteCount();
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { rawBody: JSON.stringify(seedBody()), headers: { 'content-type': contentType } });
    expectError(answer, 415, 'unsupported_media_type');
    expect(await quoteCount()).toBe(before);
  });

  it('accepts application/json with a charset', async () => {
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { rawBody: JSON.stringify(seedBody()), headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(answer.status).toBe(200);
    expect(answer.body.usd).toBe('55.17');
  });

  it('refuses a body over the size limit with 413 (declared length)', async () => {
    const before = await quoteCount();
    const big = JSON.stringify(seedBody({ chart_name: 'x'.repeat(stack.config.BODY_LIMIT_BYTES) }));
    expect(Buffer.byteLength(big)).toBeGreaterThan(stack.config.BODY_LIMIT_BYTES);
    expectError(await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { rawBody: big }), 413, 'payload_too_large');
    expect(await quoteCount()).toBe(before);
  });

  it('refuses a body over the size limit with 413 (chunked, no declared length)', async () => {
    const before = await quoteCount();
    const answer = await postChunked('/v2alpha/USD/acquire_pre_amount', [JSON.stringify(seedBody()).slice(0, -1), `,"pad":"${'x'.repeat(stack.config.BODY_LIMIT_BYTES)}"}`]);
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({ code: 413, message: expect.stringMatching(/\S/), error: { type: 'payload_too_large' } });
    expect(await quoteCount()).toBe(before);
  });

  it('answers 405 for GET on the quote route', async () => {
    expectError(await tenant('GET', '/v2alpha/USD/acquire_pre_amount'), 405, 'method_not_allowed');
  });
});

describe('requests that are well formed but cannot be quoted', () => {
  it('answers 404 for an unknown cluster, naming cluster_id', async () => {
    const before = await quoteCount();
    expectError(await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: seedBody({ cluster_id: uniqueId('no-cluster') }) }), 404, 'not_found', 'cluster_id');
    expect(await quoteCount()).toBe(before);
  });

  it('answers 422 amount_too_small when the total rounds to $0.00', async () => {
    const cheap = await createCluster(stack, { cpu_core_month_usd: '1', memory_gib_month_usd: '0', storage_gib_month_usd: '0' });
    const before = await quoteCount();
    // 1 millicore × $1 per core-month = $0.001
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', {
      body: { cluster_id: cheap, chart_name: '', cpu_limit: 1, mem_limit: 0, storage_limit: 0, period: 1 },
    });
    expectError(answer, 422, 'amount_too_small', 'cpu_limit');
    expect(await quoteCount()).toBe(before);
    // 5 millicores: $0.005 rounds half-up to $0.01, which can be charged
    const smallest = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', {
      body: { cluster_id: cheap, chart_name: '', cpu_limit: 5, mem_limit: 0, storage_limit: 0, period: 1 },
    });
    expect(smallest.status).toBe(200);
    expect(smallest.body).toMatchObject({ usd: '0.01', amount: '0.01' });
  });

  it('answers 422 amount_too_large, not a 500, when in-bounds resources exceed what a quote can hold', async () => {
    const dear = await createCluster(stack, {
      cpu_core_month_usd: '999999999',
      memory_gib_month_usd: '999999999',
      storage_gib_month_usd: '999999999',
      chart_multipliers: { big: '999' },
    });
    const before = await quoteCount();
    const answer = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', {
      body: { cluster_id: dear, chart_name: 'big', cpu_limit: 1_024_000, mem_limit: 16_777_216, storage_limit: 1_048_576, period: 12 },
    });
    expectError(answer, 422, 'amount_too_large');
    expect(await quoteCount()).toBe(before);
  });

  it('answers 422 amount_too_large when a tiny token rate makes the token amount too large to hold', async () => {
    const cluster = await createCluster(stack, { cpu_core_month_usd: '999999999', memory_gib_month_usd: '0', storage_gib_month_usd: '0' });
    const body = { cluster_id: cluster, chart_name: '', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 };
    await setAnkrRate('0.000000000001');
    try {
      const before = await quoteCount();
      // $999,999,999 / $0.000000000001 = 999,999,999,000,000,000,000 tokens: more than numeric(38, 18) holds
      expectError(await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body }), 422, 'amount_too_large');
      expect(await quoteCount()).toBe(before);
      const usd = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body });
      expect(usd.status).toBe(200);
      expect(usd.body).toMatchObject({ usd: '999999999', amount: '999999999' });
    } finally {
      await setAnkrRate('0.03');
    }
  });
});

describe('a missing ANKR rate', () => {
  it('makes ANKR quotes fail with 503 price_unavailable while USD and USDT still work', async () => {
    await setAnkrRate('0.03');
    await sql("delete from token_rates where currency = 'ANKR_ERC20'");
    try {
      const before = await quoteCount();
      expectError(await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: seedBody() }), 503, 'price_unavailable');
      expect(await quoteCount()).toBe(before);

      const usd = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: seedBody() });
      expect(usd.status).toBe(200);
      expect(usd.body).toMatchObject({ amount: '55.17', usd: '55.17', currency: 'USD', rate: '1' });
      const usdt = await tenant('POST', '/v2alpha/USDT_ERC20/acquire_pre_amount', { body: seedBody() });
      expect(usdt.status).toBe(200);
      expect(usdt.body).toMatchObject({ amount: '55.17', usd: '55.17', currency: 'USDT_ERC20', rate: '1' });
      expect(await quoteCount()).toBe(before + 2);
    } finally {
      await setAnkrRate('0.03');
    }
    const restored = await tenant('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: seedBody() });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ amount: '1839', usd: '55.17', rate: '0.03' }); // 55.17 / 0.03 = 1839 exactly
  });
});

/** POSTs a body in several chunks without Content-Length (Transfer-Encoding: chunked). */
function postChunked(path: string, chunks: string[]): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, stack.url);
    const outgoing = request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.operatorKey}` } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) });
        } catch (error) {
          reject(error);
        }
      });
    });
    // The server may answer 413 and close before the last chunk is written.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    for (const chunk of chunks) outgoing.write(chunk);
    outgoing.end();
  });
}
