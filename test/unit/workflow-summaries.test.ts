/**
 * The wording of what operators read in the Temporal UI (decision 0101): start summaries and details, timer
 * and activity summaries. Exact strings, money never through a float, and every summary within the server's
 * 200 bytes whatever the input.
 */
import { DEFAULT_WEBHOOK_SETTINGS } from '../../src/domain/webhooks.ts';
import {
  activitySummary,
  clipSummary,
  currentDetails,
  formatDuration,
  formatMoney,
  shortHex,
  startMetadata,
  SUMMARY_MAX_BYTES,
  timerSummary,
} from '../../src/domain/workflow-summaries.ts';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

const cardPrepay = { prePayId: 12, tenantId: 'acme', paymentType: 'USD', cardId: 'card_1', period: 12, autoRenewal: true, amount: '134.87' };
const tokenPrepay = {
  prePayId: 13,
  tenantId: 'acme',
  paymentType: 'ANKR_ERC20',
  cardId: null,
  period: 1,
  autoRenewal: false,
  amount: '2500.000000000000000001',
  usd: '30',
  tokenPayment: { depositAddress: '0x52908400098527886E0F7030069857D2E4169EE7', deadline: '2027-01-01T00:00:00.000Z' },
};

describe('money in summaries', () => {
  it('shows USD to the cent, tokens exactly, and never rounds or goes through a float', () => {
    expect(formatMoney('USD', '134.87')).toBe('USD 134.87');
    expect(formatMoney('USD', '10')).toBe('USD 10.00');
    expect(formatMoney('USD', '10.5')).toBe('USD 10.50');
    // finer than a cent (a share of a token prepay's USD value): kept, not rounded
    expect(formatMoney('USD', '0.005')).toBe('USD 0.005');
    expect(formatMoney('USD', '12345678901234567890.12')).toBe('USD 12345678901234567890.12');
    expect(formatMoney('ANKR_ERC20', '2500.000000000000000001')).toBe('ANKR_ERC20 2500.000000000000000001');
    expect(formatMoney('USDT_ERC20', '1.500000')).toBe('USDT_ERC20 1.5');
  });

  it('shows an amount that is no plain decimal as it came, and a missing one as ?, without throwing', () => {
    expect(formatMoney('USD', '1e3')).toBe('USD 1e3');
    expect(formatMoney('USD', '')).toBe('USD ');
    expect(formatMoney('USD', undefined)).toBe('USD ?');
  });
});

