/**
 * The catalog over HTTP: operators manage regions, plans, cluster price books and token rates; tenants
 * read regions and the market in the shapes of seed 001 (prices as exact JSON numbers).
 */
import { client, expectError, type HttpAnswer } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { countRows, sqlOn } from '../helpers/db.ts';
import { createRegion } from '../helpers/catalog.ts';
import { createTenant } from '../helpers/tenants.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
let tenant: ReturnType<typeof client>;

beforeAll(async () => {
  stack = await startStack();
  operator = client(stack.url, stack.operatorKey);
  tenant = (await createTenant(stack, 'catalog-tenant')).call;
});
afterAll(async () => {
  await stack.close();
});

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const sql = sqlOn(() => stack.orm);

function expectRecent(timestamp: string): void {
  expect(timestamp).toMatch(TIMESTAMP);
  expect(Math.abs(Date.parse(timestamp) - Date.now())).toBeLessThan(60_000);
}

/** Posts a plan with the price written verbatim into the JSON text (an exact JSON number). */
async function postPlan(fields: Record<string, unknown>, price: string): Promise<HttpAnswer> {
  const json = JSON.stringify(fields);
  return operator('POST', '/operator/v1/plans', { rawBody: `${json.slice(0, -1)},"price":${price}}` });
}

describe('regions', () => {
  it('creates a region and lists it in the seed shape', async () => {
    const id = uniqueId('region');
    const created = await operator('PUT', `/operator/v1/regions/${id}`, { body: { region_describe: '铸造一区' } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ identification: id, region_describe: '铸造一区' });

    const list = await tenant('GET', '/payment/v1/regions');
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body)).toBe(true);
    expect(list.body.filter((region: { identification: string }) => region.identification === id)).toEqual([{ identification: id, region_describe: '铸造一区' }]);
    for (const region of list.body) expect(Object.keys(region).sort()).toEqual(['identification', 'region_describe']);
  });

  it('renames a region when it is put again, keeping one row', async () => {
    const id = await createRegion(stack, 'old name');
    const renamed = await operator('PUT', `/operator/v1/regions/${id}`, { body: { region_describe: '铸造二区' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ identification: id, region_describe: '铸造二区' });
    const list = await tenant('GET', '/payment/v1/regions');
    expect(list.body.filter((region: { identification: string }) => region.identification === id)).toEqual([{ identification: id, region_describe: '铸造二区' }]);
    expect(await countRows(stack.orm, 'regions', 'identification = ?', [id])).toBe(1);
  });

  it('rejects a bad identification or body and stores nothing', async () => {
    const before = await countRows(stack.orm, 'regions');
    expectError(await operator('PUT', '/operator/v1/regions/bad%20id', { body: { region_describe: 'x' } }), 400, 'invalid_request', 'identification');
    expectError(await operator('PUT', '/operator/v1/regions/-leading-dash', { body: { region_describe: 'x' } }), 400, 'invalid_request', 'identification');
    expectError(await operator('PUT', `/operator/v1/regions/${'r'.repeat(65)}`, { body: { region_describe: 'x' } }), 400, 'invalid_request', 'identification');
    const id = uniqueId('region');
    expectError(await operator('PUT', `/operator/v1/regions/${id}`, { body: {} }), 400, 'invalid_request', 'region_describe');
    expectError(await operator('PUT', `/operator/v1/regions/${id}`, { body: { region_describe: '' } }), 400, 'invalid_request', 'region_describe');
    expectError(await operator('PUT', `/operator/v1/regions/${id}`, { body: { region_describe: 7 } }), 400, 'invalid_request', 'region_describe');
    expectError(await operator('PUT', `/operator/v1/regions/${id}`, { body: { region_describe: 'x'.repeat(257) } }), 400, 'invalid_request', 'region_describe');
    expectError(await operator('PUT', `/operator/v1/regions/${id}`, { body: { region_describe: 'x', colour: 'red' } }), 400, 'invalid_request', 'colour');
    expect(await countRows(stack.orm, 'regions')).toBe(before);
  });
});

