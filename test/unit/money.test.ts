import {
  CURRENCY_DECIMALS,
  Dec,
  PAYMENT_METHOD_NAME,
  decimalPlaces,
  fromMinorUnits,
  isCurrency,
  parseDecimal,
  roundHalfUp,
  roundUp,
  roundUsd,
  toCanonicalString,
  toFixedString,
  toJsonNumber,
  toMinorUnits,
} from '../../src/domain/money.ts';

const d = (text: string) => new Dec(text);

describe('exact decimal arithmetic (the float traps)', () => {
  it('adds 0.1 and 0.2 to exactly 0.3, where a JavaScript float does not', () => {
    expect(0.1 + 0.2).not.toBe(0.3); // the trap itself, so this test knows what it guards against
    const sum = d('0.1').plus(d('0.2'));
    expect(sum.eq(d('0.3'))).toBe(true);
    expect(toCanonicalString(sum)).toBe('0.3');
  });

  it('multiplies and subtracts without binary drift', () => {
    expect(1.1 * 3).not.toBe(3.3);
    expect(toCanonicalString(d('1.1').times(3))).toBe('3.3');
    expect(toCanonicalString(d('0.07').times(100))).toBe('7');
    expect(toCanonicalString(d('1').minus(d('0.9')))).toBe('0.1');
    expect(toCanonicalString(d('3000.01').plus(d('3000.88')))).toBe('6000.89');
  });

  it('keeps 60 significant digits in a division', () => {
    expect(d('1').dividedBy(3).toFixed()).toBe('0.' + '3'.repeat(60));
  });
});

describe('roundHalfUp / roundUsd: half-up to cents', () => {
  it.each([
    ['1.005', '1.01'],
    ['2.675', '2.68'],
    ['0.125', '0.13'],
    ['1.0049999', '1'],
    ['1.015', '1.02'],
    ['0.005', '0.01'],
    ['0.0049', '0'],
    ['2.665', '2.67'], // banker's rounding (half-even) would give 2.66
    ['2.5', '2.5'],
    ['10', '10'],
  ])('rounds %s to %s', (input, expected) => {
    expect(toCanonicalString(roundUsd(d(input)))).toBe(expected);
    expect(toCanonicalString(roundHalfUp(d(input), 2))).toBe(expected);
  });

  it('rounds ties away from zero for negative values too', () => {
    expect(toCanonicalString(roundHalfUp(d('-1.005'), 2))).toBe('-1.01');
    expect(toCanonicalString(roundHalfUp(d('-1.0049'), 2))).toBe('-1');
  });

  it('rounds to the requested number of places', () => {
    expect(toCanonicalString(roundHalfUp(d('0.1234565'), 6))).toBe('0.123457');
    expect(toCanonicalString(roundHalfUp(d('12.5'), 0))).toBe('13');
  });

  it('differs from what a float and toFixed would answer', () => {
    expect((1.005).toFixed(2)).toBe('1.00'); // the float trap
    expect(toFixedString(roundUsd(d('1.005')), 2)).toBe('1.01');
  });
});

describe('roundUp: token amounts are rounded up to 2 decimals', () => {
  it('rounds 10 / 3 up to 3.34', () => {
    expect(toCanonicalString(roundUp(d('10').dividedBy(3), 2))).toBe('3.34');
  });

  it('rounds up even a tiny excess', () => {
    expect(toCanonicalString(roundUp(d('3.3000000001'), 2))).toBe('3.31');
    expect(toCanonicalString(roundUp(d('0.001'), 2))).toBe('0.01');
    expect(toCanonicalString(roundUp(d('20').dividedBy(6), 2))).toBe('3.34');
  });

  it('leaves an exact division unchanged', () => {
    expect(toCanonicalString(roundUp(d('10').dividedBy(4), 2))).toBe('2.5');
    expect(toCanonicalString(roundUp(d('100').dividedBy(d('0.025')), 2))).toBe('4000');
    expect(toCanonicalString(roundUp(d('3.30'), 2))).toBe('3.3');
  });
});

