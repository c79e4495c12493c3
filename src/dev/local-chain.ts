/**
 * The local chain of `npm start` and of the tests (never production): anvil, from the npm package
 * `@foundry-rs/anvil-linux-amd64` (or ANVIL_BIN, or `anvil` on the PATH), with the repository's two test
 * tokens deployed from contracts/artifacts — ANKR-like with 18 decimals (TestToken) and USDT-like with 6
 * whose `transfer` returns nothing (TestTokenNoReturn) — and minted to the development accounts.
 *
 * With a state file the chain outlives a restart: anvil loads it at start and writes it back periodically
 * and when it stops, and the token addresses are kept beside it, so balances, blocks and the watcher's
 * cursor stay consistent across `npm start` runs. Blocks are mined per transaction and on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { createPublicClient, createTestClient, createWalletClient, http, type Abi, type Hex, type PublicClient } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { freePort, PROJECT_ROOT } from './temporal-dev-server.ts';

/** Anvil's published development mnemonic: its accounts hold test ETH; account 0 deploys and mints. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const LOCAL_CHAIN_ID = foundry.id;
/** The development accounts the tokens are minted to: 0 deploys, 1 is the payer of `npm run chain:pay`. */
export const DEV_ACCOUNTS = [0, 1].map((index) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }));
const MINTED = 10n ** 40n;

export type TokenName = 'ANKR_ERC20' | 'USDT_ERC20';

export interface LocalChain {
  url: string;
  chainId: number;
  client: PublicClient;
  tokens: Record<TokenName, `0x${string}`>;
  /** whether this start deployed the tokens (a fresh chain) */
  deployed: boolean;
  stop(): Promise<void>;
}

export interface LocalChainOptions {
  /** anvil's state file: loaded at start when it exists, written back; none: a fresh chain each time */
  stateFile?: string;
  port?: number;
  /** extra anvil arguments, e.g. `--slots-in-an-epoch 1` */
  extraArgs?: string[];
}

export function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  try {
    const packaged = createRequire(import.meta.url).resolve('@foundry-rs/anvil-linux-amd64/bin/anvil');
    if (existsSync(packaged)) return packaged;
  } catch {
    // not this platform's package; fall back to the PATH
  }
  return 'anvil';
}

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

export function tokenArtifact(token: TokenName): Artifact {
  const name = token === 'ANKR_ERC20' ? 'TestToken' : 'TestTokenNoReturn';
  return JSON.parse(readFileSync(`${PROJECT_ROOT}/contracts/artifacts/${name}.json`, 'utf8')) as Artifact;
}

export async function startLocalChain(options: LocalChainOptions = {}): Promise<LocalChain> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const persistence: string[] = [];
  if (options.stateFile) {
    mkdirSync(dirname(options.stateFile), { recursive: true });
    persistence.push('--state', options.stateFile, '--state-interval', '2');
  }
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--mnemonic',
    DEV_MNEMONIC,
    '--chain-id',
    String(LOCAL_CHAIN_ID),
    '--silent',
    ...persistence,
    ...(options.extraArgs ?? []),
  ];
  // its own process group: a Ctrl-C to the terminal reaches the process that started it, which stops it last
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); // anvil writes its state on the way out
    await exited;
  };
  const client = createPublicClient({ chain: foundry, transport: http(url), cacheTime: 0 }) as PublicClient;
  try {
    await waitUntilServing(client, child, () => stderr);
    const { tokens, deployed } = await ensureTokens(url, client, options.stateFile);
    return { url, chainId: LOCAL_CHAIN_ID, client, tokens, deployed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The tokens recorded beside the state when their code is still on the chain; else deployed and minted now. */
async function ensureTokens(url: string, client: PublicClient, stateFile: string | undefined): Promise<{ tokens: Record<TokenName, `0x${string}`>; deployed: boolean }> {
  const record = stateFile ? `${stateFile}.tokens.json` : undefined;
  if (record && existsSync(record)) {
    const known = JSON.parse(readFileSync(record, 'utf8')) as Record<TokenName, `0x${string}`>;
    const present = await Promise.all(Object.values(known).map(async (address) => ((await client.getCode({ address })) ?? '0x') !== '0x'));
    if (present.every(Boolean)) return { tokens: known, deployed: false };
  }
  const wallet = createWalletClient({ chain: foundry, transport: http(url), account: DEV_ACCOUNTS[0]! });
  const deploy = async (token: TokenName, args: unknown[]): Promise<`0x${string}`> => {
    const { abi, bytecode } = tokenArtifact(token);
    const hash = await wallet.deployContract({ abi, bytecode, args });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (!receipt.contractAddress) throw new Error(`${token} was not deployed`);
    return receipt.contractAddress.toLowerCase() as `0x${string}`;
  };
  const tokens = { ANKR_ERC20: await deploy('ANKR_ERC20', ['Ankr Network', 'ANKR', 18]), USDT_ERC20: await deploy('USDT_ERC20', ['Tether USD', 'USDT', 6]) };
  for (const token of Object.keys(tokens) as TokenName[]) {
    for (const account of DEV_ACCOUNTS) {
      const hash = await wallet.writeContract({ address: tokens[token], abi: tokenArtifact(token).abi, functionName: 'mint', args: [account.address, MINTED] });
      await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    }
  }
  if (record) writeFileSync(record, JSON.stringify(tokens, null, 2));
  return { tokens, deployed: true };
}

/** Sends `units` of a token from a development account; answers the mined transaction. */
export async function sendTokens(
  chain: { url: string; client: PublicClient; tokens: Record<TokenName, `0x${string}`> },
  token: TokenName,
  to: string,
  units: bigint,
  from = DEV_ACCOUNTS[0]!,
): Promise<{ txHash: Hex; blockNumber: number }> {
  const wallet = createWalletClient({ chain: foundry, transport: http(chain.url), account: from });
  const hash = await wallet.writeContract({ address: chain.tokens[token], abi: tokenArtifact(token).abi, functionName: 'transfer', args: [to, units] });
  const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success') throw new Error(`transfer of ${token} reverted`);
  return { txHash: hash, blockNumber: Number(receipt.blockNumber) };
}

/** Mines `blocks` empty blocks. */
export async function mineBlocks(url: string, blocks: number): Promise<void> {
  await createTestClient({ chain: foundry, transport: http(url), mode: 'anvil' }).mine({ blocks });
}

async function waitUntilServing(client: PublicClient, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${stderr()}`);
    try {
      await client.getChainId();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`anvil did not answer within 60 s: ${stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
