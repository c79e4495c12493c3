/**
 * Permanent gateway errors end a charge as a decline does, instead of being retried forever with the
 * prepay stuck in `awaiting_payment` and the recharge pending: a card detached from its customer, an
 * amount below the gateway's minimum (refused at the edge before anything is created), an idempotency
 * key reused with other parameters. Real API, worker, PostgreSQL and dev server; the sandbox gateway.
 */
import { Dec } from '../../src/domain/money.ts';
import { GatewayRequestRefusedError, MINIMUM_CARD_CHARGE_USD } from '../../src/gateway/card-gateway.ts';
import { client } from '../helpers/http.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { addCard, createTenant, expectStatus } from '../helpers/tenants.ts';
import { gatewayKey } from '../helpers/installation.ts';
import { sqlOn } from '../helpers/db.ts';

let stack: TestStack;
let stopWorker: () => Promise<void>;
let operator: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startStack({ WORKFLOW_WAIT_SECONDS: '30' });
  stopWorker = await stack.startWorker();
  operator = client(stack.url, stack.operatorKey);
});
afterAll(async () => {
  await stopWorker?.();
  await stack?.close();
});

const sql = sqlOn(() => stack.orm);

describe('a card the gateway refuses for good', () => {
  it('a prepay with a detached card ends payment_failed at once: 402 with the gateway code, nothing charged', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_detached');
    const answer = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, {
      body: { team_id: tenant.id, card_id: cardId, amount: '30', period: 3, auto_renewal: 1 },
    });
    expectStatus(answer, 402);
    expect(answer.body).toMatchObject({ error: { type: 'card_declined' }, decline_code: 'resource_missing', pre_pay_id: expect.any(Number) });
    const prepay = expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${answer.body.pre_pay_id}`), 200).body;
    expect(prepay).toMatchObject({ status: 'payment_failed', failure_code: 'resource_missing' });
    expect(
      await sql(`select 1 from sandbox_charges where idempotency_key like ? and outcome = 'succeeded'`, [await gatewayKey(stack.orm, `prepay-${answer.body.pre_pay_id}-%`)]),
    ).toEqual([]);
  });

  it('a recharge with a detached card is declined with the gateway code; the balance does not move', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_detached');
    const answer = await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"amount":25,"namespace":"${tenant.id}"}` });
    expectStatus(answer, 402);
    expect(answer.body).toMatchObject({ error: { type: 'card_declined' }, decline_code: 'resource_missing' });
    const movement = expectStatus(await tenant.call('GET', `/payment/v1/amount/${answer.body.trans_id}?namespace=${tenant.id}`), 200).body;
    expect(movement.status).toBe('failed');
    expect(expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances`), 200).body.balances.USD).toBe('0');
  });
});

describe('the smallest card charge', () => {
  it(`refuses a card prepay or a card recharge below ${MINIMUM_CARD_CHARGE_USD} USD with 400 and creates nothing; a small manual credit is fine`, async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const prepay = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/cards/${cardId}`, {
      body: { team_id: tenant.id, card_id: cardId, amount: '0.49', period: 1, auto_renewal: 0 },
    });
    expectStatus(prepay, 400);
    expect(prepay.body).toMatchObject({ error: { type: 'invalid_request', field: 'amount' } });
    const recharge = await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"amount":0.49,"namespace":"${tenant.id}"}` });
    expectStatus(recharge, 400);
    expect(recharge.body).toMatchObject({ error: { field: 'amount' } });
    expect(await sql('select id from prepays where tenant_id = ?', [tenant.id])).toEqual([]);
    expect(await sql('select id from money_movements where tenant_id = ?', [tenant.id])).toEqual([]);

    const manual = await operator('POST', '/payment/v1/recharge', { rawBody: `{"amount":0.1,"namespace":"${tenant.id}","payment_method":"manual"}` });
    expectStatus(manual, 200);
    expect(manual.text).toContain('"balance":0.1');
  });

  it('the sandbox gateway itself refuses less than the minimum, as a permanent error', async () => {
    const tenant = await createTenant(stack);
    const cardId = await addCard(tenant, 'tok_visa');
    const [card] = await sql<{ gateway_ref: string }>('select gateway_ref from cards where id = ?', [cardId]);
    const { createSandboxGateway } = await import('../../src/gateway/sandbox-gateway.ts');
    const gateway = createSandboxGateway({ orm: stack.orm });
    const charge = gateway.charge({
      idempotencyKey: `min-${cardId}`,
      cardRef: card!.gateway_ref,
      amount: new Dec('0.49'),
      currency: 'USD',
      offSession: false,
      description: 'too small',
    });
    await expect(charge).rejects.toBeInstanceOf(GatewayRequestRefusedError);
    await expect(charge).rejects.toMatchObject({ code: 'amount_too_small' });
  });
});

describe('a refund the gateway refuses', () => {
  it('is refused with 409 and undone in the ledger: the balance holds the money again, the movement is finish, the ledger balances', async () => {
    const tenant = await createTenant(stack);
    await addCard(tenant, 'tok_visa');
    const recharge = expectStatus(await tenant.call('POST', '/payment/v1/recharge', { rawBody: `{"amount":25,"namespace":"${tenant.id}"}` }), 200);
    const transId = recharge.body.trans_id as string;
    // Refunded at the gateway already (say from its dashboard): the gateway will refuse a second refund of the charge.
    const [charge] = await sql<{ charge_id: string }>('select charge_id from sandbox_charges where idempotency_key = ?', [await gatewayKey(stack.orm, `recharge-${transId}`)]);
    const { createSandboxGateway } = await import('../../src/gateway/sandbox-gateway.ts');
    await createSandboxGateway({ orm: stack.orm }).refund({ idempotencyKey: `dashboard-${transId}`, chargeId: charge!.charge_id, amount: new Dec('25') });

    const refund = await operator('POST', `/payment/v1/amount/${transId}/refund`, { body: { reason: 'customer asked' } });
    expectStatus(refund, 409);
    expect(refund.body).toMatchObject({ error: { type: 'conflict', field: 'trans_id' } });
    expect(refund.body.message).toMatch(/gateway refused the refund/);
    expect(expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances`), 200).body.balances.USD).toBe('25');
    expect(expectStatus(await tenant.call('GET', `/payment/v1/amount/${transId}?namespace=${tenant.id}`), 200).body.status).toBe('finish');
    expect(expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200).body).toMatchObject({ ok: true });
  });
});
