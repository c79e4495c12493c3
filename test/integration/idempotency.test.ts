/**
 * Idempotency-Key under crashes and retries (decision 0070), over HTTP on the real API, PostgreSQL, Temporal
 * dev server and worker, with the sandbox card gateway (its charges are rows we count):
 *
 * * a retry after the API died before storing the answer re-attaches to what the first request did, before
 *   any check that time can change (an expired quote, a deleted card, a plan no longer sold, a refunded
 *   movement);
 * * only outcomes are stored: a refusal before the work began, a 202 pending, a transient conflict release
 *   the key; the fingerprint is the canonical JSON of the body;
 * * a key reused after its retention names a new request (its generation), for the same or another tenant;
 * * a claim is held by a heartbeat: a dead request's claim is taken over within seconds, a live one's never.
 *
 * "The API died before storing the answer" is what a crash leaves: the row `in_progress`, its lock run out.
 */
import { randomUUID } from 'node:crypto';
import type { ParameterizedContext } from 'koa';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { AppError } from '../../src/domain/errors.ts';
import { idempotent, transient } from '../../src/api/middleware/idempotency.ts';
import { client, type HttpAnswer } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { addCard, balanceOf, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { sqlOn } from '../helpers/db.ts';
import { createCluster, createRegion, TEN_USD_A_CORE } from '../helpers/catalog.ts';

const DEPOSIT_XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong')).derive("m/44'/60'/0'/0").publicExtendedKey;

let stack: TestStack;
let stopWorker: () => Promise<void>;
let operator: ReturnType<typeof client>;
/** 10 USD per core-month: 1000 millicores for 3 months cost 30 */
let clusterId: string;

beforeAll(async () => {
  stack = await startStack({
    WORKFLOW_WAIT_SECONDS: '20',
    // token prepays need a chain's settings only to open a prepay (no RPC: nothing is scanned here)
    CHAIN_ID: '31337',
    DEPOSIT_XPUB,
    TOKEN_ANKR_ERC20_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  });
  operator = client(stack.url, stack.operatorKey);
  clusterId = await createCluster(stack, TEN_USD_A_CORE, 'idem-cluster');
  expectStatus(await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd: '0.032' } }), 200);
  stopWorker = await stack.startWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await stack?.close();
});

const sql = sqlOn(() => stack.orm);

/** What an API that died after doing the work, before storing its answer, leaves behind: a claim whose heartbeat stopped. */
async function apiDiedBeforeStoringTheAnswer(key: string): Promise<void> {
  const rows = await sql(
    `update idempotency_keys set state = 'in_progress', response_status = null, response_body = null, holder = null,
            locked_until = now() - interval '1 second' where key = ? returning id`,
    [key],
  );
  expect(rows).toHaveLength(1);
}

/** The key's retention is over (as 24 hours later). */
async function retentionOver(key: string): Promise<void> {
  expect(await sql(`update idempotency_keys set expires_at = now() - interval '1 second' where key = ? returning id`, [key])).toHaveLength(1);
}

async function keyRows(key: string) {
  return sql<{ state: string; response_status: number | null }>('select state, response_status from idempotency_keys where key = ?', [key]);
}

async function count(query: string, params: unknown[]): Promise<number> {
  const [row] = await sql<{ count: string }>(query, params);
  return Number(row!.count);
}

const succeededCharges = async (prefix: string) =>
  count(`select count(*)::text as count from sandbox_charges where idempotency_key like ? and outcome = 'succeeded'`, [await gatewayKey(stack.orm, `${prefix}%`)]);
const movements = (tenantId: string) => count('select count(*)::text as count from money_movements where tenant_id = ?', [tenantId]);
const prepaysOf = (tenantId: string) => count('select count(*)::text as count from prepays where tenant_id = ?', [tenantId]);

async function usdQuote(tenant: TestTenant): Promise<string> {
  const body = { cluster_id: clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 3 };
  return expectStatus(await tenant.call('POST', '/v2alpha/USD/acquire_pre_amount', { body }), 200).body.quote_id;
}

const keyed = (key: string) => ({ 'Idempotency-Key': key });
const notReplayed = (answer: HttpAnswer) => expect(answer.headers.get('idempotent-replayed')).toBeNull();

