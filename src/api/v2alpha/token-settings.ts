/**
 * Whether this engine can take payments in a token: one rule for the quote and the prepay routes, so that
 * no quote is answered that the client could never pay.
 */
import type { ChainSettings, TokenContract } from '../../chain/settings.ts';
import { AppError } from '../../domain/errors.ts';
import type { TokenCurrency } from '../../domain/money.ts';

/** The chain, the deposit key and the token's contract, or 503: token payments need all three. */
export function tokenSettings(chain: ChainSettings | null, token: TokenCurrency): { chain: ChainSettings; depositXpub: string; contract: TokenContract } {
  const contract = chain?.tokens.find((candidate) => candidate.currency === token);
  if (!chain || !chain.depositXpub || !contract) {
    throw new AppError('service_unavailable', `${token} payments are not enabled on this engine: CHAIN_ID, DEPOSIT_XPUB and TOKEN_${token}_ADDRESS must be configured.`);
  }
  return { chain, depositXpub: chain.depositXpub, contract };
}
