/**
 * The double-entry ledger: the only code that writes postings. One call, one database transaction:
 * the ledger transaction row (unique idempotency key), the postings, and the cached account balances.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../domain/errors.ts';
import { CURRENCIES, Dec, type Currency } from '../domain/money.ts';
import { count } from '../metrics/record.ts';
import { accountCode, tenantBalance, type AccountRef } from './accounts.ts';

export interface PostingInput {
  account: AccountRef;
  /** signed: positive raises the account's balance */
  amount: Dec;
}

export interface TransactionInput {
  /** the ledger transaction's identity: a second call with the same key writes nothing */
  idempotencyKey: string;
  tenantId: string | null;
  kind: string;
  description: string;
  postings: PostingInput[];
  reversesId?: string;
  metadata?: Record<string, unknown>;
}

export interface RecordedTransaction {
  transactionId: string;
  /** false when the idempotency key had already been written (nothing new was posted) */
  created: boolean;
}

/** A tenant balance would go below zero. */
export class InsufficientBalanceError extends AppError {
  constructor(currency: Currency) {
    super('insufficient_balance', `The balance in ${currency} is not enough for this movement.`);
  }
}

/** Checks that postings balance per currency and carry no zero or over-precise amounts. */
export function assertBalanced(postings: PostingInput[]): void {
  if (postings.length < 2) throw new Error('a ledger transaction needs at least two postings');
  const sums = new Map<Currency, Dec>();
  for (const posting of postings) {
    if (posting.amount.isZero()) throw new Error('a posting amount must not be zero');
    if (posting.amount.decimalPlaces() > 18) throw new Error('a posting amount has more than 18 decimals');
    const currency = posting.account.currency;
    sums.set(currency, (sums.get(currency) ?? new Dec(0)).plus(posting.amount));
  }
  for (const [currency, sum] of sums) {
    if (!sum.isZero()) throw new Error(`postings do not sum to zero in ${currency} (${sum.toFixed()})`);
  }
}

/**
 * Writes a balanced ledger transaction exactly once per idempotency key. Concurrent calls with the same
 * key: one writes, the others wait on the unique index and then answer the existing transaction.
 * Balances are updated with `balance = balance + x` under the row lock, in account-id order (no
 * deadlocks between transactions that touch the same accounts); a tenant balance that would go negative
 * aborts the whole transaction with InsufficientBalanceError.
 */
export async function recordTransaction(em: EntityManager, input: TransactionInput): Promise<RecordedTransaction> {
  assertBalanced(input.postings);
  let recorded: RecordedTransaction;
  try {
    recorded = await em.transactional(async (tx) => {
      const id = randomUUID();
      const inserted = await tx.execute<{ id: string }[]>(
        `insert into ledger_transactions (id, idempotency_key, tenant_id, kind, description, reverses_id, metadata)
         values (?, ?, ?, ?, ?, ?, ?::jsonb) on conflict (idempotency_key) do nothing returning id`,
        [id, input.idempotencyKey, input.tenantId, input.kind, input.description, input.reversesId ?? null, JSON.stringify(input.metadata ?? {})],
      );
      if (inserted.length === 0) {
        const [existing] = await tx.execute<{ id: string }[]>('select id from ledger_transactions where idempotency_key = ?', [input.idempotencyKey]);
        if (!existing) throw new Error(`ledger transaction ${input.idempotencyKey} vanished`);
        return { transactionId: existing.id, created: false };
      }

      const accounts = await ensureAccounts(
        tx,
        input.postings.map((posting) => posting.account),
      );
      const ordered = input.postings
        .map((posting) => ({ posting, accountId: accounts.get(accountCode(posting.account))! }))
        .sort((left, right) => (BigInt(left.accountId) < BigInt(right.accountId) ? -1 : 1));
      for (const { posting, accountId } of ordered) {
        // Only a tenant's balance is cached (and checked against going negative) under its row's lock; the
        // platform's accounts are summed on demand, so that no tenant waits on another's movement (decision 0106).
        if (posting.account.kind === 'tenant_balance') {
          await tx.execute('update ledger_accounts set balance = balance + ?::numeric where id = ?', [posting.amount.toFixed(), accountId]);
        }
        await tx.execute('insert into ledger_postings (transaction_id, account_id, currency, amount) values (?, ?, ?, ?::numeric)', [
          id,
          accountId,
          posting.account.currency,
          posting.amount.toFixed(),
        ]);
      }
      return { transactionId: id, created: true };
    });
  } catch (error) {
    const failed = input.postings.find((posting) => posting.account.kind === 'tenant_balance' && posting.amount.isNegative());
    if (failed && isCheckViolation(error)) throw new InsufficientBalanceError(failed.account.currency);
    throw error;
  }
  // Observability, not accounting (decision 0099): a caller's outer transaction may still roll this one back.
  if (recorded.created) {
    for (const currency of new Set(input.postings.map((posting) => posting.account.currency))) count('ledger_transactions_total', { kind: input.kind, currency });
  }
  return recorded;
}

