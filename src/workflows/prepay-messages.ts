/**
 * PrepayWorkflow's contract: its input, the state it answers, its updates, signals and query, and the
 * search attributes operators find prepays by. The API, the watcher and the tests import these
 * definitions (also re-exported by prepay.ts); they hold no workflow logic.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AppBinding, PrepayPaymentType, PrepaySnapshot, PrepayStatus, PrepayTimings } from '../domain/prepay.ts';
import { TOKEN_TRANSFER_SIGNAL, type TokenTransferSignal } from '../domain/token-transfer.ts';

/** The custom search attributes operators find prepays by (registered as in src/temporal/search-attributes.ts). */
export const prepaySearchAttributes = {
  teamId: defineSearchAttributeKey('TeamId', 'KEYWORD'),
  prePayId: defineSearchAttributeKey('PrePayId', 'INT'),
  paymentType: defineSearchAttributeKey('PaymentType', 'KEYWORD'),
  status: defineSearchAttributeKey('PrepayStatus', 'KEYWORD'),
  periodEnd: defineSearchAttributeKey('PeriodEnd', 'DATETIME'),
};

export interface PrepayInput {
  prePayId: number;
  tenantId: string;
  /** `USD`: paid by card; `ANKR_ERC20`, `USDT_ERC20`: paid by token transfers */
  paymentType: PrepayPaymentType;
  /** the card of a card prepay; null for a token prepay */
  cardId: string | null;
  /** months, 1–12 */
  period: number;
  autoRenewal: boolean;
  /** the cycle's price in the payment currency (USD for cards, token units for tokens), decimal string */
  amount: string;
  /** token prepays: the cycle's USD value (the quote's, then the renewal's price) */
  usd?: string;
  /** token prepays, first cycle: where and until when its payment may arrive */
  tokenPayment?: TokenPaymentTerms;
  /** overrides of DEFAULT_PREPAY_TIMINGS (binding timeout, renewal notice, dunning schedule, charge timeout) */
  timings?: Partial<PrepayTimings>;
  /** set by continue-as-new: the next cycle, already paid and bound */
  continued?: ContinuedCycle;
}

export interface TokenPaymentTerms {
  /** the deposit address (EIP-55), for the status */
  depositAddress: string;
  /** ISO time: the quote's rate-lock expiry; what has not arrived by then does not count */
  deadline: string;
}

export interface ContinuedCycle {
  cycle: number;
  /** the binding time: boundaries of every cycle are counted from it, never chained */
  anchor: string;
  /** months of the earlier cycles */
  monthOffset: number;
  app: AppBinding;
  boundAt: string;
  chargeId: string;
  syncSeq: number;
  /**
   * Set when a run continued as new in the middle of its cycle (the server suggested it: the history grew
   * long): the same cycle, resumed where the last run left it. Absent when a new cycle begins.
   */
  resume?: ResumedCycle;
}

export interface ResumedCycle {
  monthsRecognized: number;
  noticeSent: boolean;
  /** USD refunded in this cycle so far, and the same in the payment currency */
  refundedUsd: string;
  refundedAmount: string;
  /** token prepays, first cycle: how its payment arrived (kept for the status) */
  firstTokenPayment: TokenPaymentView | null;
}

export type PaymentOutcome =
  | { status: 'paid'; prePayId: number; chargeId: string }
  | { status: 'declined'; prePayId: number; declineCode: string; message: string }
  /** token prepays: the payment did not arrive in full before the deadline (or was canceled) */
  | { status: 'unpaid'; prePayId: number; reason: string };

export interface RenewalView {
  /** USD price of the next cycle at current prices */
  amount: string;
  /** the attempt made last (0 before the first), of `attempts` scheduled ones (token prepays also try after each deposit) */
  attempt: number;
  attempts: number;
  nextAttemptAt: string | null;
  /** why the last attempt failed: a card's decline code, or `insufficient_balance` / `price_unavailable` for tokens */
  lastDeclineCode: string | null;
  /** token prepays: the price in tokens at the last attempt's rate */
  tokenAmount?: string | null;
  /** token prepays: when the wait for a deposit ends */
  graceEndsAt?: string | null;
}

/** A token prepay's first payment as it arrives. */
export interface TokenPaymentView {
  depositAddress: string;
  deadline: string;
  /** token units due */
  amount: string;
  /** token units counted toward it (each on the team's balance) */
  received: string;
  transfers: number;
}

/** The full status (query `status`, and the answer of every update). */
export interface PrepayView extends PrepaySnapshot {
  tenantId: string;
  paymentType: string;
  period: number;
  nextBoundary: string | null;
  renewal: RenewalView | null;
  /** USD refunded in this cycle */
  refundedUsd: string;
  /** the same in the payment currency (tokens back on the team's balance for token prepays) */
  refundedAmount: string;
  /** the cycle's USD value (`amount` for card prepays) */
  usd: string;
  /** token prepays, first cycle */
  tokenPayment: TokenPaymentView | null;
}

export interface BindAppRequest extends RequestOwner {
  /** the `{type}` of the callback's path */
  paymentType: string;
  app: AppBinding;
  /** what the app's resources cost for the prepay's period at current prices, USD */
  costUsd: string;
}

export interface PrepayResult {
  prePayId: number;
  status: PrepayStatus;
  cycle: number;
  refundedUsd: string;
}

/**
 * Who a request acts for. Every update from the API carries the tenant of the prepay's row (and the start
 * its terms), and the workflow refuses a request that is not for its own tenant: the guard against a
 * prepay id that names another tenant's workflow (a database restored behind Temporal's back).
 */
export interface RequestOwner {
  tenantId?: string;
}

/** The terms the API started the prepay with, checked when a retried request attaches to a running workflow. */
export interface AttachRequest extends RequestOwner {
  paymentType: string;
  amount: string;
  period: number;
}

export const awaitPaymentUpdate = defineUpdate<PaymentOutcome, [AttachRequest | undefined]>('awaitPayment');
export const bindAppUpdate = defineUpdate<PrepayView, [BindAppRequest]>('bindApp');
export const setAutoRenewalUpdate = defineUpdate<PrepayView, [{ autoRenewal: boolean } & RequestOwner]>('setAutoRenewal');
export const changeCardUpdate = defineUpdate<PrepayView, [{ cardId: string } & RequestOwner]>('changeCard');
/**
 * `requestId` names the API request (its Idempotency-Key claim): a retry of a cancel this run accepted is
 * accepted again and answers when the prepay is closed, even after the cancel is decided.
 */
export const cancelUpdate = defineUpdate<PrepayView, [{ reason: string; requestId?: string } & RequestOwner]>('cancel');
/** For operators in the Temporal UI/CLI: the same as the updates, without an answer (an invalid request is logged and ignored). */
export const requestCancelSignal = defineSignal<[{ reason: string }]>('requestCancel');
export const requestAutoRenewalSignal = defineSignal<[{ autoRenewal: boolean }]>('requestAutoRenewal');
/** From the chain watcher (src/chain/deliver.ts): a transfer to the prepay's deposit address. Counted once per identity. */
export const tokenTransferSignal = defineSignal<[TokenTransferSignal]>(TOKEN_TRANSFER_SIGNAL);
export const statusQuery = defineQuery<PrepayView>('status');