describe('a retry after the API died re-attaches before any check that time can change', () => {
  it('card prepay: the quote expired since the charge; the retry answers the charge, once', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const quote_id = await usdQuote(tenant);
    const key = `prepay-${randomUUID()}`;
    const body = { team_id: tenant.id, card_id: cardId, amount: '30', period: 3, auto_renewal: 1, quote_id };
    const path = `/v2alpha/teams/${tenant.id}/cards/${cardId}`;
    const first = expectStatus(await tenant.call('POST', path, { body, headers: keyed(key) }), 200);
    const prePayId = first.body.pre_pay_id as number;

    await apiDiedBeforeStoringTheAnswer(key);
    await sql(`update quotes set expires_at = now() - interval '1 minute' where id = ?`, [quote_id]);
    const retry = await tenant.call('POST', path, { body, headers: keyed(key) });
    expect([retry.status, retry.body]).toEqual([200, { code: 0, message: 'success', pre_pay_id: prePayId }]);
    notReplayed(retry);
    expect(await succeededCharges(`prepay-${prePayId}-`)).toBe(1);
    expect(await prepaysOf(tenant.id)).toBe(1);
    expect(await keyRows(key)).toEqual([{ state: 'completed', response_status: 200 }]);
  });

  it('recharge: the card was deleted since the charge; the retry answers the recharge, once', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const key = `recharge-${randomUUID()}`;
    const body = { amount: 12.5, namespace: tenant.id, card_id: cardId };
    const first = expectStatus(await tenant.call('POST', '/payment/v1/recharge', { body, headers: keyed(key) }), 200);
    const transId = first.body.trans_id as string;

    await apiDiedBeforeStoringTheAnswer(key);
    expect((await tenant.call('DELETE', `/v2alpha/teams/${tenant.id}/cards/${cardId}`)).status).toBeLessThan(300);
    const retry = await tenant.call('POST', '/payment/v1/recharge', { body, headers: keyed(key) });
    expectStatus(retry, 200);
    expect(retry.body).toEqual({ balance: 12.5, status: 'active', trans_id: transId });
    expect(await succeededCharges(`recharge-${transId}`)).toBe(1);
    expect(await movements(tenant.id)).toBe(1);
    expect(await balanceOf(tenant)).toBe('12.5');
  });

  it('checkout: the plan is no longer sold since the charge; the retry answers the subscription, charged once', async () => {
    const tenant = await createTenant(stack);
    const region = await createRegion(stack);
    const json = JSON.stringify({ region, type: 'C', level: 'S', name: uniqueId('Plan'), bill_period: 'M', description: '1 CPU Core', status: 'available' });
    const plan = expectStatus(await operator('POST', '/operator/v1/plans', { rawBody: `${json.slice(0, -1)},"price":7.25}` }), 201).body;
    expectStatus(await operator('POST', '/payment/v1/recharge', { body: { amount: 10, namespace: tenant.id, payment_method: 'manual' } }), 200);
    const key = `checkout-${randomUUID()}`;
    const body = { plan_id: plan.plan_id, namespace: tenant.id, region };
    const first = expectStatus(await tenant.call('POST', '/payment/v1/checkout', { body, headers: keyed(key) }), 200);

    await apiDiedBeforeStoringTheAnswer(key);
    await sql(`update plans set status = 'unavailable' where plan_id = ?`, [plan.plan_id]);
    const retry = await tenant.call('POST', '/payment/v1/checkout', { body, headers: keyed(key) });
    expectStatus(retry, 200);
    expect(retry.body).toEqual({ balance: 2.75, status: 'active', subscription_id: first.body.subscription_id, trans_id: first.body.trans_id });
    expect(await count(`select count(*)::text as count from ledger_transactions where tenant_id = ? and kind = 'subscription'`, [tenant.id])).toBe(1);
    expect(await balanceOf(tenant)).toBe('2.75');
  });

  it('refund: the movement is refunded by this very request; the retry answers the refund, not 409', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const transId = expectStatus(await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 30, namespace: tenant.id } }), 200).body.trans_id as string;
    const key = `refund-${randomUUID()}`;
    const path = `/payment/v1/amount/${transId}/refund`;
    const first = expectStatus(await operator('POST', path, { body: { reason: 'customer asked' }, headers: keyed(key) }), 200);
    expect(first.body).toMatchObject({ trans_id: transId, status: 'refunded' });

    await apiDiedBeforeStoringTheAnswer(key);
    const retry = await operator('POST', path, { body: { reason: 'customer asked' }, headers: keyed(key) });
    expectStatus(retry, 200);
    expect(retry.body).toEqual(first.body);
    // another request (another key) is still refused: a transaction is refunded once
    const other = await operator('POST', path, { body: { reason: 'customer asked' }, headers: keyed(`refund-${randomUUID()}`) });
    expect([other.status, other.body.error]).toEqual([409, { type: 'conflict', field: 'trans_id' }]);
    expect(
      await count(`select count(*)::text as count from sandbox_refunds r join sandbox_charges c on c.charge_id = r.charge_id where c.idempotency_key = ?`, [
        await gatewayKey(stack.orm, `recharge-${transId}`),
      ]),
    ).toBe(1);
    expect(await balanceOf(tenant)).toBe('0');
  });

  it('token prepay: the quote (the deadline) expired; the retry answers the same prepay and deposit address', async () => {
    const tenant = await createTenant(stack);
    const quoteBody = { cluster_id: clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 };
    const quote = expectStatus(await tenant.call('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: quoteBody }), 200).body;
    const key = `token-${randomUUID()}`;
    const body = { quote_id: quote.quote_id, amount: quote.amount, period: 1, auto_renewal: 0 };
    const path = `/v2alpha/teams/${tenant.id}/tokens/ANKR_ERC20`;
    const first = expectStatus(await tenant.call('POST', path, { body, headers: keyed(key) }), 200);

    await apiDiedBeforeStoringTheAnswer(key);
    await sql(`update quotes set expires_at = now() - interval '1 minute' where id = ?`, [quote.quote_id]);
    const retry = await tenant.call('POST', path, { body, headers: keyed(key) });
    expectStatus(retry, 200);
    expect(retry.body).toEqual(first.body);
    expect(await prepaysOf(tenant.id)).toBe(1);
  });
});

