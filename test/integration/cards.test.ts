/** Cards of a team over HTTP: register a gateway token, list, default, delete; never a card number stored. */
import { client } from '../helpers/http.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

describe('cards', () => {
  it('registers a token as brand, last4 and expiry; the first card is the default', async () => {
    const tenant = await createTenant(stack);
    const answer = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token: 'tok_visa' } }), 201);
    expect(answer.body).toEqual({
      card_id: expect.stringMatching(/^card_/),
      brand: 'visa',
      last4: '4242',
      exp_month: expect.any(Number),
      exp_year: expect.any(Number),
      is_default: true,
    });
    const second = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token: 'tok_chargeDeclined' } }), 201);
    expect(second.body.is_default).toBe(false);
    const listed = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/cards`), 200);
    expect(listed.body.cards.map((card: { card_id: string }) => card.card_id)).toEqual([second.body.card_id, answer.body.card_id]);
    const [row] = await stack.orm.em.fork().execute<Record<string, unknown>[]>('select * from cards where id = ?', [answer.body.card_id]);
    expect(Object.keys(row!).sort()).toEqual([
      'brand',
      'created_at',
      'deleted_at',
      'exp_month',
      'exp_year',
      'gateway',
      'gateway_customer_ref',
      'gateway_ref',
      'id',
      'is_default',
      'last4',
      'tenant_id',
    ]);
  });

  it('moves the default, deletes a card, and a recharge then needs a card', async () => {
    const tenant = await createTenant(stack);
    const first = await addCard(tenant, 'tok_visa');
    const second = await addCard(tenant, 'tok_visa');
    expect(expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${second}/default`), 200).body.is_default).toBe(true);
    const listed = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/cards`), 200).body.cards as { card_id: string; is_default: boolean }[];
    expect(listed.filter((card) => card.is_default).map((card) => card.card_id)).toEqual([second]);
    expect(expectStatus(await tenant.call('DELETE', `/v2alpha/teams/${tenant.id}/cards/${second}`), 200).body).toEqual({ card_id: second, deleted: true });
    expect((await tenant.call('DELETE', `/v2alpha/teams/${tenant.id}/cards/${second}`)).status).toBe(404);
    const noDefault = await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: tenant.id } });
    expect(noDefault.status).toBe(422);
    expect(noDefault.body.error).toEqual({ type: 'unprocessable', field: 'card_id' });
    expect((await tenant.call('POST', '/payment/v1/recharge', { body: { amount: 5, namespace: tenant.id, card_id: second } })).status).toBe(404);
    expect(first).toMatch(/^card_/);
  });

  it('refuses unknown tokens and bodies, and other tenants', async () => {
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const card = await addCard(tenant, 'tok_visa');
    const unknown = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token: 'tok_nope' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toEqual({ type: 'invalid_request', field: 'token' });
    expect((await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token: '' } })).status).toBe(400);
    expect((await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards`, { body: { token: 'tok_visa', number: '4242424242424242' } })).status).toBe(400);
    expect((await other.call('GET', `/v2alpha/teams/${tenant.id}/cards`)).status).toBe(403);
    expect((await other.call('DELETE', `/v2alpha/teams/${other.id}/cards/${card}`)).status).toBe(404);
    expect((await other.call('POST', `/v2alpha/teams/${other.id}/cards/${card}/default`)).status).toBe(404);
    const operator = client(stack.url, stack.operatorKey);
    expect((await operator('GET', `/v2alpha/teams/${tenant.id}/cards`)).body.cards).toHaveLength(1);
    expect((await operator('GET', '/v2alpha/teams/no-such-team/cards')).status).toBe(404);
  });
});
