/**
 * The sandbox card gateway against the run's real PostgreSQL: every test card's outcome, replays of a
 * repeated idempotency key, the transient-failure sequence, concurrency, and bounded refunds.
 */
import { randomUUID } from 'node:crypto';
import { initOrm, type Orm } from '../../src/db/orm.ts';
import { Dec } from '../../src/domain/money.ts';
import { CardDeclinedError, GatewayUnavailableError, InvalidCardTokenError, type CardGateway, type ChargeRequest } from '../../src/gateway/card-gateway.ts';
import { countCharges, countRefunds, createSandboxGateway } from '../../src/gateway/sandbox-gateway.ts';
import { testRun } from '../helpers/test-run.ts';

let orm: Orm;
let gateway: CardGateway;
const tenantId = `tenant-${randomUUID()}`;

beforeAll(async () => {
  orm = await initOrm(testRun().databaseUrl, { poolMax: 10 });
  gateway = createSandboxGateway({ orm });
});
afterAll(async () => {
  await orm.close();
});

const key = (label: string) => `${label}-${randomUUID()}`;

async function card(token: string): Promise<string> {
  return (await gateway.tokenise(token, tenantId)).gatewayRef;
}

function chargeOf(cardRef: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  return { idempotencyKey: key('charge'), cardRef, amount: new Dec('12.34'), currency: 'USD', offSession: false, description: 'test charge', ...overrides };
}

async function attemptsOf(idempotencyKey: string): Promise<number> {
  const [row] = await orm.em.fork().execute<{ attempts: number }[]>('select attempts from sandbox_charges where idempotency_key = ?', [idempotencyKey]);
  return row!.attempts;
}

async function declineOf(promise: Promise<unknown>): Promise<CardDeclinedError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CardDeclinedError);
  return error as CardDeclinedError;
}

