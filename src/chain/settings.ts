/**
 * The chain side of the configuration, in one shape: which chain, which token contracts, how deep a
 * transfer must be before it counts. Built once by each composition root from the parsed config.
 */
import type { Config } from '../config.ts';
import { CURRENCY_DECIMALS, type TokenCurrency } from '../domain/money.ts';
import { parseExtendedPublicKey } from './deposit-address.ts';

export interface TokenContract {
  currency: TokenCurrency;
  /** lower-case 0x address */
  address: `0x${string}`;
  /** on-chain decimals: ANKR 18, USDT 6 (the watcher checks the contract agrees) */
  decimals: number;
}

export interface ChainSettings {
  chainId: number;
  rpcUrl: string | undefined;
  depositXpub: string | undefined;
  tokens: TokenContract[];
  /** blocks a transfer needs, its own included, or the chain's `finalized` tag */
  confirmations: number | 'finalized';
}

/**
 * When the chain depth is `finalized`, a signed report from an external watcher can only say how many
 * blocks deep the transfer is: 64 blocks (two epochs on Ethereum) stands for finality there.
 */
export const FINALIZED_EQUIVALENT_CONFIRMATIONS = 64;

/**
 * The chain settings, or null when no chain is configured (token features then answer 503). Throws at
 * start-up when DEPOSIT_XPUB does not decode, rather than on the first token prepay.
 */
export function chainSettingsOf(config: Config): ChainSettings | null {
  if (config.CHAIN_ID === undefined) return null;
  if (config.DEPOSIT_XPUB) {
    try {
      parseExtendedPublicKey(config.DEPOSIT_XPUB);
    } catch (error) {
      throw new Error(`DEPOSIT_XPUB is not a valid extended public key: ${(error as Error).message}`, { cause: error });
    }
  }
  const tokens: TokenContract[] = [];
  if (config.TOKEN_ANKR_ERC20_ADDRESS) tokens.push(tokenContract('ANKR_ERC20', config.TOKEN_ANKR_ERC20_ADDRESS));
  if (config.TOKEN_USDT_ERC20_ADDRESS) tokens.push(tokenContract('USDT_ERC20', config.TOKEN_USDT_ERC20_ADDRESS));
  return {
    chainId: config.CHAIN_ID,
    rpcUrl: config.CHAIN_RPC_URL,
    depositXpub: config.DEPOSIT_XPUB,
    tokens,
    confirmations: config.CHAIN_CONFIRMATIONS,
  };
}

/** How many confirmations a transfer reported by count (the watcher route) needs. */
export function requiredConfirmations(settings: Pick<ChainSettings, 'confirmations'>): number {
  return settings.confirmations === 'finalized' ? FINALIZED_EQUIVALENT_CONFIRMATIONS : settings.confirmations;
}

function tokenContract(currency: TokenCurrency, address: string): TokenContract {
  return { currency, address: address.toLowerCase() as `0x${string}`, decimals: CURRENCY_DECIMALS[currency] };
}
