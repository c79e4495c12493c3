/**
 * Webhooks over HTTP with real receivers: endpoints registered by a tenant and by the operator, every
 * delivery verified with the Standard Webhooks specification's own `standardwebhooks` package, retries on
 * a short schedule (the default three-day schedule is the same code with longer waits), 410 and too long
 * failing disable an endpoint, a slow endpoint holds only itself, secrets rotate with an overlap, redirects
 * are not followed, private targets are refused without the flag, and one event or everything since a
 * time can be delivered again.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { startStack, workerProcessEnv, type TestStack } from '../helpers/stack.ts';
import { addCard, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { eventually, until } from '../helpers/wait.ts';
import { sqlOn } from '../helpers/db.ts';
import { insertEvent } from '../../src/db/repositories/events.ts';
import { client, expectError } from '../helpers/http.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

let stack: TestStack;
let stopWorker: () => Promise<void>;
const receivers: WebhookReceiver[] = [];
const sql = sqlOn(() => stack.orm);

beforeAll(async () => {
  // eight attempts a second apart: the schedule's shape without its hours
  stack = await startStack({ WEBHOOK_RETRY_SCHEDULE_SECONDS: '0,1,1,1,1,1,1,1' });
  stopWorker = await stack.startWorker();
});
afterAll(async () => {
  await stopWorker();
  await stack.close();
  for (const receiver of receivers) await receiver.close();
});

async function receiver(): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver();
  receivers.push(started);
  return started;
}

const operator = (method: string, path: string, options: { body?: unknown } = {}) => client(stack.url, stack.operatorKey)(method, path, options);

async function register(tenant: TestTenant, url: string, eventTypes: string[] | null = ['prepay.paid']) {
  const created = expectStatus(
    await tenant.call('POST', `/v2alpha/teams/${tenant.id}/webhook_endpoints`, { body: { url, event_types: eventTypes, description: 'test' } }),
    201,
  ).body;
  return created as { id: string; secret: string; status: string };
}

/** A card prepay paid at once: its `prepay.paid` event is what the endpoints get. */
async function payPrepay(tenant: TestTenant): Promise<number> {
  const cardId = await addCard(tenant, 'tok_visa');
  const created = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, {
    body: { team_id: tenant.id, card_id: cardId, amount: '30', period: 3, auto_renewal: 0 },
  });
  return expectStatus(created, 200).body.pre_pay_id as number;
}

