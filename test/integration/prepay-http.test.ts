/**
 * Card prepayments over HTTP on the real API, PostgreSQL, Temporal dev server and worker: quote →
 * CreatePrePaymentCard → CallBackAppInfo → status → GetPreInvoiceList, and every bad input answered with
 * the DESIGN §8 error body.
 */
import { randomUUID } from 'node:crypto';
import { Connection, Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { client } from '../helpers/http.ts';
import { appInfo } from '../helpers/apps.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { TOKENS_WITHOUT_RPC } from '../helpers/watcher.ts';
import { addCard, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { sqlOn } from '../helpers/db.ts';
import { createCluster, TEN_USD_A_CORE } from '../helpers/catalog.ts';
import { until } from '../helpers/wait.ts';

let stack: TestStack;
let operator: ReturnType<typeof client>;
/** 10 USD per core-month, nothing else: 1000 millicores for 3 months cost 30 */
let clusterId: string;

beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '20', ...TOKENS_WITHOUT_RPC });
  operator = client(stack.url, stack.operatorKey);
  clusterId = await createCluster(stack, TEN_USD_A_CORE, 'prepay-cluster');
});
afterAll(async () => {
  await stack.close();
});

const sql = sqlOn(() => stack.orm);

async function quote(tenant: TestTenant, period = 3, cpu = 1000): Promise<{ quote_id: string; usd: string }> {
  const body = { cluster_id: clusterId, chart_name: 'nginx', cpu_limit: cpu, mem_limit: 0, storage_limit: 0, period };
  return expectStatus(await tenant.call('POST', '/v2alpha/USD/acquire_pre_amount', { body }), 200).body;
}

function prepayBody(tenant: TestTenant, cardId: string, extra: Record<string, unknown> = {}) {
  return { team_id: tenant.id, card_id: cardId, amount: '30', period: 3, auto_renewal: 1, ...extra };
}

/** `extra` may be ill-typed on purpose: the bad-input cases send it as it is. */
function appBody(prePayId: number, extra: Record<string, unknown> = {}) {
  return { ...appInfo(prePayId, clusterId, { icon_url: 'https://icons.example/app-1.png' }), ...extra };
}

async function chargesOf(prePayId: number): Promise<string[]> {
  const rows = await sql<{ outcome: string }>('select outcome from sandbox_charges where idempotency_key like ? order by created_at', [
    await gatewayKey(stack.orm, `prepay-${prePayId}-cycle-%`),
  ]);
  return rows.map((row) => row.outcome);
}

const thisMonth = () => `${new Date().toISOString().slice(0, 7)}-01`;