describe('workflow starts', () => {
  it('a card prepay: prepay, team, price, months, card; the details name the card and the renewal', () => {
    const metadata = startMetadata.prepay(cardPrepay);
    expect(metadata.staticSummary).toBe('Prepay 12 · team acme · USD 134.87 · 12 months · card');
    expect(metadata.staticDetails).toContain('- Price: USD 134.87, charged to card `card_1`');
    expect(metadata.staticDetails).toContain('- Auto-renewal: on');
  });

  it('a token prepay: its token amount exactly, the USD value, and its deposit address in the details', () => {
    const metadata = startMetadata.prepay(tokenPrepay);
    expect(metadata.staticSummary).toBe('Prepay 13 · team acme · ANKR_ERC20 2500.000000000000000001 (USD 30.00) · 1 month · token');
    expect(metadata.staticDetails).toContain('`0x52908400098527886E0F7030069857D2E4169EE7`');
    expect(metadata.staticDetails).toContain('2027-01-01T00:00:00.000Z');
    expect(metadata.staticDetails).toContain('- Auto-renewal: off');
  });

  it('the other workflows', () => {
    expect(startMetadata.abandonedPrepay({ prePayId: 7, tenantId: 'acme' }).staticSummary).toBe('Abandoned prepay 7 · team acme · tombstone: never charged');
    const subscription = { subscriptionId: 'sub_1', tenantId: 'acme', planId: 'pro', billPeriod: 'M', price: '10.5', period: 1, status: 'active' };
    expect(startMetadata.subscription(subscription).staticSummary).toBe('Subscription pro · team acme · USD 10.50 monthly');
    expect(startMetadata.subscription({ ...subscription, billPeriod: 'Y', price: '100' }).staticSummary).toBe('Subscription pro · team acme · USD 100.00 yearly');
    const recharge = startMetadata.recharge({ transId: 'tr_1', tenantId: 'acme', cardId: 'card_1', amount: '42.42', description: 'Balance\nrecharge' });
    expect(recharge.staticSummary).toBe('Recharge tr_1 · team acme · USD 42.42');
    expect(recharge.staticDetails).toContain('- Description: Balance recharge');
    expect(startMetadata.refund({ transId: 'tr_1', reason: 'charged twice' }).staticSummary).toBe('Refund tr_1 · charged twice');
    const transfer = {
      chainId: 1,
      txHash: `0x${'ab'.repeat(32)}`,
      logIndex: 3,
      token: 'USDT_ERC20',
      amount: '12.5',
      from: '0x1',
      to: '0x2',
      blockNumber: 100,
    };
    const credit = startMetadata.creditTransfer({ transfer, tenantId: 'acme', prePayId: null, reason: 'no_open_prepay' });
    expect(credit.staticSummary).toBe('Transfer credit · team acme · USDT_ERC20 12.5 · no open prepay takes it');
    expect(credit.staticDetails).toContain(transfer.txHash);
    const delivery = { endpointId: 'we_1', eventId: 'evt_1', generation: 1, scheduleSeconds: [...DEFAULT_WEBHOOK_SETTINGS.scheduleSeconds] };
    expect(startMetadata.webhookDelivery(delivery, 'acme').staticSummary).toBe('Webhook delivery evt_1 → we_1 · team acme');
    expect(startMetadata.webhookDelivery({ ...delivery, generation: 2 }, null).staticSummary).toBe('Webhook delivery evt_1 → we_1 · platform · generation 2');
    expect(startMetadata.reconcile({ intervalSeconds: 300, graceSeconds: 900 }).staticSummary).toBe('Reconcile · repair what crashes left behind · every 5 min');
    expect(startMetadata.systemCheck({ requestedBy: 'operator' }).staticSummary).toBe('System check · requested by operator · API → Temporal → worker → PostgreSQL');
  });

  it('keeps every summary on one line and within the server limit, cutting a long one with …', () => {
    const long = startMetadata.prepay({ ...cardPrepay, tenantId: `tenant-${'é'.repeat(300)}` }).staticSummary;
    expect(bytes(long)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(long.startsWith('Prepay 12 · team tenant-é')).toBe(true);
    expect(long.endsWith('…')).toBe(true);
    expect(startMetadata.refund({ transId: 'tr_1', reason: 'line one\n\tline two  ' }).staticSummary).toBe('Refund tr_1 · line one line two');
    // a four-byte character is never cut in half
    const emoji = clipSummary('😀'.repeat(100));
    expect(bytes(emoji)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(emoji).toBe(`${'😀'.repeat(49)}…`);
    expect(clipSummary('short')).toBe('short');
  });
});

describe('current details', () => {
  it('a prepay run: its summary first (a continued run has no static one), then where it is', () => {
    const details = currentDetails.prepay({ ...cardPrepay, amount: '150', cycle: 2, status: 'active', monthsRecognized: 3, periodEnd: '2028-01-01T00:00:00.000Z' });
    expect(details.split('\n')).toEqual([
      'Prepay 12 · team acme · USD 150.00 · 12 months · card',
      '',
      '- Cycle 2: active',
      '- 3 of 12 months recognised; the period ends 2028-01-01T00:00:00.000Z',
      '- Auto-renewal: on; card `card_1`',
    ]);
    expect(currentDetails.prepay({ ...tokenPrepay, cycle: 1, status: 'awaiting_payment', monthsRecognized: 0, periodEnd: null })).not.toContain('recognised');
  });

  it('a subscription run: its summary, its period and what comes next unless paid', () => {
    const state = { subscriptionId: 'sub_1', tenantId: 'acme', planId: 'pro', billPeriod: 'M', price: '10.5', period: 3, status: 'arrears' };
    const details = currentDetails.subscription({ ...state, periodStart: '2027-03-01', periodEnd: '2027-04-01', nextDeadline: '2027-03-08' });
    expect(details.split('\n')).toEqual([
      'Subscription pro · team acme · USD 10.50 monthly',
      '',
      '- Period 3 (2027-03-01 → 2027-04-01): arrears',
      '- Unless paid, the next step is due 2027-03-08',
    ]);
  });
});

describe('timers', () => {
  it('name the durable waits as an operator says them', () => {
    expect(timerSummary.monthEnds(3, 12)).toBe('month 3 of 12 ends');
    expect(timerSummary.bindingDeadline('USD 134.87')).toBe('binding deadline · USD 134.87 back unless an app is bound');
    expect(timerSummary.renewalNotice(7 * 86_400_000)).toBe('renewal notice · 7 days before the period ends');
    expect(timerSummary.renewalAttempt(2, 4, 'charge USD 140.00')).toBe('renewal attempt 2 of 4 · charge USD 140.00');
    expect(timerSummary.paymentDeadline('ANKR_ERC20 2500')).toBe('payment deadline · ANKR_ERC20 2500 due');
    expect(timerSummary.tokenRenewalTry(1, 4, 'ANKR_ERC20')).toBe('renewal try 1 of 4 · from the ANKR_ERC20 balance');
    expect(timerSummary.tokenRenewalTry(4, 4, 'ANKR_ERC20')).toBe('grace period ends · last renewal try from the ANKR_ERC20 balance');
    expect(timerSummary.subscriptionPeriodEnds(3, '10.5', false)).toBe('period 3 ends · renew for USD 10.50 from the balance');
    expect(timerSummary.subscriptionPeriodEnds(3, '10.5', true)).toBe('period 3 ends · then the subscription ends');
    expect(timerSummary.unpaidWait(false, false, 86_400_000)).toBe('retry the charge in 1 day · in arrears');
    expect(timerSummary.unpaidWait(false, true, 86_400_000)).toBe('grace period ends · suspend unless paid');
    expect(timerSummary.unpaidWait(true, true, 86_400_000)).toBe('suspension ends · cancel unless paid');
    expect(timerSummary.webhookAttempt(1, 12, 5_000)).toBe('first attempt in 5 s');
    expect(timerSummary.webhookAttempt(3, 12, 300_000)).toBe('retry in 5 min · attempt 3 of 12');
  });

  it('formats waits in s, min, h and days', () => {
    expect([5_000, 300_000, 1_800_000, 7_200_000, 5_400_000, 86_400_000, 3 * 86_400_000].map(formatDuration)).toEqual([
      '5 s',
      '5 min',
      '30 min',
      '2 h',
      '1.5 h',
      '1 day',
      '3 days',
    ]);
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('activity calls', () => {
  it('say what the call does with whose money', () => {
    expect(activitySummary.chargeCard('134.87', 'card_1', 'prepay 12, cycle 1')).toBe('charge USD 134.87 to card card_1 · prepay 12, cycle 1');
    expect(activitySummary.bookPrepayPayment('134.87', 'ch_1', 1)).toBe('book USD 134.87 paid by ch_1 · cycle 1');
    expect(activitySummary.bookTokenPrepayPayment('ANKR_ERC20', '2500', '30', 2, 'balance')).toBe('book ANKR_ERC20 2500 (USD 30.00) from the ANKR_ERC20 balance · cycle 2');
    expect(activitySummary.recognisePrepayMonth(3, 12, 'USD', '11.24')).toBe('recognise month 3 of 12 · USD 11.24 earned');
    expect(activitySummary.refundPrepay('USD', '100', false, 'no app was bound in time')).toBe('refund USD 100.00 to the card · no app was bound in time');
    expect(activitySummary.refundPrepay('ANKR_ERC20', '500', true, 'canceled')).toBe("return ANKR_ERC20 500 to the team's balance · canceled");
    expect(activitySummary.syncPrepay('active', 4)).toBe('read model: active · write 4');
    expect(activitySummary.creditTokenTransfer({ token: 'USDT_ERC20', amount: '1.000001', txHash: `0x${'cd'.repeat(32)}`, logIndex: 0 }, 12)).toBe(
      "credit USDT_ERC20 1.000001 to the team's balance · tx 0xcdcdcdcd…cdcd:0 · reserved for prepay 12",
    );
    expect(activitySummary.webhookAttempt('evt_1', 'we_1', 3, 12)).toBe('POST evt_1 to we_1 · attempt 3 of 12');
    expect(shortHex('0x1234')).toBe('0x1234');
  });
});
