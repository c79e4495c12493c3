/**
 * The built-in chain watcher on a real local chain (anvil), real PostgreSQL and the Temporal dev server:
 * exact credits for 18 and 6 decimals, a transfer counted once however often it is delivered (rescans,
 * a restarted watcher process), a reorged transfer never credited, signals to an open prepay's workflow,
 * and late transfers credited to the team's balance.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { defaultPayloadConverter } from '@temporalio/common';
import { WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import { registerDepositAddress, type DepositAddress } from '../../src/chain/deposit-address.ts';
import { chainSettingsOf } from '../../src/chain/settings.ts';
import { deliverTransfer } from '../../src/chain/deliver.ts';
import { Dec } from '../../src/domain/money.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { TokenCurrency } from '../../src/domain/money.ts';
import { creditTransferWorkflowId, type TokenTransferSignal } from '../../src/domain/token-transfer.ts';
import { createLogger } from '../../src/logger.ts';
import { connectTemporal } from '../../src/temporal/client.ts';
import { createScanner, type Scanner } from '../../src/watcher/scanner.ts';
import { createPublicClient, http, type PublicClient } from 'viem';
import { startAnvil, type TestChain } from '../helpers/anvil.ts';
import { client } from '../helpers/http.ts';
import { startStack, uniqueId, type TestStack } from '../helpers/stack.ts';
import { balances, createTenant, expectStatus, type TestTenant } from '../helpers/tenants.ts';
import { installationOf } from '../../src/db/repositories/installation.ts';
import { prepayWorkflowId } from '../../src/domain/prepay.ts';
import { sqlOn } from '../helpers/db.ts';
import { until } from '../helpers/wait.ts';
import { Registry } from 'prom-client';
import { registryRecorder } from '../../src/metrics/api.ts';
import { setProcessRecorder } from '../../src/metrics/record.ts';
import { freePort } from '../../src/dev/temporal-dev-server.ts';
import { sampleSum, scrape } from '../helpers/prometheus.ts';
import { freshPrePayId, passAwaitingCredits } from '../helpers/watcher.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIRMATIONS = 3;
// The deposit keys: the account node of a BIP39 test mnemonic, exported as an xpub (no private key is configured).
const DEPOSIT_XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about')).derive(
  "m/44'/60'/0'/0",
).publicExtendedKey;

let chain: TestChain;
let stack: TestStack;
let temporal: { connection: Connection; client: Client };
let scanner: Scanner;
/** one worker for the whole file (bundling workflows per test would cost seconds each) */
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  chain = await startAnvil();
  stack = await startStack({
    CHAIN_ID: String(chain.chainId),
    CHAIN_RPC_URL: chain.url,
    DEPOSIT_XPUB,
    TOKEN_ANKR_ERC20_ADDRESS: chain.tokens.ANKR_ERC20,
    TOKEN_USDT_ERC20_ADDRESS: chain.tokens.USDT_ERC20,
    CHAIN_CONFIRMATIONS: String(CONFIRMATIONS),
    WATCHER_BLOCK_RANGE: '4',
    WATCHER_START_BLOCK: '0',
    WATCHER_POLL_SECONDS: '0.2',
  });
  temporal = await connectTemporal({ address: stack.config.TEMPORAL_ADDRESS, namespace: stack.config.TEMPORAL_NAMESPACE });
  scanner = newScanner();
  await scanner.verifyChain();
  stopWorker = await stack.startWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await temporal?.connection.close();
  await stack?.close();
  await chain?.stop();
});

/** A scanner as `npm run watcher` builds it; a new one is a restarted watcher (its state is the cursor in PostgreSQL). */
function newScanner(client?: PublicClient): Scanner {
  return createScanner({
    client,
    orm: stack.orm,
    temporal: temporal.client,
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
    logger: createLogger('silent'),
    clock: systemClock,
    chain: chainSettingsOf(stack.config)!,
    blockRange: stack.config.WATCHER_BLOCK_RANGE,
    startBlock: 0,
  });
}

async function depositAddress(tenant: TestTenant, token: TokenCurrency, prePayId = freshPrePayId()): Promise<DepositAddress> {
  return registerDepositAddress(stack.orm.em.fork(), { tenantId: tenant.id, prePayId, token, chainId: chain.chainId, depositXpub: DEPOSIT_XPUB });
}

