/**
 * The token path of PrepayWorkflow on the time-skipping test server with the real activities and ledger:
 * transfers counted once toward the payment, the excess and every later transfer on the team's token
 * balance, underpayment at the deadline, the binding timeout's credit back, and renewals paid from the
 * balance at the current rate with a grace period for a deposit. Every scenario's histories are replayed.
 */
import type { Orm } from '../../src/db/orm.ts';
import { monthlyPayments } from '../../src/db/repositories/invoices.ts';
import { findPrepay } from '../../src/db/repositories/prepays.ts';
import { monthBoundary } from '../../src/domain/calendar.ts';
import type { TokenCurrency } from '../../src/domain/money.ts';
import { tenantBalances } from '../../src/ledger/ledger.ts';
import { bindAppUpdate, cancelUpdate, statusQuery, tokenTransferSignal, type PrepayResult, type PrepayView } from '../../src/workflows/prepay.ts';
import {
  appOn,
  advanceClockTo,
  createCluster,
  createTeam,
  moneyOf,
  openTokenPrepay,
  replayHistories,
  setClusterPrice,
  setTokenRate,
  startPrepayHarness,
  transferOf,
  type PrepayHarness,
} from '../helpers/prepay-harness.ts';
import { queryBetweenTasks, terminateWhenIdle, updateBetweenTasks } from '../helpers/time-skipping.ts';
import { eventually } from '../helpers/wait.ts';

const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;
const WINDOW = 15 * 60 * 1000;

let harness: PrepayHarness;
beforeAll(async () => {
  harness = await startPrepayHarness();
});
afterAll(async () => {
  await harness?.close();
});

const handleOf = (workflowId: string) => harness.env.client.workflow.getHandle(workflowId);
const statusOf = (workflowId: string) => queryBetweenTasks(handleOf(workflowId), statusQuery);
const send = (workflowId: string, transfer: ReturnType<typeof transferOf>) => handleOf(workflowId).signal(tokenTransferSignal, transfer);
const replay = (workflowId: string, scenario: string) => replayHistories(harness, workflowId, scenario);

const advanceTo = (at: number) => advanceClockTo(harness.env, at);
/** how long and how often effects that follow a workflow's state (by an activity or a query) are polled */
const POLL = { timeoutMs: 15_000, intervalMs: 100 };

async function balanceOf(orm: Orm, tenantId: string, token: TokenCurrency): Promise<string> {
  return (await tenantBalances(orm.em.fork(), tenantId))[token].toFixed();
}

async function bind(workflowId: string, token: TokenCurrency, app: ReturnType<typeof appOn>, costUsd: string): Promise<PrepayView> {
  return updateBetweenTasks(handleOf(workflowId), bindAppUpdate, { paymentType: token, app, costUsd });
}

/** Polls the status query until `check` holds (signals are handled asynchronously). */
async function statusWhen(workflowId: string, check: (view: PrepayView) => boolean): Promise<PrepayView> {
  return eventually(() => statusOf(workflowId), check, { ...POLL, what: 'status' });
}

async function eventsOf(orm: Orm, tenantId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  return orm.em.fork().execute('select type, data from events where tenant_id = ? order by created_at, type', [tenantId]);
}

