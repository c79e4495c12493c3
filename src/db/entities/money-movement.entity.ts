import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { Currency } from '../../domain/money.ts';

export const MOVEMENT_STATUSES = ['pending', 'finish', 'failed', 'refunded'] as const;
export type MovementStatus = (typeof MOVEMENT_STATUSES)[number];
export const PAYMENT_METHODS = ['balance', 'card', 'token', 'manual'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/**
 * A customer-facing money movement: what `/payment/v1/amounts` lists (`trans_id`). Its money is in the
 * ledger transaction it points to; a refund is a second, reversing ledger transaction.
 */
export const MoneyMovement = defineEntity({
  name: 'MoneyMovement',
  tableName: 'money_movements',
  properties: {
    id: p.string().primary(),
    tenantId: p.string().fieldName('tenant_id'),
    kind: p.string(),
    currency: p.string().$type<Currency>(),
    amount: p.decimal('string'),
    paymentMethod: p.string().fieldName('payment_method').$type<PaymentMethod>(),
    description: p.string(),
    status: p.string().$type<MovementStatus>(),
    cardId: p.string().fieldName('card_id').nullable(),
    gatewayChargeId: p.string().fieldName('gateway_charge_id').nullable(),
    failureCode: p.string().fieldName('failure_code').nullable(),
    failureMessage: p.string().fieldName('failure_message').nullable(),
    ledgerTransactionId: p.uuid().fieldName('ledger_transaction_id').nullable(),
    refundLedgerTransactionId: p.uuid().fieldName('refund_ledger_transaction_id').nullable(),
    gatewayRefundId: p.string().fieldName('gateway_refund_id').nullable(),
    refundReason: p.string().fieldName('refund_reason').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type MoneyMovement = InferEntity<typeof MoneyMovement>;