/** Account ids by code, per database (the driver of its ORM): an account, once made, is never removed or renumbered. */
const knownAccounts = new WeakMap<object, Map<string, string>>();

/** The ids of the accounts, made when missing; the ones this process has seen are not asked for again. */
export async function ensureAccounts(tx: EntityManager, refs: AccountRef[]): Promise<Map<string, string>> {
  let known = knownAccounts.get(tx.getDriver());
  if (!known) knownAccounts.set(tx.getDriver(), (known = new Map()));
  const unique = new Map(refs.map((ref) => [accountCode(ref), ref]));
  const ids = new Map<string, string>();
  const missing: [string, AccountRef][] = [];
  for (const [code, ref] of unique) {
    const id = known.get(code);
    if (id) ids.set(code, id);
    else missing.push([code, ref]);
  }
  if (missing.length === 0) return ids;
  const made = new Set<string>();
  for (const [code, ref] of missing) {
    const tenant = ref.kind === 'tenant_balance';
    const [row] = await tx.execute<{ id: string }[]>(
      `insert into ledger_accounts (code, kind, tenant_id, currency, allow_negative, balance) values (?, ?, ?, ?, ?, ${tenant ? '0' : 'null'})
       on conflict (code) do nothing returning id::text as id`,
      [code, tenant ? 'tenant_balance' : ref.name, tenant ? ref.tenantId : null, ref.currency, !tenant],
    );
    if (row) {
      ids.set(code, row.id);
      made.add(code);
    }
  }
  const existing = missing.filter(([code]) => !made.has(code)).map(([code]) => code);
  if (existing.length > 0) {
    const rows = await tx.execute<{ id: string; code: string }[]>(
      `select id::text as id, code from ledger_accounts where code in (${existing.map(() => '?').join(', ')})`,
      existing,
    );
    for (const row of rows) {
      ids.set(row.code, row.id);
      // made by a committed transaction: it stays. One made here is remembered only when seen again, since
      // this transaction (or the caller's around it) may still roll back.
      known.set(row.code, row.id);
    }
  }
  return ids;
}

function isCheckViolation(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  return code === '23514' || /violates check constraint/.test(String((error as Error)?.message));
}

/** The postings of a transaction negated: what a refund or reversal writes. */
export async function reversalPostings(em: EntityManager, transactionId: string): Promise<PostingInput[]> {
  const rows = await em.execute<{ code: string; kind: string; tenant_id: string | null; currency: Currency; amount: string }[]>(
    `select a.code, a.kind, a.tenant_id, p.currency, p.amount::text as amount
       from ledger_postings p join ledger_accounts a on a.id = p.account_id where p.transaction_id = ?`,
    [transactionId],
  );
  return rows.map((row) => ({
    account: row.kind === 'tenant_balance' ? tenantBalance(row.tenant_id!, row.currency) : { kind: 'platform', name: row.kind as never, currency: row.currency },
    amount: new Dec(row.amount).negated(),
  }));
}

/** A tenant's balance in every currency ("0" where it has none). */
export async function tenantBalances(em: EntityManager, tenantId: string): Promise<Record<Currency, Dec>> {
  const rows = await em.execute<{ currency: Currency; balance: string }[]>(
    `select currency, balance::text as balance from ledger_accounts where kind = 'tenant_balance' and tenant_id = ?`,
    [tenantId],
  );
  const balances = Object.fromEntries(CURRENCIES.map((currency) => [currency, new Dec(0)])) as Record<Currency, Dec>;
  for (const row of rows) balances[row.currency] = new Dec(row.balance);
  return balances;
}

export interface LedgerCheck {
  ok: boolean;
  currencies: { currency: Currency; sum: string }[];
  /** accounts whose cached balance differs from the sum of their postings (should be none) */
  driftedAccounts: string[];
}

/** Proves the books: every currency's postings sum to zero, and every cached balance equals its postings. */
export async function checkLedger(em: EntityManager): Promise<LedgerCheck> {
  const sums = await em.execute<{ currency: Currency; sum: string }[]>(
    'select currency, coalesce(sum(amount), 0)::text as sum from ledger_postings group by currency order by currency',
  );
  // the cached balances (tenants'); the platform's accounts have none: they are their postings' sum
  const drifted = await em.execute<{ code: string }[]>(
    `select a.code from ledger_accounts a left join ledger_postings p on p.account_id = a.id
      where a.balance is not null
      group by a.id, a.code, a.balance having a.balance <> coalesce(sum(p.amount), 0)`,
  );
  const currencies = CURRENCIES.map((currency) => ({ currency, sum: new Dec(sums.find((row) => row.currency === currency)?.sum ?? '0').toFixed() }));
  return {
    ok: currencies.every((row) => new Dec(row.sum).isZero()) && drifted.length === 0,
    currencies,
    driftedAccounts: drifted.map((row) => row.code),
  };
}