describe('a USDT prepay', () => {
  it('is paid by two transfers (one signalled twice), credits a later deposit to the balance, and renews from it at the current price', async () => {
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const app = appOn(clusterId, 1000);
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    expect([prepay.amount, prepay.usd]).toEqual(['10', '10']);

    const first = transferOf('USDT_ERC20', '4.000001');
    await send(prepay.workflowId, first);
    await send(prepay.workflowId, first); // a watcher that died before recording its delivery sends it again
    const partial = await statusWhen(prepay.workflowId, (view) => view.tokenPayment?.received === '4.000001');
    expect(partial).toMatchObject({
      status: 'awaiting_payment',
      tokenPayment: { amount: '10', received: '4.000001', transfers: 1, deadline: new Date(prepay.deadline).toISOString() },
    });
    await send(prepay.workflowId, transferOf('USDT_ERC20', '5.999999'));
    const paid = await statusWhen(prepay.workflowId, (view) => view.status === 'awaiting_binding');
    expect(paid).toMatchObject({ cardId: null, amount: '10', usd: '10', tokenPayment: { received: '10', transfers: 2 } });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('0');
    // the read model follows the workflow's state by an activity
    const row = await eventually(
      () => findPrepay(harness.orm.em.fork(), prepay.prePayId),
      (found) => found?.status === 'awaiting_binding',
      POLL,
    );
    expect(row).toMatchObject({ paymentType: 'USDT_ERC20', cardId: null });
    expect(row!.receivedAmount.toFixed()).toBe('10');

    // After the payment a transfer no longer counts: it goes to the balance, where the renewal finds it.
    const later = transferOf('USDT_ERC20', '12.5');
    await send(prepay.workflowId, later);
    await waitForBalance(team.tenantId, 'USDT_ERC20', '12.5');
    const credited = (
      await eventually(
        () => eventsOf(harness.orm, team.tenantId),
        (events) => events.some((event) => event.type === 'transfer.credited'),
        POLL,
      )
    ).find((event) => event.type === 'transfer.credited');
    expect(credited?.data).toMatchObject({ pre_pay_id: prepay.prePayId, reason: 'payment_window_closed', tx_hash: later.txHash, amount: '12.5' });

    const anchor = new Date((await bind(prepay.workflowId, 'USDT_ERC20', app, '10')).boundAt!);
    await setClusterPrice(harness.orm, clusterId, '12');
    await advanceTo(monthBoundary(anchor, 1).getTime() + HOUR);

    const next = await statusOf(prepay.workflowId);
    expect(next).toMatchObject({ status: 'active', cycle: 2, amount: '12', usd: '12', monthsRecognized: 0, tokenPayment: null, paymentType: 'USDT_ERC20' });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('0.5');
    const money = moneyOf(harness.orm, prepay.prePayId);
    // Cycle 1 earned in USDT; cycle 2 paid from the balance and deferred.
    expect(await money.ledger()).toEqual({ deferred_revenue: '12', revenue: '10', tenant_balance: '-22' });
    expect(await money.monthShares(1)).toEqual(['10']);
    // the later deposit's `transfer.credited` belongs to no cycle
    expect(await money.events()).toEqual(['1:prepay.paid', 'null:transfer.credited', '1:prepay.activated', '1:prepay.renewal_upcoming', '2:prepay.renewed']);
    const payments = await monthlyPayments(harness.orm.em.fork(), team.tenantId);
    expect(payments.map((row) => [row.currency, row.amount.toFixed(), row.usd.toFixed()])).toEqual([
      ['USDT_ERC20', '12', '12'],
      ['USDT_ERC20', '10', '10'],
    ]);
    expect(await replay(prepay.workflowId, 'token-usdt-renewed')).toBe(2);
  });

  it('underpaid at the deadline ends expired, and what arrived stays on the balance', async () => {
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 3,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    expect(prepay.amount).toBe('30');
    await send(prepay.workflowId, transferOf('USDT_ERC20', '29.999999'));
    await statusWhen(prepay.workflowId, (view) => view.tokenPayment?.received === '29.999999');

    const result: PrepayResult = await handleOf(prepay.workflowId).result();
    expect(result).toEqual({ prePayId: prepay.prePayId, status: 'expired', cycle: 1, refundedUsd: '0' });
    expect(await harness.env.currentTimeMs()).toBeGreaterThanOrEqual(prepay.deadline);
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('29.999999');
    const money = moneyOf(harness.orm, prepay.prePayId);
    expect(await money.ledger()).toEqual({});
    expect(await money.payments()).toEqual([]);
    expect((await eventsOf(harness.orm, team.tenantId)).map((event) => [event.type, event.data.reason, event.data.credited])).toEqual([
      ['prepay.expired', 'underpaid', '29.999999'],
    ]);
    expect((await eventsOf(harness.orm, team.tenantId))[0]!.data.prepay).toMatchObject({
      pre_pay_id: prepay.prePayId,
      payment_type: 'USDT_ERC20',
      received_amount: '29.999999',
      // recorded at the deadline, before the final status was saved
      status: 'awaiting_payment',
    });
    const row = await findPrepay(harness.orm.em.fork(), prepay.prePayId);
    expect(row).toMatchObject({ status: 'expired', failureCode: 'underpaid' });
    expect(row!.receivedAmount.toFixed()).toBe('29.999999');
    expect(await replay(prepay.workflowId, 'token-underpaid')).toBe(1);
  });

  it('canceled while waiting for its payment ends canceled, and what arrived stays on the balance', async () => {
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    await send(prepay.workflowId, transferOf('USDT_ERC20', '1'));
    await statusWhen(prepay.workflowId, (view) => view.tokenPayment?.received === '1');
    expect(await updateBetweenTasks(handleOf(prepay.workflowId), cancelUpdate, { reason: 'customer changed their mind' })).toMatchObject({ status: 'canceled' });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('1');
    expect(await moneyOf(harness.orm, prepay.prePayId).ledger()).toEqual({});
  });

  it('paid but never bound is credited back to the token balance after the binding timeout and ends refunded', async () => {
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 2,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    await send(prepay.workflowId, transferOf('USDT_ERC20', '20'));
    await statusWhen(prepay.workflowId, (view) => view.status === 'awaiting_binding');
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('0');

    const result: PrepayResult = await handleOf(prepay.workflowId).result();
    expect(result).toEqual({ prePayId: prepay.prePayId, status: 'refunded', cycle: 1, refundedUsd: '20' });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('20');
    const money = moneyOf(harness.orm, prepay.prePayId);
    expect(await money.ledger()).toEqual({ deferred_revenue: '0', tenant_balance: '0' });
    expect(await money.payments()).toMatchObject([{ cycle: 1, usd: '20', refundedUsd: '20' }]);
    expect(await money.refunds()).toEqual([]); // nothing went to a card gateway
    expect(await money.events()).toEqual(['1:prepay.paid', '1:prepay.refunded']);
    expect(await monthlyPayments(harness.orm.em.fork(), team.tenantId)).toEqual([]);
    expect(await replay(prepay.workflowId, 'token-binding-timeout')).toBe(1);
  });
});

