/**
 * Bad input and unreachable dependencies never answer 500 (decision 0060): NUL and control characters in
 * path ids, query values and JSON strings are 400 naming the field before any SQL; methods no route serves
 * are 501 and methods a path does not serve are 405 with `Allow`; PostgreSQL or Temporal unreachable is
 * 503 `service_unavailable` with `Retry-After`, and changes nothing; a list's `starting_after` that names
 * no entry of the caller's own is 404 on every list.
 */
import { request as httpRequest } from 'node:http';
import { client, type HttpAnswer } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { addCard, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { testRun } from '../helpers/test-run.ts';
import { ServiceError } from '@temporalio/client';
import { ConnectionException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { isDependencyUnavailable } from '../../src/api/middleware/unavailable.ts';
import { createCluster } from '../helpers/catalog.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
let tenant: TestTenant;

beforeAll(async () => {
  stack = await startStack();
  operator = client(stack.url, stack.operatorKey);
  tenant = await createTenant(stack);
});
afterAll(async () => {
  await stack.close();
});

function expectError(answer: HttpAnswer, status: number, type: string, field?: string): void {
  if (answer.status !== status) throw new Error(`expected HTTP ${status}, got ${answer.status}: ${answer.text}`);
  expect(answer.body).toMatchObject({ code: status, message: expect.any(String), error: { type } });
  if (field !== undefined) expect(answer.body.error.field).toBe(field);
}

/** fetch() refuses TRACE and friends; node:http sends any method. */
function rawRequest(url: string, method: string, path: string, key?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url + path, { method, headers: key ? { authorization: `Bearer ${key}` } : {} }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

describe('NUL and control characters', () => {
  it('in a path id: 400 naming the parameter', async () => {
    expectError(await tenant.call('GET', `/payment/v1/amount/tr%00x?namespace=${tenant.id}`), 400, 'invalid_request', 'trans_id');
    expectError(await tenant.call('GET', `/payment/v1/amount/tr%07x?namespace=${tenant.id}`), 400, 'invalid_request', 'trans_id');
    expectError(await operator('POST', '/payment/v1/amount/tr%00x/refund', { body: { reason: 'test' } }), 400, 'invalid_request', 'trans_id');
    expectError(await tenant.call('GET', '/v2alpha/teams/a%00b/prepays'), 400, 'invalid_request', 'team_id');
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/1%00`), 400, 'invalid_request', 'pre_pay_id');
    expectError(await tenant.call('DELETE', `/v2alpha/teams/${tenant.id}/cards/card%00x`), 400, 'invalid_request', 'card_id');
    expectError(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/card%00x/default`), 400, 'invalid_request', 'card_id');
    expectError(await operator('DELETE', '/operator/v1/api_keys/key%00x'), 400, 'invalid_request', 'key_id');
    expectError(await operator('GET', '/operator/v1/plans/plan%00x'), 400, 'invalid_request', 'plan_id');
    expectError(await tenant.call('GET', `/payment/v1/subscriptions/plan%00x?namespace=${tenant.id}`), 400, 'invalid_request', 'plan_id');
    // an id that is not one (no NUL) is still simply not found
    expectError(await tenant.call('GET', `/payment/v1/amount/no-such-transaction?namespace=${tenant.id}`), 404, 'not_found', 'trans_id');
    // 36 characters of the uuid alphabet that are no uuid: PostgreSQL would refuse them, the engine says not found
    expectError(await operator('GET', `/operator/v1/plans/${'-'.repeat(36)}`), 404, 'not_found', 'plan_id');
    expectError(await tenant.call('GET', `/payment/v1/subscriptions/${'a'.repeat(36)}?namespace=${tenant.id}`), 404, 'not_found', 'plan_id');
  });

  it('in a query value or name: 400 naming the parameter', async () => {
    expectError(await tenant.call('GET', `/payment/v1/amounts?namespace=${tenant.id}&starting_after=a%00b`), 400, 'invalid_request', 'starting_after');
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?starting_after=evt%00`), 400, 'invalid_request', 'starting_after');
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?type=prepay.paid%00`), 400, 'invalid_request', 'type');
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays?starting_after=1%00`), 400, 'invalid_request', 'starting_after');
    expectError(await tenant.call('GET', '/payment/v1/market?region=cn%00north'), 400, 'invalid_request', 'region');
    expectError(await tenant.call('GET', `/payment/v1/market?region=x&type=a%00`), 400, 'invalid_request', 'type');
    expectError(await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}&namespace=a%00`), 400, 'invalid_request', 'namespace');
    const badName = await tenant.call('GET', `/payment/v1/balance?namespace=${tenant.id}&a%00b=1`);
    expectError(badName, 400, 'invalid_request');
  });

  it('in any JSON string: 400 naming the field', async () => {
    expectError(
      await tenant.call('POST', '/payment/v1/recharge', { body: { namespace: tenant.id, amount: 20, description: 'top\u0000up' } }),
      400,
      'invalid_request',
      'description',
    );
    expectError(await tenant.call('POST', '/payment/v1/recharge', { body: { namespace: tenant.id, amount: 20, card_id: 'card\u0000' } }), 400, 'invalid_request', 'card_id');
    expectError(await operator('POST', '/payment/v1/amount/tr-1/refund', { body: { reason: 'because\u0000' } }), 400, 'invalid_request', 'reason');
    expectError(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token: 'tok_\u0000visa' } }), 400, 'invalid_request', 'token');
    expectError(await operator('POST', '/operator/v1/tenants', { body: { tenant_id: 'team\u0000x' } }), 400, 'invalid_request', 'tenant_id');
    expectError(await operator('PUT', `/operator/v1/regions/${uniqueId('region')}`, { body: { region_describe: 'zone\u0000' } }), 400, 'invalid_request', 'region_describe');
    // nested values and object keys (a jsonb column refuses \u0000 anywhere)
    const clusterId = uniqueId('nul-cluster');
    const nestedKey = await operator('PUT', `/operator/v1/clusters/${clusterId}`, {
      body: { cpu_core_month_usd: '10', memory_gib_month_usd: '2', storage_gib_month_usd: '0.1', chart_multipliers: { 'chart\u0000': '1.5' } },
    });
    expectError(nestedKey, 400, 'invalid_request');
    expect(nestedKey.body.error.field).toMatch(/^chart_multipliers\./);
    expectError(await operator('GET', `/operator/v1/clusters/${clusterId}`), 404, 'not_found');
    // the raw escape, exactly as a client may send it
    const raw = await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"namespace":"${tenant.id}","amount":20,"description":"a\\u0000b"}` });
    expectError(raw, 400, 'invalid_request', 'description');
  });
});

describe('missing fields', () => {
  it('a field left out is "is required"; a field of the wrong type says what it must be', async () => {
    const quote = { cluster_id: 'c1', chart_name: '', cpu_limit: 100, mem_limit: 0, storage_limit: 0, period: 3 };
    const { cluster_id: _omitted, ...withoutCluster } = quote;
    const missing = await tenant.call('POST', '/v2alpha/USD/acquire_pre_amount', { body: withoutCluster });
    expectError(missing, 400, 'invalid_request', 'cluster_id');
    expect(missing.body.message).toBe('cluster_id: is required');
    const wrong = await tenant.call('POST', '/v2alpha/USD/acquire_pre_amount', { body: { ...quote, cluster_id: 5 } });
    expectError(wrong, 400, 'invalid_request', 'cluster_id');
    expect(wrong.body.message).toBe('cluster_id: must be a string');
    const nested = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: {} });
    expect(nested.body.message).toBe('token: is required');
  });
});

describe('months', () => {
  it('year 0 (no such year in PostgreSQL) is 400 naming the parameter; years 0001 to 9999 are months (found by npm run fuzz)', async () => {
    expectError(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list?to=0000-01`), 400, 'invalid_request', 'to');
    expectError(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list?from=0000-12`), 400, 'invalid_request', 'from');
    expect(expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list?from=0001-01&to=9999-12`), 200).body).toEqual({ invoice_list: [] });
  });
});

