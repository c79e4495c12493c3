/**
 * Calendar billing periods of a subscription (DESIGN §5 rule, used for plans too): boundary `i` is the
 * anchor plus `i` months in UTC, clamped to the month's end and never chained from the previous boundary
 * (an anchor of Jan 31 gives Feb 28/29, Mar 31, Apr 30). A yearly plan's period is 12 months.
 * Period `n` (1-based) is [boundary(n − 1), boundary(n)). Pure and deterministic: workflows use it.
 * Months are counted by `monthBoundary` of calendar.ts, the same rule the prepayments use.
 */
import { monthBoundary } from './calendar.ts';

export const BILL_PERIOD_MONTHS = { M: 1, Y: 12 } as const;
export type BillingPeriod = keyof typeof BILL_PERIOD_MONTHS;

/** Boundary `index` of a subscription anchored at `anchor` (boundary 0 is the anchor itself). */
export function periodBoundary(anchor: Date, billPeriod: BillingPeriod, index: number): Date {
  return monthBoundary(anchor, index * BILL_PERIOD_MONTHS[billPeriod]);
}

/** Period `n` (1-based): from boundary n − 1 (inclusive) to boundary n (exclusive). */
export function periodWindow(anchor: Date, billPeriod: BillingPeriod, period: number): { start: Date; end: Date } {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be an integer ≥ 1, got ${period}`);
  return { start: periodBoundary(anchor, billPeriod, period - 1), end: periodBoundary(anchor, billPeriod, period) };
}

/** The period that contains `at` (period 1 for any time before the anchor). */
export function periodContaining(anchor: Date, billPeriod: BillingPeriod, at: Date): number {
  const months = BILL_PERIOD_MONTHS[billPeriod];
  const elapsedMonths = (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (at.getUTCMonth() - anchor.getUTCMonth());
  // A first guess from the month difference, then corrected by at most a step either way.
  let period = Math.max(1, Math.floor(elapsedMonths / months) + 1);
  while (period > 1 && at < periodBoundary(anchor, billPeriod, period - 1)) period -= 1;
  while (at >= periodBoundary(anchor, billPeriod, period)) period += 1;
  return period;
}
