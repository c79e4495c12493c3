/**
 * Calendar months of a service period, in UTC (DESIGN §5). Pure and deterministic: workflows use it
 * with workflow time.
 */

/** Days in a month of the proleptic Gregorian calendar (month 0–11). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * The anchor plus `months` calendar months, clamped to the end of a shorter month, keeping the time of
 * day. Always computed from the anchor, never chained: an anchor of Jan 31 gives Feb 28 (29 in a leap
 * year), Mar 31, Apr 30.
 */
export function monthBoundary(anchor: Date, months: number): Date {
  if (!Number.isInteger(months) || months < 0) throw new RangeError(`months must be a non-negative integer, not ${months}`);
  const time = anchor.getTime();
  if (!Number.isFinite(time)) throw new RangeError('the anchor must be a valid date');
  const monthIndex = anchor.getUTCMonth() + months;
  const year = anchor.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = monthIndex % 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  return new Date(Date.UTC(year, month, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()));
}

/**
 * How many of the months `offset + 1 … offset + period` (counted from the anchor) had started strictly
 * before `now`: the months a customer has used, in whole or in part.
 */
export function monthsStarted(anchor: Date, offset: number, period: number, now: Date): number {
  let started = 0;
  for (let month = 1; month <= period; month += 1) {
    if (monthBoundary(anchor, offset + month - 1).getTime() < now.getTime()) started = month;
  }
  return started;
}