describe('two prepays of one team', () => {
  it("a renewal from the balance never takes tokens that arrived toward another prepay's first payment", async () => {
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    // B: paid, bound, renewing from the balance at the end of its month.
    const renewing = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    await send(renewing.workflowId, transferOf('USDT_ERC20', '10'));
    await statusWhen(renewing.workflowId, (view) => view.status === 'awaiting_binding');
    const end = new Date((await bind(renewing.workflowId, 'USDT_ERC20', appOn(clusterId, 1000), '10')).periodEnd!).getTime();
    // A: 20 USDT due over 40 days; half of it arrives before B's renewal.
    const paying = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 2000,
      period: 1,
      autoRenewal: false,
      paymentWindowMs: 40 * DAY,
    });
    expect(paying.amount).toBe('20');
    await send(paying.workflowId, transferOf('USDT_ERC20', '10'));
    await statusWhen(paying.workflowId, (view) => view.tokenPayment?.received === '10');
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('10');

    // B's renewal finds 10 USDT on the balance, all of them A's: it waits past due instead of taking them.
    await advanceTo(end + HOUR);
    expect(await statusWhen(renewing.workflowId, (view) => view.status === 'past_due')).toMatchObject({ cycle: 1, failureCode: 'insufficient_balance' });

    // A's second half arrives: A is paid in full, from its own transfers.
    await send(paying.workflowId, transferOf('USDT_ERC20', '10'));
    expect(await statusWhen(paying.workflowId, (view) => view.status === 'awaiting_binding')).toMatchObject({ tokenPayment: { received: '20', transfers: 2 } });
    expect(await moneyOf(harness.orm, paying.prePayId).ledger()).toEqual({ deferred_revenue: '20', tenant_balance: '-20' });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('0');
    expect((await statusOf(renewing.workflowId)).status).toBe('past_due');
    expect(await replay(paying.workflowId, 'token-payment-reserved')).toBe(1);
    // Time is the test server's, shared by every workflow: end these so later tests skip time without them.
    await terminateWhenIdle(handleOf(renewing.workflowId));
    await terminateWhenIdle(handleOf(paying.workflowId));
  });

  it("a prepay paid a moment ago whose read model still says awaiting_payment does not hold its tokens against another's payment", async () => {
    // Found by the fault test on a starved core: the first prepay's payment is booked, and the row that says so
    // is written by the next activity. Meanwhile the second one's payment must not count the first's tokens as
    // both spent and reserved.
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const first = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: false,
      paymentWindowMs: WINDOW,
    });
    const second = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: false,
      paymentWindowMs: WINDOW,
    });
    await send(first.workflowId, transferOf('USDT_ERC20', '10'));
    await statusWhen(first.workflowId, (view) => view.status === 'awaiting_binding');
    // the moment between the booking and the row's update, held open
    await harness.orm.em.fork().execute(`update prepays set status = 'awaiting_payment' where id = ?`, [first.prePayId]);
    await send(second.workflowId, transferOf('USDT_ERC20', '10'));
    expect(await statusWhen(second.workflowId, (view) => view.status !== 'awaiting_payment')).toMatchObject({ status: 'awaiting_binding' });
    expect(await moneyOf(harness.orm, second.prePayId).ledger()).toEqual({ deferred_revenue: '10', tenant_balance: '-10' });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('0');
    await terminateWhenIdle(handleOf(first.workflowId));
    await terminateWhenIdle(handleOf(second.workflowId));
  });
});

