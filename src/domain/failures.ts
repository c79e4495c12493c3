/**
 * The business failures of the engine's workflows and activities, in one catalogue. Each has a stable
 * `type`: the `ApplicationFailure` type that Temporal records in histories and that `nonRetryableErrorTypes`
 * names, so a type is never renamed. Each also says when it is raised, whether a retry of the same request
 * could end otherwise, and, for those a request can meet, the API's error type and field
 * (src/api/middleware/errors.ts turns that into the HTTP answer).
 *
 * Infrastructure failures (a database or Temporal that is down, a timeout) are not here: activities retry
 * them, and the API answers them with 503.
 */
import type { ErrorType } from './errors.ts';

export interface Failure {
  /** the stable `ApplicationFailure` type */
  type: string;
  /** when it is raised */
  when: string;
  /** whether a retry of the same request may end otherwise (a transient refusal) */
  retryable: boolean;
  /** the API's answer to a request that meets it; absent for those that end inside a workflow */
  http?: { error: ErrorType; field?: string };
}

export const FAILURES = {
  // Card charges and refunds (activities/payments.ts)
  cardDeclined: {
    type: 'CardDeclined',
    when: 'the card network declined a charge, or the card was removed from the team (details: declineCode)',
    retryable: false,
    http: { error: 'card_declined', field: 'card_id' },
  },
  chargeRefused: {
    type: 'ChargeRefused',
    when: 'the gateway refused a charge for good without a decline (amount too small, card detached, key reused); handled as a decline',
    retryable: false,
    http: { error: 'card_declined', field: 'card_id' },
  },
  refundRefused: {
    type: 'RefundRefused',
    when: 'the ledger cannot reverse a movement: the balance no longer covers it, or it is not refundable (details: errorType)',
    retryable: false,
    http: { error: 'conflict', field: 'trans_id' },
  },
  gatewayRefundRefused: {
    type: 'GatewayRefundRefused',
    when: 'the gateway will not make a refund (refunded there already, charge too old); the ledger reversal is undone',
    retryable: false,
    http: { error: 'conflict', field: 'trans_id' },
  },
  // Balances and prices (activities/subscriptions.ts, activities/token-prepay.ts)
  insufficientBalance: {
    type: 'InsufficientBalance',
    when: "a charge from a team's balance (a plan's period, a token prepay's payment or renewal) finds the balance short",
    retryable: false,
    http: { error: 'insufficient_balance' },
  },
  subscriptionGone: {
    type: 'SubscriptionGone',
    when: 'a subscription to be charged is canceled or unknown',
    retryable: false,
  },
  priceUnavailable: {
    type: 'PriceUnavailable',
    when: 'the price feed has no usable rate for a token (none, stale, or too small to price the amount)',
    retryable: true,
    http: { error: 'price_unavailable' },
  },
  renewalUnpriceable: {
    type: 'PrepayRenewalUnpriceable',
    when: "a prepay's renewal cannot be priced: its app's cluster is gone, or the resources cost nothing",
    retryable: false,
  },
  invalidTransfer: {
    type: 'InvalidTransfer',
    when: 'a token transfer cannot be credited: its amount is not a positive plain decimal within the token’s decimals',
    retryable: false,
  },
  // Refusals of a prepay's updates (workflows/prepay.ts), answered to the request that sent them
  prepayPaymentTypeMismatch: {
    type: 'PrepayPaymentTypeMismatch',
    when: 'CallBackAppInfo names another payment type than the prepay was paid with',
    retryable: false,
    http: { error: 'conflict', field: 'type' },
  },
  prepayResourcesExceedPayment: {
    type: 'PrepayResourcesExceedPayment',
    when: "the app's resources cost more for the period than the prepayment paid",
    retryable: false,
    http: { error: 'unprocessable', field: 'cpu_limit' },
  },
  prepayAppAlreadyBound: {
    type: 'PrepayAppAlreadyBound',
    when: 'the prepay is bound to another app already',
    retryable: false,
    http: { error: 'conflict', field: 'app_id' },
  },
  prepayNotBindable: {
    type: 'PrepayNotBindable',
    when: 'the prepay is not waiting for its app (not paid yet, canceled, refunded, or its binding window closed)',
    retryable: false,
    http: { error: 'conflict', field: 'pre_pay_id' },
  },
  prepayNotCancelable: {
    type: 'PrepayNotCancelable',
    when: 'the prepay is being charged right now (its first payment or a renewal); a cancel in a moment may pass',
    retryable: true,
    http: { error: 'conflict', field: 'pre_pay_id' },
  },
  prepayRenewalInProgress: {
    type: 'PrepayRenewalInProgress',
    when: 'auto-renewal is switched off while the renewal is at the gateway, which the switch could no longer stop',
    retryable: true,
    http: { error: 'conflict', field: 'auto_renewal' },
  },
  prepayClosed: {
    type: 'PrepayClosed',
    when: 'the prepay is closed (canceled, refunded, expired, completed, payment failed) or its workflow has ended (details: status)',
    retryable: false,
    http: { error: 'conflict', field: 'pre_pay_id' },
  },
  prepayIdentityMismatch: {
    type: 'PrepayIdentityMismatch',
    when: 'the request names another tenant or other terms than the workflow under this id runs for (a prepay id reused after a database reset or restore)',
    retryable: false,
    http: { error: 'conflict', field: 'pre_pay_id' },
  },
  prepayInvalidRequest: {
    type: 'PrepayInvalidRequest',
    when: 'an update to a prepay is malformed, or names a card that is not the team’s',
    retryable: false,
    http: { error: 'invalid_request' },
  },
} as const satisfies Record<string, Failure>;

export type FailureName = keyof typeof FAILURES;

/** The stable types of the named failures, e.g. for `nonRetryableErrorTypes`. */
export function failureTypes(...names: FailureName[]): string[] {
  return names.map((name) => FAILURES[name].type);
}

const BY_TYPE: ReadonlyMap<string, Failure> = new Map(Object.values(FAILURES).map((failure) => [failure.type, failure]));

/** The catalogue's entry for a failure type; undefined for a type that is not a business failure. */
export function failureOf(type: string | undefined): Failure | undefined {
  return type === undefined ? undefined : BY_TYPE.get(type);
}
