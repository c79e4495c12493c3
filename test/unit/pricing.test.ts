import { Dec, toCanonicalString } from '../../src/domain/money.ts';
import { discountFor, priceResources, RESOURCE_LIMITS, tokenAmountFor, type PriceBook } from '../../src/domain/pricing.ts';

const d = (text: string) => new Dec(text);
const text = (value: InstanceType<typeof Dec>) => toCanonicalString(value);

function book(overrides: Partial<PriceBook> = {}): PriceBook {
  return {
    cpuCoreMonthUsd: d('13.37'),
    memoryGibMonthUsd: d('4.99'),
    storageGibMonthUsd: d('0.123'),
    chartMultipliers: { wordpress: d('1.15'), ghost: d('0.5') },
    periodDiscounts: { '3': d('0.05'), '6': d('0.1'), '12': d('0.2') },
    ...overrides,
  };
}

describe('priceResources: a worked example', () => {
  // By hand:
  //   cpu      250 millicores = 0.25 core       × 13.37 = 3.3425
  //   memory   700 MiB = 0.68359375 GiB         × 4.99  = 3.4111328125
  //   storage  7 GiB                            × 0.123 = 0.861
  //   monthly base                                       = 7.6146328125
  //   × chart "wordpress" 1.15                           = 8.756827734375
  //   × 7 months                                         = 61.297794140625
  //   × (1 − 0.1), the 6-month tier applies to 7 months  = 55.1680147265625
  //   rounded once, half-up, to cents                    = 55.17
  const resources = { cpuMillicores: 250, memoryMib: 700, storageGib: 7 };

  it('prices at full precision and rounds once, half-up, to cents', () => {
    const price = priceResources(book(), resources, 'wordpress', 7);
    expect(text(price.monthlyBase)).toBe('7.6146328125');
    expect(text(price.multiplier)).toBe('1.15');
    expect(text(price.discount)).toBe('0.1');
    expect(text(price.usd)).toBe('55.17');
  });

  it('does not round per month: rounding each month first would give 55.19', () => {
    const price = priceResources(book(), resources, 'wordpress', 7);
    const roundedMonthly = price.monthlyBase.times(price.multiplier).toDecimalPlaces(2, Dec.ROUND_HALF_UP); // 8.76
    const perMonthTotal = roundedMonthly.times(7).times(d('0.9')).toDecimalPlaces(2, Dec.ROUND_HALF_UP);
    expect(text(perMonthTotal)).toBe('55.19');
    expect(text(price.usd)).toBe('55.17');
  });

  it('does not round per month for a cheap resource either (0.333 × 12 = 3.996 → 4, not 0.33 × 12 = 3.96)', () => {
    const price = priceResources(book({ storageGibMonthUsd: d('0.333'), periodDiscounts: {} }), { cpuMillicores: 0, memoryMib: 0, storageGib: 1 }, '', 12);
    expect(text(price.usd)).toBe('4');
  });

  it('rounds a half cent up, not to even', () => {
    // 0.125 USD per GiB-month × 1 GiB × 1 month = 0.125 → 0.13
    const price = priceResources(book({ storageGibMonthUsd: d('0.125'), periodDiscounts: {} }), { cpuMillicores: 0, memoryMib: 0, storageGib: 1 }, '', 1);
    expect(text(price.usd)).toBe('0.13');
    // 2.665 → 2.67 (half-even would give 2.66)
    const other = priceResources(book({ storageGibMonthUsd: d('2.665'), periodDiscounts: {} }), { cpuMillicores: 0, memoryMib: 0, storageGib: 1 }, '', 1);
    expect(text(other.usd)).toBe('2.67');
  });

  it('prices each resource by its own unit', () => {
    const flat = book({ cpuCoreMonthUsd: d('10'), memoryGibMonthUsd: d('2'), storageGibMonthUsd: d('0.1'), periodDiscounts: {} });
    expect(text(priceResources(flat, { cpuMillicores: 1000, memoryMib: 0, storageGib: 0 }, '', 1).usd)).toBe('10');
    expect(text(priceResources(flat, { cpuMillicores: 100, memoryMib: 0, storageGib: 0 }, '', 1).usd)).toBe('1');
    expect(text(priceResources(flat, { cpuMillicores: 0, memoryMib: 1024, storageGib: 0 }, '', 1).usd)).toBe('2');
    expect(text(priceResources(flat, { cpuMillicores: 0, memoryMib: 512, storageGib: 0 }, '', 1).usd)).toBe('1');
    expect(text(priceResources(flat, { cpuMillicores: 0, memoryMib: 0, storageGib: 100 }, '', 1).usd)).toBe('10');
    // the seed's example request: 100 millicores, 100 MiB, 100 GiB for 3 months
    // (1 + 0.1953125 + 10) × 3 = 33.5859375 → 33.59
    expect(text(priceResources(flat, { cpuMillicores: 100, memoryMib: 100, storageGib: 100 }, '', 3).usd)).toBe('33.59');
  });

  it('is zero for no resources', () => {
    expect(text(priceResources(book(), { cpuMillicores: 0, memoryMib: 0, storageGib: 0 }, 'wordpress', 12).usd)).toBe('0');
  });

  it('stays exact at the resource bounds', () => {
    const price = priceResources(
      book({ cpuCoreMonthUsd: d('999999999.999999999999'), memoryGibMonthUsd: d('0'), storageGibMonthUsd: d('0'), periodDiscounts: {} }),
      { cpuMillicores: RESOURCE_LIMITS.cpuMillicores, memoryMib: 0, storageGib: 0 },
      '',
      12,
    );
    // 1024 cores × 999999999.999999999999 × 12 = 12287999999999.999999987712 → 12288000000000
    expect(text(price.usd)).toBe('12288000000000');
  });
});