describe('a transfer mined before the deadline', () => {
  it('counts when it reaches the confirmation depth after the deadline; one mined after it does not', async () => {
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'USDT_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: false,
      paymentWindowMs: WINDOW,
    });
    await send(prepay.workflowId, transferOf('USDT_ERC20', '4'));
    await statusWhen(prepay.workflowId, (view) => view.tokenPayment?.received === '4');
    await advanceTo(prepay.deadline + 60_000); // the window closed a minute ago; the confirmation grace runs

    const minedLate = { ...transferOf('USDT_ERC20', '6'), blockTime: new Date(prepay.deadline + 1_000).toISOString() };
    await send(prepay.workflowId, minedLate);
    await eventually(
      () => eventsOf(harness.orm, team.tenantId),
      (events) => events.some((event) => event.type === 'transfer.credited'),
      POLL,
    );
    expect((await statusOf(prepay.workflowId)).status).toBe('awaiting_payment');
    const minedInTime = { ...transferOf('USDT_ERC20', '6'), blockTime: new Date(prepay.deadline - 5_000).toISOString() };
    await send(prepay.workflowId, minedInTime);
    const paid = await statusWhen(prepay.workflowId, (view) => view.status === 'awaiting_binding');
    expect(paid.tokenPayment).toMatchObject({ received: '10', transfers: 2 });
    expect(await moneyOf(harness.orm, prepay.prePayId).ledger()).toEqual({ deferred_revenue: '10', tenant_balance: '-10' });
    expect(await balanceOf(harness.orm, team.tenantId, 'USDT_ERC20')).toBe('6'); // the late-mined transfer is the team's
    expect(await replay(prepay.workflowId, 'token-mined-before-deadline')).toBe(1);
    await terminateWhenIdle(handleOf(prepay.workflowId)); // time is shared: later tests skip it without this one
  });
});