describe('a card prepayment over HTTP', () => {
  it('quote → prepay → callback → status → invoice_list, then auto-renewal off and an operator cancel', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const { quote_id, usd } = await quote(tenant);
    expect(usd).toBe('30');

    await stack.withWorker(async () => {
      const created = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId, { quote_id }) });
      expectStatus(created, 200);
      expect(created.body).toEqual({ code: 0, message: 'success', pre_pay_id: expect.any(Number) });
      const prePayId = created.body.pre_pay_id as number;
      expect(await chargesOf(prePayId)).toEqual(['succeeded']);

      const paid = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`), 200).body;
      expect(paid).toMatchObject({
        pre_pay_id: prePayId,
        status: 'awaiting_binding',
        payment_type: 'USD',
        amount: '30',
        usd: '30',
        period: 3,
        auto_renewal: 1,
        app: null,
        quote_id,
        card_id: cardId,
      });

      expect(expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: appBody(prePayId) }), 200).body).toEqual({ code: 0, message: 'success' });
      const active = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`), 200).body;
      expect(active).toMatchObject({
        status: 'active',
        cycle: 1,
        months_recognized: 0,
        app: {
          app_id: 'app-1',
          cluster_id: clusterId,
          chart_name: 'nginx',
          cpu_limit: 1000,
          mem_limit: 0,
          storage_limit: 0,
          icon_url: 'https://icons.example/app-1.png',
          project_name: 'shop',
        },
      });
      expect(active.period_start).toBe(active.app.bound_at);
      expect(new Date(active.period_end).getUTCMonth()).toBe((new Date(active.period_start).getUTCMonth() + 3) % 12);

      const invoices = expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list`), 200).body;
      const icons = [{ icon_url: 'https://icons.example/app-1.png' }];
      expect(invoices).toEqual({
        invoice_list: [
          {
            period: thisMonth(),
            total_usd: '30',
            icon_url_list: icons,
            info: [{ period: thisMonth(), payment_method: 'USD', total_usd: '30', total_amount: '30', icon_url_list: icons }],
          },
        ],
      });
      expect(expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list?from=2000-01&to=2000-12`), 200).body).toEqual({ invoice_list: [] });
      expect(expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list?from=${thisMonth().slice(0, 7)}`), 200).body.invoice_list).toHaveLength(1);

      const listed = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays`), 200).body;
      expect(listed).toMatchObject({ prepays: [{ pre_pay_id: prePayId, status: 'active' }], has_more: false });

      const off = expectStatus(await tenant.call('PUT', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/auto_renewal`, { body: { auto_renewal: 0 } }), 200).body;
      expect(off).toMatchObject({ pre_pay_id: prePayId, status: 'active', auto_renewal: 0 });
      const otherCard = await addCard(tenant, 'tok_mastercard');
      expect(expectStatus(await tenant.call('PUT', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/card`, { body: { card_id: otherCard } }), 200).body.card_id).toBe(otherCard);

      // Operators find the prepay by its search attributes (what `temporal workflow list --query` does).
      const connection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
      try {
        const temporal = new Client({ connection });
        const installation = await installationOf(stack.orm);
        await until(
          async () => {
            const query = `PrePayId = ${prePayId} AND PrepayStatus = 'active' AND TeamId = '${tenant.id}' AND EngineInstallation = '${installation.id}'`;
            for await (const workflow of temporal.workflow.list({ query })) {
              return workflow.workflowId === prepayWorkflowId(installation, prePayId);
            }
            return false;
          },
          { timeoutMs: 20_000 },
        );
      } finally {
        await connection.close();
      }

      // Canceled in its first month: that month is kept, the two whole months after it go back to the card.
      expect((await tenant.call('POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { body: { reason: 'mine' } })).status).toBe(403);
      const canceled = expectStatus(await operator('POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { body: { reason: 'customer asked' } }), 200).body;
      expect(canceled).toMatchObject({ pre_pay_id: prePayId, status: 'canceled', months_recognized: 1, refunded_usd: '20' });
      const afterCancel = expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list`), 200).body;
      expect(afterCancel.invoice_list[0]).toMatchObject({ total_usd: '10', info: [{ payment_method: 'USD', total_usd: '10', total_amount: '10' }] });
      const again = await operator('POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { body: { reason: 'again' } });
      expect([again.status, again.body.error]).toEqual([409, { type: 'conflict', field: 'pre_pay_id' }]);
      const [refunds] = await sql<{ count: string }>(
        `select count(*)::text as count from sandbox_refunds r join sandbox_charges c on c.charge_id = r.charge_id where c.idempotency_key = ?`,
        [await gatewayKey(stack.orm, `prepay-${prePayId}-cycle-1`)],
      );
      expect(refunds!.count).toBe('1');
    });
    expect(expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200).body.ok).toBe(true);
  });

  it('a declined card is a 402 with the pre_pay_id, and the prepay shows payment_failed', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_chargeDeclinedInsufficientFunds');
    const answer = await stack.withWorker(() => tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId) }));
    expectStatus(answer, 402);
    expect(answer.body).toMatchObject({ code: 402, error: { type: 'card_declined', field: 'card_id' }, pre_pay_id: expect.any(Number), decline_code: 'insufficient_funds' });
    const prePayId = answer.body.pre_pay_id as number;
    expect(expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`), 200).body).toMatchObject({
      status: 'payment_failed',
      failure_code: 'insufficient_funds',
    });
    expect(await chargesOf(prePayId)).toEqual(['declined']);
    expect(expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list`), 200).body).toEqual({ invoice_list: [] });
  });

  it('an Idempotency-Key sent twice makes one prepay and one charge, and the second answer is replayed', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const headers = { 'Idempotency-Key': `prepay-${randomUUID()}` };
    const [first, second] = await stack.withWorker(async () => {
      const one = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId), headers });
      const two = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId), headers });
      return [one, two];
    });
    expectStatus(first!, 200);
    expect(second!.status).toBe(200);
    expect(second!.headers.get('idempotent-replayed')).toBe('true');
    expect(second!.body.pre_pay_id).toBe(first!.body.pre_pay_id);
    expect(await chargesOf(first!.body.pre_pay_id)).toEqual(['succeeded']);
    const [prepays] = await sql<{ count: string }>('select count(*)::text as count from prepays where tenant_id = ?', [tenant.id]);
    expect(prepays!.count).toBe('1');
    const reused = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId, { period: 2, amount: '20' }), headers });
    expect([reused.status, reused.body.error]).toEqual([422, { type: 'idempotency_key_reused', field: 'Idempotency-Key' }]);
  });
});

/** What the Temporal UI shows of an event: its user metadata's summary, decoded as the UI decodes it. */
const summaryOf = (event: proto.temporal.api.history.v1.IHistoryEvent): string | undefined =>
  event.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(event.userMetadata.summary) : undefined;

describe('what an operator sees in the Temporal UI (decision 0101)', () => {
  it('a prepay started by the API carries its summary and details; its charge, bookings and timers are named; no activity answers null', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const connection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
    try {
      const temporal = new Client({ connection });
      await stack.withWorker(async () => {
        const created = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId) }), 200);
        const prePayId = created.body.pre_pay_id as number;
        const handle = temporal.workflow.getHandle(prepayWorkflowId(await installationOf(stack.orm), prePayId));

        // the list's summary and the page's details, as the SDK decodes them and as the server stores them
        const description = await handle.describe();
        const summary = `Prepay ${prePayId} · team ${tenant.id} · USD 30.00 · 3 months · card`;
        expect(await description.staticSummary()).toBe(summary);
        expect(await description.staticDetails()).toContain(`- Price: USD 30.00, charged to card \`${cardId}\``);
        const stored = description.raw.executionConfig?.userMetadata?.summary;
        expect(stored && defaultPayloadConverter.fromPayload(stored)).toBe(summary);

        // bound: the first month's timer starts (and the binding deadline's, when there was one, is canceled)
        expectStatus(await tenant.call('POST', '/v2alpha/USD/callback_app_info', { body: appBody(prePayId) }), 200);
        const history = async () => (await handle.fetchHistory()).events ?? [];
        let seen: Awaited<ReturnType<typeof history>> = [];
        await until(
          async () => {
            seen = await history();
            return seen.some((event) => event.timerStartedEventAttributes && summaryOf(event) === 'month 1 of 3 ends');
          },
          // a backstop, not a budget: on a starved core a workflow task may time out and be retried first
          { timeoutMs: 120_000, what: 'the first month timer', detail: () => seen.map((event) => event.eventType).join(', ') },
        );
        const events = await history();
        const timers = events.filter((event) => event.timerStartedEventAttributes).map(summaryOf);
        // the binding deadline's timer exists only when the workflow waited for the app before it came
        expect(timers.filter((timer) => timer !== 'binding deadline · USD 30.00 back unless an app is bound')).toEqual(['month 1 of 3 ends']);
        const scheduled = events.filter((event) => event.activityTaskScheduledEventAttributes);
        const named = new Map(scheduled.map((event) => [event.activityTaskScheduledEventAttributes!.activityType!.name!, summaryOf(event)]));
        expect(named.get('chargeCard')).toBe(`charge USD 30.00 to card ${cardId} · prepay ${prePayId}, cycle 1`);
        expect(named.get('bookPrepayPayment')).toMatch(/^book USD 30\.00 paid by \S+ · cycle 1$/);
        expect(named.get('recordEvent')).toBe('record prepay.activated');
        expect(scheduled.map(summaryOf)).not.toContain(undefined);

        // every activity that completed answered something: no `null` payload in the UI
        const results = events
          .filter((event) => event.activityTaskCompletedEventAttributes)
          .map((event) => defaultPayloadConverter.fromPayload(event.activityTaskCompletedEventAttributes!.result!.payloads![0]!));
        expect(results.length).toBeGreaterThanOrEqual(4);
        expect(results).not.toContain(null);
        expect(results).not.toContain(undefined);
        expect(results).toContainEqual({ status: 'awaiting_binding', seq: 1, written: true });

        // the workflow page's current details, answered by the worker (what a continued run shows instead of a static summary)
        const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        expect(metadata.currentDetails.split('\n')[0]).toBe(summary);
        expect(metadata.currentDetails).toContain('- Cycle 1: active');
        expect(metadata.currentDetails).toContain('- 0 of 3 months recognised; the period ends');

        expectStatus(await operator('POST', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}/cancel`, { body: { reason: 'test done' } }), 200);
      });
    } finally {
      await connection.close();
    }
  });
});

describe('a slow gateway', () => {
  it('answers 202 with the pre_pay_id while the charge is retried, and the prepay is paid later', async () => {
    const impatient = await startStack({ WORKFLOW_WAIT_SECONDS: '1' });
    try {
      const tenant = await createTenant(impatient);
      const cardId = await addCard(tenant, 'tok_transientFailure');
      await impatient.withWorker(async () => {
        const answer = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId) });
        expect([answer.status, answer.body]).toEqual([202, { code: 0, message: 'pending', pre_pay_id: expect.any(Number), status: 'awaiting_payment' }]);
        const path = `/v2alpha/teams/${tenant.id}/prepays/${answer.body.pre_pay_id}`;
        expect(expectStatus(await tenant.call('GET', path), 200).body.status).toBe('awaiting_payment');
        await until(async () => (await tenant.call('GET', path)).body.status === 'awaiting_binding', { timeoutMs: 30_000 });
        expect(await chargesOf(answer.body.pre_pay_id)).toEqual(['succeeded']);
      });
    } finally {
      await impatient.close();
    }
  });
});

describe('CreatePrePaymentCard refuses bad input with a 4xx and creates nothing', () => {
  it('answers each bad request as documented', async () => {
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const othersCard = await addCard(other, 'tok_visa');
    const { quote_id } = await quote(tenant);
    const expired = await quote(tenant);
    await sql(`update quotes set expires_at = now() - interval '1 minute' where id = ?`, [expired.quote_id]);
    const othersQuote = await quote(other);
    const post = (path: string, body: unknown) => tenant.call('POST', path, { body });
    const own = `/v2alpha/teams/${tenant.id}/cards/${cardId}`;

    const cases: [string, Promise<Awaited<ReturnType<typeof post>>>, number, string, string | undefined][] = [
      ['card of another team', post(`/v2alpha/teams/${tenant.id}/cards/${othersCard}`, prepayBody(tenant, othersCard)), 404, 'not_found', 'card_id'],
      ['unknown card', post(`/v2alpha/teams/${tenant.id}/cards/card_nope`, prepayBody(tenant, 'card_nope')), 404, 'not_found', 'card_id'],
      ['team in body is not the path', post(own, prepayBody(tenant, cardId, { team_id: other.id })), 400, 'invalid_request', 'team_id'],
      ['card in body is not the path', post(own, prepayBody(tenant, cardId, { card_id: othersCard })), 400, 'invalid_request', 'card_id'],
      ['period 0', post(own, prepayBody(tenant, cardId, { period: 0 })), 400, 'invalid_request', 'period'],
      ['period 13', post(own, prepayBody(tenant, cardId, { period: 13 })), 400, 'invalid_request', 'period'],
      ['period 1.5', tenant.call('POST', own, { rawBody: JSON.stringify(prepayBody(tenant, cardId)).replace('"period":3', '"period":1.5') }), 400, 'invalid_request', 'period'],
      ['auto_renewal 2', post(own, prepayBody(tenant, cardId, { auto_renewal: 2 })), 400, 'invalid_request', 'auto_renewal'],
      ['amount as a number', post(own, prepayBody(tenant, cardId, { amount: 30 })), 400, 'invalid_request', 'amount'],
      ['amount with fractions of a cent', post(own, prepayBody(tenant, cardId, { amount: '30.001' })), 400, 'invalid_request', 'amount'],
      ['amount other than the quote', post(own, prepayBody(tenant, cardId, { quote_id, amount: '29.99' })), 422, 'unprocessable', 'amount'],
      ['period other than the quote', post(own, prepayBody(tenant, cardId, { quote_id, period: 4 })), 422, 'unprocessable', 'period'],
      ['expired quote', post(own, prepayBody(tenant, cardId, { quote_id: expired.quote_id })), 422, 'quote_expired', 'quote_id'],
      ['unknown quote', post(own, prepayBody(tenant, cardId, { quote_id: randomUUID() })), 404, 'not_found', 'quote_id'],
      ["another team's quote", post(own, prepayBody(tenant, cardId, { quote_id: othersQuote.quote_id })), 404, 'not_found', 'quote_id'],
      ['unknown field', post(own, prepayBody(tenant, cardId, { card_number: '4242424242424242' })), 400, 'invalid_request', 'card_number'],
      ["another team's path", post(`/v2alpha/teams/${other.id}/cards/${othersCard}`, prepayBody(other, othersCard)), 403, 'forbidden', 'team_id'],
    ];
    for (const [name, pending, status, type, field] of cases) {
      const answer = await pending;
      expect([name, answer.status, answer.body?.error]).toEqual([name, status, field ? { type, field } : { type }]);
      expect(answer.body.code).toBe(status);
      expect(typeof answer.body.message).toBe('string');
    }
    const [prepays] = await sql<{ count: string }>('select count(*)::text as count from prepays where tenant_id in (?, ?)', [tenant.id, other.id]);
    expect(prepays!.count).toBe('0');
  });
});

describe('token payments on an engine without a chain', () => {
  it('answer 503 naming what must be configured, to the quote as to the prepay, and create nothing', async () => {
    const bare = await startStack();
    try {
      const tenant = await createTenant(bare);
      const cluster = await createCluster(bare, { cpu_core_month_usd: '10', memory_gib_month_usd: '0', storage_gib_month_usd: '0' });
      const notEnabled = (token: string) => [
        503,
        {
          code: 503,
          message: expect.stringMatching(new RegExp(`${token} payments are not enabled.*CHAIN_ID, DEPOSIT_XPUB and TOKEN_${token}_ADDRESS`)),
          error: { type: 'service_unavailable' },
        },
      ];
      for (const token of ['USDT_ERC20', 'ANKR_ERC20']) {
        const quote = await tenant.call('POST', `/v2alpha/${token}/acquire_pre_amount`, {
          body: { cluster_id: cluster, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 },
        });
        expect([quote.status, quote.body]).toEqual(notEnabled(token));
        const prepay = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/${token}`, { body: { quote_id: randomUUID(), amount: '10', period: 1, auto_renewal: 1 } });
        expect([prepay.status, prepay.body]).toEqual(notEnabled(token));
      }
      // USD is always there
      expect(
        (
          await tenant.call('POST', '/v2alpha/USD/acquire_pre_amount', {
            body: { cluster_id: cluster, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 1 },
          })
        ).status,
      ).toBe(200);
      expect(await sqlOn(() => bare.orm)('select id from prepays where tenant_id = ?', [tenant.id])).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('CallBackAppInfo', () => {
  it('refuses another payment type (409), costlier resources (422), another app (409) and other teams (404); the same app again is 200', async () => {
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    await stack.withWorker(async () => {
      const prePayId = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, { body: prepayBody(tenant, cardId) }), 200).body.pre_pay_id as number;
      const callback = (type: string, body: unknown, caller = tenant) => caller.call('POST', `/v2alpha/${type}/callback_app_info`, { body });
      const refused = async (answer: Promise<Awaited<ReturnType<typeof callback>>>) => {
        const { status, body } = await answer;
        return [status, body?.error];
      };

      expect(await refused(callback('USDT_ERC20', appBody(prePayId)))).toEqual([409, { type: 'conflict', field: 'type' }]);
      // 1001 millicores for 3 months cost 30.03 > 30 paid
      expect(await refused(callback('USD', appBody(prePayId, { cpu_limit: 1001 })))).toEqual([422, { type: 'unprocessable', field: 'cpu_limit' }]);
      expect(await refused(callback('USD', appBody(prePayId), other))).toEqual([404, { type: 'not_found', field: 'pre_pay_id' }]);
      expect(await refused(callback('USD', appBody(999_999_999)))).toEqual([404, { type: 'not_found', field: 'pre_pay_id' }]);
      expect(await refused(callback('BTC', appBody(prePayId)))).toEqual([400, { type: 'invalid_request', field: 'type' }]);
      expect(await refused(callback('USD', appBody(prePayId, { pre_pay_id: String(prePayId) })))).toEqual([400, { type: 'invalid_request', field: 'pre_pay_id' }]);
      expect(await refused(callback('USD', appBody(prePayId, { cpu_limit: 0 })))).toEqual([400, { type: 'invalid_request', field: 'cpu_limit' }]);
      expect(await refused(callback('USD', appBody(prePayId, { cluster_id: 'no-such-cluster' })))).toEqual([404, { type: 'not_found', field: 'cluster_id' }]);
      expect(expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`), 200).body.status).toBe('awaiting_binding');

      expectStatus(await callback('USD', appBody(prePayId, { cpu_limit: 900 })), 200);
      expect(expectStatus(await callback('USD', appBody(prePayId, { cpu_limit: 900, icon_url: 'https://icons.example/new.png' })), 200).body).toEqual({
        code: 0,
        message: 'success',
      });
      expect(await refused(callback('USD', appBody(prePayId, { app_id: 'app-2' })))).toEqual([409, { type: 'conflict', field: 'app_id' }]);
      expect(await refused(callback('USD', appBody(prePayId)))).toEqual([409, { type: 'conflict', field: 'app_id' }]);
      const status = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`), 200).body;
      expect(status).toMatchObject({ status: 'active', app: { app_id: 'app-1', cpu_limit: 900 } });
      expect((await other.call('GET', `/v2alpha/teams/${other.id}/prepays/${prePayId}`)).status).toBe(404);
      expect((await other.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`)).status).toBe(403);
    });
  });
});