describe('priceResources: chart multiplier', () => {
  const resources = { cpuMillicores: 1000, memoryMib: 0, storageGib: 0 };
  const flat = book({ cpuCoreMonthUsd: d('10'), periodDiscounts: {} });

  it('multiplies by the chart multiplier', () => {
    expect(text(priceResources(flat, resources, 'wordpress', 1).usd)).toBe('11.5');
    expect(text(priceResources(flat, resources, 'ghost', 2).usd)).toBe('10');
  });

  it('charges 1× for a chart not listed, matched exactly (case-sensitive)', () => {
    expect(text(priceResources(flat, resources, 'mysql', 1).multiplier)).toBe('1');
    expect(text(priceResources(flat, resources, 'WordPress', 1).usd)).toBe('10');
    expect(text(priceResources(flat, resources, '', 1).usd)).toBe('10');
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('charges 1× for the chart name %j (no inherited object keys)', (chart) => {
    const price = priceResources(flat, resources, chart, 1);
    expect(text(price.multiplier)).toBe('1');
    expect(text(price.usd)).toBe('10');
  });
});

describe('discount tiers', () => {
  const table = { '3': d('0.05'), '6': d('0.1'), '12': d('0.2') };

  it.each([
    [1, '0'],
    [2, '0'],
    [3, '0.05'],
    [4, '0.05'],
    [5, '0.05'],
    [6, '0.1'],
    [7, '0.1'],
    [11, '0.1'],
    [12, '0.2'],
  ])('a period of %i months gets %s', (period, expected) => {
    expect(text(discountFor(table, period))).toBe(expected);
  });

  it('does not depend on the order of the table', () => {
    const reversed = { '12': d('0.2'), '6': d('0.1'), '3': d('0.05') };
    expect(text(discountFor(reversed, 11))).toBe('0.1');
    expect(text(discountFor(reversed, 12))).toBe('0.2');
  });

  it('compares months as numbers, not as text ("12" > "3")', () => {
    expect(text(discountFor({ '12': d('0.2'), '2': d('0.02') }, 10))).toBe('0.02');
  });

  it('is zero with an empty table', () => {
    expect(text(discountFor({}, 12))).toBe('0');
  });

  it('applies to the whole period total', () => {
    const flat = book({ cpuCoreMonthUsd: d('10'), memoryGibMonthUsd: d('0'), storageGibMonthUsd: d('0'), chartMultipliers: {} });
    const resources = { cpuMillicores: 1000, memoryMib: 0, storageGib: 0 };
    expect(text(priceResources(flat, resources, '', 2).usd)).toBe('20');
    expect(text(priceResources(flat, resources, '', 3).usd)).toBe('28.5');
    expect(text(priceResources(flat, resources, '', 6).usd)).toBe('54');
    expect(text(priceResources(flat, resources, '', 12).usd)).toBe('96');
  });
});

describe('tokenAmountFor', () => {
  it('answers the USD total itself for USD and USDT, whatever the rate', () => {
    expect(text(tokenAmountFor(d('33.3'), 'USD', d('1')))).toBe('33.3');
    expect(text(tokenAmountFor(d('33.3'), 'USDT_ERC20', d('1')))).toBe('33.3');
    expect(text(tokenAmountFor(d('33.3'), 'USDT_ERC20', d('0.9987')))).toBe('33.3');
    expect(text(tokenAmountFor(d('0.01'), 'USD', d('0')))).toBe('0.01');
  });

  it('divides by the ANKR rate and rounds up to 2 decimals', () => {
    // 100 / 0.03 = 3333.333… → 3333.34
    expect(text(tokenAmountFor(d('100'), 'ANKR_ERC20', d('0.03')))).toBe('3333.34');
    // 10 / 3 = 3.333… → 3.34
    expect(text(tokenAmountFor(d('10'), 'ANKR_ERC20', d('3')))).toBe('3.34');
    // 55.17 / 0.021234 = 2598.191579… → 2598.2
    expect(text(tokenAmountFor(d('55.17'), 'ANKR_ERC20', d('0.021234')))).toBe('2598.2');
  });

  it('leaves an exact division unchanged', () => {
    expect(text(tokenAmountFor(d('100'), 'ANKR_ERC20', d('0.025')))).toBe('4000');
    expect(text(tokenAmountFor(d('33.3'), 'ANKR_ERC20', d('2')))).toBe('16.65');
  });

  it('throws for a rate that is zero or negative', () => {
    expect(() => tokenAmountFor(d('10'), 'ANKR_ERC20', d('0'))).toThrow(RangeError);
    expect(() => tokenAmountFor(d('10'), 'ANKR_ERC20', d('-0.03'))).toThrow('a token rate must be positive');
  });
});
