/**
 * POST /v2alpha/watchers/transfers with CHAIN_RPC_URL set (decision 0102), on a real local chain (anvil):
 * a report is checked against the node before anything is recorded. A true report is credited once; a
 * report the chain contradicts (amount, recipient, sender, log, block, transaction, token, timestamp) is
 * 422 naming the field, and nothing is recorded or credited; the depth is the node's, never the
 * report's, with a number of confirmations and with `finalized`; a node that cannot answer is 503 and
 * nothing is recorded. watcher-route.test.ts covers the route without an RPC (the report is trusted).
 */
import { randomBytes } from 'node:crypto';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import type { Client, Connection } from '@temporalio/client';
import { createWalletClient, encodeFunctionData, http, parseAbi, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { registerDepositAddress, type DepositAddress } from '../../src/chain/deposit-address.ts';
import { signWatcherReport } from '../../src/chain/watcher-signature.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { fromMinorUnits, type TokenCurrency } from '../../src/domain/money.ts';
import { creditTransferWorkflowId } from '../../src/domain/token-transfer.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { startAnvil, type TestChain } from '../helpers/anvil.ts';
import { sqlOn } from '../helpers/db.ts';
import { client, expectError, type HttpAnswer } from '../helpers/http.ts';
import { startStack, type TestStack } from '../helpers/stack.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { balances, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { until } from '../helpers/wait.ts';
import { freshPrePayId } from '../helpers/watcher.ts';

const CONFIRMATIONS = 3;
/** anvil's `finalized` block is two epochs below the head: 4 blocks with 2 slots an epoch */
const SLOTS_IN_AN_EPOCH = 2;
const SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const DEPOSIT_XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('letter advice cage absurd amount doctor acoustic avoid letter advice cage above')).derive(
  "m/44'/60'/0'/0",
).publicExtendedKey;
const DEPLOYER = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';
/** anvil's second development account: unlocked, holds no tokens */
const PAUPER = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc';

let chain: TestChain;
/** between the counted stack and the node, so that a test can make the node unreachable */
let rpcProxy: TcpProxy;
/** CHAIN_CONFIRMATIONS=3, its node behind rpcProxy */
let counted: Engine;
/** CHAIN_CONFIRMATIONS=finalized, on the same chain and task queue */
let finalized: Engine;
let temporal: { connection: Connection; client: Client };
let stopWorker: () => Promise<void>;

interface Engine {
  stack: TestStack;
  post: (body: Record<string, unknown>) => Promise<HttpAnswer>;
}

async function engine(overrides: Record<string, string>): Promise<Engine> {
  const stack = await startStack({
    CHAIN_ID: String(chain.chainId),
    DEPOSIT_XPUB,
    WATCHER_SIGNING_SECRET: SECRET,
    TOKEN_ANKR_ERC20_ADDRESS: chain.tokens.ANKR_ERC20,
    TOKEN_USDT_ERC20_ADDRESS: chain.tokens.USDT_ERC20,
    ...overrides,
  });
  const key = expectStatus(await client(stack.url, stack.operatorKey)('POST', '/operator/v1/api_keys', { body: { scope: 'watcher' } }), 201).body.api_key;
  const post = async (body: Record<string, unknown>) => {
    const raw = JSON.stringify(body);
    const signature = signWatcherReport(SECRET, Math.floor(Date.now() / 1000), raw);
    return client(stack.url, key)('POST', '/v2alpha/watchers/transfers', { rawBody: raw, headers: { 'X-Watcher-Signature': signature } });
  };
  return { stack, post };
}

beforeAll(async () => {
  chain = await startAnvil({ slotsInAnEpoch: SLOTS_IN_AN_EPOCH });
  const node = new URL(chain.url);
  rpcProxy = await startTcpProxy(node.hostname, Number(node.port));
  counted = await engine({ CHAIN_RPC_URL: `http://${rpcProxy.address}`, CHAIN_CONFIRMATIONS: String(CONFIRMATIONS) });
  // one worker for both stacks: the finalized one starts its credits on the counted one's task queue
  finalized = await engine({ CHAIN_RPC_URL: chain.url, CHAIN_CONFIRMATIONS: 'finalized', TEMPORAL_TASK_QUEUE: counted.stack.config.TEMPORAL_TASK_QUEUE });
  temporal = await connectTemporal({ address: counted.stack.config.TEMPORAL_ADDRESS, namespace: counted.stack.config.TEMPORAL_NAMESPACE });
  stopWorker = await counted.stack.startWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await temporal?.connection.close();
  await finalized?.stack.close();
  await counted?.stack.close();
  await rpcProxy?.close();
  await chain?.stop();
});

