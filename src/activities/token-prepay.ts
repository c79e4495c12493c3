/**
 * The money steps of a token prepay (DESIGN §5): its payment moves the token amount from the team's
 * token balance (where every transfer was credited first) to deferred revenue; a refund moves it back;
 * a renewal converts its USD price at the current rate and pays from the balance. A balance that cannot
 * pay and a missing rate are business outcomes (non-retryable, stable types); the workflow decides.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Orm } from '../db/orm.ts';
import type { Clock } from '../domain/clock.ts';
import { Dec, parseDecimal, type TokenCurrency } from '../domain/money.ts';
import { FAILURES } from '../domain/failures.ts';
import { MAX_QUOTE_AMOUNT, tokenAmountFor } from '../domain/pricing.ts';
import { InsufficientBalanceError } from '../ledger/ledger.ts';
import { bookPrepayPayment, bookPrepayRefund } from '../ledger/prepays.ts';
import type { PriceFeed } from '../pricing/price-feed.ts';

export interface BookTokenPrepayPaymentInput {
  prePayId: number;
  tenantId: string;
  cycle: number;
  currency: TokenCurrency;
  /** token units */
  amount: string;
  /** its USD value (the quote's, or the renewal's price) */
  usd: string;
  /** `token`: the first cycle's transfers; `balance`: a renewal */
  paidFrom: 'token' | 'balance';
  paidAt: string;
}

export function createTokenPrepayActivities(deps: { orm: Orm; clock: Clock; priceFeed: PriceFeed }) {
  return {
    /** Moves a cycle's token amount from the team's token balance to deferred revenue (key `prepay-{id}-cycle-{n}`), once. */
    async bookTokenPrepayPayment(input: BookTokenPrepayPaymentInput): Promise<{ ledgerTransactionId: string }> {
      try {
        return await bookPrepayPayment(deps.orm.em.fork(), {
          prePayId: input.prePayId,
          tenantId: input.tenantId,
          cycle: input.cycle,
          currency: input.currency,
          amount: parseDecimal(input.amount),
          usd: parseDecimal(input.usd),
          cardId: null,
          gatewayChargeId: null,
          paidAt: new Date(input.paidAt),
          paymentMethod: input.paidFrom,
        });
      } catch (error) {
        if (error instanceof InsufficientBalanceError) {
          throw ApplicationFailure.create({ type: FAILURES.insufficientBalance.type, message: error.message, nonRetryable: true });
        }
        throw error;
      }
    },

    /** Gives part or all of a token cycle back to the team's token balance (no transfer on chain); the key makes it happen once. */
    async returnTokenPrepay(input: {
      prePayId: number;
      tenantId: string;
      cycle: number;
      amount: string;
      usd: string;
      idempotencyKey: string;
      reason: string;
      refundedAt: string;
    }): Promise<{ returned: string; usd: string }> {
      await bookPrepayRefund(deps.orm.em.fork(), {
        prePayId: input.prePayId,
        tenantId: input.tenantId,
        cycle: input.cycle,
        amount: parseDecimal(input.amount),
        usd: parseDecimal(input.usd),
        idempotencyKey: input.idempotencyKey,
        reason: input.reason,
        gatewayRefundId: null,
        refundedAt: new Date(input.refundedAt),
      });
      // token units back on the team's balance (once per key: a retry books nothing twice)
      return { returned: input.amount, usd: input.usd };
    },

    /** A USD price in token units at the feed's current rate, rounded up to the quote scale as quotes are. */
    async convertUsdToToken(input: { currency: TokenCurrency; usd: string }): Promise<{ amount: string; rate: string }> {
      const usd = parseDecimal(input.usd);
      let rate = new Dec(1);
      if (input.currency !== 'USDT_ERC20') {
        const reading = await deps.priceFeed.rate(deps.orm.em.fork(), input.currency);
        if (!reading || reading.usd.lte(0)) {
          throw ApplicationFailure.create({ type: FAILURES.priceUnavailable.type, message: `No current ${input.currency} rate is available.`, nonRetryable: true });
        }
        rate = reading.usd;
      }
      const amount = tokenAmountFor(usd, input.currency, rate);
      if (amount.gt(MAX_QUOTE_AMOUNT)) {
        throw ApplicationFailure.create({
          type: FAILURES.priceUnavailable.type,
          message: `The ${input.currency} rate ${rate.toFixed()} is too small to price ${usd.toFixed()} USD.`,
          nonRetryable: true,
        });
      }
      return { amount: amount.toFixed(), rate: rate.toFixed() };
    },
  };
}