describe('only outcomes are stored', () => {
  it('a 400 is not the key answer: the corrected body with the same key goes through', async () => {
    const tenant = await createTenant(stack);
    const key = `manual-${randomUUID()}`;
    const bad = await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":1.234,"namespace":"${tenant.id}","payment_method":"manual"}`, headers: keyed(key) });
    expect([bad.status, bad.body.error]).toEqual([400, { type: 'invalid_request', field: 'amount' }]);
    expect(await keyRows(key)).toEqual([]);
    const good = await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":1.23,"namespace":"${tenant.id}","payment_method":"manual"}`, headers: keyed(key) });
    expectStatus(good, 200);
    notReplayed(good);
    expect(await balanceOf(tenant)).toBe('1.23');
  });

  it('a refusal before any work (no default card yet) is released: the same request later goes through', async () => {
    const tenant = await createTenant(stack);
    const key = `recharge-${randomUUID()}`;
    const body = { amount: 20, namespace: tenant.id };
    const refused = await tenant.call('POST', '/payment/v1/recharge', { body, headers: keyed(key) });
    expect([refused.status, refused.body.error]).toEqual([422, { type: 'unprocessable', field: 'card_id' }]);
    const forbidden = await tenant.call('POST', '/payment/v1/recharge', { body: { ...body, payment_method: 'manual' }, headers: keyed(key) });
    expect(forbidden.status).toBe(403);
    await addCard(tenant, 'tok_visa');
    const paid = await tenant.call('POST', '/payment/v1/recharge', { body, headers: keyed(key) });
    expectStatus(paid, 200);
    notReplayed(paid);
    expect(await balanceOf(tenant)).toBe('20');
  });

  it('outcomes stay stored: a declined card is replayed, not charged again', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_chargeDeclinedInsufficientFunds');
    const key = `declined-${randomUUID()}`;
    const first = await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 20, namespace: tenant.id }, headers: keyed(key) });
    expect(first.status).toBe(402);
    const again = await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 20, namespace: tenant.id }, headers: keyed(key) });
    expect([again.status, again.headers.get('idempotent-replayed'), again.body.trans_id]).toEqual([402, 'true', first.body.trans_id]);
  });

  it('the fingerprint is the canonical body: whitespace and key order replay; another amount is 422', async () => {
    const tenant = await createTenant(stack);
    const key = `canonical-${randomUUID()}`;
    const first = expectStatus(
      await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":10.50,"namespace":"${tenant.id}","payment_method":"manual"}`, headers: keyed(key) }),
      200,
    );
    const reordered = await operator('POST', '/payment/v1/recharge', {
      rawBody: `{\n  "payment_method" : "manual",\n  "namespace": "${tenant.id}",\n  "amount": 10.50\n}`,
      headers: keyed(key),
    });
    expect([reordered.status, reordered.headers.get('idempotent-replayed'), reordered.text]).toEqual([200, 'true', first.text]);
    const other = await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":10.51,"namespace":"${tenant.id}","payment_method":"manual"}`, headers: keyed(key) });
    expect([other.status, other.body.error]).toEqual([422, { type: 'idempotency_key_reused', field: 'Idempotency-Key' }]);
    expect(await balanceOf(tenant)).toBe('10.5');
  });

  it('a 202 pending is not stored: the retry re-attaches to the recharge and answers its outcome, charged once', async () => {
    const impatient = await startStack({ WORKFLOW_WAIT_SECONDS: '1' });
    try {
      const tenant = await createTenant(impatient);
      await addCard(tenant, 'tok_transientFailure');
      const key = `pending-${randomUUID()}`;
      const body = { amount: 15, namespace: tenant.id };
      const answers = await impatient.withWorker(async () => {
        const seen: HttpAnswer[] = [];
        for (let attempt = 0; attempt < 30; attempt += 1) {
          const answer = await tenant.call('POST', '/payment/v1/recharge', { body, headers: keyed(key) });
          seen.push(answer);
          if (answer.status !== 202) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        return seen;
      });
      expect(answers[0]!.status).toBe(202);
      const last = answers.at(-1)!;
      expectStatus(last, 200);
      expect(last.body.trans_id).toBe(answers[0]!.body.trans_id);
      expect(await succeededCharges(`recharge-${last.body.trans_id}`)).toBe(1);
      expect(await movements(tenant.id)).toBe(1);
      const replay = await tenant.call('POST', '/payment/v1/recharge', { body, headers: keyed(key) });
      expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    } finally {
      await impatient.close();
    }
  });
});

