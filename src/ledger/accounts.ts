/**
 * The chart of accounts. A posting's amount is signed: positive raises the account's balance, negative
 * lowers it, and the postings of one ledger transaction sum to zero per currency. Tenant balances may never
 * go negative (a database check); the platform's own accounts are counterparts and may.
 */
import type { Currency } from '../domain/money.ts';

export const PLATFORM_ACCOUNTS = [
  /** money collected by the card gateway, not yet settled to the platform's bank */
  'card_clearing',
  /** tokens received on chain */
  'token_clearing',
  /** manual credits by an operator (bank transfers and the like) */
  'manual_funding',
  /** money earned */
  'revenue',
  /** paid for, not yet earned (prepayments, recognised month by month) */
  'deferred_revenue',
  /** money returned to customers through their original payment method */
  'refunds',
] as const;
export type PlatformAccount = (typeof PLATFORM_ACCOUNTS)[number];

export type AccountRef = { kind: 'tenant_balance'; tenantId: string; currency: Currency } | { kind: 'platform'; name: PlatformAccount; currency: Currency };

export const tenantBalance = (tenantId: string, currency: Currency): AccountRef => ({ kind: 'tenant_balance', tenantId, currency });
export const platform = (name: PlatformAccount, currency: Currency): AccountRef => ({ kind: 'platform', name, currency });

export function accountCode(ref: AccountRef): string {
  return ref.kind === 'tenant_balance' ? `tenant:${ref.tenantId}:balance:${ref.currency}` : `platform:${ref.name}:${ref.currency}`;
}
