/**
 * The rules of a prepayment that do not depend on I/O: statuses, the stable keys of its money steps,
 * how a cycle's payment is split into monthly revenue, and what a cancellation gives back. Shared by the
 * workflow, the activities, the API and the tests.
 */
import { Dec, roundHalfUp, CURRENCY_DECIMALS, type Currency } from './money.ts';
import { scopedId, type Installation } from './installation.ts';

export const PREPAY_STATUSES = [
  'awaiting_payment',
  'payment_failed',
  'awaiting_binding',
  'active',
  'renewing',
  'past_due',
  'completed',
  'expired',
  'refunded',
  'canceled',
] as const;
export type PrepayStatus = (typeof PREPAY_STATUSES)[number];

export const TERMINAL_PREPAY_STATUSES: readonly PrepayStatus[] = ['payment_failed', 'completed', 'expired', 'refunded', 'canceled'];
export const isTerminalPrepayStatus = (status: PrepayStatus): boolean => TERMINAL_PREPAY_STATUSES.includes(status);

const DAY_MS = 24 * 60 * 60 * 1000;

/** Defaults of the lifecycle's timings (DESIGN §5); a prepay's input may override them. */
export const DEFAULT_PREPAY_TIMINGS = {
  /** a paid prepay not bound to an app within this is refunded */
  bindingTimeoutMs: 7 * DAY_MS,
  /** the `renewal_upcoming` event is recorded this long before the end of the period */
  renewalNoticeMs: 7 * DAY_MS,
  /** renewal charge attempts, measured from the end of the period: now, +1, +3, +7 days */
  renewalAttemptOffsetsMs: [0, 1 * DAY_MS, 3 * DAY_MS, 7 * DAY_MS],
  /** one charge attempt at the gateway may take this long before Temporal retries it (same key) */
  chargeTimeoutMs: 30_000,
  /**
   * all attempts of one charge together (outages retried with the same key) end after this: within the 24 h
   * for which gateways replay an idempotency key, so a retry never becomes a second charge
   */
  chargeScheduleToCloseMs: 23 * 60 * 60 * 1000,
  /** a token prepay whose renewal the team's token balance cannot pay waits this long for a deposit, then expires */
  tokenRenewalGraceMs: 7 * DAY_MS,
  /**
   * after a token payment's deadline, how long a transfer mined before the deadline may still take to reach
   * the confirmation depth and count (the chain's depth × its block time, with room to spare)
   */
  tokenConfirmationGraceMs: 30 * 60 * 1000,
} as const;

export interface PrepayTimings {
  bindingTimeoutMs: number;
  renewalNoticeMs: number;
  renewalAttemptOffsetsMs: number[];
  chargeTimeoutMs: number;
  chargeScheduleToCloseMs: number;
  tokenRenewalGraceMs: number;
  tokenConfirmationGraceMs: number;
}

/** The workflow of a prepay: its id is a business key, so a prepay has exactly one (`prepay-{installation}-{id}`). */
export const prepayWorkflowId = (installation: Installation, prePayId: number): string => scopedId(installation, 'prepay', String(prePayId));

/**
 * Idempotency keys of a prepay's money steps, for the gateway and the ledger alike. They name the
 * business step (prepay, cycle, month, renewal attempt of the dunning schedule), never a Temporal
 * attempt number, so retries, replays and continue-as-new never repeat a movement.
 */
export const prepayKeys = {
  /** the charge of a cycle; renewal attempts after the first get their own key (a decline is final for a key) */
  charge: (prePayId: number, cycle: number, renewalAttempt = 1): string =>
    renewalAttempt <= 1 ? `prepay-${prePayId}-cycle-${cycle}` : `prepay-${prePayId}-cycle-${cycle}-retry-${renewalAttempt - 1}`,
  /** revenue recognition of month `month` (1-based) of a cycle */
  month: (prePayId: number, cycle: number, month: number): string => `prepay-${prePayId}-cycle-${cycle}-month-${month}`,
  /** the full refund of a cycle never bound to an app */
  bindingTimeoutRefund: (prePayId: number, cycle: number): string => `prepay-${prePayId}-cycle-${cycle}-refund`,
  /** the refund of a cycle's unused whole months when an operator cancels */
  cancelRefund: (prePayId: number, cycle: number): string => `prepay-${prePayId}-cycle-${cycle}-cancel-refund`,
  /** an event of a cycle, e.g. `paid`, `activated`, `renewal-upcoming` */
  event: (prePayId: number, cycle: number, step: string): string => `prepay-${prePayId}-cycle-${cycle}-${step}`,
} as const;

