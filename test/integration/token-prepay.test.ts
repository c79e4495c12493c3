/**
 * Token prepayments end to end on a real local chain (anvil), PostgreSQL, the Temporal dev server and a
 * worker: POST /v2alpha/teams/{team_id}/tokens/{type} → ERC20 transfers to the deposit address → the
 * built-in scanner or the watcher route → PrepayWorkflow → CallBackAppInfo. Exact payment, partial
 * transfers, overpayment, underpayment at the deadline, a transfer after the prepay closed, a transfer
 * delivered twice, and ANKR (18 decimals) and USDT (6) to the last unit.
 */
import { randomBytes } from 'node:crypto';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import type { Client, Connection } from '@temporalio/client';
import { getAddress } from 'viem';
import { deliverTransfer } from '../../src/chain/deliver.ts';
import { deriveDepositAddress } from '../../src/chain/deposit-address.ts';
import { transferMovementId } from '../../src/chain/identity.ts';
import { chainSettingsOf } from '../../src/chain/settings.ts';
import { signWatcherReport } from '../../src/chain/watcher-signature.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/money.ts';
import { createLogger } from '../../src/logger.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { createScanner, type Scanner } from '../../src/watcher/scanner.ts';
import { startAnvil, type TestChain } from '../helpers/anvil.ts';
import { appInfo } from '../helpers/apps.ts';
import { client, type HttpAnswer } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { balances, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { sqlOn } from '../helpers/db.ts';
import { eventually } from '../helpers/wait.ts';
import { passAwaitingCredits } from '../helpers/watcher.ts';
import { createCluster } from '../helpers/catalog.ts';

const CONFIRMATIONS = 2;
const QUOTE_TTL_SECONDS = 8;
const SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const DEPOSIT_XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong')).derive("m/44'/60'/0'/0").publicExtendedKey;
const ANKR = 10n ** 18n;
const USDT = 10n ** 6n;

let chain: TestChain;
let stack: TestStack;
let operator: ReturnType<typeof client>;
let watcherKey: string;
let temporal: { connection: Connection; client: Client };
let scanner: Scanner;
let stopWorker: () => Promise<void>;
/** 100 USD per core-month: 1000 millicores for one month cost 100 */
let clusterId: string;

beforeAll(async () => {
  chain = await startAnvil();
  stack = await startStack({
    CHAIN_ID: String(chain.chainId),
    CHAIN_RPC_URL: chain.url,
    DEPOSIT_XPUB,
    TOKEN_ANKR_ERC20_ADDRESS: chain.tokens.ANKR_ERC20,
    TOKEN_USDT_ERC20_ADDRESS: chain.tokens.USDT_ERC20,
    CHAIN_CONFIRMATIONS: String(CONFIRMATIONS),
    WATCHER_SIGNING_SECRET: SECRET,
    WATCHER_START_BLOCK: '0',
    QUOTE_TTL_SECONDS: String(QUOTE_TTL_SECONDS),
    // a transfer mined before the deadline may count for 2 s after it (anvil confirms at once)
    PREPAY_TOKEN_CONFIRMATION_GRACE_SECONDS: '2',
  });
  operator = client(stack.url, stack.operatorKey);
  watcherKey = expectStatus(await operator('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } }), 201).body.api_key;
  clusterId = await createCluster(stack, { cpu_core_month_usd: '100', memory_gib_month_usd: '0', storage_gib_month_usd: '0' }, 'token-cluster');
  expectStatus(await operator('PUT', '/operator/v1/rates/ANKR_ERC20', { body: { usd: '0.032' } }), 200);
  temporal = await connectTemporal({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE });
  await forgetCursors();
  scanner = newScanner();
  await scanner.verifyChain();
  stopWorker = await stack.startWorker();
});
afterAll(async () => {
  if (stack && chain) await forgetCursors();
  await stopWorker?.();
  await temporal?.connection.close();
  await stack?.close();
  await chain?.stop();
});

/** The built-in watcher's scanner; a new one is a restarted watcher (its only state is the cursor in PostgreSQL). */
function newScanner(): Scanner {
  return createScanner({
    orm: stack.orm,
    temporal: temporal.client,
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
    logger: createLogger('silent'),
    clock: systemClock,
    chain: chainSettingsOf(stack.config)!,
    blockRange: 1000,
    startBlock: 0,
  });
}

/**
 * Every test file's anvil has the same chain id and deploys its tokens at the same addresses (same deployer,
 * same nonces), so watcher cursors left by another file's chain would point into blocks this chain does not
 * have; and ours would mislead the next file. Each file starts and ends without them.
 */
async function forgetCursors(): Promise<void> {
  await sql('delete from watcher_cursors where chain_id = ? and token_contract in (?, ?)', [chain.chainId, chain.tokens.ANKR_ERC20, chain.tokens.USDT_ERC20]);
}

const sql = sqlOn(() => stack.orm);

async function quote(tenant: TestTenant, type: string, period = 1): Promise<{ quote_id: string; amount: string; usd: string; expires_at: string }> {
  const body = { cluster_id: clusterId, chart_name: 'nginx', cpu_limit: 1000, mem_limit: 0, storage_limit: 0, period };
  return expectStatus(await tenant.call('POST', `/v2alpha/${type}/acquire_pre_amount`, { body }), 200).body;
}

interface TokenPrepay {
  pre_pay_id: number;
  deposit_address: string;
  token_contract: string;
  token_amount: string;
  expires_at: string;
}

async function tokenPrepay(tenant: TestTenant, type: 'ANKR_ERC20' | 'USDT_ERC20', period = 1): Promise<TokenPrepay> {
  const { quote_id, amount } = await quote(tenant, type, period);
  return expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/${type}`, { body: { quote_id, amount, period, auto_renewal: 1 } }), 200).body;
}

async function prepayOf(tenant: TestTenant, prePayId: number) {
  return expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/prepays/${prePayId}`), 200).body;
}

/** Sends `units` of a token and mines until the transfer is deep enough to count. */
async function pay(token: 'ANKR_ERC20' | 'USDT_ERC20', to: string, units: bigint) {
  const sent = await chain.transfer(token, to, units);
  await chain.mine(CONFIRMATIONS - 1);
  return sent;
}

/** A scanner pass; waits for the credit workflows it started (transfers to closed prepays). */
function scan(with_: Scanner = scanner) {
  return passAwaitingCredits(with_, { orm: stack.orm, temporal: temporal.client, chainId: chain.chainId });
}

/** Reports a mined transfer through the watcher route, as an external watcher would. */
async function report(token: 'ANKR_ERC20' | 'USDT_ERC20', sent: { txHash: `0x${string}` }, amount: string, to: string): Promise<HttpAnswer> {
  const receipt = await chain.client.getTransactionReceipt({ hash: sent.txHash });
  const log = receipt.logs[0]!;
  const body = JSON.stringify({
    chain_id: chain.chainId,
    token,
    tx_hash: sent.txHash,
    log_index: log.logIndex,
    block_number: Number(receipt.blockNumber),
    block_hash: receipt.blockHash,
    from: receipt.from,
    to,
    amount,
    confirmations: (await chain.head()) - Number(receipt.blockNumber) + 1,
  });
  const headers = { 'X-Watcher-Signature': signWatcherReport(SECRET, Math.floor(Date.now() / 1000), body) };
  return client(stack.url, watcherKey)('POST', '/v2alpha/watchers/transfers', { rawBody: body, headers });
}

/** how long and how often effects that follow a transfer (a scan, a workflow, an activity) are polled */
const POLL = { timeoutMs: 20_000, intervalMs: 100 };

const statusOf = (tenant: TestTenant, prePayId: number, status: string) =>
  eventually(
    () => prepayOf(tenant, prePayId),
    (prepay) => prepay.status === status,
    { ...POLL, what: `prepay ${prePayId} ${status}` },
  );

function appBody(prePayId: number) {
  return appInfo(prePayId, clusterId, { app_id: `app-${prePayId}`, icon_url: 'https://icons.example/app.png' });
}

const thisMonth = () => `${new Date().toISOString().slice(0, 7)}-01`;

describe('a token prepayment', () => {
  it('in ANKR (18 decimals), paid exactly and seen by the scanner, is bound and active; a rescan after a restart counts nothing twice', async () => {
    const tenant = await createTenant(stack);
    const { quote_id, amount, expires_at } = await quote(tenant, 'ANKR_ERC20');
    expect(amount).toBe('3125'); // 100 USD at 0.032 USD per ANKR
    const created = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/ANKR_ERC20`, { body: { quote_id, amount, period: 1, auto_renewal: 1 } }), 200).body;
    expect(created).toEqual({
      code: 0,
      message: 'success',
      pre_pay_id: expect.any(Number),
      deposit_address: deriveDepositAddress(DEPOSIT_XPUB, created.pre_pay_id),
      token_contract: getAddress(chain.tokens.ANKR_ERC20),
      token_amount: '3125',
      expires_at,
      chain_id: chain.chainId,
      usd: '100',
    });
    expect(await prepayOf(tenant, created.pre_pay_id)).toMatchObject({
      status: 'awaiting_payment',
      payment_type: 'ANKR_ERC20',
      amount: '3125',
      usd: '100',
      card_id: null,
      quote_id,
      deposit_address: created.deposit_address,
      payment_deadline: expires_at,
      received_amount: '0',
    });

    await pay('ANKR_ERC20', created.deposit_address, 3125n * ANKR);
    await scan();
    const paid = await statusOf(tenant, created.pre_pay_id, 'awaiting_binding');
    expect(paid.received_amount).toBe('3125');
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '0' });

    expect(expectStatus(await tenant.call('POST', '/v2alpha/ANKR_ERC20/callback_app_info', { body: appBody(created.pre_pay_id) }), 200).body).toEqual({
      code: 0,
      message: 'success',
    });
    expect(await prepayOf(tenant, created.pre_pay_id)).toMatchObject({ status: 'active', app: { app_id: `app-${created.pre_pay_id}` } });
    const icons = [{ icon_url: 'https://icons.example/app.png' }];
    expect(expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list`), 200).body).toEqual({
      invoice_list: [
        {
          period: thisMonth(),
          total_usd: '100',
          icon_url_list: icons,
          info: [{ period: thisMonth(), payment_method: 'ANKR', total_usd: '100', total_amount: '3125', icon_url_list: icons }],
        },
      ],
    });

    // A watcher that crashed before saving its cursor scans the same blocks again.
    const genesis = await chain.client.getBlock({ blockNumber: 0n });
    await sql('update watcher_cursors set block_number = 0, block_hash = ? where chain_id = ?', [genesis.hash, chain.chainId]);
    const again = await scan(newScanner());
    expect(again.delivered.filter((outcome) => outcome.prePayId === created.pre_pay_id).map((outcome) => [outcome.status, outcome.duplicate])).toEqual([['signalled', true]]);
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '0' });
    const [ledger] = await sql<{ count: string }>('select count(*)::text as count from ledger_transactions where tenant_id = ?', [tenant.id]);
    expect(ledger!.count).toBe('2'); // the transfer's credit to the balance, and the payment from it
    expect(expectStatus(await operator('GET', '/operator/v1/ledger/check'), 200).body).toMatchObject({ ok: true });
  });

  it('in USDT (6 decimals), paid by two transfers — one reported twice by an external watcher and then seen by the scanner — counts each once', async () => {
    const tenant = await createTenant(stack);
    const created = await tokenPrepay(tenant, 'USDT_ERC20');
    expect(created.token_amount).toBe('100');

    const first = await pay('USDT_ERC20', created.deposit_address, 41_234_567n);
    const reported = expectStatus(await report('USDT_ERC20', first, '41.234567', created.deposit_address), 200).body;
    expect(reported).toMatchObject({ status: 'signalled', reason: 'prepay_open', duplicate: false, pre_pay_id: created.pre_pay_id });
    expect(expectStatus(await report('USDT_ERC20', first, '41.234567', created.deposit_address), 200).body).toMatchObject({ status: 'signalled', duplicate: true });
    const partial = await eventually(
      () => prepayOf(tenant, created.pre_pay_id),
      (prepay) => prepay.received_amount === '41.234567',
      { ...POLL, what: 'the first transfer' },
    );
    expect(partial.status).toBe('awaiting_payment');

    await pay('USDT_ERC20', created.deposit_address, 58_765_433n);
    const pass = await scan();
    expect(pass.delivered.filter((outcome) => outcome.prePayId === created.pre_pay_id).map((outcome) => [outcome.status, outcome.duplicate])).toEqual([
      ['signalled', true],
      ['signalled', false],
    ]);
    expect((await statusOf(tenant, created.pre_pay_id, 'awaiting_binding')).received_amount).toBe('100');
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '0' });
  });

  it('overpaid by the smallest unit keeps exactly that on the balance (1 wei of ANKR, 0.000001 USDT), and a transfer after the payment goes there too', async () => {
    const tenant = await createTenant(stack);
    const ankr = await tokenPrepay(tenant, 'ANKR_ERC20');
    const usdt = await tokenPrepay(tenant, 'USDT_ERC20');
    await pay('ANKR_ERC20', ankr.deposit_address, 3125n * ANKR + 1n);
    await pay('USDT_ERC20', usdt.deposit_address, 100n * USDT + 1n);
    await scan();
    await statusOf(tenant, ankr.pre_pay_id, 'awaiting_binding');
    await statusOf(tenant, usdt.pre_pay_id, 'awaiting_binding');
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0.000001', ANKR_ERC20: '0.000000000000000001' });
    // the event follows the status by an activity
    const events = await eventually(
      () => sql<{ type: string; data: Record<string, unknown> }>(`select type, data from events where tenant_id = ? and type = 'prepay.paid' order by data->>'token'`, [tenant.id]),
      (rows) => rows.length === 2,
      { ...POLL, what: 'both prepay.paid events' },
    );
    expect(events.map((event) => [event.data.token, event.data.amount, event.data.received, event.data.excess_credited])).toEqual([
      ['ANKR_ERC20', '3125', '3125.000000000000000001', '0.000000000000000001'],
      ['USDT_ERC20', '100', '100.000001', '0.000001'],
    ]);

    // The prepay is paid and waits for its app: a further transfer to its address is credited, not counted.
    await pay('USDT_ERC20', usdt.deposit_address, 5n * USDT);
    await scan();
    await eventually(
      () => balances(tenant),
      (balance) => balance.USDT_ERC20 === '5.000001',
      { ...POLL, what: 'the later USDT deposit' },
    );
    expect((await prepayOf(tenant, usdt.pre_pay_id)).received_amount).toBe('100.000001');
  });

  it('underpaid at the deadline ends expired with what arrived on the balance; a transfer after it closed is credited there too', async () => {
    const tenant = await createTenant(stack);
    const { quote_id, amount } = await quote(tenant, 'USDT_ERC20');
    const created = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/USDT_ERC20`, { body: { quote_id, amount, period: 1, auto_renewal: 1 } }), 200).body;
    await pay('USDT_ERC20', created.deposit_address, 99_999_999n);
    await scan();
    await eventually(
      () => prepayOf(tenant, created.pre_pay_id),
      (prepay) => prepay.received_amount === '99.999999',
      { ...POLL, what: 'the short transfer' },
    );

    const result = await temporal.client.workflow.getHandle(prepayWorkflowId(await installationOf(stack.orm), Number(created.pre_pay_id))).result();
    expect(result).toMatchObject({ status: 'expired' });
    expect(Date.now()).toBeGreaterThanOrEqual(new Date(created.expires_at).getTime());
    expect(await prepayOf(tenant, created.pre_pay_id)).toMatchObject({ status: 'expired', failure_code: 'underpaid', received_amount: '99.999999' });
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '99.999999', ANKR_ERC20: '0' });

    const late = await pay('USDT_ERC20', created.deposit_address, 1n);
    const pass = await scan();
    expect(pass.delivered.find((outcome) => outcome.prePayId === created.pre_pay_id && !outcome.duplicate)).toMatchObject({ status: 'credited', reason: 'no_open_prepay' });
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '100', ANKR_ERC20: '0' });
    const [row] = await sql<{ status: string }>('select status from chain_transfers where tx_hash = ?', [late.txHash]);
    expect(row?.status).toBe('credited');
    expect(expectStatus(await tenant.call('GET', `/v2alpha/${tenant.id}/invoice_list`), 200).body).toEqual({ invoice_list: [] });

    // The expired quote cannot open another prepay.
    const again = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/USDT_ERC20`, { body: { quote_id, amount, period: 1, auto_renewal: 1 } });
    expect([again.status, again.body.error]).toEqual([422, { type: 'quote_expired', field: 'quote_id' }]);
  });

  it('records which movement credited a transfer whose credit ran before its delivery was committed (a slow API process)', async () => {
    const tenant = await createTenant(stack);
    const created = await tokenPrepay(tenant, 'USDT_ERC20');
    const transfer = {
      chainId: chain.chainId,
      txHash: `0x${randomBytes(32).toString('hex')}`,
      logIndex: 0,
      token: 'USDT_ERC20' as const,
      from: `0x${randomBytes(20).toString('hex')}`,
      to: created.deposit_address.toLowerCase(),
      amount: new Dec(created.token_amount),
      blockNumber: 1,
      blockHash: `0x${randomBytes(32).toString('hex')}`,
      confirmations: CONFIRMATIONS,
    };
    const movementId = transferMovementId(transfer);
    // The delivery's transaction (which inserted the transfer's row) stays open after its signal until the
    // worker has credited the transfer, or is waiting for that transaction: what a starved API process does.
    const creditedOrWaiting = async () =>
      (await sql('select 1 from money_movements where id = ? and status = ?', [movementId, 'finish'])).length > 0 ||
      (await sql(`select 1 from pg_locks where not granted and database = (select oid from pg_database where datname = current_database())`)).length > 0;
    const slowCommit = {
      workflow: {
        getHandle: (workflowId: string) => ({
          signal: async (...args: unknown[]) => {
            await (temporal.client.workflow.getHandle(workflowId).signal as (...signalArgs: unknown[]) => Promise<void>)(...args);
            await eventually(creditedOrWaiting, Boolean, { ...POLL, what: 'the credit or its wait for the delivery' });
          },
        }),
      },
    } as unknown as Client;
    const outcome = await deliverTransfer(
      { em: stack.orm.em.fork(), temporal: slowCommit, taskQueue: stack.config.TEMPORAL_TASK_QUEUE, logger: createLogger('silent'), now: new Date() },
      transfer,
      { atDepth: true, source: 'route' },
    );
    expect(outcome).toMatchObject({ status: 'signalled', reason: 'prepay_open', prePayId: created.pre_pay_id });

    await statusOf(tenant, created.pre_pay_id, 'awaiting_binding');
    const [row] = await sql<{ status: string; movement_id: string | null }>('select status, movement_id from chain_transfers where tx_hash = ?', [transfer.txHash]);
    expect(row).toEqual({ status: 'signalled', movement_id: movementId });
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '0' });
  });

  it('answers a repeated Idempotency-Key with the same prepay and refuses bad requests with the DESIGN §8 body', async () => {
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const ankrQuote = await quote(tenant, 'ANKR_ERC20', 2);
    const body = { quote_id: ankrQuote.quote_id, amount: ankrQuote.amount, period: 2, auto_renewal: 0 };
    const headers = { 'Idempotency-Key': uniqueId('token-prepay') };
    const first = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/ANKR_ERC20`, { body, headers }), 200);
    const second = expectStatus(await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/ANKR_ERC20`, { body, headers }), 200);
    expect(second.body).toEqual(first.body);
    const [count] = await sql<{ count: string }>('select count(*)::text as count from prepays where tenant_id = ?', [tenant.id]);
    expect(count!.count).toBe('1');

    const usdQuote = await quote(tenant, 'USD');
    const refused = async (path: string, request: Record<string, unknown>, caller = tenant) => {
      const answer = await caller.call('POST', path, { body: request });
      expect(answer.body).toEqual({ code: answer.status, message: expect.stringMatching(/\S/), error: expect.any(Object) });
      return [answer.status, answer.body.error];
    };
    const path = `/v2alpha/teams/${tenant.id}/tokens/ANKR_ERC20`;
    const usd = await tenant.call('POST', `/v2alpha/teams/${tenant.id}/tokens/USD`, { body });
    expect([usd.status, usd.body.error, usd.body.message]).toEqual([400, { type: 'invalid_request', field: 'type' }, expect.stringContaining('/cards/')]);
    expect(await refused(`/v2alpha/teams/${tenant.id}/tokens/BTC`, body)).toEqual([400, { type: 'invalid_request', field: 'type' }]);
    expect(await refused(path, { ...body, quote_id: undefined })).toEqual([400, { type: 'invalid_request', field: 'quote_id' }]);
    expect(await refused(path, { ...body, card_id: 'x' })).toEqual([400, { type: 'invalid_request', field: 'card_id' }]);
    expect(await refused(path, { ...body, amount: 3125 })).toEqual([400, { type: 'invalid_request', field: 'amount' }]);
    expect(await refused(path, { ...body, amount: '6249.99' })).toEqual([422, { type: 'unprocessable', field: 'amount' }]);
    expect(await refused(path, { ...body, period: 3 })).toEqual([422, { type: 'unprocessable', field: 'period' }]);
    expect(await refused(path, { ...body, quote_id: usdQuote.quote_id })).toEqual([422, { type: 'unprocessable', field: 'quote_id' }]);
    expect(await refused(`/v2alpha/teams/${tenant.id}/tokens/USDT_ERC20`, body)).toEqual([422, { type: 'unprocessable', field: 'quote_id' }]);
    expect(await refused(`/v2alpha/teams/${other.id}/tokens/ANKR_ERC20`, body, other)).toEqual([404, { type: 'not_found', field: 'quote_id' }]);
    expect(await refused(path, body, other)).toEqual([403, { type: 'forbidden', field: 'team_id' }]);
    const [after] = await sql<{ count: string }>('select count(*)::text as count from prepays where tenant_id in (?, ?)', [tenant.id, other.id]);
    expect(after!.count).toBe('1');
  });
});