const sql = sqlOn(() => counted.stack.orm);

async function depositAddress(tenant: TestTenant, token: TokenCurrency): Promise<DepositAddress> {
  return registerDepositAddress(counted.stack.orm.em.fork(), { tenantId: tenant.id, prePayId: freshPrePayId(), token, chainId: chain.chainId, depositXpub: DEPOSIT_XPUB });
}

/** Sends a real transfer and answers its report as a truthful watcher writes it. */
async function transferAndReport(token: TokenCurrency, to: string, units: bigint): Promise<Record<string, unknown>> {
  const { txHash } = await chain.transfer(token, to, units);
  const receipt = await chain.client.getTransactionReceipt({ hash: txHash });
  const [log] = receipt.logs;
  const block = await chain.client.getBlock({ blockHash: receipt.blockHash });
  return {
    chain_id: chain.chainId,
    token,
    tx_hash: txHash,
    log_index: log!.logIndex,
    block_number: Number(receipt.blockNumber),
    block_hash: receipt.blockHash,
    from: DEPLOYER,
    to: to.toLowerCase(),
    amount: fromMinorUnits(units, token).toFixed(),
    confirmations: (await chain.head()) - Number(receipt.blockNumber) + 1,
    block_timestamp: Number(block.timestamp),
  };
}

async function creditFinished(body: Record<string, unknown>): Promise<void> {
  await temporal.client.workflow
    .getHandle(creditTransferWorkflowId(await installationOf(counted.stack.orm), { chainId: chain.chainId, txHash: String(body.tx_hash), logIndex: Number(body.log_index) }))
    .result();
}

interface TransferRow {
  status: string;
  confirmations: number;
  amount: string;
  to_address: string;
}

async function transferRows(txHash: unknown): Promise<TransferRow[]> {
  return sql<TransferRow>('select status, confirmations, amount::text as amount, to_address from chain_transfers where tx_hash = ?', [txHash]);
}