describe('toCanonicalString', () => {
  it.each([
    ['33.30', '33.3'],
    ['22.20', '22.2'],
    ['0.000', '0'],
    ['-0', '0'],
    ['100', '100'],
    ['100.00', '100'],
    ['0.10', '0.1'],
    ['-4.50', '-4.5'],
    ['1e-10', '0.0000000001'],
    ['1e25', '10000000000000000000000000'],
    ['1.5e-7', '0.00000015'],
    ['12345678901234567.89', '12345678901234567.89'],
  ])('writes %s as %s', (input, expected) => {
    expect(toCanonicalString(d(input))).toBe(expected);
  });

  it('never writes an exponent, even far beyond the configured thresholds', () => {
    expect(toCanonicalString(d('1e-120'))).toBe('0.' + '0'.repeat(119) + '1');
    expect(toCanonicalString(d('1e120'))).toBe('1' + '0'.repeat(120));
  });
});

describe('toFixedString and decimalPlaces', () => {
  it('pads or rounds to exactly the given places', () => {
    expect(toFixedString(d('33.3'), 2)).toBe('33.30');
    expect(toFixedString(d('0'), 2)).toBe('0.00');
    expect(toFixedString(d('1e25'), 2)).toBe('10000000000000000000000000.00');
  });

  it('counts the decimals a value actually carries', () => {
    expect(decimalPlaces(d('1.50'))).toBe(1);
    expect(decimalPlaces(d('2'))).toBe(0);
    expect(decimalPlaces(d('0.000000000000000001'))).toBe(18);
  });
});

describe('parseDecimal', () => {
  it.each([
    ['0', '0'],
    ['12.30', '12.3'],
    ['-4', '-4'],
    ['0.1', '0.1'],
    ['0.000000000000000001', '0.000000000000000001'],
    ['123456789012345678901234567890.123456789', '123456789012345678901234567890.123456789'],
  ])('accepts %j', (input, canonical) => {
    expect(toCanonicalString(parseDecimal(input))).toBe(canonical);
  });

  it.each(['1e5', '1E5', '+1', ' 1', '1 ', '01', '00.5', '1.', '.5', '', '-', '1,5', '1.2.3', 'NaN', 'Infinity', '-Infinity', '0x10', '١٢', '1_000'])(
    'rejects %j with a RangeError',
    (input) => {
      expect(() => parseDecimal(input)).toThrow(RangeError);
    },
  );
});

