/**
 * POST /v2alpha/watchers/transfers over HTTP: external watchers report transfers with a watcher key and
 * an HMAC signature (DESIGN §5, §8). The same delivery as the built-in watcher's: below the depth only
 * recorded, a replay credits nothing twice, a report to an open prepay becomes one signal.
 */
import { randomBytes } from 'node:crypto';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client, Connection } from '@temporalio/client';
import { registerDepositAddress, type DepositAddress } from '../../src/chain/deposit-address.ts';
import { signWatcherReport } from '../../src/chain/watcher-signature.ts';
import type { TokenCurrency } from '../../src/domain/money.ts';
import { creditTransferWorkflowId } from '../../src/domain/token-transfer.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { client, expectError, type HttpAnswer } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { balances, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { sqlOn } from '../helpers/db.ts';
import { freshPrePayId } from '../helpers/watcher.ts';

const CHAIN_ID = 31337;
const SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const DEPOSIT_XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('legal winner thank year wave sausage worth useful legal winner thank yellow')).derive(
  "m/44'/60'/0'/0",
).publicExtendedKey;

let stack: TestStack;
let operator: ReturnType<typeof client>;
let watcherKey: string;
let temporal: { connection: Connection; client: Client };
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  stack = await startStack({ CHAIN_ID: String(CHAIN_ID), WATCHER_SIGNING_SECRET: SECRET, DEPOSIT_XPUB, CHAIN_CONFIRMATIONS: '12' });
  operator = client(stack.url, stack.operatorKey);
  watcherKey = expectStatus(await operator('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } }), 201).body.api_key;
  temporal = await connectTemporal({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE });
  stopWorker = await stack.startWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await temporal?.connection.close();
  await stack?.close();
});

