/**
 * A prepay as the v2alpha routes answer it and as its events carry it: one view, so that a webhook's data is
 * what a GET of the prepay answered at that moment.
 */
import { getAddress } from 'viem';
import { toCanonicalString } from '../../domain/money.ts';
import { formatTimestamp } from '../../domain/format.ts';
import type { Prepay } from '../repositories/prepays.ts';

/** A prepay as the v2alpha routes answer it; amounts are canonical decimal strings, addresses checksummed. */
export function prepayView(prepay: Prepay) {
  const app = prepay.app;
  return {
    pre_pay_id: prepay.id,
    team_id: prepay.tenantId,
    status: prepay.status,
    payment_type: prepay.paymentType,
    amount: toCanonicalString(prepay.amount),
    usd: toCanonicalString(prepay.usd),
    period: prepay.period,
    auto_renewal: prepay.autoRenewal ? 1 : 0,
    card_id: prepay.cardId,
    quote_id: prepay.quoteId,
    cycle: prepay.cycle,
    months_recognized: prepay.monthsRecognized,
    app: app
      ? {
          app_id: app.appId,
          cluster_id: app.clusterId,
          chart_name: app.chartName,
          cpu_limit: app.cpuLimit,
          mem_limit: app.memLimit,
          storage_limit: app.storageLimit,
          icon_url: app.iconUrl,
          project_name: app.projectName,
          bound_at: prepay.boundAt ? formatTimestamp(prepay.boundAt) : null,
        }
      : null,
    period_start: prepay.periodStart ? formatTimestamp(prepay.periodStart) : null,
    period_end: prepay.periodEnd ? formatTimestamp(prepay.periodEnd) : null,
    refunded_usd: toCanonicalString(prepay.refundedUsd),
    // token prepays: where to pay, until when, and how much has arrived toward the first payment
    deposit_address: prepay.depositAddress ? getAddress(prepay.depositAddress) : null,
    payment_deadline: prepay.paymentDeadline ? formatTimestamp(prepay.paymentDeadline) : null,
    received_amount: prepay.paymentType === 'USD' ? null : toCanonicalString(prepay.receivedAmount),
    failure_code: prepay.failureCode,
    created_at: formatTimestamp(prepay.createdAt),
    updated_at: formatTimestamp(prepay.updatedAt),
  };
}