describe('tokenise', () => {
  it.each([
    ['tok_visa', 'visa', '4242'],
    ['tok_mastercard', 'mastercard', '4444'],
    ['tok_chargeDeclined', 'visa', '0002'],
    ['tok_chargeDeclinedInsufficientFunds', 'visa', '9995'],
    ['tok_chargeDeclinedExpiredCard', 'visa', '0069'],
    ['tok_authenticationRequired', 'visa', '3184'],
    ['tok_transientFailure', 'visa', '0119'],
  ])('stores %s as a fresh card reference with brand %s and last4 %s', async (token, brand, last4) => {
    const first = await gateway.tokenise(token, tenantId);
    const second = await gateway.tokenise(token, tenantId);
    expect(first).toEqual({ gatewayRef: expect.stringMatching(/^card_sbx_[0-9a-f]{24}$/), brand, last4, expMonth: 12, expYear: new Date().getUTCFullYear() + 5 });
    expect(second.gatewayRef).not.toBe(first.gatewayRef);
    const rows = await orm.em.fork().execute<{ token: string; tenant_id: string }[]>('select token, tenant_id from sandbox_cards where ref = ?', [first.gatewayRef]);
    expect(rows).toEqual([{ token, tenant_id: tenantId }]);
  });

  it('rejects a token it does not know, and stores nothing', async () => {
    const before = await orm.em.fork().execute<{ n: string }[]>('select count(*) as n from sandbox_cards');
    await expect(gateway.tokenise('tok_unknown', tenantId)).rejects.toThrow(InvalidCardTokenError);
    await expect(gateway.tokenise('toString', tenantId)).rejects.toThrow(InvalidCardTokenError);
    const after = await orm.em.fork().execute<{ n: string }[]>('select count(*) as n from sandbox_cards');
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('charge', () => {
  it('charges tok_visa once and replays the same charge for a repeated key', async () => {
    const cardRef = await card('tok_visa');
    const request = chargeOf(cardRef);
    const first = await gateway.charge(request);
    expect(first.chargeId).toMatch(/^ch_sbx_[0-9a-f]{24}$/);
    expect(first.amount.eq('12.34')).toBe(true);

    const again = await gateway.charge({ ...request, description: 'a retry may describe itself differently' });
    expect(again.chargeId).toBe(first.chargeId);
    expect(await countCharges(orm, { cardRef })).toBe(1);
    expect(await countCharges(orm, { idempotencyKey: request.idempotencyKey })).toBe(1);
    expect(await attemptsOf(request.idempotencyKey)).toBe(1);
  });

  it('charges the same card again under another key', async () => {
    const cardRef = await card('tok_mastercard');
    const first = await gateway.charge(chargeOf(cardRef));
    const second = await gateway.charge(chargeOf(cardRef, { amount: new Dec('0.5') }));
    expect(second.chargeId).not.toBe(first.chargeId);
    expect(second.amount.eq('0.50')).toBe(true);
    expect(await countCharges(orm, { cardRef })).toBe(2);
  });

  it('refuses a repeated key with another amount, card or session, and charges nothing more', async () => {
    const cardRef = await card('tok_visa');
    const otherCard = await card('tok_visa');
    const request = chargeOf(cardRef);
    await gateway.charge(request);
    await expect(gateway.charge({ ...request, amount: new Dec('12.35') })).rejects.toThrow(/already used for another charge \(different amount\)/);
    await expect(gateway.charge({ ...request, cardRef: otherCard })).rejects.toThrow(/different card/);
    await expect(gateway.charge({ ...request, offSession: true })).rejects.toThrow(/different offSession/);
    expect(await countCharges(orm, { cardRef })).toBe(1);
    expect(await countCharges(orm, { cardRef: otherCard })).toBe(0);
    // the same amount written differently is the same charge
    expect((await gateway.charge({ ...request, amount: new Dec('12.340') })).amount.eq('12.34')).toBe(true);
  });

  it.each([
    ['tok_chargeDeclined', 'generic_decline'],
    ['tok_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
    ['tok_chargeDeclinedExpiredCard', 'expired_card'],
  ])('declines %s with %s, and replays the same decline without a new attempt', async (token, declineCode) => {
    const cardRef = await card(token);
    const request = chargeOf(cardRef, { offSession: true });
    const first = await declineOf(gateway.charge(request));
    expect(first.declineCode).toBe(declineCode);
    expect(first.message).not.toBe('');

    const replay = await declineOf(gateway.charge(request));
    expect({ code: replay.declineCode, message: replay.message }).toEqual({ code: first.declineCode, message: first.message });
    expect(await attemptsOf(request.idempotencyKey)).toBe(1);
    expect(await countCharges(orm, { cardRef })).toBe(0);
  });

  it('declines tok_authenticationRequired off-session and charges it on-session', async () => {
    const cardRef = await card('tok_authenticationRequired');
    const offSession = await declineOf(gateway.charge(chargeOf(cardRef, { offSession: true })));
    expect(offSession.declineCode).toBe('authentication_required');
    expect(await countCharges(orm, { cardRef })).toBe(0);

    const onSession = await gateway.charge(chargeOf(cardRef, { offSession: false }));
    expect(onSession.chargeId).toMatch(/^ch_sbx_/);
    expect(await countCharges(orm, { cardRef })).toBe(1);
  });

  it('fails tok_transientFailure twice per key with an outage, then charges once and replays', async () => {
    const cardRef = await card('tok_transientFailure');
    const request = chargeOf(cardRef, { offSession: true });
    await expect(gateway.charge(request)).rejects.toThrow(GatewayUnavailableError);
    await expect(gateway.charge(request)).rejects.toThrow(GatewayUnavailableError);
    expect(await countCharges(orm, { cardRef })).toBe(0);
    const third = await gateway.charge(request);
    const fourth = await gateway.charge(request);
    expect(fourth.chargeId).toBe(third.chargeId);
    expect(await attemptsOf(request.idempotencyKey)).toBe(3);
    expect(await countCharges(orm, { cardRef })).toBe(1);

    // another key on the same card starts its own sequence
    await expect(gateway.charge(chargeOf(cardRef))).rejects.toThrow(GatewayUnavailableError);
  });

  it('charges exactly once when 20 attempts with one key race', async () => {
    const cardRef = await card('tok_visa');
    const request = chargeOf(cardRef);
    const results = await Promise.all(Array.from({ length: 20 }, () => gateway.charge(request)));
    expect(new Set(results.map((result) => result.chargeId)).size).toBe(1);
    expect(await countCharges(orm, { cardRef })).toBe(1);
    expect(await attemptsOf(request.idempotencyKey)).toBe(1);
  });

  it('counts the racing attempts of a flaky card one by one: two outages, then one charge for all the rest', async () => {
    const cardRef = await card('tok_transientFailure');
    const request = chargeOf(cardRef);
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => gateway.charge(request)));
    const rejected = settled.filter((outcome) => outcome.status === 'rejected');
    const chargeIds = new Set(settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.chargeId] : [])));
    expect(rejected).toHaveLength(2);
    for (const outcome of rejected) expect(outcome.reason).toBeInstanceOf(GatewayUnavailableError);
    expect(chargeIds.size).toBe(1);
    expect(await countCharges(orm, { cardRef })).toBe(1);
    expect(await attemptsOf(request.idempotencyKey)).toBe(3);
  });

  it('remembers a charge across a restart (a new process with its own connection pool)', async () => {
    const cardRef = await card('tok_visa');
    const request = chargeOf(cardRef);
    const first = await gateway.charge(request);
    const otherOrm = await initOrm(testRun().databaseUrl, { poolMax: 2 });
    try {
      const replay = await createSandboxGateway({ orm: otherOrm }).charge(request);
      expect(replay.chargeId).toBe(first.chargeId);
      expect(await countCharges(otherOrm, { cardRef })).toBe(1);
    } finally {
      await otherOrm.close();
    }
  });

  it('rejects an unknown card, a non-positive amount and fractions of a cent, recording nothing', async () => {
    await expect(gateway.charge(chargeOf('card_sbx_missing'))).rejects.toThrow(InvalidCardTokenError);
    const cardRef = await card('tok_visa');
    for (const amount of ['0', '-1', '1.005']) {
      await expect(gateway.charge(chargeOf(cardRef, { amount: new Dec(amount) }))).rejects.toThrow(RangeError);
    }
    const rows = await orm.em.fork().execute('select 1 from sandbox_charges where card_ref = ?', [cardRef]);
    expect(rows).toHaveLength(0);
  });
});

