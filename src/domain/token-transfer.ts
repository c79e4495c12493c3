/**
 * A token transfer as it crosses Temporal (the `tokenTransfer` signal of a prepay, the input of the
 * credit workflow). Amounts are decimal strings in token units, block numbers plain integers: nothing
 * here needs a float or a bigint to survive JSON. Pure, so workflows may import it.
 */
import { CURRENCY_DECIMALS, Dec, type TokenCurrency } from './money.ts';
import { scopedId, type Installation } from './installation.ts';

/** What makes a transfer unique: one ERC20 Transfer log. A transfer counts once, by this identity. */
export interface TransferIdentity {
  chainId: number;
  /** lower-case 0x hash */
  txHash: string;
  logIndex: number;
}

/** The payload of the `tokenTransfer` signal sent to `prepay-{pre_pay_id}`. */
export interface TokenTransferSignal extends TransferIdentity {
  token: TokenCurrency;
  /** decimal string in token units, exact ("1.000001" USDT, up to 18 decimals for ANKR) */
  amount: string;
  /** lower-case 0x addresses */
  from: string;
  to: string;
  blockNumber: number;
  /**
   * ISO time of the transfer's block, when the reporter knows it. A transfer mined before a payment's
   * deadline counts toward it even when it reaches the confirmation depth after (decision 0052).
   */
  blockTime?: string;
}

/** The signal's name on the prepay workflow. */
export const TOKEN_TRANSFER_SIGNAL = 'tokenTransfer';

/** Why a transfer is credited to its team's balance by CreditTransferWorkflow rather than counted by its prepay. */
export type CreditTransferReason = 'no_open_prepay' | 'token_mismatch';

/** `{chainId}-{txHash}-{logIndex}`: the key of workflow ids, event keys and de-duplication sets. */
export function transferKey(identity: TransferIdentity): string {
  return `${identity.chainId}-${identity.txHash}-${identity.logIndex}`;
}

/** The id of the workflow that credits a transfer to a team's balance: one per transfer, ever. */
export function creditTransferWorkflowId(installation: Installation, identity: TransferIdentity): string {
  return scopedId(installation, 'transfer', transferKey(identity));
}

const PLAIN_DECIMAL = /^(0|[1-9]\d*)(\.\d+)?$/;
const TOKEN_DECIMALS: Readonly<Record<string, number>> = { ANKR_ERC20: CURRENCY_DECIMALS.ANKR_ERC20, USDT_ERC20: CURRENCY_DECIMALS.USDT_ERC20 };

/**
 * The transfer's amount when it is one the engine can credit: a plain positive decimal with at most the
 * token's decimals, of a token the engine knows; null otherwise (a broken report, never counted).
 */
export function transferAmount(transfer: Pick<TokenTransferSignal, 'token' | 'amount'>): Dec | null {
  const decimals = typeof transfer?.token === 'string' && Object.hasOwn(TOKEN_DECIMALS, transfer.token) ? TOKEN_DECIMALS[transfer.token] : undefined;
  if (decimals === undefined || typeof transfer.amount !== 'string' || !PLAIN_DECIMAL.test(transfer.amount)) return null;
  const amount = new Dec(transfer.amount);
  return amount.gt(0) && amount.decimalPlaces() <= decimals ? amount : null;
}
