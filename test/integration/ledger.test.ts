/** The ledger against the real PostgreSQL: balanced, once per key, never negative, exact under concurrency, append-only. */
import { Tenant } from '../../src/db/entities/index.ts';
import { initOrm, type Orm } from '../../src/db/orm.ts';
import { Dec } from '../../src/domain/money.ts';
import { platform, tenantBalance } from '../../src/ledger/accounts.ts';
import { checkLedger, InsufficientBalanceError, recordTransaction, tenantBalances } from '../../src/ledger/ledger.ts';
import { uniqueId } from '../helpers/stack.ts';
import { testRun } from '../helpers/test-run.ts';

let orm: Orm;
beforeAll(async () => {
  orm = await initOrm(testRun().databaseUrl, { poolMax: 20 });
});
afterAll(async () => {
  await orm.close();
});

async function newTenant(): Promise<string> {
  const id = uniqueId('ledger');
  const em = orm.em.fork();
  em.create(Tenant, { id, createdAt: new Date() });
  await em.flush();
  return id;
}

const credit = (tenantId: string, key: string, amount: string) =>
  recordTransaction(orm.em.fork(), {
    idempotencyKey: key,
    tenantId,
    kind: 'test_credit',
    description: 'test',
    postings: [
      { account: platform('card_clearing', 'USD'), amount: new Dec(amount).negated() },
      { account: tenantBalance(tenantId, 'USD'), amount: new Dec(amount) },
    ],
  });

const debit = (tenantId: string, key: string, amount: string) =>
  recordTransaction(orm.em.fork(), {
    idempotencyKey: key,
    tenantId,
    kind: 'test_debit',
    description: 'test',
    postings: [
      { account: tenantBalance(tenantId, 'USD'), amount: new Dec(amount).negated() },
      { account: platform('revenue', 'USD'), amount: new Dec(amount) },
    ],
  });

describe('ledger', () => {
  it('refuses postings that do not sum to zero, before touching the database', async () => {
    const tenantId = await newTenant();
    await expect(
      recordTransaction(orm.em.fork(), {
        idempotencyKey: uniqueId('k'),
        tenantId,
        kind: 'broken',
        description: 'broken',
        postings: [
          { account: platform('card_clearing', 'USD'), amount: new Dec('-10') },
          { account: tenantBalance(tenantId, 'USD'), amount: new Dec('10.01') },
        ],
      }),
    ).rejects.toThrow(/do not sum to zero/);
    expect((await tenantBalances(orm.em.fork(), tenantId)).USD.toFixed()).toBe('0');
  });

  it('writes a transaction once per idempotency key', async () => {
    const tenantId = await newTenant();
    const key = uniqueId('once');
    const first = await credit(tenantId, key, '10.10');
    const second = await credit(tenantId, key, '10.10');
    expect(first.created).toBe(true);
    expect(second).toEqual({ transactionId: first.transactionId, created: false });
    expect((await tenantBalances(orm.em.fork(), tenantId)).USD.toFixed()).toBe('10.1');
  });

  it('never lets a tenant balance go negative, and the failed movement leaves nothing behind', async () => {
    const tenantId = await newTenant();
    await credit(tenantId, uniqueId('c'), '5');
    const key = uniqueId('too-much');
    await expect(debit(tenantId, key, '5.01')).rejects.toBeInstanceOf(InsufficientBalanceError);
    expect((await tenantBalances(orm.em.fork(), tenantId)).USD.toFixed()).toBe('5');
    const rows = await orm.em.fork().execute('select id from ledger_transactions where idempotency_key = ?', [key]);
    expect(rows).toHaveLength(0);
  });

  it('keeps the exact balance under 200 concurrent credits and debits', async () => {
    const tenantId = await newTenant();
    await credit(tenantId, uniqueId('seed'), '100');
    const operations = Array.from({ length: 200 }, (_, index) => (index % 2 === 0 ? credit(tenantId, uniqueId('c'), '0.10') : debit(tenantId, uniqueId('d'), '0.07')));
    await Promise.all(operations);
    // 100 + 100 × 0.10 − 100 × 0.07 = 103
    expect((await tenantBalances(orm.em.fork(), tenantId)).USD.toFixed()).toBe('103');
    const check = await checkLedger(orm.em.fork());
    expect(check.ok).toBe(true);
    expect(check.driftedAccounts).toEqual([]);
  });

  it("does not make one tenant's movement wait for another's: the platform's accounts take no lock", async () => {
    const first = await newTenant();
    const second = await newTenant();
    await credit(first, uniqueId('warm'), '1'); // both tenants' and the platform's accounts exist
    await credit(second, uniqueId('warm'), '1');
    // The first tenant's credit is written and held open; it has posted to platform:card_clearing:USD.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let posted!: () => void;
    const inside = new Promise<void>((resolve) => (posted = resolve));
    const open = orm.em.fork().transactional(async (tx) => {
      await recordTransaction(tx, {
        idempotencyKey: uniqueId('open'),
        tenantId: first,
        kind: 'test_credit',
        description: 'held open',
        postings: [
          { account: platform('card_clearing', 'USD'), amount: new Dec('-5') },
          { account: tenantBalance(first, 'USD'), amount: new Dec('5') },
        ],
      });
      posted();
      await held;
    });
    await inside;
    // Meanwhile the second tenant's credit, to the same platform account, commits (it waited on that row before).
    expect(await credit(second, uniqueId('meanwhile'), '2')).toMatchObject({ created: true });
    expect((await tenantBalances(orm.em.fork(), second)).USD.toFixed()).toBe('3');
    release();
    await open;
    expect((await tenantBalances(orm.em.fork(), first)).USD.toFixed()).toBe('6');
    // the platform's accounts keep no cached balance: the check sums their postings
    const [platformRow] = await orm.em.fork().execute<{ balance: string | null }[]>(`select balance from ledger_accounts where code = 'platform:card_clearing:USD'`);
    expect(platformRow!.balance).toBeNull();
    expect(await checkLedger(orm.em.fork())).toMatchObject({ ok: true, driftedAccounts: [] });
  });

  it('is append-only: postings cannot be changed or deleted', async () => {
    const tenantId = await newTenant();
    const { transactionId } = await credit(tenantId, uniqueId('c'), '1');
    await expect(orm.em.fork().execute('update ledger_postings set amount = 2 where transaction_id = ?', [transactionId])).rejects.toThrow(/append-only/);
    await expect(orm.em.fork().execute('delete from ledger_transactions where id = ?', [transactionId])).rejects.toThrow(/append-only/);
  });

  it('rejects an unbalanced transaction written around the code, at commit', async () => {
    const em = orm.em.fork();
    await expect(
      em.transactional(async (tx) => {
        const [row] = await tx.execute<{ id: string }[]>(
          `insert into ledger_transactions (id, idempotency_key, kind, description) values (gen_random_uuid(), ?, 'raw', 'raw') returning id`,
          [uniqueId('raw')],
        );
        const [account] = await tx.execute<{ id: string }[]>(`select id from ledger_accounts where code = 'platform:card_clearing:USD'`);
        await tx.execute(`insert into ledger_postings (transaction_id, account_id, currency, amount) values (?, ?, 'USD', 1)`, [row!.id, account!.id]);
      }),
    ).rejects.toThrow(/does not sum to zero/);
  });
});