const verify = (secret: string, delivery: { body: string; headers: Record<string, string> }) => new Webhook(secret).verify(delivery.body, delivery.headers);
const deliveries = async (tenant: TestTenant, endpointId: string) =>
  expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpointId}/deliveries`), 200).body.deliveries as {
    event_id: string;
    attempt: number;
    generation: number;
    status_code: number | null;
    error: string | null;
  }[];

describe('webhook delivery', () => {
  it('delivers the event signed as Standard Webhooks says, once, and lists the attempt', async () => {
    const tenant = await createTenant(stack);
    const hooks = await receiver();
    const endpoint = await register(tenant, hooks.url);
    expect(endpoint).toMatchObject({ id: expect.stringMatching(/^we_/), secret: expect.stringMatching(/^whsec_/), status: 'enabled' });
    // the secret is answered once: reads never show it
    const read = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}`), 200).body;
    expect(read).toEqual({
      id: endpoint.id,
      url: hooks.url,
      description: 'test',
      event_types: ['prepay.paid'],
      status: 'enabled',
      disabled_reason: null,
      created_at: expect.any(String),
    });

    const prePayId = await payPrepay(tenant);
    await until(() => hooks.received.length >= 1);
    const [delivery] = hooks.received;
    expect(verify(endpoint.secret, delivery!)).toMatchObject({ type: 'prepay.paid', tenant_id: tenant.id, data: { pre_pay_id: prePayId } });
    const events = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?type=prepay.paid`), 200).body.events;
    expect(delivery!.headers['webhook-id']).toBe(events[0].id);
    expect(delivery!.json.id).toBe(events[0].id);

    const attempts = await eventually(
      () => deliveries(tenant, endpoint.id),
      (list) => list.length === 1,
    );
    expect(attempts[0]).toMatchObject({ event_id: events[0].id, attempt: 1, generation: 1, status_code: 200, error: null });
    expect(hooks.received).toHaveLength(1);
  });

  it('retries a failing receiver on the schedule: five 500s, then 200, the same webhook-id each time', async () => {
    const tenant = await createTenant(stack);
    const hooks = await receiver();
    hooks.respond = (n, _request, response) => response.writeHead(n < 5 ? 500 : 200).end();
    const endpoint = await register(tenant, hooks.url);
    await payPrepay(tenant);
    const attempts = await eventually(
      () => deliveries(tenant, endpoint.id),
      (list) => list.some((attempt) => attempt.status_code === 200),
    );
    expect(attempts.map((attempt) => [attempt.attempt, attempt.status_code])).toEqual([
      [6, 200],
      [5, 500],
      [4, 500],
      [3, 500],
      [2, 500],
      [1, 500],
    ]);
    expect(hooks.received).toHaveLength(6);
    expect(new Set(hooks.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    for (const request of hooks.received) verify(endpoint.secret, request);
  });

  it('a 410 Gone disables the endpoint, and the platform endpoint gets the operator event', async () => {
    const platform = await receiver();
    const created = expectStatus(await operator('POST', '/operator/v1/webhook_endpoints', { body: { url: platform.url, event_types: ['webhook_endpoint.disabled'] } }), 201).body;
    const tenant = await createTenant(stack);
    const gone = await receiver();
    gone.respond = (_n, _request, response) => response.writeHead(410).end();
    const endpoint = await register(tenant, gone.url);
    await payPrepay(tenant);
    const disabled = await eventually(
      async () => expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}`), 200).body,
      (body) => body.status === 'disabled',
    );
    expect(disabled.disabled_reason).toBe('the endpoint answered 410 Gone');
    await until(() => platform.received.some((request) => request.json.data.webhook_endpoint_id === endpoint.id));
    const notice = platform.received.find((request) => request.json.data.webhook_endpoint_id === endpoint.id)!;
    expect(verify(created.secret, notice)).toMatchObject({ type: 'webhook_endpoint.disabled', tenant_id: null, data: { tenant_id: tenant.id, url: gone.url } });
    expect(gone.received).toHaveLength(1);
    expectStatus(await operator('DELETE', `/operator/v1/webhook_endpoints/${created.id}`), 200);
  });

  it('an endpoint failing past the disable limit is disabled and its delivery ends failed', async () => {
    const tenant = await createTenant(stack);
    const down = await receiver();
    down.respond = (_n, _request, response) => response.writeHead(503).end();
    const endpoint = await register(tenant, down.url);
    // it has been failing for four days already
    await sql(`update webhook_endpoints set failing_since = now() - interval '4 days' where id = ?`, [endpoint.id]);
    await payPrepay(tenant);
    const disabled = await eventually(
      async () => expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}`), 200).body,
      (body) => body.status === 'disabled',
    );
    expect(disabled.disabled_reason).toMatch(/^every attempt failed since /);
    const [row] = await sql<{ status: string }>(`select status from webhook_deliveries where endpoint_id = ?`, [endpoint.id]);
    expect(row!.status).toBe('failed');
    // the operator's event is recorded right after the endpoint is disabled
    const notices = await eventually(
      () => sql<{ type: string }>(`select type from events where tenant_id is null and data->>'webhook_endpoint_id' = ?`, [endpoint.id]),
      (rows) => rows.length > 0,
    );
    expect(notices.map((row) => row.type)).toEqual(['webhook_endpoint.disabled']);
  });

  it('a slow receiver does not delay another endpoint', async () => {
    const tenant = await createTenant(stack);
    const slow = await receiver();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    slow.respond = (_n, _request, response) => void held.then(() => response.writeHead(200).end());
    const fast = await receiver();
    const slowEndpoint = await register(tenant, slow.url);
    const fastEndpoint = await register(tenant, fast.url);
    await payPrepay(tenant);
    // the fast endpoint's delivery is recorded while the slow one's request is still open
    await until(() => slow.received.length === 1);
    const fastAttempts = await eventually(
      () => deliveries(tenant, fastEndpoint.id),
      (list) => list.length === 1,
    );
    expect(fastAttempts[0]!.status_code).toBe(200);
    // the slow one is not delivered yet (on a starved machine its 10-second budget may already have run out once)
    expect((await deliveries(tenant, slowEndpoint.id)).filter((attempt) => attempt.status_code === 200)).toEqual([]);
    release();
    await eventually(
      () => deliveries(tenant, slowEndpoint.id),
      (list) => list.some((attempt) => attempt.status_code === 200),
    );
  });

  it('a rotated secret signs beside the previous one during the overlap, alone after it', async () => {
    const tenant = await createTenant(stack);
    const hooks = await receiver();
    const endpoint = await register(tenant, hooks.url);
    const rotated = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}/rotate_secret`), 200).body;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect(Date.parse(rotated.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);

    await payPrepay(tenant);
    await until(() => hooks.received.length === 1);
    expect(hooks.received[0]!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    verify(endpoint.secret, hooks.received[0]!);
    verify(rotated.secret, hooks.received[0]!);

    // the overlap ends
    await sql(`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ?`, [endpoint.id]);
    await payPrepay(tenant);
    await until(() => hooks.received.length === 2);
    verify(rotated.secret, hooks.received[1]!);
    expect(() => verify(endpoint.secret, hooks.received[1]!)).toThrow();
  });

  it('does not follow a redirect: the attempt counts as failed and the other host gets nothing', async () => {
    const tenant = await createTenant(stack);
    const elsewhere = await receiver();
    const redirecting = await receiver();
    redirecting.respond = (_n, _request, response) => response.writeHead(307, { location: elsewhere.url }).end();
    const endpoint = await register(tenant, redirecting.url);
    await payPrepay(tenant);
    const attempts = await eventually(
      () => deliveries(tenant, endpoint.id),
      (list) => list.length >= 2,
    );
    expect(attempts.every((attempt) => attempt.status_code === 307)).toBe(true);
    expect(elsewhere.received).toHaveLength(0);
    expectStatus(await tenant.call('DELETE', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}`), 200);
  });

  it('delivers one event again on request, and everything since a time on replay', async () => {
    const tenant = await createTenant(stack);
    const hooks = await receiver();
    const since = new Date(Date.now() - 1000).toISOString();
    const endpoint = await register(tenant, hooks.url);
    await payPrepay(tenant);
    await payPrepay(tenant);
    await until(() => hooks.received.length === 2);
    const eventId = hooks.received[0]!.json.id;

    const retried = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}/deliveries/${eventId}/retry`), 202).body;
    expect(retried).toEqual({ event_id: eventId, endpoint_id: endpoint.id, generation: 2 });
    await until(() => hooks.received.length === 3);
    expect(hooks.received[2]!.headers['webhook-id']).toBe(eventId);

    const replayed = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/webhook_endpoints/${endpoint.id}/replay`, { body: { since } }), 202).body;
    expect(replayed).toEqual({ endpoint_id: endpoint.id, replayed: 2, has_more: false });
    await until(() => hooks.received.length === 5);
    expect(new Set(hooks.received.slice(3).map((request) => request.json.id))).toEqual(new Set(hooks.received.slice(0, 2).map((request) => request.json.id)));
    for (const request of hooks.received) verify(endpoint.secret, request);
  });

  it('refuses bad input with the error body, and another team sees none of it', async () => {
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const hooks = await receiver();
    const endpoint = await register(tenant, hooks.url);
    const path = `/v2alpha/teams/${tenant.id}/webhook_endpoints`;
    expectError(await tenant.call('POST', path, { body: { url: 'not a url' } }), 400, 'invalid_request', 'url');
    expectError(await tenant.call('POST', path, { body: { url: 'ftp://example.com/hooks' } }), 400, 'invalid_request', 'url');
    expectError(await tenant.call('POST', path, { body: { url: 'https://user:pw@example.com/hooks' } }), 400, 'invalid_request', 'url');
    expectError(await tenant.call('POST', path, { body: { url: hooks.url, event_types: ['Not A Type'] } }), 400, 'invalid_request', 'event_types.0');
    expectError(await tenant.call('POST', path, { body: { url: hooks.url, extra: 1 } }), 400, 'invalid_request', 'extra');
    expectError(await tenant.call('PATCH', `${path}/${endpoint.id}`, { body: {} }), 400, 'invalid_request');
    expectError(await tenant.call('POST', `${path}/${endpoint.id}/replay`, { body: { since: 'yesterday' } }), 400, 'invalid_request', 'since');
    expectError(await tenant.call('POST', `${path}/${endpoint.id}/deliveries/evt_nope/retry`), 404, 'not_found', 'event_id');
    // a retry redelivers only what the endpoint receives: this one takes prepay.paid, not balance.low
    await insertEvent(stack.orm.em.fork(), { id: `evt_low_${tenant.id}`, tenantId: tenant.id, type: 'balance.low', data: {}, createdAt: new Date() });
    expectError(await tenant.call('POST', `${path}/${endpoint.id}/deliveries/evt_low_${tenant.id}/retry`), 409, 'conflict', 'event_id');
    expectError(await other.call('POST', `/v2alpha/teams/${other.id}/webhook_endpoints/${endpoint.id}/deliveries/evt_low_${tenant.id}/retry`), 404, 'not_found', 'endpoint_id');
    expectError(await other.call('GET', `/v2alpha/teams/${other.id}/webhook_endpoints/${endpoint.id}`), 404, 'not_found', 'endpoint_id');
    expectError(await other.call('GET', `${path}/${endpoint.id}`), 403, 'forbidden', 'team_id');
    expect(expectStatus(await other.call('GET', `/v2alpha/teams/${other.id}/webhook_endpoints`), 200).body).toEqual({ webhook_endpoints: [] });

    // disabled by its owner: nothing is delivered until it is enabled again
    const disabled = expectStatus(await tenant.call('PATCH', `${path}/${endpoint.id}`, { body: { disabled: true } }), 200).body;
    expect(disabled).toMatchObject({ status: 'disabled', disabled_reason: 'disabled by its owner' });
    await payPrepay(tenant);
    expect(await countDeliveries(endpoint.id)).toBe(0);
    expectError(await tenant.call('POST', `${path}/${endpoint.id}/replay`, { body: { since: new Date(0).toISOString() } }), 409, 'conflict', 'endpoint_id');
    expect(expectStatus(await tenant.call('PATCH', `${path}/${endpoint.id}`, { body: { disabled: false } }), 200).body.status).toBe('enabled');
    expect(hooks.received).toHaveLength(0);
  });
});

describe('a worker killed in the middle of a delivery', () => {
  it('delivers the event after a new worker takes over, with the same webhook-id', async () => {
    const tenant = await createTenant(stack);
    const hooks = await receiver();
    let holding = true;
    // the first request is never answered: the worker that sent it dies meanwhile
    hooks.respond = (_n, _request, response) => {
      if (!holding) response.writeHead(200).end();
    };
    const endpoint = await register(tenant, hooks.url);
    await stopWorker();
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../src/worker.ts', import.meta.url))], {
      env: workerProcessEnv(stack, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', RECONCILE_SCHEDULE: 'off', LOG_LEVEL: 'error' }),
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const prePayId = await payPrepay(tenant);
    await until(() => hooks.received.length === 1);
    child.kill('SIGKILL');
    await exited;
    holding = false;
    stopWorker = await stack.startWorker();
    // the lost attempt runs again once its activity times out (30 s)
    await until(() => hooks.received.length >= 2);
    const attempts = await eventually(
      () => deliveries(tenant, endpoint.id),
      (list) => list.some((attempt) => attempt.status_code === 200),
    );
    expect(attempts.filter((attempt) => attempt.status_code === 200)).toHaveLength(1);
    expect(new Set(hooks.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(verify(endpoint.secret, hooks.received.at(-1)!)).toMatchObject({ type: 'prepay.paid', data: { pre_pay_id: prePayId } });
    const [row] = await sql<{ status: string }>(`select status from webhook_deliveries where endpoint_id = ?`, [endpoint.id]);
    expect(row!.status).toBe('delivered');
  });
});

async function countDeliveries(endpointId: string): Promise<number> {
  const [row] = await sql<{ count: string }>(`select count(*)::text as count from webhook_deliveries where endpoint_id = ?`, [endpointId]);
  return Number(row!.count);
}

describe('webhook targets without WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
  let strict: TestStack;
  beforeAll(async () => {
    strict = await startStack({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
  });
  afterAll(async () => {
    await strict.close();
  });

  it('refuses loopback, private, link-local and names that resolve to them', async () => {
    const tenant = await createTenant(strict);
    const path = `/v2alpha/teams/${tenant.id}/webhook_endpoints`;
    for (const url of [
      'http://127.0.0.1:9/hooks',
      'http://10.1.2.3/hooks',
      'http://192.168.0.10/hooks',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hooks',
      'http://[::ffff:127.0.0.1]/hooks',
      'http://localhost:9/hooks',
      'http://0.0.0.0/hooks',
    ]) {
      const answer = await tenant.call('POST', path, { body: { url } });
      expectError(answer, 400, 'invalid_request', 'url');
    }
    expect(expectStatus(await tenant.call('GET', path), 200).body).toEqual({ webhook_endpoints: [] });
  });
});
