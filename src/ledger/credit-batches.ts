/**
 * Group commit of new credits (decision 0108). A credit to a tenant balance that is new (its movement id has
 * never been written) waits in a queue of its database while another batch commits; the next batch writes all
 * the credits waiting, whatever their tenants, in ONE database transaction: their movements (already
 * `finish`), one ledger transaction and two postings each (key `movement-{id}`, as settleCredit writes them),
 * and each tenant balance raised once by the batch's sum under its row's lock. A hot tenant's balance row is
 * therefore locked once per batch, not once per movement, and PostgreSQL commits once for all of them.
 *
 * What a caller gets is what settleCredit would have given it: the movement settled exactly once, and the
 * balance right after its own credit (the balance before the batch plus the credits up to its own, in batch
 * order). A credit only ever raises a balance, so no credit of a batch can make another one fail. When a batch
 * fails anyway (an id already written, by a retry of a request that died; a tenant that does not exist; the
 * database), nothing of it is kept and each of its credits is written again one by one by the one-by-one path
 * (createPendingMovement, then settleCredit), so one bad credit never costs the others theirs.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { inBatches } from '../db/batches.ts';
import { Dec } from '../domain/money.ts';
import { count } from '../metrics/record.ts';
import { accountCode, platform, tenantBalance, type AccountRef, type PlatformAccount } from './accounts.ts';
import { ensureAccounts } from './ledger.ts';
import type { Currency } from '../domain/money.ts';

/** A credit of a new movement, and where its money comes from. */
export interface NewCredit {
  id: string;
  tenantId: string;
  kind: string;
  currency: Currency;
  amount: Dec;
  paymentMethod: string;
  description: string;
  cardId?: string | null;
  source: PlatformAccount;
  now: Date;
}

export interface SettledCredit {
  /** the tenant's balance right after this credit */
  balance: Dec;
  /** the ledger transaction that moved it */
  transactionId: string;
}

/** What a batch cannot write; its credits go one by one. */
class BatchRefused extends Error {}

/**
 * Writes a new credit with the credits that arrive while a batch commits (src/db/batches.ts); when the
 * batch cannot take it, by `oneByOne`, which the caller gives (movements.ts: pending movement, then
 * settleCredit). Never inside a caller's transaction.
 */
export function creditInBatch(em: EntityManager, credit: NewCredit, oneByOne: (em: EntityManager, credit: NewCredit) => Promise<SettledCredit>): Promise<SettledCredit> {
  return batched(em, { credit, oneByOne });
}

interface Queued {
  credit: NewCredit;
  oneByOne: (em: EntityManager, credit: NewCredit) => Promise<SettledCredit>;
}

const batched = inBatches<Queued, SettledCredit>(
  (em, queued) =>
    writeBatch(
      em,
      queued.map(({ credit }) => credit),
    ),
  (em, { credit, oneByOne }) => oneByOne(em, credit),
);

async function writeBatch(em: EntityManager, credits: NewCredit[]): Promise<SettledCredit[]> {
  const written = credits.map((credit) => ({
    credit,
    transactionId: randomUUID(),
    tenant: tenantBalance(credit.tenantId, credit.currency),
    from: platform(credit.source, credit.currency),
  }));
  const settled = await em.transactional(async (tx) => {
    const refs = new Map<string, AccountRef>();
    for (const { tenant, from } of written) refs.set(accountCode(tenant), tenant).set(accountCode(from), from);
    const accounts = await ensureAccounts(tx, [...refs.values()]);
    const accountOf = (ref: AccountRef) => accounts.get(accountCode(ref))!;

    const transactions = await tx.execute<{ id: string }[]>(
      `insert into ledger_transactions (id, idempotency_key, tenant_id, kind, description, metadata)
       select id, idempotency_key, tenant_id, kind, description, metadata
         from jsonb_to_recordset(?::jsonb) as t(id uuid, idempotency_key text, tenant_id text, kind text, description text, metadata jsonb)
       on conflict (idempotency_key) do nothing returning id`,
      [
        JSON.stringify(
          written.map(({ credit, transactionId }) => ({
            id: transactionId,
            idempotency_key: `movement-${credit.id}`,
            tenant_id: credit.tenantId,
            kind: credit.kind,
            description: credit.description,
            metadata: { movement_id: credit.id, gateway_charge_id: null },
          })),
        ),
      ],
    );
    if (transactions.length !== written.length) throw new BatchRefused('a credit of the batch was already written');

    const movements = await tx.execute<{ id: string }[]>(
      `insert into money_movements (id, tenant_id, kind, currency, amount, payment_method, description, status, card_id, ledger_transaction_id, created_at, updated_at)
       select id, tenant_id, kind, currency, amount, payment_method, description, 'finish', card_id, ledger_transaction_id, at, at
         from jsonb_to_recordset(?::jsonb) as m(id text, tenant_id text, kind text, currency text, amount numeric, payment_method text, description text,
                                                card_id text, ledger_transaction_id uuid, at timestamptz)
       on conflict (id) do nothing returning id`,
      [
        JSON.stringify(
          written.map(({ credit, transactionId }) => ({
            id: credit.id,
            tenant_id: credit.tenantId,
            kind: credit.kind,
            currency: credit.currency,
            amount: credit.amount.toFixed(),
            payment_method: credit.paymentMethod,
            description: credit.description,
            card_id: credit.cardId ?? null,
            ledger_transaction_id: transactionId,
            at: credit.now.toISOString(),
          })),
        ),
      ],
    );
    if (movements.length !== written.length) throw new BatchRefused('a movement of the batch was already written');

    await tx.execute(
      `insert into ledger_postings (transaction_id, account_id, currency, amount)
       select transaction_id, account_id, currency, amount from jsonb_to_recordset(?::jsonb) as p(transaction_id uuid, account_id bigint, currency text, amount numeric)`,
      [
        JSON.stringify(
          written.flatMap(({ credit, transactionId, tenant, from }) => [
            { transaction_id: transactionId, account_id: accountOf(from), currency: credit.currency, amount: credit.amount.negated().toFixed() },
            { transaction_id: transactionId, account_id: accountOf(tenant), currency: credit.currency, amount: credit.amount.toFixed() },
          ]),
        ),
      ],
    );

    // The balance rows last, locked in id order (as recordTransaction locks them: no deadlock with it), and
    // raised once each: the lock is held for two statements and the commit, whatever the batch's size.
    const tenantAccounts = [...new Set(written.map(({ tenant }) => accountOf(tenant)))];
    const locked = await tx.execute<{ id: string; balance: string }[]>(
      `select id::text as id, balance::text as balance from ledger_accounts where id in (${tenantAccounts.map(() => '?').join(', ')}) order by id for update`,
      tenantAccounts,
    );
    const running = new Map(locked.map((row) => [row.id, new Dec(row.balance)]));
    const before = new Map(running);
    const results = written.map(({ credit, transactionId, tenant }) => {
      const account = accountOf(tenant);
      const balance = running.get(account)!.plus(credit.amount);
      running.set(account, balance);
      return { balance, transactionId };
    });
    await tx.execute(`update ledger_accounts a set balance = a.balance + d.delta from jsonb_to_recordset(?::jsonb) as d(id bigint, delta numeric) where a.id = d.id`, [
      JSON.stringify([...running].map(([id, balance]) => ({ id, delta: balance.minus(before.get(id)!).toFixed() }))),
    ]);
    return results;
  });
  count('ledger_credit_batches_total', {});
  for (const { credit } of written) count('ledger_transactions_total', { kind: credit.kind, currency: credit.currency });
  return settled;
}