/**
 * A cycle's payment split into the revenue of each month: total / period rounded half-up to the
 * currency's smallest unit, the last month taking the remainder, so the shares sum exactly to the total.
 */
export function monthlyShares(total: Dec, period: number, decimals: number = CURRENCY_DECIMALS.USD): Dec[] {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be a positive integer, not ${period}`);
  if (total.isNegative() || total.decimalPlaces() > decimals) throw new RangeError(`total must be a non-negative amount with at most ${decimals} decimals`);
  const share = roundHalfUp(total.dividedBy(period), decimals);
  const shares = Array.from({ length: period - 1 }, () => share);
  const rest = total.minus(share.times(period - 1));
  if (rest.isNegative()) {
    // Only when rounding up exceeds the total over many months: spread down instead of a negative last month.
    const floor = total.dividedBy(period).toDecimalPlaces(decimals, Dec.ROUND_DOWN);
    const remainder = total.minus(floor.times(period - 1));
    return [...Array.from({ length: period - 1 }, () => floor), remainder];
  }
  return [...shares, rest];
}

/** The sum of the shares of months `from … to` (1-based, inclusive); zero when the range is empty. */
export function sharesOf(shares: Dec[], from: number, to: number): Dec {
  let sum = new Dec(0);
  for (let month = Math.max(1, from); month <= Math.min(shares.length, to); month += 1) sum = sum.plus(shares[month - 1]!);
  return sum;
}

/**
 * What a cancellation keeps and gives back: the months that have started are used (the one in progress
 * included, it is not a whole unused month) and earned; every later whole month is refunded.
 */
export function cancellationSplit(total: Dec, period: number, monthsUsed: number, decimals: number = CURRENCY_DECIMALS.USD): { earned: Dec; refund: Dec; refundedMonths: number } {
  const used = Math.min(Math.max(monthsUsed, 0), period);
  const shares = monthlyShares(total, period, decimals);
  return { earned: sharesOf(shares, 1, used), refund: sharesOf(shares, used + 1, period), refundedMonths: period - used };
}

/** How a prepay is paid: `USD` by card, a token by transfers to its deposit address. */
export type PrepayPaymentType = Currency;

/** The deployed app a prepay pays for (CallBackAppInfo). Resources as in quotes: millicores, MiB, GiB. */
export interface AppBinding {
  appId: string;
  clusterId: string;
  chartName: string;
  cpuLimit: number;
  memLimit: number;
  storageLimit: number;
  iconUrl: string;
  projectName: string;
}

/** Two bindings name the same app when the app and what it runs on are the same (icon and project name may differ). */
export function sameApp(left: AppBinding, right: AppBinding): boolean {
  return (
    left.appId === right.appId &&
    left.clusterId === right.clusterId &&
    left.chartName === right.chartName &&
    left.cpuLimit === right.cpuLimit &&
    left.memLimit === right.memLimit &&
    left.storageLimit === right.storageLimit
  );
}

/** What the workflow writes to its read model (the `prepays` row) after each change; times are ISO strings. */
export interface PrepaySnapshot {
  prePayId: number;
  status: PrepayStatus;
  cycle: number;
  /** null for token prepays */
  cardId: string | null;
  autoRenewal: boolean;
  /** the current cycle's price in the payment currency (USD for cards), decimal string */
  amount: string;
  /** its USD value when that is not `amount` itself (token prepays) */
  usd?: string;
  /** token prepays, first cycle: token units of the transfers counted toward the payment (and credited) */
  received?: string;
  monthsRecognized: number;
  app: AppBinding | null;
  boundAt: string | null;
  periodStart: string | null;
  periodEnd: string | null;
  failureCode: string | null;
}
