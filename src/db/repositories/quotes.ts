/** Quotes (GetPreAmount's answers), written once each; concurrent quotes share one insert (src/db/batches.ts). */
import type { EntityManager } from '@mikro-orm/postgresql';
import { inBatches } from '../batches.ts';

export interface QuoteRow {
  id: string;
  tenant_id: string | null;
  currency: string;
  cluster_id: string;
  chart_name: string;
  cpu_limit: number;
  mem_limit: number;
  storage_limit: number;
  period: number;
  /** exact decimal texts */
  usd: string;
  amount: string;
  rate: string;
  created_at: Date;
  expires_at: Date;
}

const COLUMNS = 'id, tenant_id, currency, cluster_id, chart_name, cpu_limit, mem_limit, storage_limit, period, usd, amount, rate, created_at, expires_at';

/** Stores the quote; answered once it is committed. */
export function insertQuote(em: EntityManager, quote: QuoteRow): Promise<void> {
  return quoteInserts(em, quote);
}

const quoteInserts = inBatches<QuoteRow, void>(
  async (em, quotes) => {
    await em.execute(
      `insert into quotes (${COLUMNS})
       select ${COLUMNS} from jsonb_to_recordset(?::jsonb) as q(id uuid, tenant_id text, currency text, cluster_id text, chart_name text, cpu_limit int,
         mem_limit int, storage_limit int, period int, usd numeric, amount numeric, rate numeric, created_at timestamptz, expires_at timestamptz)`,
      [JSON.stringify(quotes)],
    );
    return quotes.map(() => undefined);
  },
  async (em, quote) => {
    await em.execute(`insert into quotes (${COLUMNS}) values (?::uuid, ?, ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?::numeric, ?::numeric, ?, ?)`, [
      quote.id,
      quote.tenant_id,
      quote.currency,
      quote.cluster_id,
      quote.chart_name,
      quote.cpu_limit,
      quote.mem_limit,
      quote.storage_limit,
      quote.period,
      quote.usd,
      quote.amount,
      quote.rate,
      quote.created_at,
      quote.expires_at,
    ]);
  },
);