const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`;

async function depositAddress(tenant: TestTenant, token: TokenCurrency, prePayId = freshPrePayId()): Promise<DepositAddress> {
  return registerDepositAddress(stack.orm.em.fork(), { tenantId: tenant.id, prePayId, token, chainId: CHAIN_ID, depositXpub: DEPOSIT_XPUB });
}

function report(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    chain_id: CHAIN_ID,
    token: 'USDT_ERC20',
    tx_hash: hex(32),
    log_index: 3,
    block_number: 19_000_000,
    block_hash: hex(32),
    from: hex(20),
    to: hex(20),
    amount: '1.000001',
    confirmations: 12,
    ...overrides,
  };
}

interface PostOptions {
  key?: string;
  secret?: string;
  /** seconds added to now in the signature timestamp */
  skew?: number;
  signature?: string | null;
  tamper?: (raw: string) => string;
}

async function post(body: Record<string, unknown> | string, options: PostOptions = {}): Promise<HttpAnswer> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000) + (options.skew ?? 0);
  const signature = options.signature === undefined ? signWatcherReport(options.secret ?? SECRET, timestamp, raw) : options.signature;
  const headers: Record<string, string> = signature === null ? {} : { 'X-Watcher-Signature': signature };
  return client(stack.url, options.key ?? watcherKey)('POST', '/v2alpha/watchers/transfers', { rawBody: options.tamper ? options.tamper(raw) : raw, headers });
}

const sql = sqlOn(() => stack.orm);

async function creditFinished(body: Record<string, unknown>): Promise<void> {
  await temporal.client.workflow
    .getHandle(creditTransferWorkflowId(await installationOf(stack.orm), { chainId: CHAIN_ID, txHash: String(body.tx_hash), logIndex: Number(body.log_index) }))
    .result();
}

async function transferCount(txHash: unknown): Promise<number> {
  const [row] = await sql<{ count: string }>('select count(*)::text as count from chain_transfers where tx_hash = ?', [txHash]);
  return Number(row!.count);
}

describe('the watcher route', () => {
  it('credits a reported transfer once, however often the report is replayed', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const body = report({ to: deposit.checksumAddress, amount: '1.000001' });
    const first = expectStatus(await post(body), 200);
    expect(first.body).toEqual({
      code: 0,
      message: 'success',
      status: 'credited',
      reason: 'no_open_prepay',
      duplicate: false,
      required_confirmations: 12,
      pre_pay_id: deposit.prePayId,
      trans_id: expect.stringMatching(/^tr_/),
    });
    await creditFinished(body);

    // re-signed later, and the very same signed request again, in parallel
    const replays = await Promise.all([post(body), post(body), post(body)]);
    for (const replay of replays) expect(replay.body).toMatchObject({ status: 'credited', duplicate: true, trans_id: first.body.trans_id });
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '1.000001', ANKR_ERC20: '0' });
    const [ledger] = await sql<{ count: string }>('select count(*)::text as count from ledger_transactions where tenant_id = ?', [tenant.id]);
    expect(ledger!.count).toBe('1');
    expect(await transferCount(body.tx_hash)).toBe(1);

    // listed under the token balance, exactly; the seed's /payment/v1/amounts keeps to the USD balance
    expect(expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances/USDT_ERC20/transactions`), 200).body).toEqual({
      transactions: [
        {
          trans_id: first.body.trans_id,
          created_at: expect.stringMatching(/Z$/),
          amount: '1.000001',
          currency: 'USDT_ERC20',
          description: expect.any(String),
          payment_method: 'token',
          status: 'finish',
        },
      ],
      has_more: false,
    });
    expect(expectStatus(await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances/USD/transactions`), 200).body).toEqual({ transactions: [], has_more: false });
    expect(expectStatus(await tenant.call('GET', `/payment/v1/amounts?namespace=${tenant.id}`), 200).body).toEqual([]);
    expect((await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances/USD/transactions?starting_after=${first.body.trans_id}`)).status).toBe(404);
    expect((await tenant.call('GET', `/v2alpha/teams/${tenant.id}/balances/DOGE/transactions`)).body.error).toEqual({ type: 'invalid_request', field: 'currency' });
  });

  it('credits ANKR to the last of its 18 decimals', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    const body = report({ token: 'ANKR_ERC20', to: deposit.address, amount: '98765.123456789012345678' });
    expect(expectStatus(await post(body), 200).body.status).toBe('credited');
    await creditFinished(body);
    expect((await balances(tenant)).ANKR_ERC20).toBe('98765.123456789012345678');
  });

  it('only records a transfer below the confirmation depth, and credits it when reported deep enough', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const shallow = report({ to: deposit.address, amount: '250', confirmations: 11 });
    expect(expectStatus(await post(shallow), 200).body).toMatchObject({ status: 'seen', reason: 'below_depth', duplicate: false });
    const [row] = await sql<{ status: string; confirmations: number }>('select status, confirmations from chain_transfers where tx_hash = ?', [shallow.tx_hash]);
    expect(row).toEqual({ status: 'seen', confirmations: 11 });
    expect((await balances(tenant)).USDT_ERC20).toBe('0');

    const deep = { ...shallow, confirmations: 40 };
    expect(expectStatus(await post(deep), 200).body).toMatchObject({ status: 'credited', duplicate: false });
    await creditFinished(deep);
    expect((await balances(tenant)).USDT_ERC20).toBe('250');
  });

  it('records a transfer to an address that is not a deposit address without crediting anyone', async () => {
    const body = report();
    expect(expectStatus(await post(body), 200).body).toEqual({
      code: 0,
      message: 'success',
      status: 'seen',
      reason: 'unknown_address',
      duplicate: false,
      required_confirmations: 12,
    });
    const [row] = await sql<{ status: string; tenant_id: string | null }>('select status, tenant_id from chain_transfers where tx_hash = ?', [body.tx_hash]);
    expect(row).toEqual({ status: 'seen', tenant_id: null });
  });

  it('signals an open prepay once, even when the report is replayed', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    // Stands in for the PrepayWorkflow: on a queue no worker polls it stays open and records its signals.
    const prepay = await temporal.client.workflow.start('tokenPrepayStandIn', {
      workflowId: prepayWorkflowId(await installationOf(stack.orm), deposit.prePayId),
      taskQueue: uniqueId('no-worker'),
      args: [],
    });
    try {
      const body = report({ to: deposit.address, amount: '33.3' });
      expect(expectStatus(await post(body), 200).body).toMatchObject({ status: 'signalled', reason: 'prepay_open', duplicate: false, pre_pay_id: deposit.prePayId });
      expect(expectStatus(await post(body), 200).body).toMatchObject({ status: 'signalled', duplicate: true });
      const history = await prepay.fetchHistory();
      const signals = (history.events ?? []).flatMap((event) => (event.workflowExecutionSignaledEventAttributes ? [event.workflowExecutionSignaledEventAttributes] : []));
      expect(signals.map((signal) => [signal.signalName, defaultPayloadConverter.fromPayload(signal.input!.payloads![0]!)])).toEqual([
        [
          'tokenTransfer',
          { chainId: CHAIN_ID, txHash: body.tx_hash, logIndex: 3, token: 'USDT_ERC20', amount: '33.3', from: body.from, to: deposit.address, blockNumber: 19_000_000 },
        ],
      ]);
      expect((await balances(tenant)).USDT_ERC20).toBe('0');
    } finally {
      await prepay.terminate('test over');
    }
  });

  it('refuses a report whose signature is wrong, stale, from the future, missing or over another body', async () => {
    const body = report();
    expectError(await post(body, { secret: `whsec_${randomBytes(24).toString('hex')}` }), 401, 'invalid_signature', 'X-Watcher-Signature');
    expectError(await post(body, { skew: -310 }), 401, 'invalid_signature', 'X-Watcher-Signature');
    expectError(await post(body, { skew: 310 }), 401, 'invalid_signature', 'X-Watcher-Signature');
    expectError(await post(body, { signature: null }), 401, 'invalid_signature', 'X-Watcher-Signature');
    expectError(await post(body, { signature: 'v1=abc' }), 401, 'invalid_signature', 'X-Watcher-Signature');
    expectError(await post(body, { tamper: (raw) => raw.replace('"1.000001"', '"1000.000001"') }), 401, 'invalid_signature', 'X-Watcher-Signature');
    // within the tolerance either way
    expect((await post(report(), { skew: -290 })).status).toBe(200);
    expect((await post(report(), { skew: 290 })).status).toBe(200);
    expect(await transferCount(body.tx_hash)).toBe(0);
  });

  it('accepts only watcher keys', async () => {
    const tenant = await createTenant(stack);
    const body = report();
    expectError(await post(body, { key: tenant.key }), 403, 'forbidden');
    expectError(await post(body, { key: stack.operatorKey }), 403, 'forbidden');
    expectError(await post(body, { key: 'pk_watcher_not-a-real-key' }), 401, 'unauthorized');
    const revoked = expectStatus(await operator('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } }), 201).body;
    expectStatus(await operator('DELETE', `/operator/v1/api_keys/${revoked.key_id}`), 200);
    expectError(await post(body, { key: revoked.api_key }), 401, 'unauthorized');
    expect(await transferCount(body.tx_hash)).toBe(0);
  });

  it('refuses a bad report with a 400 that names the field and records nothing', async () => {
    const cases: [Record<string, unknown> | string, string][] = [
      [report({ amount: '1.0000001' }), 'amount'],
      [report({ token: 'ANKR_ERC20', amount: '1.0000000000000000001' }), 'amount'],
      [report({ amount: '0' }), 'amount'],
      [report({ amount: '-1' }), 'amount'],
      [report({ amount: '1e3' }), 'amount'],
      [report({ amount: 1.5 }), 'amount'],
      [report({ token: 'BTC' }), 'token'],
      [report({ tx_hash: '0x1234' }), 'tx_hash'],
      [report({ block_hash: 42 }), 'block_hash'],
      [report({ to: 'not-an-address' }), 'to'],
      [report({ log_index: -1 }), 'log_index'],
      [report({ confirmations: 1.5 }), 'confirmations'],
      [report({ extra: true }), 'extra'],
    ];
    for (const [body, field] of cases) {
      const answer = await post(body);
      expect([field, answer.status, answer.body?.error]).toEqual([field, 400, { type: 'invalid_request', field }]);
    }
    expectError(await post(report({ chain_id: 1 })), 422, 'unprocessable', 'chain_id');
    expectError(await post('{"chain_id": 31337,'), 400, 'invalid_json');
    const [row] = await sql<{ count: string }>(`select count(*)::text as count from chain_transfers where amount in (1.0000001, 1e3, 1.5) or to_address = 'not-an-address'`);
    expect(row!.count).toBe('0');
  });

  it('refuses a second report that changes the facts of a recorded transfer', async () => {
    const body = report({ confirmations: 2 });
    expectStatus(await post(body), 200);
    expectError(await post({ ...body, amount: '2' }), 409, 'conflict', 'tx_hash');
    const [row] = await sql<{ amount: string }>('select amount::text as amount from chain_transfers where tx_hash = ?', [body.tx_hash]);
    expect(row!.amount).toBe('1.000001');
  });

  it('keeps one deposit address per prepay', async () => {
    const tenant = await createTenant(stack);
    const other = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    expect(await depositAddress(tenant, 'ANKR_ERC20', deposit.prePayId)).toEqual(deposit);
    await expect(depositAddress(other, 'ANKR_ERC20', deposit.prePayId)).rejects.toThrow(/already has another deposit address/);
  });
});

describe('the watcher route without a chain', () => {
  it('answers 503 with a clear message when WATCHER_SIGNING_SECRET or CHAIN_ID is not configured', async () => {
    const bare = await startStack();
    try {
      const key = expectStatus(await client(bare.url, bare.operatorKey)('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } }), 201).body.api_key;
      const answer = await client(bare.url, key)('POST', '/v2alpha/watchers/transfers', { body: report() });
      expectError(answer, 503, 'service_unavailable');
      expect(answer.body.message).toMatch(/CHAIN_ID and WATCHER_SIGNING_SECRET/);
    } finally {
      await bare.close();
    }
  });
});
