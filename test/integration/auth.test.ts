/**
 * Who may call what (DESIGN §8): bearer keys with tenant, operator and watcher scopes, stored hashed,
 * revoked at once; missing or bad keys are 401, keys outside their scope 403.
 */
import { createHash } from 'node:crypto';
import { client, expectError, type HttpAnswer } from '../helpers/http.ts';
import { until } from '../helpers/wait.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { countRows, sqlOn } from '../helpers/db.ts';
import { createCluster, createRegion, TEN_USD_A_CORE } from '../helpers/catalog.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
let anonymous: ReturnType<typeof client>;
/** a region and a cluster the tenant tests quote and browse against */
let region: string;
let clusterId: string;

beforeAll(async () => {
  stack = await startStack();
  operator = client(stack.url, stack.operatorKey);
  anonymous = client(stack.url);
  region = await createRegion(stack, 'auth tests', 'auth-region');
  expect(
    (await operator('POST', '/operator/v1/plans', { body: { region, type: 'C', name: 'only', price: 10, bill_period: 'M', description: 'd', status: 'available' } })).status,
  ).toBe(201);
  clusterId = await createCluster(stack, TEN_USD_A_CORE, 'auth-cluster');
});
afterAll(async () => {
  await stack.close();
});

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const sql = sqlOn(() => stack.orm);

function expectUnauthorized(answer: HttpAnswer): void {
  expectError(answer, 401, 'unauthorized');
  expect(answer.headers.get('www-authenticate')).toBe('Bearer');
}

async function createTenant(): Promise<string> {
  const tenantId = uniqueId('auth-tenant');
  const answer = await operator('POST', '/operator/v1/tenants', { body: { tenant_id: tenantId } });
  expect(answer.status).toBe(201);
  return tenantId;
}

async function issueTenantKey(tenantId: string): Promise<{ api_key: string; key_id: string }> {
  const answer = await operator('POST', `/operator/v1/tenants/${tenantId}/api_keys`, { body: {} });
  expect(answer.status).toBe(201);
  return answer.body;
}

const quoteBody = () => ({ cluster_id: clusterId, chart_name: '', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 });

