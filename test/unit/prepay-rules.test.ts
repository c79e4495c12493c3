import { Dec } from '../../src/domain/money.ts';
import { cancellationSplit, monthlyShares, prepayKeys, sameApp, sharesOf } from '../../src/domain/prepay.ts';

const texts = (values: Dec[]) => values.map((value) => value.toFixed());

describe('monthlyShares', () => {
  it('splits a total into cent shares, the last month taking the remainder, summing exactly', () => {
    expect(texts(monthlyShares(new Dec('100'), 3))).toEqual(['33.33', '33.33', '33.34']);
    expect(texts(monthlyShares(new Dec('22.2'), 12))).toEqual([...Array(11).fill('1.85'), '1.85']);
    expect(texts(monthlyShares(new Dec('10'), 12))).toEqual([...Array(11).fill('0.83'), '0.87']);
    expect(texts(monthlyShares(new Dec('0.05'), 1))).toEqual(['0.05']);
  });

  it('rounds half-up and never makes a negative last share', () => {
    // 0.10 / 12 = 0.00833… rounds to 0.01, and 11 × 0.01 > 0.10: the shares go down instead
    const shares = monthlyShares(new Dec('0.10'), 12);
    expect(shares.every((share) => !share.isNegative())).toBe(true);
    expect(sharesOf(shares, 1, 12).toFixed()).toBe('0.1');
  });

  it('sums to the total for many totals and periods', () => {
    for (const total of ['0.01', '1', '33.33', '999.99', '1234567.89', '0.11']) {
      for (let period = 1; period <= 12; period += 1) {
        const shares = monthlyShares(new Dec(total), period);
        expect(shares).toHaveLength(period);
        expect(sharesOf(shares, 1, period).eq(new Dec(total))).toBe(true);
        expect(shares.every((share) => share.decimalPlaces() <= 2 && !share.isNegative())).toBe(true);
      }
    }
  });

  it('refuses fractions of a cent and bad periods', () => {
    expect(() => monthlyShares(new Dec('1.001'), 3)).toThrow(RangeError);
    expect(() => monthlyShares(new Dec('1'), 0)).toThrow(RangeError);
  });
});

describe('cancellationSplit', () => {
  it('keeps the months that started and refunds every later whole month, exactly', () => {
    expect(cancellationSplit(new Dec('120'), 12, 4)).toEqual({ earned: new Dec('40'), refund: new Dec('80'), refundedMonths: 8 });
    const uneven = cancellationSplit(new Dec('100'), 12, 4);
    expect([uneven.earned.toFixed(), uneven.refund.toFixed(), uneven.refundedMonths]).toEqual(['33.32', '66.68', 8]);
    expect(cancellationSplit(new Dec('100'), 12, 0).refund.toFixed()).toBe('100');
    expect(cancellationSplit(new Dec('100'), 12, 12).refund.toFixed()).toBe('0');
  });
});

describe('prepayKeys', () => {
  it('names each money step by the business, never by an attempt', () => {
    expect(prepayKeys.charge(12, 1)).toBe('prepay-12-cycle-1');
    expect(prepayKeys.charge(12, 2, 1)).toBe('prepay-12-cycle-2');
    expect(prepayKeys.charge(12, 2, 3)).toBe('prepay-12-cycle-2-retry-2');
    expect(prepayKeys.month(12, 2, 7)).toBe('prepay-12-cycle-2-month-7');
    expect(prepayKeys.cancelRefund(12, 1)).toBe('prepay-12-cycle-1-cancel-refund');
    expect(prepayKeys.bindingTimeoutRefund(12, 1)).toBe('prepay-12-cycle-1-refund');
  });
});

describe('sameApp', () => {
  const app = { appId: 'a', clusterId: 'c', chartName: 'nginx', cpuLimit: 100, memLimit: 128, storageLimit: 1, iconUrl: 'https://x/i.png', projectName: 'p' };
  it('is the same app when only its icon or project name differ', () => {
    expect(sameApp(app, { ...app, iconUrl: 'other', projectName: 'other' })).toBe(true);
    expect(sameApp(app, { ...app, appId: 'b' })).toBe(false);
    expect(sameApp(app, { ...app, cpuLimit: 200 })).toBe(false);
  });
});

describe('token prepays', () => {
  it('split a cancellation to the token’s smallest unit', () => {
    expect(cancellationSplit(new Dec('1000'), 3, 2, 18)).toEqual({ earned: new Dec('666.666666666666666666'), refund: new Dec('333.333333333333333334'), refundedMonths: 1 });
    expect(texts(monthlyShares(new Dec('100'), 3, 6))).toEqual(['33.333333', '33.333333', '33.333334']);
  });
});