describe('an ANKR prepay', () => {
  it('overpaid by one wei keeps that wei on the balance; its renewal at a new rate waits past due for a deposit and renews when it arrives', async () => {
    await setTokenRate(harness.orm, 'ANKR_ERC20', '0.05');
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'ANKR_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    expect([prepay.amount, prepay.usd]).toEqual(['200', '10']);
    await send(prepay.workflowId, transferOf('ANKR_ERC20', '200.000000000000000001'));
    await statusWhen(prepay.workflowId, (view) => view.status === 'awaiting_binding');
    expect(await balanceOf(harness.orm, team.tenantId, 'ANKR_ERC20')).toBe('0.000000000000000001');
    const paidEvent = (
      await eventually(
        () => eventsOf(harness.orm, team.tenantId),
        (events) => events.some((event) => event.type === 'prepay.paid'),
        POLL,
      )
    ).find((event) => event.type === 'prepay.paid');
    expect(paidEvent?.data).toMatchObject({ token: 'ANKR_ERC20', amount: '200', received: '200.000000000000000001', excess_credited: '0.000000000000000001', usd: '10' });

    const end = new Date((await bind(prepay.workflowId, 'ANKR_ERC20', appOn(clusterId, 1000), '10')).periodEnd!).getTime();
    await setTokenRate(harness.orm, 'ANKR_ERC20', '0.04'); // 10 USD is now 250 ANKR
    await advanceTo(end + 2 * DAY);
    const pastDue = await statusOf(prepay.workflowId);
    expect(pastDue).toMatchObject({ status: 'past_due', cycle: 1, failureCode: 'insufficient_balance' });
    expect(pastDue.renewal).toEqual({
      amount: '10',
      attempt: 2,
      attempts: 4,
      nextAttemptAt: new Date(end + 3 * DAY).toISOString(),
      lastDeclineCode: 'insufficient_balance',
      tokenAmount: '250',
      graceEndsAt: new Date(end + 7 * DAY).toISOString(),
    });

    // A deposit during the grace period is credited and the renewal tried at once.
    await send(prepay.workflowId, transferOf('ANKR_ERC20', '249.999999999999999999'));
    const renewed = await statusWhen(prepay.workflowId, (view) => view.cycle === 2);
    expect(renewed).toMatchObject({ status: 'active', amount: '250', usd: '10' });
    expect(await balanceOf(harness.orm, team.tenantId, 'ANKR_ERC20')).toBe('0');
    const money = moneyOf(harness.orm, prepay.prePayId);
    expect(await money.ledger()).toEqual({ deferred_revenue: '250', revenue: '200', tenant_balance: '-450' });
    const payments = await money.payments();
    expect(payments.map((payment) => payment.usd)).toEqual(['10', '10']);
    // The next cycle starts where the first ended, although it was paid two days late: the app was served.
    expect(renewed.periodStart).toBe(new Date(end).toISOString());
    expect((await money.events()).at(-1)).toBe('2:prepay.renewed');
    expect(await replay(prepay.workflowId, 'token-ankr-grace-paid')).toBe(2);
  });

  it('whose renewal the balance never pays expires at the end of the grace period', async () => {
    await setTokenRate(harness.orm, 'ANKR_ERC20', '0.05');
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'ANKR_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 1,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    await send(prepay.workflowId, transferOf('ANKR_ERC20', '200'));
    await statusWhen(prepay.workflowId, (view) => view.status === 'awaiting_binding');
    const end = new Date((await bind(prepay.workflowId, 'ANKR_ERC20', appOn(clusterId, 1000), '10')).periodEnd!).getTime();

    const result: PrepayResult = await handleOf(prepay.workflowId).result();
    expect(result).toEqual({ prePayId: prepay.prePayId, status: 'expired', cycle: 1, refundedUsd: '0' });
    expect(await harness.env.currentTimeMs()).toBeGreaterThanOrEqual(end + 7 * DAY);
    const money = moneyOf(harness.orm, prepay.prePayId);
    expect(await money.ledger()).toEqual({ deferred_revenue: '0', revenue: '200', tenant_balance: '-200' });
    expect((await money.events()).at(-1)).toBe('1:prepay.expired');
    expect(await findPrepay(harness.orm.em.fork(), prepay.prePayId)).toMatchObject({ status: 'expired', failureCode: 'insufficient_balance', monthsRecognized: 1 });
    expect(await replay(prepay.workflowId, 'token-grace-expired')).toBe(1);
  });

  it('canceled by an operator in its second of three months gets the last month back on its token balance', async () => {
    await setTokenRate(harness.orm, 'ANKR_ERC20', '0.03');
    const team = await createTeam(harness);
    const clusterId = await createCluster(harness.orm, '10');
    const prepay = await openTokenPrepay(harness, {
      tenantId: team.tenantId,
      token: 'ANKR_ERC20',
      clusterId,
      cpuLimit: 1000,
      period: 3,
      autoRenewal: true,
      paymentWindowMs: WINDOW,
    });
    // 30 USD at 0.03 USD per ANKR: 1000 ANKR, earned 333.333333333333333333 a month, the last month taking the rest
    expect(prepay.amount).toBe('1000');
    await send(prepay.workflowId, transferOf('ANKR_ERC20', '1000'));
    await statusWhen(prepay.workflowId, (view) => view.status === 'awaiting_binding');
    const anchor = new Date((await bind(prepay.workflowId, 'ANKR_ERC20', appOn(clusterId, 1000), '30')).boundAt!);
    await advanceTo(monthBoundary(anchor, 1).getTime() + DAY);

    const canceled = await updateBetweenTasks(handleOf(prepay.workflowId), cancelUpdate, { reason: 'fraud review' });
    expect(canceled).toMatchObject({ status: 'canceled', monthsRecognized: 2, refundedUsd: '10', refundedAmount: '333.333333333333333334' });
    expect(await balanceOf(harness.orm, team.tenantId, 'ANKR_ERC20')).toBe('333.333333333333333334');
    const money = moneyOf(harness.orm, prepay.prePayId);
    expect(await money.monthShares(1)).toEqual(['333.333333333333333333', '333.333333333333333333']);
    expect(await money.ledger()).toEqual({ deferred_revenue: '0', revenue: '666.666666666666666666', tenant_balance: '-666.666666666666666666' });
    const [invoice] = await monthlyPayments(harness.orm.em.fork(), team.tenantId);
    expect([invoice?.amount.toFixed(), invoice?.usd.toFixed()]).toEqual(['666.666666666666666666', '20']);
  });
});

async function waitForBalance(tenantId: string, token: TokenCurrency, expected: string): Promise<void> {
  await eventually(
    () => balanceOf(harness.orm, tenantId, token),
    (balance) => balance === expected,
    POLL,
  );
}