const sql = sqlOn(() => stack.orm);

async function transferRow(txHash: string): Promise<{ status: string; confirmations: number; amount: string; tenant_id: string | null; movement_id: string | null } | undefined> {
  const [row] = await sql<{ status: string; confirmations: number; amount: string; tenant_id: string | null; movement_id: string | null }>(
    'select status, confirmations, amount::text as amount, tenant_id, movement_id from chain_transfers where tx_hash = ?',
    [txHash],
  );
  return row;
}

/** Runs a pass and waits for the credit workflows it started. */
const passAndCredits = (scan: Scanner = scanner) => passAwaitingCredits(scan, { orm: stack.orm, temporal: temporal.client, chainId: chain.chainId });

async function rewindCursors(): Promise<void> {
  const genesis = await chain.client.getBlock({ blockNumber: 0n });
  await sql('update watcher_cursors set block_number = 0, block_hash = ? where chain_id = ? and token_contract in (?, ?)', [
    genesis.hash,
    chain.chainId,
    chain.tokens.ANKR_ERC20,
    chain.tokens.USDT_ERC20,
  ]);
}

async function ledgerTransactions(tenantId: string): Promise<number> {
  const [row] = await sql<{ count: string }>('select count(*)::text as count from ledger_transactions where tenant_id = ?', [tenantId]);
  return Number(row!.count);
}