describe('methods', () => {
  it('a method no route serves is 501; a method the path does not serve is 405 with Allow', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'LOCK']) {
      const answer = await rawRequest(stack.url, method, `/payment/v1/balance?namespace=${tenant.id}`, tenant.key);
      expect({ method, status: answer.status, body: answer.body }).toMatchObject({ method, status: 501, body: { code: 501, error: { type: 'not_implemented' } } });
    }
    const unknownPath = await rawRequest(stack.url, 'PROPFIND', '/no/such/path', tenant.key);
    expect(unknownPath).toMatchObject({ status: 501, body: { code: 501, error: { type: 'not_implemented' } } });

    const notHere = await rawRequest(stack.url, 'DELETE', `/payment/v1/balance?namespace=${tenant.id}`, tenant.key);
    expect(notHere).toMatchObject({ status: 405, body: { code: 405, error: { type: 'method_not_allowed' } } });
    expect(String(notHere.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD']);
    const postOnList = await rawRequest(stack.url, 'PUT', `/v2alpha/teams/${tenant.id}/prepays`, tenant.key);
    expect(postOnList).toMatchObject({ status: 405, body: { code: 405, error: { type: 'method_not_allowed' } } });

    const options = await rawRequest(stack.url, 'OPTIONS', `/payment/v1/balance?namespace=${tenant.id}`, tenant.key);
    expect(options.status).toBe(200);
    expect(String(options.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD']);
    expect((await rawRequest(stack.url, 'GET', '/no/such/path', tenant.key)).body).toMatchObject({ code: 404, error: { type: 'not_found' } });
    expect((await rawRequest(stack.url, 'TRACE', '/payment/v1/balance')).status).toBe(401);
  });
});

describe('starting_after', () => {
  it("another tenant's prepay, or no prepay, is 404 naming starting_after, as on the other lists", async () => {
    const clusterId = await createCluster(stack, { cpu_core_month_usd: '10', memory_gib_month_usd: '2', storage_gib_month_usd: '0.1' }, 'cursor-cluster');
    const owner = await createTenant(stack);
    const cardId = await addCard(owner, 'tok_visa');
    const quote = expectStatus(
      await owner.call('POST', '/v2alpha/USD/acquire_pre_amount', { body: { cluster_id: clusterId, chart_name: '', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 } }),
      200,
    ).body;
    const prepay = expectStatus(
      await stack.withWorker(() =>
        owner.call('POST', `/v2alpha/teams/${owner.id}/cards/${cardId}`, {
          body: { team_id: owner.id, card_id: cardId, amount: quote.amount, period: 1, auto_renewal: 0, quote_id: quote.quote_id },
        }),
      ),
      200,
    ).body;
    const prePayId = prepay.pre_pay_id as number;

    expect(expectStatus(await owner.call('GET', `/v2alpha/teams/${owner.id}/prepays?starting_after=${prePayId}`), 200).body).toEqual({ prepays: [], has_more: false });
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays?starting_after=${prePayId}`), 404, 'not_found', 'starting_after');
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays?starting_after=999999999`), 404, 'not_found', 'starting_after');
    // the same rule on the other lists
    expectError(await tenant.call('GET', `/payment/v1/amounts?namespace=${tenant.id}&starting_after=tr-unknown`), 404, 'not_found', 'starting_after');
    expectError(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?starting_after=evt_unknown`), 404, 'not_found', 'starting_after');
  });
});

describe('unreachable dependencies', () => {
  const RETRY_AFTER = /^\d+$/;

  it('recognises the failures of an unreachable PostgreSQL or Temporal, and only those', () => {
    const withCode = (code: string | number, extra: Record<string, unknown> = {}) => Object.assign(new Error('failure'), { code, ...extra });
    for (const unreachable of [
      withCode('ECONNREFUSED'),
      withCode('ETIMEDOUT'),
      new AggregateError([withCode('ECONNREFUSED')], 'connect failed'),
      withCode('57P01'), // admin_shutdown
      withCode('53300'), // too_many_connections
      withCode('08006'), // connection_failure
      new Error('timeout exceeded when trying to connect'),
      new Error('Knex: Timeout acquiring a connection. The pool is probably full.'),
      new Error('Connection terminated unexpectedly'),
      new ConnectionException(withCode('ECONNREFUSED')),
      new ServiceError('Failed to start Workflow', { cause: withCode(14, { details: 'No connection established' }) }),
      new ServiceError('Failed to query Workflow', { cause: withCode(4, { details: 'Deadline exceeded' }) }),
      Object.assign(new Error('Failed to connect'), { name: 'ConnectionError' }),
    ]) {
      expect({ error: String(unreachable), unavailable: isDependencyUnavailable(unreachable) }).toEqual({ error: String(unreachable), unavailable: true });
    }
    for (const other of [
      new Error('boom'),
      withCode('23505'),
      new UniqueConstraintViolationException(withCode('23505')),
      new ServiceError('Failed to start Workflow', { cause: withCode(3, { details: 'invalid argument' }) }),
      withCode(14), // a number without gRPC's details is not a gRPC status
      'ECONNREFUSED',
      undefined,
    ]) {
      expect({ error: String(other), unavailable: isDependencyUnavailable(other) }).toEqual({ error: String(other), unavailable: false });
    }
  });

  it('PostgreSQL unreachable: 503 service_unavailable with Retry-After, nothing changed', async () => {
    const target = new URL(testRun().databaseUrl);
    const proxy: TcpProxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(target);
    url.host = proxy.address;
    const cut = await startStack({ DATABASE_URL: url.toString() });
    try {
      const cutOperator = client(cut.url, cut.operatorKey);
      const cutTenant = client(cut.url, tenant.key);
      expectStatus(await cutOperator('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200);
      await proxy.cut();

      const balance = await cutOperator('GET', `/payment/v1/balance?namespace=${tenant.id}`);
      expectError(balance, 503, 'service_unavailable');
      expect(balance.headers.get('retry-after')).toMatch(RETRY_AFTER);
      // a tenant key is looked up in PostgreSQL
      const byTenant = await cutTenant('GET', `/payment/v1/balance?namespace=${tenant.id}`);
      expectError(byTenant, 503, 'service_unavailable');
      expect(byTenant.headers.get('retry-after')).toMatch(RETRY_AFTER);
      const newTenant = uniqueId('never');
      const create = await cutOperator('POST', '/operator/v1/tenants', { body: { tenant_id: newTenant } });
      expectError(create, 503, 'service_unavailable');
      expect(create.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
      const ready = await cutOperator('GET', '/readyz');
      expectError(ready, 503, 'service_unavailable');

      // nothing was written
      expectError(await operator('GET', `/operator/v1/tenants/${newTenant}`), 404, 'not_found');
      await proxy.restore();
      expectStatus(await cutOperator('GET', `/payment/v1/balance?namespace=${tenant.id}`), 200);
    } finally {
      await proxy.restore();
      await cut.close();
      await proxy.close();
    }
  });

  it('Temporal unreachable: 503 service_unavailable with Retry-After, no money moved, the idempotency key free for the retry', async () => {
    const [host, port] = testRun().temporalAddress.split(':');
    const proxy = await startTcpProxy(host!, Number(port));
    const cut = await startStack({ TEMPORAL_ADDRESS: proxy.address });
    try {
      const payer = await createTenant(stack);
      await addCard(payer, 'tok_visa');
      const cutPayer = client(cut.url, payer.key);
      const cutOperator = client(cut.url, cut.operatorKey);
      const credit = expectStatus(await operator('POST', '/payment/v1/recharge', { body: { namespace: payer.id, amount: 30, payment_method: 'manual' } }), 200).body;
      await proxy.cut();

      const key = uniqueId('idem');
      const recharge = await cutPayer('POST', '/payment/v1/recharge', { body: { namespace: payer.id, amount: 20 }, headers: { 'Idempotency-Key': key } });
      expectError(recharge, 503, 'service_unavailable');
      expect(recharge.headers.get('retry-after')).toMatch(RETRY_AFTER);
      const refund = await cutOperator('POST', `/payment/v1/amount/${credit.trans_id}/refund`, { body: { reason: 'test' } });
      expectError(refund, 503, 'service_unavailable');
      expect(refund.headers.get('retry-after')).toMatch(RETRY_AFTER);

      // no money moved: the balance is the manual credit, the credit is not refunded
      expect(expectStatus(await payer.call('GET', `/payment/v1/balance?namespace=${payer.id}`), 200).body.balance).toBe(30);
      expect(expectStatus(await payer.call('GET', `/payment/v1/amount/${credit.trans_id}?namespace=${payer.id}`), 200).body.status).toBe('finish');

      // the 503 was not stored as the key's answer: once Temporal is back, the same request goes through
      await proxy.restore();
      const retried = await cut.withWorker(async () => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const answer = await cutPayer('POST', '/payment/v1/recharge', { body: { namespace: payer.id, amount: 20 }, headers: { 'Idempotency-Key': key } });
          if (answer.status !== 503 || Date.now() > deadline) return answer;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      });
      expectStatus(retried, 200);
      expect(retried.body.balance).toBe(50);
    } finally {
      await proxy.restore();
      await cut.close();
      await proxy.close();
    }
  });
});