describe('plans', () => {
  it('creates a plan with an exact price and answers it with plan_id and creation_time', async () => {
    const region = await createRegion(stack);
    const created = await postPlan(
      { region, type: 'C', level: 'S', name: 'asdwe', bill_period: 'M', description: '2 CPU Cores, 1G Memory', comment: 'taocan 1', status: 'available' },
      '40.88',
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      plan_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      region,
      type: 'C',
      level: 'S',
      name: 'asdwe',
      price: 40.88,
      bill_period: 'M',
      description: '2 CPU Cores, 1G Memory',
      comment: 'taocan 1',
      status: 'available',
      creation_time: expect.any(String),
    });
    expect(created.text).toContain('"price":40.88,');
    expectRecent(created.body.creation_time);

    const [row] = await sql<{ price: string; region: string }>('select price::text as price, region from plans where plan_id = ?', [created.body.plan_id]);
    expect(row).toEqual({ price: '40.88', region });

    const read = await operator('GET', `/operator/v1/plans/${created.body.plan_id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.text).toContain('"price":40.88,');
  });

  it('accepts an integer price and optional fields left out', async () => {
    const region = await createRegion(stack);
    const created = await operator('POST', '/operator/v1/plans', {
      body: { region, type: 'normal', name: 'basic', price: 20, bill_period: 'Y', description: '1 CPU Core, 512M Memory', status: 'unavailable' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ region, type: 'normal', level: null, name: 'basic', price: 20, bill_period: 'Y', comment: null, status: 'unavailable' });
    expect(created.text).toContain('"price":20,');
  });

  it('keeps prices exact that a float would not: 999999.99 and 0.1', async () => {
    const region = await createRegion(stack);
    const big = await postPlan({ region, type: 'C', name: 'big', bill_period: 'M', description: '', status: 'available' }, '999999.99');
    expect(big.status).toBe(201);
    expect(big.text).toContain('"price":999999.99,');
    const small = await postPlan({ region, type: 'C', name: 'small', bill_period: 'M', description: '', status: 'available' }, '0.10');
    expect(small.status).toBe(201);
    expect(small.text).toContain('"price":0.1,');
  });

  it.each([
    ['a string', '"40.88"'],
    ['an exponent', '4.088e1'],
    ['three decimals', '40.885'],
    ['zero', '0'],
    ['zero with decimals', '0.00'],
    ['negative', '-5'],
    ['negative with decimals', '-5.5'],
    ['above the maximum', '1000000.01'],
    ['null', 'null'],
    ['a huge integer', '123456789012345678901234567890'],
  ])('rejects a price that is %s with 400 and stores nothing', async (_what, price) => {
    const region = await createRegion(stack);
    const answer = await postPlan({ region, type: 'C', name: 'p', bill_period: 'M', description: 'd', status: 'available' }, price);
    expectError(answer, 400, 'invalid_request', 'price');
    expect(await countRows(stack.orm, 'plans', 'region = ?', [region])).toBe(0);
  });

  it('rejects other bad fields with 400 naming the field, and stores nothing', async () => {
    const region = await createRegion(stack);
    const good = { region, type: 'C', name: 'p', price: 10, bill_period: 'M', description: 'd', status: 'available' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, bill_period: 'monthly' }, 'bill_period'],
      [{ ...good, status: 'active' }, 'status'],
      [{ ...good, name: '' }, 'name'],
      [{ ...good, type: '' }, 'type'],
      [{ ...good, level: '' }, 'level'],
      [{ ...good, region: 'bad region' }, 'region'],
      [{ ...good, plan_id: 'mine' }, 'plan_id'],
      [Object.fromEntries(Object.entries(good).filter(([key]) => key !== 'description')), 'description'],
      [Object.fromEntries(Object.entries(good).filter(([key]) => key !== 'price')), 'price'],
    ];
    for (const [body, field] of cases) {
      expectError(await operator('POST', '/operator/v1/plans', { body }), 400, 'invalid_request', field);
    }
    expect(await countRows(stack.orm, 'plans', 'region = ?', [region])).toBe(0);
  });

  it('answers 404 for a plan in an unknown region, storing nothing', async () => {
    const region = uniqueId('no-such-region');
    const answer = await operator('POST', '/operator/v1/plans', { body: { region, type: 'C', name: 'p', price: 10, bill_period: 'M', description: 'd', status: 'available' } });
    expectError(answer, 404, 'not_found', 'region');
    expect(await countRows(stack.orm, 'plans', 'region = ?', [region])).toBe(0);
  });

  it('changes a plan with PATCH and answers the whole plan', async () => {
    const region = await createRegion(stack);
    const created = await postPlan({ region, type: 'C', level: 'S', name: 'before', bill_period: 'M', description: 'old', status: 'available' }, '20');
    const planId = created.body.plan_id;
    const patched = await operator('PATCH', `/operator/v1/plans/${planId}`, { rawBody: '{"price":41.5,"name":"after","comment":"new comment"}' });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created.body, price: 41.5, name: 'after', comment: 'new comment' });
    expect(patched.text).toContain('"price":41.5,');
    const read = await operator('GET', `/operator/v1/plans/${planId}`);
    expect(read.body).toEqual(patched.body);
    const [row] = await sql<{ price: string; name: string }>('select price::text as price, name from plans where plan_id = ?', [planId]);
    expect(row).toEqual({ price: '41.50', name: 'after' });
  });

  it('rejects a bad PATCH and leaves the plan unchanged', async () => {
    const region = await createRegion(stack);
    const created = await postPlan({ region, type: 'C', name: 'stable', bill_period: 'M', description: 'd', status: 'available' }, '12.34');
    const planId = created.body.plan_id;
    expectError(await operator('PATCH', `/operator/v1/plans/${planId}`, { body: {} }), 400, 'invalid_request');
    expectError(await operator('PATCH', `/operator/v1/plans/${planId}`, { body: { region: 'elsewhere' } }), 400, 'invalid_request', 'region');
    expectError(await operator('PATCH', `/operator/v1/plans/${planId}`, { rawBody: '{"price":12.345}' }), 400, 'invalid_request', 'price');
    expectError(await operator('PATCH', `/operator/v1/plans/${planId}`, { body: { status: 'gone' } }), 400, 'invalid_request', 'status');
    expectError(await operator('PATCH', `/operator/v1/plans/${planId}`, { rawBody: '{"name":' }), 400, 'invalid_json');
    const read = await operator('GET', `/operator/v1/plans/${planId}`);
    expect(read.body).toEqual(created.body);
  });

  it('answers 404 for an unknown plan id, and for one that is not a UUID', async () => {
    expectError(await operator('GET', '/operator/v1/plans/00000000-0000-4000-8000-000000000000'), 404, 'not_found', 'plan_id');
    expectError(await operator('GET', '/operator/v1/plans/not-a-uuid'), 404, 'not_found', 'plan_id');
    expectError(await operator('PATCH', '/operator/v1/plans/00000000-0000-4000-8000-000000000000', { body: { name: 'x' } }), 404, 'not_found', 'plan_id');
  });
});

describe('GET /payment/v1/market', () => {
  it('lists only the available plans of the region, cheapest first, in the seed shape', async () => {
    const region = await createRegion(stack);
    const other = await createRegion(stack);
    const base = { bill_period: 'M', status: 'available' };
    const p88 = await postPlan({ ...base, region, type: 'C', name: 'large', description: '4 CPU Cores, 2G Memory' }, '88.88');
    const p20 = await postPlan({ ...base, region, type: 'C', level: 'S', name: 'asdwe', description: '1 CPU Core, 512M Memory' }, '20');
    const p40 = await postPlan({ ...base, region, type: 'C', name: 'medium', description: '2 CPU Cores, 1G Memory' }, '40.88');
    const p100 = await postPlan({ ...base, region, type: 'c', name: 'lower-case type', description: 'x' }, '100');
    const d9 = await postPlan({ ...base, region, type: 'D', name: 'other type', description: 'y' }, '9.5');
    const retired = await postPlan({ ...base, region, type: 'C', name: 'retired', description: 'z', status: 'unavailable' }, '1');
    await postPlan({ ...base, region: other, type: 'C', name: 'other region', description: 'w' }, '5');
    for (const plan of [p88, p20, p40, p100, d9, retired]) expect(plan.status).toBe(201);

    const market = await tenant('GET', `/payment/v1/market?region=${region}&type=c`);
    expect(market.status).toBe(200);
    const seedShape = (plan: HttpAnswer, price: number) => ({
      plan_id: plan.body.plan_id,
      type: plan.body.type,
      price,
      ...(plan.body.level ? { level: plan.body.level } : {}),
      name: plan.body.name,
      bill_period: 'M',
      description: plan.body.description,
      creation_time: plan.body.creation_time,
    });
    expect(market.body).toEqual({ plans: [seedShape(p20, 20), seedShape(p40, 40.88), seedShape(p88, 88.88), seedShape(p100, 100)] });
    expect(market.text).toContain('"price":20,');
    expect(market.text).toContain('"price":40.88,');
    expect(market.text).toContain('"price":88.88,');
    expect(market.text).toContain('"price":100,');

    const upper = await tenant('GET', `/payment/v1/market?region=${region}&type=C`);
    expect(upper.body).toEqual(market.body);

    const all = await tenant('GET', `/payment/v1/market?region=${region}`);
    expect(all.status).toBe(200);
    expect(all.body.plans.map((plan: { name: string }) => plan.name)).toEqual(['other type', 'asdwe', 'medium', 'large', 'lower-case type']);
    expect(all.text).toContain('"price":9.5,');

    const none = await tenant('GET', `/payment/v1/market?region=${region}&type=Z`);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ plans: [] });
  });

  it('drops a plan made unavailable and shows it again when made available', async () => {
    const region = await createRegion(stack);
    const plan = await postPlan({ region, type: 'C', name: 'toggle', bill_period: 'M', description: 'd', status: 'available' }, '15.5');
    const ids = async () => (await tenant('GET', `/payment/v1/market?region=${region}`)).body.plans.map((entry: { plan_id: string }) => entry.plan_id);
    expect(await ids()).toEqual([plan.body.plan_id]);
    expect((await operator('PATCH', `/operator/v1/plans/${plan.body.plan_id}`, { body: { status: 'unavailable' } })).status).toBe(200);
    expect(await ids()).toEqual([]);
    expect((await operator('PATCH', `/operator/v1/plans/${plan.body.plan_id}`, { body: { status: 'available' } })).status).toBe(200);
    expect(await ids()).toEqual([plan.body.plan_id]);
  });

  it('answers an empty list for a region without plans', async () => {
    const region = await createRegion(stack);
    const market = await tenant('GET', `/payment/v1/market?region=${region}`);
    expect(market.status).toBe(200);
    expect(market.body).toEqual({ plans: [] });
  });

  it('answers 404 for an unknown region and 400 for a missing or empty one', async () => {
    expectError(await tenant('GET', `/payment/v1/market?region=${uniqueId('nowhere')}&type=c`), 404, 'not_found', 'region');
    expectError(await tenant('GET', '/payment/v1/market?type=c'), 400, 'invalid_request', 'region');
    expectError(await tenant('GET', '/payment/v1/market'), 400, 'invalid_request', 'region');
    expectError(await tenant('GET', '/payment/v1/market?region='), 400, 'invalid_request', 'region');
    expectError(await tenant('GET', '/payment/v1/market?region=a&region=b'), 400, 'invalid_request', 'region');
  });
});

describe('cluster price books', () => {
  it('stores a price book and answers it with canonical decimal strings', async () => {
    const clusterId = uniqueId('cluster');
    const put = await operator('PUT', `/operator/v1/clusters/${clusterId}`, {
      body: {
        cpu_core_month_usd: '20.000',
        memory_gib_month_usd: '2.5',
        storage_gib_month_usd: '0.100000000001',
        chart_multipliers: { wordpress: '1.20', ghost: '0.5' },
        period_discounts: { '6': '0.05', '12': '0.10' },
      },
    });
    expect(put.status).toBe(200);
    const expected = {
      cluster_id: clusterId,
      cpu_core_month_usd: '20',
      memory_gib_month_usd: '2.5',
      storage_gib_month_usd: '0.100000000001',
      chart_multipliers: { wordpress: '1.2', ghost: '0.5' },
      period_discounts: { '6': '0.05', '12': '0.1' },
      updated_at: expect.any(String),
    };
    expect(put.body).toEqual(expected);
    expectRecent(put.body.updated_at);

    const get = await operator('GET', `/operator/v1/clusters/${clusterId}`);
    expect(get.status).toBe(200);
    expect(get.body).toEqual(expected);

    const [row] = await sql<{ cpu: string; storage: string }>('select cpu_core_month_usd::text as cpu, storage_gib_month_usd::text as storage from clusters where cluster_id = ?', [
      clusterId,
    ]);
    expect(row).toEqual({ cpu: '20.000000000000', storage: '0.100000000001' });
  });

  it('replaces the whole price book on a second PUT', async () => {
    const clusterId = uniqueId('cluster');
    await operator('PUT', `/operator/v1/clusters/${clusterId}`, {
      body: { cpu_core_month_usd: '1', memory_gib_month_usd: '1', storage_gib_month_usd: '1', chart_multipliers: { a: '2' }, period_discounts: { '3': '0.1' } },
    });
    const second = await operator('PUT', `/operator/v1/clusters/${clusterId}`, {
      body: { cpu_core_month_usd: '3', memory_gib_month_usd: '0', storage_gib_month_usd: '0.25' },
    });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({
      cluster_id: clusterId,
      cpu_core_month_usd: '3',
      memory_gib_month_usd: '0',
      storage_gib_month_usd: '0.25',
      chart_multipliers: {},
      period_discounts: {},
      updated_at: expect.stringMatching(TIMESTAMP),
    });
    expect((await operator('GET', `/operator/v1/clusters/${clusterId}`)).body).toEqual(second.body);
    expect(await countRows(stack.orm, 'clusters', 'cluster_id = ?', [clusterId])).toBe(1);
  });

  it('answers 404 for an unknown cluster', async () => {
    expectError(await operator('GET', `/operator/v1/clusters/${uniqueId('cluster')}`), 404, 'not_found', 'cluster_id');
  });

  it('rejects a bad price book with 400 naming the field and keeps the stored one', async () => {
    const clusterId = uniqueId('cluster');
    const good = { cpu_core_month_usd: '10', memory_gib_month_usd: '2', storage_gib_month_usd: '0.1' };
    const stored = await operator('PUT', `/operator/v1/clusters/${clusterId}`, { body: good });
    expect(stored.status).toBe(200);
    const cases: Array<[string, string]> = [
      [JSON.stringify({ ...good, cpu_core_month_usd: 10 }), 'cpu_core_month_usd'],
      [JSON.stringify({ ...good, cpu_core_month_usd: '-1' }), 'cpu_core_month_usd'],
      [JSON.stringify({ ...good, cpu_core_month_usd: '1e3' }), 'cpu_core_month_usd'],
      [JSON.stringify({ ...good, cpu_core_month_usd: '0.0000000000001' }), 'cpu_core_month_usd'],
      [JSON.stringify({ ...good, cpu_core_month_usd: '1000000000' }), 'cpu_core_month_usd'],
      [JSON.stringify({ ...good, memory_gib_month_usd: ' 2' }), 'memory_gib_month_usd'],
      [JSON.stringify({ cpu_core_month_usd: '10', memory_gib_month_usd: '2' }), 'storage_gib_month_usd'],
      [JSON.stringify({ ...good, chart_multipliers: { wordpress: '0' } }), 'chart_multipliers.wordpress'],
      [JSON.stringify({ ...good, chart_multipliers: { wordpress: 1.2 } }), 'chart_multipliers.wordpress'],
      [JSON.stringify({ ...good, period_discounts: { '12': '1' } }), 'period_discounts.12'],
      [JSON.stringify({ ...good, period_discounts: { '12': '0.995' } }), 'period_discounts.12'],
      [JSON.stringify({ ...good, period_discounts: { '12': '-0.1' } }), 'period_discounts.12'],
      [JSON.stringify({ ...good, surcharge: '1' }), 'surcharge'],
    ];
    for (const [rawBody, field] of cases) {
      const answer = await operator('PUT', `/operator/v1/clusters/${clusterId}`, { rawBody });
      expectError(answer, 400, 'invalid_request', field);
    }
    for (const key of ['0', '13', '1.5', 'twelve']) {
      const answer = await operator('PUT', `/operator/v1/clusters/${clusterId}`, { body: { ...good, period_discounts: { [key]: '0.1' } } });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 400, error: { type: 'invalid_request', field: expect.stringMatching(/^period_discounts/) } });
    }
    expectError(await operator('PUT', '/operator/v1/clusters/bad%20cluster', { body: good }), 400, 'invalid_request', 'cluster_id');
    expect((await operator('GET', `/operator/v1/clusters/${clusterId}`)).body).toEqual(stored.body);
  });
});

describe('token rates', () => {
  it('sets the ANKR rate and answers it canonically', async () => {
    const answer = await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd: '0.0250' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ type: 'ANKR_ERC20', usd: '0.025', updated_at: expect.stringMatching(TIMESTAMP) });
    expectRecent(answer.body.updated_at);
    const [row] = await sql<{ usd: string }>("select usd::text as usd from token_rates where currency = 'ANKR_ERC20'");
    expect(row).toEqual({ usd: '0.025000000000' });
  });

  it('rejects a rate for a currency that has none, or a bad rate, and keeps the stored one', async () => {
    expect((await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd: '0.031' } })).status).toBe(200);
    const otherRates = await countRows(stack.orm, 'token_rates', "currency <> 'ANKR_ERC20'");
    expectError(await operator('PUT', '/operator/v1/rates/USD', { body: { usd: '1' } }), 400, 'invalid_request', 'type');
    expectError(await operator('PUT', '/operator/v1/rates/USDT_ERC20', { body: { usd: '1' } }), 400, 'invalid_request', 'type');
    expectError(await operator('PUT', '/operator/v1/rates/ankr_erc20', { body: { usd: '1' } }), 400, 'invalid_request', 'type');
    for (const usd of ['0', '-0.03', '1e-2', '0.0000000000001', '1000000000']) {
      expectError(await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd } }), 400, 'invalid_request', 'usd');
    }
    expectError(await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { rawBody: '{"usd":0.03}' }), 400, 'invalid_request', 'usd');
    expectError(await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: {} }), 400, 'invalid_request', 'usd');
    const rows = await sql<{ usd: string }>("select usd::text as usd from token_rates where currency = 'ANKR_ERC20'");
    expect(rows).toEqual([{ usd: '0.031000000000' }]);
    expect(await countRows(stack.orm, 'token_rates', "currency <> 'ANKR_ERC20'")).toBe(otherRates);
  });
});

describe('who may use the catalog routes', () => {
  it('lets a tenant read the market but not change the catalog', async () => {
    const region = await createRegion(stack);
    expectError(await tenant('PUT', `/operator/v1/regions/${region}`, { body: { region_describe: 'taken over' } }), 403, 'forbidden');
    expectError(
      await tenant('POST', '/operator/v1/plans', { body: { region, type: 'C', name: 'p', price: 1, bill_period: 'M', description: '', status: 'available' } }),
      403,
      'forbidden',
    );
    expectError(await tenant('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd: '100' } }), 403, 'forbidden');
    expectError(
      await tenant('PUT', `/operator/v1/clusters/${uniqueId('cluster')}`, { body: { cpu_core_month_usd: '0', memory_gib_month_usd: '0', storage_gib_month_usd: '0' } }),
      403,
      'forbidden',
    );
    const list = await tenant('GET', '/payment/v1/regions');
    expect(list.body.filter((entry: { identification: string }) => entry.identification === region)).toEqual([{ identification: region, region_describe: '铸造一区' }]);
    expect(await countRows(stack.orm, 'plans', 'region = ?', [region])).toBe(0);
  });
});
