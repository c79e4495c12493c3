import { periodBoundary, periodContaining, periodWindow } from '../../src/domain/billing-periods.ts';
import { monthBoundary } from '../../src/domain/calendar.ts';
import { Dec } from '../../src/domain/money.ts';
import { accountStatus, balanceWillNotCover, isPurchased } from '../../src/domain/subscriptions.ts';

const at = (iso: string) => new Date(iso);
const isoOf = (date: Date) => date.toISOString();

describe('billing periods', () => {
  it('clamps to the month end from the anchor, never chaining', () => {
    const anchor = at('2024-01-31T10:20:30.456Z');
    expect([1, 2, 3, 4, 13].map((months) => isoOf(monthBoundary(anchor, months)))).toEqual([
      '2024-02-29T10:20:30.456Z',
      '2024-03-31T10:20:30.456Z',
      '2024-04-30T10:20:30.456Z',
      '2024-05-31T10:20:30.456Z',
      '2025-02-28T10:20:30.456Z',
    ]);
  });

  it('makes yearly periods of 12 months and windows of consecutive boundaries', () => {
    const anchor = at('2024-02-29T00:00:00.000Z');
    expect(isoOf(periodBoundary(anchor, 'Y', 1))).toBe('2025-02-28T00:00:00.000Z');
    expect(isoOf(periodBoundary(anchor, 'Y', 4))).toBe('2028-02-29T00:00:00.000Z');
    const second = periodWindow(at('2024-01-31T00:00:00.000Z'), 'M', 2);
    expect([isoOf(second.start), isoOf(second.end)]).toEqual(['2024-02-29T00:00:00.000Z', '2024-03-31T00:00:00.000Z']);
    expect(() => periodWindow(anchor, 'M', 0)).toThrow(RangeError);
  });

  it('finds the period containing a time, boundaries belonging to the next period', () => {
    const anchor = at('2024-01-31T12:00:00.000Z');
    expect(periodContaining(anchor, 'M', at('2024-01-01T00:00:00.000Z'))).toBe(1);
    expect(periodContaining(anchor, 'M', at('2024-02-29T11:59:59.999Z'))).toBe(1);
    expect(periodContaining(anchor, 'M', at('2024-02-29T12:00:00.000Z'))).toBe(2);
    expect(periodContaining(anchor, 'M', at('2024-03-31T11:00:00.000Z'))).toBe(2);
    expect(periodContaining(anchor, 'M', at('2025-01-31T12:00:00.000Z'))).toBe(13);
    expect(periodContaining(anchor, 'Y', at('2025-01-31T11:59:59.000Z'))).toBe(1);
    expect(periodContaining(anchor, 'Y', at('2026-06-01T00:00:00.000Z'))).toBe(3);
  });
});

describe('the account view of subscriptions', () => {
  it('takes the most urgent status, and "" when the tenant never subscribed', () => {
    expect(accountStatus([])).toBe('');
    expect(accountStatus(['canceled'])).toBe('canceled');
    expect(accountStatus(['canceled', 'canceling'])).toBe('canceling');
    expect(accountStatus(['canceling', 'active'])).toBe('active');
    expect(accountStatus(['active', 'arrears'])).toBe('arrears');
    expect(accountStatus(['arrears', 'suspended', 'active'])).toBe('suspended');
    expect([isPurchased(['canceling']), isPurchased(['arrears', 'suspended', 'canceled'])]).toEqual([true, false]);
  });

  it('notifies when the balance does not cover what comes due next', () => {
    const plan = (status: 'active' | 'canceling' | 'arrears', price: string) => ({ status, price: new Dec(price) });
    expect(balanceWillNotCover(new Dec('10'), [])).toBe(false);
    expect(balanceWillNotCover(new Dec('10'), [plan('active', '10')])).toBe(false);
    expect(balanceWillNotCover(new Dec('9.99'), [plan('active', '10')])).toBe(true);
    expect(balanceWillNotCover(new Dec('0'), [plan('canceling', '10')])).toBe(false);
    expect(balanceWillNotCover(new Dec('15'), [plan('active', '10'), plan('arrears', '5.01')])).toBe(true);
  });
});
