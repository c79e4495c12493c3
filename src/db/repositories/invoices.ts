/**
 * The invoice report: a tenant's prepay payments summed per calendar month and currency, net of refunds
 * (GET /v2alpha/{team_id}/invoice_list). SQL is the point here: one grouped query, no entity.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Dec, type Currency } from '../../domain/money.ts';

/** A tenant's payments of one calendar month (UTC) in one currency, net of partial refunds. */
export interface MonthlyPayments {
  /** first day of the month, `YYYY-MM-01` */
  month: string;
  currency: Currency;
  usd: Dec;
  amount: Dec;
  /** icons of the apps bound to the prepays paid for, sorted, without blanks */
  iconUrls: string[];
}

/**
 * Payments (initial and renewals) grouped by calendar month of payment and currency, newest month
 * first. Fully refunded payments do not count; a partly refunded one counts what was kept.
 * `from`/`to` are months (`YYYY-MM`), inclusive.
 */
export async function monthlyPayments(em: EntityManager, tenantId: string, range: { from?: string; to?: string } = {}): Promise<MonthlyPayments[]> {
  const rows = await em.execute<{ month: string; currency: Currency; usd: string; amount: string; icon_urls: string[] }[]>(
    `select to_char(date_trunc('month', pp.paid_at at time zone 'UTC'), 'YYYY-MM-DD') as month, pp.currency,
            sum(pp.usd - pp.refunded_usd)::text as usd, sum(pp.amount - pp.refunded_amount)::text as amount,
            coalesce(array_agg(distinct p.icon_url order by p.icon_url) filter (where p.icon_url is not null and p.icon_url <> ''), '{}') as icon_urls
       from prepay_payments pp join prepays p on p.id = pp.prepay_id
      where pp.tenant_id = ? and pp.refunded_amount < pp.amount
        and (?::text is null or pp.paid_at >= (?::text || '-01')::timestamp at time zone 'UTC')
        and (?::text is null or pp.paid_at < ((?::text || '-01')::timestamp + interval '1 month') at time zone 'UTC')
      group by 1, 2
      order by 1 desc, 2`,
    [tenantId, range.from ?? null, range.from ?? null, range.to ?? null, range.to ?? null],
  );
  return rows.map((row) => ({ month: row.month, currency: row.currency, usd: new Dec(row.usd), amount: new Dec(row.amount), iconUrls: row.icon_urls }));
}