describe('the chain watcher', () => {
  it('credits ANKR (18 decimals) exactly, only once the transfer is deep enough, when the prepay has no workflow', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    // a transfer to an address that is not ours is ignored
    const stranger = await chain.transfer('ANKR_ERC20', '0x000000000000000000000000000000000000dEaD', 5n);
    const { txHash } = await chain.transfer('ANKR_ERC20', deposit.address, 1_234_567_890_123_456_789_012_345n);

    await passAndCredits();
    expect(await transferRow(txHash)).toMatchObject({ status: 'seen', confirmations: 1, amount: '1234567.890123456789012345' });
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '0' });

    await chain.mine(CONFIRMATIONS - 1);
    await passAndCredits();
    expect(await transferRow(txHash)).toMatchObject({ status: 'credited', tenant_id: tenant.id, movement_id: expect.stringMatching(/^tr_/) });
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '1234567.890123456789012345' });
    expect(await transferRow(stranger.txHash)).toBeUndefined();

    const [event] = await sql<{ type: string; data: Record<string, unknown> }>('select type, data from events where tenant_id = ?', [tenant.id]);
    expect(event).toEqual({
      type: 'transfer.credited',
      data: expect.objectContaining({ tx_hash: txHash, token: 'ANKR_ERC20', amount: '1234567.890123456789012345', pre_pay_id: deposit.prePayId, reason: 'no_open_prepay' }),
    });
    const [movement] = await sql<{ status: string; payment_method: string; currency: string; amount: string }>(
      'select status, payment_method, currency, amount::text as amount from money_movements where tenant_id = ?',
      [tenant.id],
    );
    expect(movement).toEqual({ status: 'finish', payment_method: 'token', currency: 'ANKR_ERC20', amount: '1234567.890123456789012345' });
  });

  it('credits USDT (6 decimals, transfer returns nothing) to the last unit, and a rescan after a restart credits nothing twice', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const first = await chain.transfer('USDT_ERC20', deposit.address, 1_000_001n);
    const second = await chain.transfer('USDT_ERC20', deposit.address, 999_999n);
    await chain.mine(CONFIRMATIONS);
    await passAndCredits();
    expect((await transferRow(first.txHash))?.amount).toBe('1.000001');
    expect((await transferRow(second.txHash))?.amount).toBe('0.999999');
    expect((await balances(tenant)).USDT_ERC20).toBe('2');

    // A watcher that crashed before saving its cursor scans everything again from its (old) cursor.
    await rewindCursors();
    const report = await passAndCredits(newScanner());
    const again = report.delivered.filter((outcome) => outcome.tenantId === tenant.id);
    expect(again.map((outcome) => [outcome.status, outcome.duplicate])).toEqual([
      ['credited', true],
      ['credited', true],
    ]);
    expect((await balances(tenant)).USDT_ERC20).toBe('2');
    expect(await ledgerTransactions(tenant.id)).toBe(2);
    // the books still balance: token_clearing carries the other side of every credit
    const check = expectStatus(await client(stack.url, stack.operatorKey)('GET', '/operator/v1/ledger/check'), 200).body;
    expect(check).toMatchObject({ ok: true });
  });

  it('never credits a transfer that a reorg removed before it reached the depth', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const { txHash, blockNumber } = await chain.transfer('USDT_ERC20', deposit.address, 42_000_000n);
    await chain.mine(1);
    await passAndCredits();
    expect(await transferRow(txHash)).toMatchObject({ status: 'seen', confirmations: 2 });

    await chain.reorg((await chain.head()) - blockNumber + 1);
    expect(await chain.client.getTransactionReceipt({ hash: txHash }).catch(() => null)).toBeNull();
    await chain.mine(CONFIRMATIONS + 1);
    const report = await passAndCredits();
    expect(report.orphaned).toBe(1);
    expect((await transferRow(txHash))?.status).toBe('orphaned');
    await passAndCredits();
    expect((await transferRow(txHash))?.status).toBe('orphaned');
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '0', ANKR_ERC20: '0' });
    await expect(
      temporal.client.workflow.getHandle(creditTransferWorkflowId(await installationOf(stack.orm), { chainId: chain.chainId, txHash, logIndex: 0 })).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('keeps the credit of a transfer that a reorg deeper than the depth took, records transfer.orphaned once, and clears it when re-mined', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    const { txHash, blockNumber } = await chain.transfer('USDT_ERC20', deposit.address, 7_500_000n);
    await chain.mine(CONFIRMATIONS - 1);
    await passAndCredits();
    expect(await transferRow(txHash)).toMatchObject({ status: 'credited', tenant_id: tenant.id });
    expect((await balances(tenant)).USDT_ERC20).toBe('7.5');
    const [{ block_hash: creditedIn } = { block_hash: '' }] = await sql<{ block_hash: string }>('select block_hash from chain_transfers where tx_hash = ?', [txHash]);

    // Deeper than the depth: the cursor's block and the transfer's block are replaced by empty ones.
    await chain.reorg((await chain.head()) - blockNumber + 1);
    await chain.mine(1);
    const registry = new Registry();
    setProcessRecorder(registryRecorder(registry, 'watcher')); // as the watcher process counts
    const report = await passAndCredits().finally(() => setProcessRecorder(undefined));
    expect(sampleSum(await registry.metrics(), 'token_transfers_orphaned_total', { currency: 'USDT_ERC20', credited_as: 'credited' })).toBe(1);
    expect(report.reorgs).toBeGreaterThanOrEqual(1);
    expect(report.reorgedCredits).toHaveLength(1);
    // The money is not taken back silently: the credit stands, flagged for review.
    expect((await balances(tenant)).USDT_ERC20).toBe('7.5');
    const [flagged] = await sql<{ status: string; reorged_at: string | null }>('select status, reorged_at from chain_transfers where tx_hash = ?', [txHash]);
    expect(flagged).toMatchObject({ status: 'credited', reorged_at: expect.any(String) });
    const events = await sql<{ id: string; type: string; data: Record<string, unknown> }>("select id, type, data from events where tenant_id = ? and type = 'transfer.orphaned'", [
      tenant.id,
    ]);
    expect(events).toEqual([
      {
        id: report.reorgedCredits[0],
        type: 'transfer.orphaned',
        data: {
          trans_id: (await transferRow(txHash))!.movement_id,
          pre_pay_id: deposit.prePayId,
          chain_id: chain.chainId,
          tx_hash: txHash,
          log_index: 0,
          token: 'USDT_ERC20',
          amount: '7.5',
          from: expect.stringMatching(/^0x[0-9a-f]{40}$/),
          to: deposit.address.toLowerCase(),
          block_number: blockNumber,
          block_hash: creditedIn,
          credited_as: 'credited',
          reorged_at: expect.stringMatching(/Z$/),
        },
      },
    ]);
    // scanned again: nothing more recorded
    await rewindCursors();
    expect((await passAndCredits(newScanner())).reorgedCredits).toEqual([]);

    // The same transfer found again at depth in another block (re-mined): the flag is cleared, nothing credited twice.
    const rowBefore = await transferRow(txHash);
    const again = await deliverTransfer(
      { em: stack.orm.em.fork(), temporal: temporal.client, taskQueue: stack.config.TEMPORAL_TASK_QUEUE, logger: createLogger('silent'), now: new Date() },
      {
        chainId: chain.chainId,
        txHash,
        logIndex: 0,
        token: 'USDT_ERC20',
        from: String(events[0]!.data.from),
        to: deposit.address,
        amount: new Dec('7.5'),
        blockNumber: blockNumber + 1,
        blockHash: `0x${'ab'.repeat(32)}`,
        confirmations: CONFIRMATIONS,
      },
      { atDepth: true, source: 'watcher' },
    );
    expect(again).toMatchObject({ status: 'credited', reason: 'already_delivered', duplicate: true, movementId: rowBefore!.movement_id });
    const [remined] = await sql<{ reorged_at: string | null; block_hash: string }>('select reorged_at, block_hash from chain_transfers where tx_hash = ?', [txHash]);
    expect(remined).toEqual({ reorged_at: null, block_hash: `0x${'ab'.repeat(32)}` });
    expect((await balances(tenant)).USDT_ERC20).toBe('7.5');
  });

  it('steps back and keeps going when a reorg deeper than the depth replaces the cursor block', async () => {
    // empty blocks only, so that the reorg takes nothing but the cursor's block and its neighbours
    await chain.mine(CONFIRMATIONS + 3);
    await passAndCredits();
    await chain.reorg(CONFIRMATIONS + 2);
    const report = await passAndCredits();
    expect(report.reorgs).toBe(2); // one cursor per token contract
    // scanned again up to the confirmed head, and the cursors now carry the new chain's hashes
    const cursors = await sql<{ block_number: string; block_hash: string }>(
      'select block_number::text as block_number, block_hash from watcher_cursors where chain_id = ? and token_contract in (?, ?)',
      [chain.chainId, chain.tokens.ANKR_ERC20, chain.tokens.USDT_ERC20],
    );
    expect(cursors).toHaveLength(2);
    for (const cursor of cursors) {
      expect(Number(cursor.block_number)).toBe(report.confirmedHead);
      expect(cursor.block_hash).toBe((await chain.client.getBlock({ blockNumber: BigInt(cursor.block_number) })).hash);
    }
    expect((await passAndCredits()).reorgs).toBe(0);
  });

  it('signals the open prepay once, and credits a transfer of another token or one that arrives after the prepay closed', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    // Stands in for the PrepayWorkflow: a workflow on a queue no worker polls stays open and records every signal.
    const prepay = await temporal.client.workflow.start('tokenPrepayStandIn', {
      workflowId: prepayWorkflowId(await installationOf(stack.orm), deposit.prePayId),
      taskQueue: uniqueId('no-worker'),
      args: [],
    });
    const paid = await chain.transfer('ANKR_ERC20', deposit.address, 12_500_000_000_000_000_000n);
    const wrongToken = await chain.transfer('USDT_ERC20', deposit.address, 3_000_000n);
    await chain.mine(CONFIRMATIONS);
    await passAndCredits();
    expect((await transferRow(paid.txHash))?.status).toBe('signalled');
    expect((await transferRow(wrongToken.txHash))?.status).toBe('credited');

    await rewindCursors();
    await passAndCredits(newScanner());
    const signals = await signalsOf(prepay.workflowId);
    expect(signals).toEqual([
      {
        chainId: chain.chainId,
        txHash: paid.txHash,
        logIndex: 0,
        token: 'ANKR_ERC20',
        amount: '12.5',
        from: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
        to: deposit.address,
        blockNumber: paid.blockNumber,
        // the block's own timestamp: a transfer mined before a payment deadline counts even when confirmed after it
        blockTime: await blockTimeOf(paid.blockNumber),
      } satisfies TokenTransferSignal,
    ]);

    await prepay.terminate('the prepay ended');
    const late = await chain.transfer('ANKR_ERC20', deposit.address, 1n);
    await chain.mine(CONFIRMATIONS);
    await passAndCredits();
    expect((await transferRow(late.txHash))?.status).toBe('credited');
    expect(await balances(tenant)).toEqual({ USD: '0', USDT_ERC20: '3', ANKR_ERC20: '0.000000000000000001' });
    expect(await signalsOf(prepay.workflowId)).toHaveLength(1);
  });

  it('reads a block range the RPC refuses as too large in smaller pieces', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'USDT_ERC20');
    await chain.transfer('USDT_ERC20', deposit.address, 4_000_000n);
    await chain.mine(CONFIRMATIONS);
    await rewindCursors();
    // like providers that cap eth_getLogs: more than one block per call is refused
    const refused: string[] = [];
    const picky = new Proxy(chain.client, {
      get(target, property, receiver) {
        if (property !== 'getLogs') return Reflect.get(target, property, receiver);
        return async (parameters: { fromBlock: bigint; toBlock: bigint }) => {
          if (parameters.toBlock > parameters.fromBlock) {
            refused.push(`${parameters.fromBlock}-${parameters.toBlock}`);
            throw new Error('query returned more than 10000 results');
          }
          return target.getLogs(parameters as never);
        };
      },
    });
    await passAndCredits(newScanner(picky));
    expect(refused.length).toBeGreaterThan(0);
    expect((await balances(tenant)).USDT_ERC20).toBe('4');
  });

  it('`npm run watcher` credits, stops cleanly on SIGTERM, and resumes from its cursor after a restart', async () => {
    const tenant = await createTenant(stack);
    const deposit = await depositAddress(tenant, 'ANKR_ERC20');
    await chain.transfer('ANKR_ERC20', deposit.address, 7n * 10n ** 18n);
    await chain.mine(CONFIRMATIONS);
    const first = runWatcherProcess();
    await until(async () => (await balances(tenant)).ANKR_ERC20 === '7', { timeoutMs: 60_000, what: 'the first credit', detail: () => `watcher output:\n${first.output()}` });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    await chain.transfer('ANKR_ERC20', deposit.address, 5n * 10n ** 17n);
    await chain.mine(CONFIRMATIONS);
    const metricsPort = await freePort();
    const second = runWatcherProcess({ WATCHER_METRICS_PORT: String(metricsPort) });
    await until(async () => (await balances(tenant)).ANKR_ERC20 === '7.5', { timeoutMs: 60_000, what: 'the second credit', detail: () => `watcher output:\n${second.output()}` });
    // its own /metrics: the passes it made
    const metrics = await scrape(`http://127.0.0.1:${metricsPort}`);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(sampleSum(metrics.text, 'watcher_passes_total')).toBeGreaterThanOrEqual(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await ledgerTransactions(tenant.id)).toBe(2);
    const [cursor] = await sql<{ block_number: string }>('select block_number::text as block_number from watcher_cursors where token_contract = ?', [chain.tokens.ANKR_ERC20]);
    expect(Number(cursor!.block_number)).toBe((await chain.head()) - CONFIRMATIONS + 1);
  });
});

async function signalsOf(workflowId: string): Promise<unknown[]> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((event) => event.workflowExecutionSignaledEventAttributes)
    .filter((attributes) => attributes?.signalName === 'tokenTransfer')
    .map((attributes) => defaultPayloadConverter.fromPayload(attributes!.input!.payloads![0]!));
}

function runWatcherProcess(extra: Record<string, string> = {}) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...extra };
  for (const [name, value] of Object.entries(stack.config)) {
    if (/^(DATABASE_URL|TEMPORAL_|CHAIN_|TOKEN_|DEPOSIT_XPUB|WATCHER_)/.test(name) && value !== undefined && !(name in extra)) env[name] = String(value);
  }
  const child = spawn(process.execPath, ['src/watcher/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function blockTimeOf(blockNumber: number): Promise<string> {
  const block = await createPublicClient({ transport: http(chain.url) }).getBlock({ blockNumber: BigInt(blockNumber) });
  return new Date(Number(block.timestamp) * 1000).toISOString();
}
