/**
 * A real local EVM for a test file: anvil (the npm package @foundry-rs/anvil-linux-amd64, or ANVIL_BIN,
 * or `anvil` on the PATH) on a free port with the development mnemonic, and the repository's test
 * tokens deployed from contracts/artifacts: ANKR with 18 decimals (TestToken) and a USDT-like token
 * with 6 whose `transfer` returns nothing (TestTokenNoReturn). Blocks are mined only on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createPublicClient, createTestClient, createWalletClient, http, type Abi, type Hex, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { freePort, PROJECT_ROOT } from '../../src/dev/temporal-dev-server.ts';

/** Anvil's default mnemonic: account 0 (0xf39F…2266) deploys and sends the test tokens. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
export const ANVIL_CHAIN_ID = foundry.id;
const DEPLOYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' as const;

interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

export interface TestChain {
  url: string;
  chainId: number;
  client: PublicClient;
  tokens: { ANKR_ERC20: `0x${string}`; USDT_ERC20: `0x${string}` };
  /** sends `units` (smallest units) of a token from the deployer to `to`; answers the mined transaction */
  transfer(token: keyof TestChain['tokens'], to: string, units: bigint): Promise<{ txHash: Hex; blockNumber: number }>;
  mine(blocks: number): Promise<void>;
  /** replaces the last `depth` blocks with empty ones (anvil_reorg): their transactions vanish */
  reorg(depth: number): Promise<void>;
  head(): Promise<number>;
  /** the number of the block the node answers for the `finalized` tag */
  finalized(): Promise<number>;
  stop(): Promise<void>;
}

function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  try {
    const packaged = createRequire(import.meta.url).resolve('@foundry-rs/anvil-linux-amd64/bin/anvil');
    if (existsSync(packaged)) return packaged;
  } catch {
    // not this platform's package; fall back to the PATH
  }
  return 'anvil';
}

function artifact(name: string): Artifact {
  return JSON.parse(readFileSync(`${PROJECT_ROOT}/contracts/artifacts/${name}.json`, 'utf8')) as Artifact;
}

export interface AnvilOptions {
  /**
   * anvil's `--slots-in-an-epoch` (default 32). Anvil answers the `finalized` block tag with the block two
   * epochs below the head (head − 2 × slots, block 0 until the head passes it) and `safe` with one epoch
   * below: a small value lets a test reach finality in a few mined blocks.
   */
  slotsInAnEpoch?: number;
}

export async function startAnvil(options: AnvilOptions = {}): Promise<TestChain> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--mnemonic', ANVIL_MNEMONIC, '--chain-id', String(ANVIL_CHAIN_ID), '--silent'];
  if (options.slotsInAnEpoch !== undefined) args.push('--slots-in-an-epoch', String(options.slotsInAnEpoch));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = createPublicClient({ chain: foundry, transport: http(url), cacheTime: 0 }) as PublicClient;
  await waitUntilServing(client, child, () => stderr);

  const wallet = createWalletClient({ chain: foundry, transport: http(url), account: DEPLOYER });
  const testClient = createTestClient({ chain: foundry, transport: http(url), mode: 'anvil' });
  const deploy = async (name: string, args: unknown[]): Promise<`0x${string}`> => {
    const { abi, bytecode } = artifact(name);
    const hash = await wallet.deployContract({ abi, bytecode, args });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (!receipt.contractAddress) throw new Error(`${name} was not deployed`);
    return receipt.contractAddress.toLowerCase() as `0x${string}`;
  };
  const tokens = {
    ANKR_ERC20: await deploy('TestToken', ['Ankr Network', 'ANKR', 18]),
    USDT_ERC20: await deploy('TestTokenNoReturn', ['Tether USD', 'USDT', 6]),
  };
  const abiOf = { ANKR_ERC20: artifact('TestToken').abi, USDT_ERC20: artifact('TestTokenNoReturn').abi };
  const send = async (token: keyof typeof tokens, functionName: 'mint' | 'transfer', to: string, units: bigint) => {
    const hash = await wallet.writeContract({ address: tokens[token], abi: abiOf[token], functionName, args: [to, units] });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== 'success') throw new Error(`${functionName} of ${token} reverted`);
    return { txHash: hash, blockNumber: Number(receipt.blockNumber) };
  };
  for (const token of Object.keys(tokens) as (keyof typeof tokens)[]) await send(token, 'mint', DEPLOYER, 10n ** 40n);

  return {
    url,
    chainId: ANVIL_CHAIN_ID,
    client,
    tokens,
    transfer: (token, to, units) => send(token, 'transfer', to, units),
    mine: async (blocks) => testClient.mine({ blocks }),
    reorg: async (depth) => {
      await client.request({ method: 'anvil_reorg' as never, params: [depth, []] as never });
    },
    head: async () => Number(await client.getBlockNumber({ cacheTime: 0 })),
    finalized: async () => Number((await client.getBlock({ blockTag: 'finalized' })).number),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitUntilServing(client: PublicClient, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${stderr()}`);
    try {
      await client.getChainId();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`anvil did not answer within 30 s: ${stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