describe('refund', () => {
  async function paidCharge(amount: string): Promise<string> {
    const cardRef = await card('tok_visa');
    return (await gateway.charge(chargeOf(cardRef, { amount: new Dec(amount) }))).chargeId;
  }

  it('refunds once per key, up to the charged amount', async () => {
    const chargeId = await paidCharge('10.00');
    const refundKey = key('refund');
    const first = await gateway.refund({ idempotencyKey: refundKey, chargeId, amount: new Dec('4') });
    expect(first.refundId).toMatch(/^re_sbx_[0-9a-f]{24}$/);
    expect(await gateway.refund({ idempotencyKey: refundKey, chargeId, amount: new Dec('4.00') })).toEqual(first);
    expect(await countRefunds(orm, { chargeId })).toBe(1);

    await expect(gateway.refund({ idempotencyKey: refundKey, chargeId, amount: new Dec('5') })).rejects.toThrow(/already used for another refund/);
    await expect(gateway.refund({ idempotencyKey: key('refund'), chargeId, amount: new Dec('6.01') })).rejects.toThrow(/exceeds what is left to refund .*\(6\.00\)/);
    const rest = await gateway.refund({ idempotencyKey: key('refund'), chargeId, amount: new Dec('6.00') });
    expect(rest.refundId).not.toBe(first.refundId);
    await expect(gateway.refund({ idempotencyKey: key('refund'), chargeId, amount: new Dec('0.01') })).rejects.toThrow(/exceeds/);
    expect(await countRefunds(orm, { chargeId })).toBe(2);
  });

  it('keeps concurrent refunds of one charge within its amount', async () => {
    const chargeId = await paidCharge('10.00');
    const settled = await Promise.allSettled(Array.from({ length: 8 }, () => gateway.refund({ idempotencyKey: key('refund'), chargeId, amount: new Dec('3.00') })));
    expect(settled.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    expect(await countRefunds(orm, { chargeId })).toBe(3);
  });

  it('refuses an unknown charge, a key of another charge and a non-positive amount', async () => {
    await expect(gateway.refund({ idempotencyKey: key('refund'), chargeId: 'ch_sbx_missing', amount: new Dec('1') })).rejects.toThrow(/No sandbox charge/);
    const chargeId = await paidCharge('5.00');
    const otherChargeId = await paidCharge('5.00');
    const refundKey = key('refund');
    await gateway.refund({ idempotencyKey: refundKey, chargeId, amount: new Dec('1') });
    await expect(gateway.refund({ idempotencyKey: refundKey, chargeId: otherChargeId, amount: new Dec('1') })).rejects.toThrow(/already used/);
    await expect(gateway.refund({ idempotencyKey: key('refund'), chargeId, amount: new Dec('0') })).rejects.toThrow(RangeError);
    expect(await countRefunds(orm, { chargeId: otherChargeId })).toBe(0);
  });
});