const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`;

describe('the watcher route with CHAIN_RPC_URL', () => {
  it('credits a true report once, with the depth the node counts whatever the report claims', async () => {
    const tenant = await createTenant(counted.stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    const body = await transferAndReport('ANKR_ERC20', deposit.checksumAddress, 98_765_123_456_789_012_345_678n);
    await chain.mine(CONFIRMATIONS - 1);

    // the report says 1 confirmation; the node counts 3, and 3 are enough
    const first = expectStatus(await counted.post({ ...body, confirmations: 1 }), 200);
    expect(first.body).toEqual({
      code: 0,
      message: 'success',
      status: 'credited',
      reason: 'no_open_prepay',
      duplicate: false,
      required_confirmations: CONFIRMATIONS,
      pre_pay_id: deposit.prePayId,
      trans_id: expect.stringMatching(/^tr_/),
    });
    await creditFinished(body);
    const replays = await Promise.all([counted.post(body), counted.post({ ...body, confirmations: 500 })]);
    for (const replay of replays) expect(expectStatus(replay, 200).body).toMatchObject({ status: 'credited', duplicate: true, trans_id: first.body.trans_id });

    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '98765.123456789012345678' });
    const [ledger] = await sql<{ count: string }>('select count(*)::text as count from ledger_transactions where tenant_id = ?', [tenant.id]);
    expect(ledger!.count).toBe('1');
    expect(await transferRows(body.tx_hash)).toEqual([{ status: 'credited', confirmations: CONFIRMATIONS, amount: '98765.123456789012345678', to_address: deposit.address }]);
  });

  it('refuses a report the chain contradicts with 422 naming the field, and records and credits nothing', async () => {
    const tenant = await createTenant(counted.stack);
    const thief = await createTenant(counted.stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const thiefs = await depositAddress(thief, 'USDT_ERC20');
    const body = await transferAndReport('USDT_ERC20', deposit.address, 2_500_000n); // 2.5 USDT
    await chain.mine(CONFIRMATIONS);
    const madeUp = hex(32);

    const lies: [Record<string, unknown>, string][] = [
      [{ ...body, amount: '2.500001' }, 'amount'],
      [{ ...body, amount: '250' }, 'amount'],
      [{ ...body, to: thiefs.address }, 'to'],
      [{ ...body, from: PAUPER }, 'from'],
      [{ ...body, log_index: Number(body.log_index) + 1 }, 'log_index'],
      [{ ...body, block_hash: hex(32) }, 'block_hash'],
      [{ ...body, block_number: Number(body.block_number) - 1 }, 'block_number'],
      [{ ...body, tx_hash: madeUp }, 'tx_hash'],
      // the USDT contract's log reported as an ANKR transfer (6 decimals read as 18)
      [{ ...body, token: 'ANKR_ERC20', amount: '0.0000000000025' }, 'token'],
      [{ ...body, block_timestamp: Number(body.block_timestamp) - 60 }, 'block_timestamp'],
    ];
    for (const [lie, field] of lies) {
      const answer = await counted.post(lie);
      expect([field, answer.status, answer.body?.error]).toEqual([field, 422, { type: 'unprocessable', field }]);
    }
    expect(await transferRows(body.tx_hash)).toEqual([]);
    const [made] = await sql<{ count: string }>('select count(*)::text as count from chain_transfers where to_address = ? or tx_hash = ?', [thiefs.address, madeUp]);
    expect(made!.count).toBe('0');
    expect((await balances(tenant)).USDT_ERC20).toBe('0');
    expect((await balances(thief)).USDT_ERC20).toBe('0');

    // nothing the lies said was kept: the truth is credited as it is
    expect(expectStatus(await counted.post(body), 200).body).toMatchObject({ status: 'credited', duplicate: false });
    await creditFinished(body);
    expect((await balances(tenant)).USDT_ERC20).toBe('2.5');
    expect((await balances(thief)).USDT_ERC20).toBe('0');
  });

  it('refuses a reverted transaction and a log that is not a Transfer', async () => {
    const tenant = await createTenant(counted.stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    // an account without tokens: its transfer reverts and moves nothing
    const pauper = createWalletClient({ chain: foundry, transport: http(chain.url), account: PAUPER });
    const data = encodeFunctionData({
      abi: parseAbi(['function transfer(address to, uint256 value) returns (bool)']),
      functionName: 'transfer',
      args: [deposit.address as Hex, 10n ** 18n],
    });
    const reverted = await chain.client.waitForTransactionReceipt({
      hash: await pauper.sendTransaction({ to: chain.tokens.ANKR_ERC20, data, gas: 100_000n }),
      pollingInterval: 50,
    });
    expect(reverted.status).toBe('reverted');
    // an Approval event, at the index the report calls a Transfer
    const approve = encodeFunctionData({
      abi: parseAbi(['function approve(address spender, uint256 value) returns (bool)']),
      functionName: 'approve',
      args: [deposit.address as Hex, 10n ** 18n],
    });
    const approval = await chain.client.waitForTransactionReceipt({ hash: await pauper.sendTransaction({ to: chain.tokens.ANKR_ERC20, data: approve }), pollingInterval: 50 });
    await chain.mine(CONFIRMATIONS);

    const claim = (receipt: typeof reverted, logIndex: number) => ({
      chain_id: chain.chainId,
      token: 'ANKR_ERC20',
      tx_hash: receipt.transactionHash,
      log_index: logIndex,
      block_number: Number(receipt.blockNumber),
      block_hash: receipt.blockHash,
      from: PAUPER,
      to: deposit.address,
      amount: '1',
      confirmations: 10,
    });
    expectError(await counted.post(claim(reverted, 0)), 422, 'unprocessable', 'tx_hash');
    expectError(await counted.post(claim(approval, approval.logs[0]!.logIndex)), 422, 'unprocessable', 'log_index');
    expect([...(await transferRows(reverted.transactionHash)), ...(await transferRows(approval.transactionHash))]).toEqual([]);
    expect((await balances(tenant)).ANKR_ERC20).toBe('0');
  });

  it('records a transfer below the depth however deep the report says it is, and credits it once the node has it deep enough', async () => {
    const tenant = await createTenant(counted.stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const body = await transferAndReport('USDT_ERC20', deposit.address, 7_000_001n);
    const claimed = { ...body, confirmations: 1000 };
    expect(expectStatus(await counted.post(claimed), 200).body).toEqual({
      code: 0,
      message: 'success',
      status: 'seen',
      reason: 'below_depth',
      duplicate: false,
      required_confirmations: CONFIRMATIONS,
    });
    expect(await transferRows(body.tx_hash)).toEqual([{ status: 'seen', confirmations: 1, amount: '7.000001', to_address: deposit.address }]);
    expect((await balances(tenant)).USDT_ERC20).toBe('0');

    await chain.mine(CONFIRMATIONS - 2);
    expect(expectStatus(await counted.post(claimed), 200).body).toMatchObject({ status: 'seen', reason: 'below_depth' });
    expect(await transferRows(body.tx_hash)).toMatchObject([{ status: 'seen', confirmations: CONFIRMATIONS - 1 }]);

    await chain.mine(1);
    expect(expectStatus(await counted.post(claimed), 200).body).toMatchObject({ status: 'credited', duplicate: false });
    await creditFinished(body);
    expect((await balances(tenant)).USDT_ERC20).toBe('7.000001');
    expect(await transferRows(body.tx_hash)).toMatchObject([{ status: 'credited', confirmations: CONFIRMATIONS }]);
  });

  it('answers 503 and records nothing while the node is unreachable, or behind the reported block', async () => {
    const tenant = await createTenant(counted.stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const body = await transferAndReport('USDT_ERC20', deposit.address, 4_000_000n);
    await chain.mine(CONFIRMATIONS);

    await rpcProxy.cut();
    try {
      const answer = await counted.post(body);
      expectError(answer, 503, 'service_unavailable');
      expect(answer.body.message).toMatch(/CHAIN_RPC_URL/);
      expect(answer.headers.get('retry-after')).toBe('5');
    } finally {
      await rpcProxy.restore();
    }
    expect(await transferRows(body.tx_hash)).toEqual([]);

    // a transaction the node does not know, in a block it has not reached: perhaps only our node is late
    const ahead = { ...body, tx_hash: hex(32), block_number: (await chain.head()) + 1000 };
    expectError(await counted.post(ahead), 503, 'service_unavailable');
    expect(await transferRows(ahead.tx_hash)).toEqual([]);
    expect((await balances(tenant)).USDT_ERC20).toBe('0');

    // the node is back: the same report counts
    expect(expectStatus(await counted.post(body), 200).body).toMatchObject({ status: 'credited', duplicate: false });
    await creditFinished(body);
    expect((await balances(tenant)).USDT_ERC20).toBe('4');
  });
});

describe('the watcher route with CHAIN_RPC_URL and CHAIN_CONFIRMATIONS=finalized', () => {
  it("credits a transfer only once the node's finalized block has reached it", async () => {
    const tenant = await createTenant(finalized.stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    const body = await transferAndReport('ANKR_ERC20', deposit.address, 5n * 10n ** 18n);
    const blockNumber = Number(body.block_number);
    const claimed = { ...body, confirmations: 1000 };
    // what anvil answers for the `finalized` tag: two epochs below the head
    expect(await chain.finalized()).toBe(blockNumber - 2 * SLOTS_IN_AN_EPOCH);

    expect(expectStatus(await finalized.post(claimed), 200).body).toEqual({
      code: 0,
      message: 'success',
      status: 'seen',
      reason: 'below_depth',
      duplicate: false,
      required_confirmations: 2 * SLOTS_IN_AN_EPOCH + 1,
    });
    // deeper than a count of 3 would need, still above the finalized block
    await chain.mine(2 * SLOTS_IN_AN_EPOCH - 1);
    expect(await chain.finalized()).toBe(blockNumber - 1);
    expect(expectStatus(await finalized.post(claimed), 200).body).toMatchObject({ status: 'seen', reason: 'below_depth' });
    expect(await transferRows(body.tx_hash)).toEqual([{ status: 'seen', confirmations: 2 * SLOTS_IN_AN_EPOCH, amount: '5', to_address: deposit.address }]);
    expect((await balances(tenant)).ANKR_ERC20).toBe('0');

    await chain.mine(1);
    await until(async () => (await chain.finalized()) >= blockNumber, { what: 'the transfer block finalized' });
    expect(expectStatus(await finalized.post(claimed), 200).body).toMatchObject({
      status: 'credited',
      duplicate: false,
      required_confirmations: 2 * SLOTS_IN_AN_EPOCH + 1,
    });
    await creditFinished(body);
    expect((await balances(tenant)).ANKR_ERC20).toBe('5');
    expect(await transferRows(body.tx_hash)).toMatchObject([{ status: 'credited', confirmations: 2 * SLOTS_IN_AN_EPOCH + 1 }]);
  });
});
