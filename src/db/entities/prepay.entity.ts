import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { Currency } from '../../domain/money.ts';
import type { PrepayStatus } from '../../domain/prepay.ts';

/**
 * The prepays read model as the API shows it (migration 0004): one row per prepay. Read through this entity;
 * written only by SQL in db/repositories (the id's idempotent allocation and the workflow's snapshots ordered
 * by `sync_seq` are the point of those statements). The bound app is flattened into its columns; two
 * columns are computed from the payments and the deposit address.
 */
export const PrepayRecord = defineEntity({
  name: 'PrepayRecord',
  tableName: 'prepays',
  properties: {
    /** a BIP32 child index for token prepays, so a number (well below 2^31) */
    id: p.bigint('number').primary(),
    tenantId: p.string().fieldName('tenant_id'),
    paymentType: p.string().fieldName('payment_type').$type<Currency>(),
    quoteId: p.uuid().fieldName('quote_id').nullable(),
    cardId: p.string().fieldName('card_id').nullable(),
    period: p.integer(),
    autoRenewal: p.boolean().fieldName('auto_renewal'),
    status: p.string().$type<PrepayStatus>(),
    /** the current cycle's price in the payment currency, and its USD value */
    amount: p.decimal('string'),
    usd: p.decimal('string'),
    cycle: p.integer(),
    monthsRecognized: p.integer().fieldName('months_recognized'),
    appId: p.string().fieldName('app_id').nullable(),
    clusterId: p.string().fieldName('cluster_id').nullable(),
    chartName: p.string().fieldName('chart_name').nullable(),
    cpuLimit: p.integer().fieldName('cpu_limit').nullable(),
    memLimit: p.integer().fieldName('mem_limit').nullable(),
    storageLimit: p.integer().fieldName('storage_limit').nullable(),
    iconUrl: p.string().fieldName('icon_url').nullable(),
    projectName: p.string().fieldName('project_name').nullable(),
    boundAt: p.datetime().fieldName('bound_at').nullable(),
    periodStart: p.datetime().fieldName('period_start').nullable(),
    periodEnd: p.datetime().fieldName('period_end').nullable(),
    failureCode: p.string().fieldName('failure_code').nullable(),
    /** token prepays: token units counted toward the first payment so far */
    receivedAmount: p.decimal('string').fieldName('received_amount'),
    /** token prepays: when the first payment's window closes (the quote's rate-lock expiry) */
    paymentDeadline: p.datetime().fieldName('payment_deadline').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
    /** USD refunded over all cycles */
    refundedUsd: p.string().formula((cols) => `(select coalesce(sum(pp.refunded_usd), 0)::text from prepay_payments pp where pp.prepay_id = ${cols.id})`),
    /** token prepays: the deposit address, lower-case */
    depositAddress: p
      .string()
      .formula((cols) => `(select d.address from deposit_addresses d where d.pre_pay_id = ${cols.id})`)
      .nullable(),
  },
});
export type PrepayRecord = InferEntity<typeof PrepayRecord>;
