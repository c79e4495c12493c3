/**
 * GetPreInvoiceList (seed 000): a team's prepayment payments, initial and renewals, grouped by the
 * calendar month (UTC) they were paid in, newest first, with one entry per payment method and the icons
 * of the apps paid for. Refunded payments do not count.
 */
import type { Router } from '@koa/router';
import { monthlyPayments, type MonthlyPayments } from '../../db/repositories/invoices.ts';
import { Dec, PAYMENT_METHOD_NAME, toCanonicalString } from '../../domain/money.ts';
import { parseWith } from '../validation.ts';
import { teamOf } from '../tenancy.ts';
import { InvoiceListQuery } from './schemas.ts';

export function mountInvoiceRoutes(router: Router): void {
  router.get('/:team_id/invoice_list', async (ctx) => {
    const teamId = await teamOf(ctx);
    const range = parseWith(InvoiceListQuery, ctx.query);
    ctx.body = { invoice_list: invoiceList(await monthlyPayments(ctx.state.em, teamId, range)) };
  });
}

const icons = (urls: Iterable<string>) => [...new Set(urls)].sort().map((icon_url) => ({ icon_url }));

/** The seed's shape from rows already grouped by month and currency, newest month first. */
export function invoiceList(rows: MonthlyPayments[]) {
  const months = new Map<string, MonthlyPayments[]>();
  for (const row of rows) months.set(row.month, [...(months.get(row.month) ?? []), row]);
  return [...months.entries()].map(([period, payments]) => ({
    period,
    total_usd: toCanonicalString(payments.reduce((sum, payment) => sum.plus(payment.usd), new Dec(0))),
    icon_url_list: icons(payments.flatMap((payment) => payment.iconUrls)),
    info: payments.map((payment) => ({
      period,
      payment_method: PAYMENT_METHOD_NAME[payment.currency],
      total_usd: toCanonicalString(payment.usd),
      total_amount: toCanonicalString(payment.amount),
      icon_url_list: icons(payment.iconUrls),
    })),
  }));
}
