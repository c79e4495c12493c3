/** A team's events over HTTP: recorded by the workflows, listed newest first, paginated, private to the team. */
import { startStack, type TestStack } from '../helpers/stack.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';
import { createCluster } from '../helpers/catalog.ts';
import { insertEvent } from '../../src/db/repositories/events.ts';
import { client } from '../helpers/http.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

describe('events', () => {
  it('lists the prepay events of a team, newest first, with pagination', async () => {
    const clusterId = await createCluster(stack, { cpu_core_month_usd: '10', memory_gib_month_usd: '2', storage_gib_month_usd: '0.1' }, 'events-cluster');
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const quote = expectStatus(
      await tenant.call('POST', '/v2alpha/USD/acquire_pre_amount', { body: { cluster_id: clusterId, chart_name: '', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period: 2 } }),
      200,
    ).body;
    const prepay = await stack.withWorker(() =>
      tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, {
        body: { team_id: tenant.id, card_id: cardId, amount: quote.amount, period: 2, auto_renewal: 0, quote_id: quote.quote_id },
      }),
    );
    expectStatus(prepay, 200);

    const listed = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events`), 200).body;
    const paid = listed.events.find((event: { type: string }) => event.type === 'prepay.paid');
    expect(paid).toMatchObject({ id: expect.stringMatching(/^evt_/), type: 'prepay.paid', created_at: expect.stringMatching(/Z$/), data: { pre_pay_id: prepay.body.pre_pay_id } });
    expect(listed.has_more).toBe(false);

    const filtered = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?type=prepay.paid&limit=1`), 200).body;
    expect(filtered.events.map((event: { id: string }) => event.id)).toEqual([paid.id]);
    const after = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?starting_after=${paid.id}&type=prepay.paid`), 200).body;
    expect(after).toEqual({ events: [], has_more: false });

    expect((await other.call('GET', `/v2alpha/teams/${tenant.id}/events`)).status).toBe(403);
    expect(expectStatus(await other.call('GET', `/v2alpha/teams/${other.id}/events`), 200).body).toEqual({ events: [], has_more: false });
    expect((await other.call('GET', `/v2alpha/teams/${other.id}/events?starting_after=${paid.id}`)).status).toBe(404);
    expect((await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?limit=0`)).body.error).toEqual({ type: 'invalid_request', field: 'limit' });
  });

  it('pages through events that share a created time without skipping or repeating one', async () => {
    const tenant = await createTenant(stack);
    const at = new Date('2026-03-01T10:00:00.123Z');
    // five at the same millisecond, one earlier and one later: the order is (created_at, id), newest first
    const ids = ['evt_tie_a', 'evt_tie_b', 'evt_tie_c', 'evt_tie_d', 'evt_tie_e'];
    const em = stack.orm.em.fork();
    for (const id of ids) await insertEvent(em, { id, tenantId: tenant.id, type: 'balance.low', data: { id }, createdAt: at });
    await insertEvent(em, { id: 'evt_tie_0', tenantId: tenant.id, type: 'balance.low', data: {}, createdAt: new Date(at.getTime() - 1) });
    await insertEvent(em, { id: 'evt_tie_z', tenantId: tenant.id, type: 'balance.low', data: {}, createdAt: new Date(at.getTime() + 1) });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events?limit=2${cursor ? `&starting_after=${cursor}` : ''}`), 200).body;
      seen.push(...page.events.map((event: { id: string }) => event.id));
      if (!page.has_more) break;
      cursor = seen[seen.length - 1];
    }
    expect(seen).toEqual(['evt_tie_z', 'evt_tie_e', 'evt_tie_d', 'evt_tie_c', 'evt_tie_b', 'evt_tie_a', 'evt_tie_0']);
  });

  it('records balance.recharged when a card recharge is credited and transaction.refunded when it is refunded, with the movement as GET answers it', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const operator = client(stack.url, stack.operatorKey);
    const { recharged, refunded } = await stack.withWorker(async () => {
      const recharge = expectStatus(await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"amount":42.42,"namespace":"${tenant.id}"}` }), 200).body;
      const refund = expectStatus(await operator('POST', `/payment/v1/amount/${recharge.trans_id}/refund`, { body: { reason: 'customer asked' } }), 200).body;
      return { recharged: recharge, refunded: refund };
    });
    const movement = expectStatus(await tenant.call('GET', `/payment/v1/amount/${recharged.trans_id}?namespace=${tenant.id}`), 200).body;
    expect(refunded).toMatchObject({ trans_id: recharged.trans_id, status: 'refunded' });
    const listed = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/events`), 200).body.events;
    const of = (type: string) => listed.filter((event: { type: string }) => event.type === type);
    const common = {
      trans_id: recharged.trans_id,
      creation_time: movement.creation_time,
      amount: '42.42',
      currency: 'USD',
      description: movement.description,
      payment_method: 'card',
    };
    expect(of('balance.recharged')).toEqual([expect.objectContaining({ data: { ...common, status: 'finish' } })]);
    expect(of('transaction.refunded')).toEqual([expect.objectContaining({ data: { ...common, status: 'refunded', refund_reason: 'customer asked' } })]);
  });
});
