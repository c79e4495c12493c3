/**
 * A real local EVM for a test file: the local chain of `npm start` (src/dev/local-chain.ts: anvil with the
 * development mnemonic and the repository's two test tokens, ANKR with 18 decimals and a USDT-like token
 * with 6 whose `transfer` returns nothing), fresh for each file, with the handles the chain tests need:
 * transfers, blocks mined on demand, reorgs and the finalized block.
 */
import type { Hex, PublicClient } from 'viem';
import { mineBlocks, sendTokens, startLocalChain, type TokenName } from '../../src/dev/local-chain.ts';

export interface TestChain {
  url: string;
  chainId: number;
  client: PublicClient;
  tokens: Record<TokenName, `0x${string}`>;
  /** sends `units` (smallest units) of a token from the deployer to `to`; answers the mined transaction */
  transfer(token: TokenName, to: string, units: bigint): Promise<{ txHash: Hex; blockNumber: number }>;
  mine(blocks: number): Promise<void>;
  /** replaces the last `depth` blocks with empty ones (anvil_reorg): their transactions vanish */
  reorg(depth: number): Promise<void>;
  head(): Promise<number>;
  /** the number of the block the node answers for the `finalized` tag */
  finalized(): Promise<number>;
  stop(): Promise<void>;
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
  const chain = await startLocalChain({ extraArgs: options.slotsInAnEpoch === undefined ? [] : ['--slots-in-an-epoch', String(options.slotsInAnEpoch)] });
  const { client } = chain;
  return {
    url: chain.url,
    chainId: chain.chainId,
    client,
    tokens: chain.tokens,
    transfer: (token, to, units) => sendTokens(chain, token, to, units),
    mine: (blocks) => mineBlocks(chain.url, blocks),
    reorg: async (depth) => {
      await client.request({ method: 'anvil_reorg' as never, params: [depth, []] as never });
    },
    head: async () => Number(await client.getBlockNumber({ cacheTime: 0 })),
    finalized: async () => Number((await client.getBlock({ blockTag: 'finalized' })).number),
    stop: () => chain.stop(),
  };
}
