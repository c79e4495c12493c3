/**
 * The money of prepayments in the ledger. A card payment is not a credit to the tenant's balance: the
 * tenant bought a period of service, so the charge goes from card clearing straight to deferred revenue,
 * each month's share moves from deferred revenue to revenue when that month has been served, and a
 * refund moves what was not served back to card clearing. A token payment comes from the tenant's token
 * balance instead (its transfers were credited there first, so an overpayment simply stays), and its
 * refunds go back to that balance. Each step is one ledger transaction with the step's stable key,
 * written in the same database transaction as the read model it changes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Dec, type Currency } from '../domain/money.ts';
import { prepayKeys } from '../domain/prepay.ts';
import { findPrepayPayment } from '../db/repositories/prepay-payments.ts';
import { accountCode, platform, tenantBalance, type AccountRef } from './accounts.ts';
import { InsufficientBalanceError, recordTransaction } from './ledger.ts';

export interface PrepayPaymentInput {
  prePayId: number;
  tenantId: string;
  cycle: number;
  currency: Currency;
  amount: Dec;
  usd: Dec;
  cardId: string | null;
  gatewayChargeId: string | null;
  paidAt: Date;
  /**
   * `card` (the default): from card clearing. `token`: the transfers of the first cycle, already credited
   * to the tenant's token balance; `balance`: a renewal from that balance. Both debit the tenant balance,
   * which raises InsufficientBalanceError when it does not hold `amount`.
   */
  paymentMethod?: PrepayPaymentMethod;
}

export type PrepayPaymentMethod = 'card' | 'token' | 'balance';

/** Where a prepayment's money comes from and goes back to: card clearing, or the tenant's balance in that currency. */
function payerAccount(method: PrepayPaymentMethod, tenantId: string, currency: Currency): AccountRef {
  return method === 'card' ? platform('card_clearing', currency) : tenantBalance(tenantId, currency);
}

/** Books a cycle's payment (key `prepay-{id}-cycle-{n}`) and lists it for the invoices; safe to repeat. */
export async function bookPrepayPayment(em: EntityManager, input: PrepayPaymentInput): Promise<{ ledgerTransactionId: string }> {
  const method = input.paymentMethod ?? 'card';
  return em.transactional(async (tx) => {
    if (method !== 'card') await assertUnreservedBalance(tx, input);
    const { transactionId } = await recordTransaction(tx, {
      idempotencyKey: prepayKeys.charge(input.prePayId, input.cycle),
      tenantId: input.tenantId,
      kind: 'prepay_payment',
      description: `Prepayment ${input.prePayId}, cycle ${input.cycle}`,
      postings: [
        { account: payerAccount(method, input.tenantId, input.currency), amount: input.amount.negated() },
        { account: platform('deferred_revenue', input.currency), amount: input.amount },
      ],
      metadata: { pre_pay_id: input.prePayId, cycle: input.cycle, gateway_charge_id: input.gatewayChargeId, payment_method: method },
    });
    await tx.execute(
      `insert into prepay_payments (prepay_id, cycle, tenant_id, currency, amount, usd, payment_method, card_id, gateway_charge_id, ledger_transaction_id, paid_at)
       values (?, ?, ?, ?, ?::numeric, ?::numeric, ?, ?, ?, ?, ?) on conflict (prepay_id, cycle) do nothing`,
      [
        input.prePayId,
        input.cycle,
        input.tenantId,
        input.currency,
        input.amount.toFixed(),
        input.usd.toFixed(),
        method,
        input.cardId,
        input.gatewayChargeId,
        transactionId,
        input.paidAt,
      ],
    );
    return { ledgerTransactionId: transactionId };
  });
}

/**
 * A payment from a token balance may not take tokens reserved for another prepay's first payment (decision
 * 0052): under the balance row's lock (so no credit or payment of this balance runs meanwhile), the balance
 * less what other prepays still awaiting their payment have received toward it must cover `amount`. Whether
 * another prepay still awaits its payment is read from the ledger (its first payment's key), not only from
 * its read-model row, which is written a moment after the booking. A payment that was booked already (a
 * retry) passes: its key is written once.
 */