describe('minor units', () => {
  it('converts USD to cents and back exactly', () => {
    expect(toMinorUnits(d('3000.01'), 'USD')).toBe(300001n);
    expect(toMinorUnits(d('0.1').plus(d('0.2')), 'USD')).toBe(30n);
    expect(toMinorUnits(d('12345678901234567.89'), 'USD')).toBe(1234567890123456789n);
    expect(toMinorUnits(d('0'), 'USD')).toBe(0n);
    expect(toMinorUnits(d('-2.5'), 'USD')).toBe(-250n);
    expect(toCanonicalString(fromMinorUnits(300001n, 'USD'))).toBe('3000.01');
    expect(toCanonicalString(fromMinorUnits(1n, 'USD'))).toBe('0.01');
  });

  it('converts USDT with 6 decimals to the last unit', () => {
    expect(CURRENCY_DECIMALS.USDT_ERC20).toBe(6);
    expect(toMinorUnits(d('0.000001'), 'USDT_ERC20')).toBe(1n);
    expect(toMinorUnits(d('33.3'), 'USDT_ERC20')).toBe(33_300_000n);
    expect(toMinorUnits(d('999999999999.999999'), 'USDT_ERC20')).toBe(999_999_999_999_999_999n);
    expect(toCanonicalString(fromMinorUnits(999_999_999_999_999_999n, 'USDT_ERC20'))).toBe('999999999999.999999');
  });

  it('converts ANKR with 18 decimals to the last wei, beyond 2^53 and 2^64', () => {
    expect(CURRENCY_DECIMALS.ANKR_ERC20).toBe(18);
    expect(toMinorUnits(d('0.000000000000000001'), 'ANKR_ERC20')).toBe(1n);
    expect(toMinorUnits(d('1'), 'ANKR_ERC20')).toBe(1_000_000_000_000_000_000n);
    expect(toMinorUnits(d('123456789.123456789123456789'), 'ANKR_ERC20')).toBe(123456789123456789123456789n);
    expect(toCanonicalString(fromMinorUnits(123456789123456789123456789n, 'ANKR_ERC20'))).toBe('123456789.123456789123456789');
    // the largest value a numeric(38, 18) column holds: 38 significant digits, far beyond a float
    const largest = 10n ** 38n - 1n;
    expect(toCanonicalString(fromMinorUnits(largest, 'ANKR_ERC20'))).toBe('99999999999999999999.999999999999999999');
    expect(toMinorUnits(fromMinorUnits(largest, 'ANKR_ERC20'), 'ANKR_ERC20')).toBe(largest);
  });

  it('rejects a value with more decimals than the currency has', () => {
    expect(() => toMinorUnits(d('1.001'), 'USD')).toThrow(RangeError);
    expect(() => toMinorUnits(d('0.0000001'), 'USDT_ERC20')).toThrow(RangeError);
    expect(() => toMinorUnits(d('0.0000000000000000001'), 'ANKR_ERC20')).toThrow(RangeError);
    expect(() => toMinorUnits(d('10').dividedBy(3), 'USD')).toThrow(/more than 2 decimals for USD/);
  });
});

describe('toJsonNumber: exact JSON number text', () => {
  const json = (value: ReturnType<typeof d>) => JSON.stringify({ a: toJsonNumber(value) });

  it('writes 3000.01 verbatim', () => {
    expect(json(d('3000.01'))).toBe('{"a":3000.01}');
  });

  it('writes the exact sum 0.1 + 0.2 as 0.3', () => {
    expect(json(d('0.1').plus(d('0.2')))).toBe('{"a":0.3}');
  });

  it('writes values a float cannot hold exactly', () => {
    expect(String(Number('12345678901234567.89'))).toBe('12345678901234568'); // what a float would have made of it
    expect(json(d('12345678901234567.89'))).toBe('{"a":12345678901234567.89}');
    expect(json(d('0.000000000000000001'))).toBe('{"a":0.000000000000000001}');
    expect(json(d('1e25'))).toBe('{"a":10000000000000000000000000}');
  });

  it('writes canonical text: no trailing zeros, no negative zero', () => {
    expect(json(d('20.00'))).toBe('{"a":20}');
    expect(json(d('40.880'))).toBe('{"a":40.88}');
    expect(json(d('-0'))).toBe('{"a":0}');
    expect(json(d('-12.5'))).toBe('{"a":-12.5}');
  });

  it('produces JSON that parses back to the same number', () => {
    expect(JSON.parse(JSON.stringify([toJsonNumber(d('40.88')), toJsonNumber(d('0'))]))).toEqual([40.88, 0]);
  });
});

describe('currencies', () => {
  it('knows the three currencies and their invoice names', () => {
    expect(isCurrency('USD')).toBe(true);
    expect(isCurrency('USDT_ERC20')).toBe(true);
    expect(isCurrency('ANKR_ERC20')).toBe(true);
    expect(isCurrency('usd')).toBe(false);
    expect(isCurrency('BTC')).toBe(false);
    expect(PAYMENT_METHOD_NAME).toEqual({ USD: 'USD', USDT_ERC20: 'USDT', ANKR_ERC20: 'ANKR' });
    expect(CURRENCY_DECIMALS).toEqual({ USD: 2, USDT_ERC20: 6, ANKR_ERC20: 18 });
  });
});
