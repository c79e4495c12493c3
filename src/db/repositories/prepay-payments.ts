/**
 * `prepay_payments`: one row per paid cycle of a prepay (its currency, amount, USD value, the gateway charge
 * or ledger transaction that paid it, and what was refunded of it). Written by src/ledger/prepays.ts.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Dec, type Currency } from '../../domain/money.ts';
import { toDate } from '../rows.ts';

export interface PrepayPayment {
  prePayId: number;
  cycle: number;
  currency: Currency;
  paymentMethod: 'card' | 'token' | 'balance';
  amount: Dec;
  usd: Dec;
  gatewayChargeId: string | null;
  ledgerTransactionId: string;
  paidAt: Date;
  refundedAmount: Dec;
}

export async function findPrepayPayment(em: EntityManager, prePayId: number, cycle: number): Promise<PrepayPayment | null> {
  const [row] = await em.execute<
    {
      cycle: number;
      currency: Currency;
      payment_method: PrepayPayment['paymentMethod'];
      amount: string;
      usd: string;
      gateway_charge_id: string | null;
      ledger_transaction_id: string;
      paid_at: Date | string;
      refunded_amount: string;
    }[]
  >(
    `select cycle, currency, payment_method, amount::text as amount, usd::text as usd, gateway_charge_id, ledger_transaction_id, paid_at, refunded_amount::text as refunded_amount
       from prepay_payments where prepay_id = ? and cycle = ?`,
    [prePayId, cycle],
  );
  if (!row) return null;
  return {
    prePayId,
    cycle: row.cycle,
    currency: row.currency,
    paymentMethod: row.payment_method,
    amount: new Dec(row.amount),
    usd: new Dec(row.usd),
    gatewayChargeId: row.gateway_charge_id,
    ledgerTransactionId: row.ledger_transaction_id,
    paidAt: toDate(row.paid_at),
    refundedAmount: new Dec(row.refunded_amount),
  };
}