async function assertUnreservedBalance(tx: EntityManager, input: PrepayPaymentInput): Promise<void> {
  // The one row the payment locks, as recordTransaction does (the platform's accounts take no lock: decision 0106).
  const balanceCode = accountCode(tenantBalance(input.tenantId, input.currency));
  const [account] = await tx.execute<{ code: string; balance: string }[]>('select code, balance::text as balance from ledger_accounts where code = ? for update', [balanceCode]);
  // Checked under the lock: a concurrent attempt of this same payment that booked it first makes this one a replay.
  const [booked] = await tx.execute<{ id: string }[]>('select id from ledger_transactions where idempotency_key = ?', [prepayKeys.charge(input.prePayId, input.cycle)]);
  if (booked) return;
  const [reserved] = await tx.execute<{ total: string }[]>(
    `select coalesce(sum(least(r.total, p.amount)), 0)::text as total
       from (select prepay_id, sum(amount) as total from token_payment_reservations
              where tenant_id = ? and currency = ? and prepay_id <> ? group by prepay_id) r
       join prepays p on p.id = r.prepay_id and p.status = 'awaiting_payment' and p.workflow_closed_status is null
      -- the row's status lags the ledger: a first payment already booked (seen under the lock) reserves nothing
      where not exists (select 1 from ledger_transactions l where l.idempotency_key = ? || p.id || ?)`,
    [input.tenantId, input.currency, input.prePayId, 'prepay-', '-cycle-1'],
  );
  const available = new Dec(account?.balance ?? 0).minus(new Dec(reserved!.total));
  if (available.lt(input.amount)) throw new InsufficientBalanceError(input.currency);
}

/** Recognises one month's share as revenue (key `prepay-{id}-cycle-{n}-month-{i}`); safe to repeat. */
export async function recognisePrepayMonth(
  em: EntityManager,
  input: { prePayId: number; tenantId: string; cycle: number; month: number; currency: Currency; amount: Dec },
): Promise<void> {
  await em.transactional(async (tx) => {
    // A share can be zero only for totals of a few cents over many months: nothing to post then.
    if (!input.amount.isZero()) {
      await recordTransaction(tx, {
        idempotencyKey: prepayKeys.month(input.prePayId, input.cycle, input.month),
        tenantId: input.tenantId,
        kind: 'prepay_revenue',
        description: `Prepayment ${input.prePayId}, cycle ${input.cycle}, month ${input.month} earned`,
        postings: [
          { account: platform('deferred_revenue', input.currency), amount: input.amount.negated() },
          { account: platform('revenue', input.currency), amount: input.amount },
        ],
        metadata: { pre_pay_id: input.prePayId, cycle: input.cycle, month: input.month },
      });
    }
    await tx.execute('update prepays set months_recognized = greatest(months_recognized, ?) where id = ? and cycle = ?', [input.month, input.prePayId, input.cycle]);
  });
}

/**
 * Moves `amount` of a cycle's deferred revenue back where it came from — card clearing (the gateway
 * refund `gatewayRefundId` already happened) or the tenant's token balance — and records it on the
 * payment with its USD value (`usd`, `amount` itself for cards); the key makes it happen once.
 */
export async function bookPrepayRefund(
  em: EntityManager,
  input: { prePayId: number; tenantId: string; cycle: number; amount: Dec; usd?: Dec; idempotencyKey: string; reason: string; gatewayRefundId: string | null; refundedAt: Date },
): Promise<void> {
  const usd = input.usd ?? input.amount;
  await em.transactional(async (tx) => {
    const payment = await findPrepayPayment(tx, input.prePayId, input.cycle);
    if (!payment) throw new Error(`prepay ${input.prePayId} has no payment for cycle ${input.cycle}`);
    const { transactionId, created } = await recordTransaction(tx, {
      idempotencyKey: input.idempotencyKey,
      tenantId: input.tenantId,
      kind: 'prepay_refund',
      description: `Refund of prepayment ${input.prePayId}, cycle ${input.cycle}: ${input.reason}`,
      postings: [
        { account: platform('deferred_revenue', payment.currency), amount: input.amount.negated() },
        { account: payerAccount(payment.paymentMethod, input.tenantId, payment.currency), amount: input.amount },
      ],
      metadata: { pre_pay_id: input.prePayId, cycle: input.cycle, refunds: payment.ledgerTransactionId, gateway_refund_id: input.gatewayRefundId, reason: input.reason },
    });
    if (!created) return;
    await tx.execute(
      `update prepay_payments set refunded_amount = refunded_amount + ?::numeric, refunded_usd = refunded_usd + ?::numeric,
              refund_ledger_transaction_id = ?, gateway_refund_id = ?, refunded_at = ?
        where prepay_id = ? and cycle = ?`,
      [input.amount.toFixed(), usd.toFixed(), transactionId, input.gatewayRefundId, input.refundedAt, input.prePayId, input.cycle],
    );
  });
}
