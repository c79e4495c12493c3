import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { Currency } from '../../domain/money.ts';

/** A ledger account: a tenant's balance in one currency, or one of the platform's own accounts. */
export const LedgerAccount = defineEntity({
  name: 'LedgerAccount',
  tableName: 'ledger_accounts',
  properties: {
    id: p.bigint('string').primary(),
    code: p.string().unique(),
    kind: p.string(),
    tenantId: p.string().fieldName('tenant_id').nullable(),
    currency: p.string().$type<Currency>(),
    /** tenant balances only: the cached sum of the postings; null for the platform's accounts (summed on demand) */
    balance: p.decimal('string').nullable(),
    allowNegative: p.boolean().fieldName('allow_negative'),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type LedgerAccount = InferEntity<typeof LedgerAccount>;

/** One balanced movement of money, written once per idempotency key; never changed afterwards. */
export const LedgerTransaction = defineEntity({
  name: 'LedgerTransaction',
  tableName: 'ledger_transactions',
  properties: {
    id: p.uuid().primary(),
    idempotencyKey: p.string().fieldName('idempotency_key').unique(),
    tenantId: p.string().fieldName('tenant_id').nullable(),
    kind: p.string(),
    description: p.string(),
    reversesId: p.uuid().fieldName('reverses_id').nullable(),
    metadata: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type LedgerTransaction = InferEntity<typeof LedgerTransaction>;

export const LedgerPosting = defineEntity({
  name: 'LedgerPosting',
  tableName: 'ledger_postings',
  properties: {
    id: p.bigint('string').primary(),
    transactionId: p.uuid().fieldName('transaction_id'),
    accountId: p.bigint('string').fieldName('account_id'),
    currency: p.string().$type<Currency>(),
    amount: p.decimal('string'),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type LedgerPosting = InferEntity<typeof LedgerPosting>;