describe('a key reused after its retention is a new request', () => {
  it('recharge: the reused key moves money again (a new trans_id), instead of replaying the old movement', async () => {
    const tenant = await createTenant(stack);
    const key = `reuse-${randomUUID()}`;
    const body = { amount: 5, namespace: tenant.id, payment_method: 'manual' };
    const first = expectStatus(await operator('POST', '/payment/v1/recharge', { body, headers: keyed(key) }), 200);
    await retentionOver(key);
    const second = expectStatus(await operator('POST', '/payment/v1/recharge', { body, headers: keyed(key) }), 200);
    notReplayed(second);
    expect(second.body.trans_id).not.toBe(first.body.trans_id);
    expect(await movements(tenant.id)).toBe(2);
    expect(await balanceOf(tenant)).toBe('10');
  });

  it("recharge: an operator's key reused for another tenant credits that tenant (not a 500)", async () => {
    const one = await createTenant(stack);
    const two = await createTenant(stack);
    const key = `reuse-${randomUUID()}`;
    expectStatus(await operator('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: one.id, payment_method: 'manual' }, headers: keyed(key) }), 200);
    await retentionOver(key);
    expectStatus(await operator('POST', '/payment/v1/recharge', { body: { amount: 6, namespace: two.id, payment_method: 'manual' }, headers: keyed(key) }), 200);
    expect([await balanceOf(one), await balanceOf(two)]).toEqual(['5', '6']);
  });

  it('card prepay: the reused key opens a new prepay with its own charge', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const key = `reuse-prepay-${randomUUID()}`;
    const body = { team_id: tenant.id, card_id: cardId, amount: '30', period: 3, auto_renewal: 0 };
    const path = `/v2alpha/teams/${tenant.id}/cards/${cardId}`;
    const first = expectStatus(await tenant.call('POST', path, { body, headers: keyed(key) }), 200);
    await retentionOver(key);
    const second = expectStatus(await tenant.call('POST', path, { body, headers: keyed(key) }), 200);
    notReplayed(second);
    expect(second.body.pre_pay_id).not.toBe(first.body.pre_pay_id);
    expect(await prepaysOf(tenant.id)).toBe(2);
    expect(await succeededCharges(`prepay-${second.body.pre_pay_id}-`)).toBe(1);
    expect(await succeededCharges(`prepay-${first.body.pre_pay_id}-`)).toBe(1);
  });
  it('token prepay: the reused key opens a new prepay with its own deposit address', async () => {
    const tenant = await createTenant(stack);
    const quoteBody = { cluster_id: clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 };
    const quote = expectStatus(await tenant.call('POST', '/v2alpha/ANKR_ERC20/acquire_pre_amount', { body: quoteBody }), 200).body;
    const key = `reuse-token-${randomUUID()}`;
    const body = { quote_id: quote.quote_id, amount: quote.amount, period: 1, auto_renewal: 0 };
    const path = `/v2alpha/teams/${tenant.id}/tokens/ANKR_ERC20`;
    const first = expectStatus(await tenant.call('POST', path, { body, headers: keyed(key) }), 200);
    await retentionOver(key);
    const second = expectStatus(await tenant.call('POST', path, { body, headers: keyed(key) }), 200);
    notReplayed(second);
    expect(second.body.pre_pay_id).not.toBe(first.body.pre_pay_id);
    expect(second.body.deposit_address).not.toBe(first.body.deposit_address);
    expect(await prepaysOf(tenant.id)).toBe(2);
  });
});

describe('the claim is held by a heartbeat', () => {
  /** A request as far as the middleware sees it, for calling it without HTTP. */
  function fakeContext(key: string, tenantId: string) {
    return {
      method: 'POST',
      path: '/test/idempotency',
      status: 404,
      body: undefined as unknown,
      type: '',
      request: { body: { amount: 1 } },
      state: { em: stack.orm.em.fork(), principal: { scope: 'tenant', tenantId, keyId: 'test-key' }, rawBody: '{"amount":1}' },
      get: (name: string) => (name === 'Idempotency-Key' ? key : ''),
      set: () => undefined,
    } as unknown as ParameterizedContext;
  }
  const lockLeft = async (key: string) => {
    const [row] = await sql<{ left: number }>('select extract(epoch from locked_until - now())::float8 as left from idempotency_keys where key = ?', [key]);
    return row?.left;
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a crashed claim is free within seconds (15 s by default), not two minutes', async () => {
    const key = `lock-${randomUUID()}`;
    let left: number | undefined;
    await idempotent()(fakeContext(key, uniqueId('t')), async () => {
      left = await lockLeft(key);
    });
    expect(left).toBeGreaterThan(5);
    expect(left).toBeLessThanOrEqual(15);
  });

  it('a running request keeps its claim past the lock window; a dead one is taken over and answered', async () => {
    const key = `heartbeat-${randomUUID()}`;
    const tenantId = uniqueId('t');
    const options = { lockSeconds: 1, heartbeatSeconds: 0.2 };
    const lefts: number[] = [];
    let concurrent: unknown;
    await idempotent(options)(fakeContext(key, tenantId), async () => {
      for (let tick = 0; tick < 6; tick += 1) {
        await sleep(500);
        lefts.push((await lockLeft(key))!);
      }
      // 3 s after the claim, a second request with the key still finds it held
      concurrent = await idempotent(options)(fakeContext(key, tenantId), async () => undefined).catch((error: unknown) => error);
    }).then(() => undefined);
    expect(lefts.every((left) => left > 0)).toBe(true);
    expect(concurrent).toBeInstanceOf(AppError);
    expect((concurrent as AppError).status).toBe(409);

    // A request that died holding a key: its heartbeat stopped, the lock ran out. The retry takes over.
    const dead = `dead-${randomUUID()}`;
    await idempotent(options)(fakeContext(dead, tenantId), async () => {
      await sql(`update idempotency_keys set locked_until = now() - interval '1 second', holder = 'a-dead-process' where key = ?`, [dead]);
      throw new Error('the process died');
    }).catch(() => undefined);
    const retry = fakeContext(dead, tenantId);
    await idempotent(options)(retry, async () => {
      retry.status = 200;
      retry.body = { outcome: 'the first request’s' };
    });
    expect(await keyRows(dead)).toEqual([{ state: 'completed', response_status: 200 }]);
  });

  it('a transient conflict is not stored: the key is free for the retry', async () => {
    const key = `transient-${randomUUID()}`;
    const tenantId = uniqueId('t');
    const error = await idempotent()(fakeContext(key, tenantId), async () => {
      throw transient(new AppError('conflict', 'Another refund is running; retry in a moment.'));
    }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AppError);
    expect(await keyRows(key)).toEqual([]);
    const retry = fakeContext(key, tenantId);
    await idempotent()(retry, async () => {
      retry.status = 200;
      retry.body = { ok: true };
    });
    expect(await keyRows(key)).toEqual([{ state: 'completed', response_status: 200 }]);
  });
});