describe('missing and unknown keys', () => {
  it.each([
    ['POST', '/v2alpha/USD/acquire_pre_amount'],
    ['GET', '/payment/v1/regions'],
    ['GET', '/payment/v1/market?region=x'],
    ['POST', '/operator/v1/tenants'],
    ['GET', '/operator/v1/diagnostics/worker'],
  ])('answers 401 with WWW-Authenticate: Bearer for %s %s without a key', async (method, path) => {
    expectUnauthorized(await anonymous(method, path, method === 'POST' ? { body: {} } : {}));
  });

  it('answers 401 for a garbage, malformed or look-alike key, and creates nothing', async () => {
    const before = await countRows(stack.orm, 'quotes');
    const attempts: Array<Record<string, string>> = [
      { authorization: 'Bearer garbage' },
      { authorization: 'Bearer pk_tenant_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { authorization: `Bearer ${stack.operatorKey}x` },
      { authorization: `Bearer ${stack.operatorKey.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`user:${stack.operatorKey}`).toString('base64')}` },
      { authorization: stack.operatorKey },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${stack.operatorKey} extra` },
      { 'x-api-key': stack.operatorKey },
    ];
    for (const headers of attempts) {
      expectUnauthorized(await anonymous('POST', '/v2alpha/USD/acquire_pre_amount', { body: quoteBody(), headers }));
    }
    expect(await countRows(stack.orm, 'quotes')).toBe(before);
  });

  it('accepts the Bearer scheme in any letter case', async () => {
    const answer = await anonymous('GET', '/payment/v1/regions', { headers: { authorization: `bearer ${stack.operatorKey}` } });
    expect(answer.status).toBe(200);
  });

  it('needs no key for /healthz and /readyz, and ignores a bad one there', async () => {
    const health = await anonymous('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await anonymous('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: true, temporal: true } });
    const withBadKey = await client(stack.url, 'garbage')('GET', '/healthz');
    expect(withBadKey.status).toBe(200);
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/v2alpha/USD/nope'],
    ['POST', '/payment/v1/nope'],
    ['GET', '/operator/v1/nope'],
    ['DELETE', '/payment/v1/regions/extra'],
  ])('answers %s %s with 404 in the error shape', async (method, path) => {
    expectError(await operator(method, path), 404, 'not_found');
  });
});

describe('tenant keys', () => {
  it('creates a tenant and a tenant key shown once, in the DESIGN §11 shapes', async () => {
    const tenantId = uniqueId('auth-tenant');
    const created = await operator('POST', '/operator/v1/tenants', { body: { tenant_id: tenantId } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ tenant_id: tenantId, created_at: expect.stringMatching(TIMESTAMP) });
    expect(Math.abs(Date.parse(created.body.created_at) - Date.now())).toBeLessThan(60_000);
    expect((await operator('GET', `/operator/v1/tenants/${tenantId}`)).body).toEqual(created.body);

    const key = await operator('POST', `/operator/v1/tenants/${tenantId}/api_keys`, { body: {} });
    expect(key.status).toBe(201);
    expect(key.body).toEqual({ api_key: expect.stringMatching(/^pk_tenant_[A-Za-z0-9_-]{32}$/), key_id: expect.stringMatching(/^key_/), scope: 'tenant', tenant_id: tenantId });
    const second = await operator('POST', `/operator/v1/tenants/${tenantId}/api_keys`, { body: {} });
    expect(second.body.api_key).not.toBe(key.body.api_key);
    expect(second.body.key_id).not.toBe(key.body.key_id);
  });

  it('lets a tenant key quote and read the market and regions', async () => {
    const tenantId = await createTenant();
    const tenant = client(stack.url, (await issueTenantKey(tenantId)).api_key);
    const quote = await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: quoteBody() });
    expect(quote.status).toBe(200);
    expect(quote.body).toMatchObject({ amount: '10', usd: '10', currency: 'USD' });
    const [row] = await sql<{ tenant_id: string }>('select tenant_id from quotes where id = ?', [quote.body.quote_id]);
    expect(row).toEqual({ tenant_id: tenantId });

    const market = await tenant('GET', `/payment/v1/market?region=${region}`);
    expect(market.status).toBe(200);
    expect(market.body.plans).toHaveLength(1);
    expect(market.text).toContain('"price":10,');
    const regions = await tenant('GET', '/payment/v1/regions');
    expect(regions.status).toBe(200);
    expect(regions.body).toContainEqual({ identification: region, region_describe: 'auth tests' });
  });

  it('gets 403 on every operator route, changing nothing', async () => {
    const tenantId = await createTenant();
    const { api_key: apiKey, key_id: keyId } = await issueTenantKey(tenantId);
    const tenant = client(stack.url, apiKey);
    const tenantsBefore = await countRows(stack.orm, 'tenants');
    const keysBefore = await countRows(stack.orm, 'api_keys');
    const otherTenant = uniqueId('auth-tenant');
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/operator/v1/tenants', { tenant_id: otherTenant }],
      ['GET', `/operator/v1/tenants/${tenantId}`, undefined],
      ['POST', `/operator/v1/tenants/${tenantId}/api_keys`, {}],
      ['POST', '/operator/v1/api_keys', { scope: 'operator' }],
      ['DELETE', `/operator/v1/api_keys/${keyId}`, undefined],
      ['PUT', `/operator/v1/regions/${region}`, { region_describe: 'hijacked' }],
      ['PUT', `/operator/v1/clusters/${clusterId}`, { cpu_core_month_usd: '0', memory_gib_month_usd: '0', storage_gib_month_usd: '0' }],
      ['PUT', '/operator/v1/rates/ANKR_ERC20', { usd: '1000' }],
      ['GET', '/operator/v1/diagnostics/worker', undefined],
    ];
    for (const [method, path, body] of attempts) {
      expectError(await tenant(method, path, body === undefined ? {} : { body }), 403, 'forbidden');
    }
    expect(await countRows(stack.orm, 'tenants')).toBe(tenantsBefore);
    expect(await countRows(stack.orm, 'api_keys')).toBe(keysBefore);
    expect(await countRows(stack.orm, 'api_keys', 'id = ? and revoked_at is null', [keyId])).toBe(1);
    expect((await operator('GET', `/operator/v1/clusters/${clusterId}`)).body.cpu_core_month_usd).toBe('10');
    expect((await tenant('GET', '/payment/v1/regions')).body).toContainEqual({ identification: region, region_describe: 'auth tests' });
  });

  it('answers 409 for a duplicate tenant and keeps one row', async () => {
    const tenantId = await createTenant();
    expectError(await operator('POST', '/operator/v1/tenants', { body: { tenant_id: tenantId } }), 409, 'conflict', 'tenant_id');
    expect(await countRows(stack.orm, 'tenants', 'id = ?', [tenantId])).toBe(1);
  });

  it('refuses a bad tenant id and a key for an unknown tenant', async () => {
    const before = await countRows(stack.orm, 'tenants');
    expectError(await operator('POST', '/operator/v1/tenants', { body: { tenant_id: 'has space' } }), 400, 'invalid_request', 'tenant_id');
    expectError(await operator('POST', '/operator/v1/tenants', { body: {} }), 400, 'invalid_request', 'tenant_id');
    expectError(await operator('POST', '/operator/v1/tenants', { body: { tenant_id: 'x'.repeat(65) } }), 400, 'invalid_request', 'tenant_id');
    expect(await countRows(stack.orm, 'tenants')).toBe(before);
    const keysBefore = await countRows(stack.orm, 'api_keys');
    expectError(await operator('POST', `/operator/v1/tenants/${uniqueId('ghost')}/api_keys`, { body: {} }), 404, 'not_found', 'tenant_id');
    expectError(await operator('GET', `/operator/v1/tenants/${uniqueId('ghost')}`), 404, 'not_found', 'tenant_id');
    expect(await countRows(stack.orm, 'api_keys')).toBe(keysBefore);
  });
});

describe('watcher and operator keys', () => {
  it('issues a watcher key that gets 403 on quotes, the market and operator routes', async () => {
    const issued = await operator('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } });
    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({ api_key: expect.stringMatching(/^pk_watcher_/), key_id: expect.stringMatching(/^key_/), scope: 'watcher' });
    const watcher = client(stack.url, issued.body.api_key);
    const quotesBefore = await countRows(stack.orm, 'quotes');
    expectError(await watcher('POST', '/v2alpha/USD/acquire_pre_amount', { body: quoteBody() }), 403, 'forbidden');
    expectError(await watcher('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: quoteBody() }), 403, 'forbidden');
    expectError(await watcher('GET', `/payment/v1/market?region=${region}`), 403, 'forbidden');
    expectError(await watcher('GET', '/payment/v1/regions'), 403, 'forbidden');
    expectError(await watcher('POST', '/operator/v1/tenants', { body: { tenant_id: uniqueId('w') } }), 403, 'forbidden');
    expectError(await watcher('POST', '/operator/v1/api_keys', { body: { scope: 'operator' } }), 403, 'forbidden');
    expect(await countRows(stack.orm, 'quotes')).toBe(quotesBefore);
  });

  it('issues an operator key that works on operator routes', async () => {
    const issued = await operator('POST', '/operator/v1/api_keys', { body: { scope: 'operator' } });
    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({ api_key: expect.stringMatching(/^pk_operator_/), key_id: expect.stringMatching(/^key_/), scope: 'operator' });
    const second = client(stack.url, issued.body.api_key);
    const tenantId = uniqueId('by-issued-operator');
    expect((await second('POST', '/operator/v1/tenants', { body: { tenant_id: tenantId } })).status).toBe(201);
  });

  it('refuses to issue a key of an unknown scope, or a tenant key without a tenant', async () => {
    const before = await countRows(stack.orm, 'api_keys');
    expectError(await operator('POST', '/operator/v1/api_keys', { body: { scope: 'tenant' } }), 400, 'invalid_request', 'scope');
    expectError(await operator('POST', '/operator/v1/api_keys', { body: { scope: 'root' } }), 400, 'invalid_request', 'scope');
    expectError(await operator('POST', '/operator/v1/api_keys', { body: {} }), 400, 'invalid_request', 'scope');
    expectError(await operator('POST', '/operator/v1/api_keys', { body: { scope: 'watcher', tenant_id: 'x' } }), 400, 'invalid_request', 'tenant_id');
    expect(await countRows(stack.orm, 'api_keys')).toBe(before);
  });
});

describe('revoking keys', () => {
  it('revokes a tenant key at once, leaving the tenant’s other keys working', async () => {
    const tenantId = await createTenant();
    const revoked = await issueTenantKey(tenantId);
    const kept = await issueTenantKey(tenantId);
    const tenant = client(stack.url, revoked.api_key);
    expect((await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: quoteBody() })).status).toBe(200);

    const answer = await operator('DELETE', `/operator/v1/api_keys/${revoked.key_id}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ key_id: revoked.key_id, scope: 'tenant', revoked_at: expect.stringMatching(TIMESTAMP) });

    expectUnauthorized(await tenant('POST', '/v2alpha/USD/acquire_pre_amount', { body: quoteBody() }));
    expectUnauthorized(await tenant('GET', `/payment/v1/market?region=${region}`));
    expect((await client(stack.url, kept.api_key)('GET', `/payment/v1/market?region=${region}`)).status).toBe(200);

    const [row] = await sql<{ revoked: boolean }>('select revoked_at is not null as revoked from api_keys where id = ?', [revoked.key_id]);
    expect(row).toEqual({ revoked: true });

    const again = await operator('DELETE', `/operator/v1/api_keys/${revoked.key_id}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(answer.body); // the first revocation time is kept
  });

  it('revokes watcher and operator keys too', async () => {
    const issued = await operator('POST', '/operator/v1/api_keys', { body: { scope: 'operator' } });
    const second = client(stack.url, issued.body.api_key);
    expect((await second('GET', '/payment/v1/regions')).status).toBe(200);
    expect((await operator('DELETE', `/operator/v1/api_keys/${issued.body.key_id}`)).body).toMatchObject({ key_id: issued.body.key_id, scope: 'operator' });
    expectUnauthorized(await second('GET', '/payment/v1/regions'));
    expectUnauthorized(await second('POST', '/operator/v1/tenants', { body: { tenant_id: uniqueId('x') } }));
  });

  it('stops a key revoked through another API replica there too, within its cache second', async () => {
    const replica = await startStack({ OPERATOR_API_KEY: stack.operatorKey });
    try {
      const tenantId = await createTenant();
      const key = await issueTenantKey(tenantId);
      const onReplica = client(replica.url, key.api_key);
      // used on both: each replica now holds it as valid
      expect((await onReplica('GET', '/payment/v1/regions')).status).toBe(200);
      expect((await client(stack.url, key.api_key)('GET', '/payment/v1/regions')).status).toBe(200);
      expect((await operator('DELETE', `/operator/v1/api_keys/${key.key_id}`)).status).toBe(200);
      expectUnauthorized(await client(stack.url, key.api_key)('GET', '/payment/v1/regions')); // the revoking replica: at once
      await until(async () => (await onReplica('GET', '/payment/v1/regions')).status === 401, { timeoutMs: 30_000, what: 'the other replica to refuse the revoked key' });
    } finally {
      await replica.close();
    }
  });

  it('answers 404 for an unknown key id', async () => {
    expectError(await operator('DELETE', '/operator/v1/api_keys/key_doesnotexist'), 404, 'not_found', 'key_id');
  });
});

describe('keys at rest', () => {
  it('stores only the SHA-256 of a key, never the key itself', async () => {
    const tenantId = await createTenant();
    const { api_key: apiKey, key_id: keyId } = await issueTenantKey(tenantId);
    const watcher = (await operator('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } })).body as { api_key: string; key_id: string };

    const [row] = await sql<{ key_hash: string; scope: string; tenant_id: string | null }>('select key_hash, scope, tenant_id from api_keys where id = ?', [keyId]);
    expect(row).toEqual({ key_hash: createHash('sha256').update(apiKey).digest('hex'), scope: 'tenant', tenant_id: tenantId });

    for (const clear of [apiKey, watcher.api_key, stack.operatorKey]) {
      const secret = clear.replace(/^pk_[a-z]+_/, '');
      expect(await countRows(stack.orm, 'api_keys', 'position(? in row_to_json(api_keys)::text) > 0', [secret])).toBe(0);
    }
    // the environment's operator key lives outside the database altogether
    expect(await countRows(stack.orm, 'api_keys', 'key_hash = ?', [createHash('sha256').update(stack.operatorKey).digest('hex')])).toBe(0);
  });
});
