import { daysInMonth, monthBoundary, monthsStarted } from '../../src/domain/calendar.ts';

const utc = (text: string) => new Date(text);
const iso = (date: Date) => date.toISOString();

describe('monthBoundary', () => {
  it('adds calendar months in UTC and keeps the time of day', () => {
    expect(iso(monthBoundary(utc('2026-03-15T10:20:30.456Z'), 1))).toBe('2026-04-15T10:20:30.456Z');
    expect(iso(monthBoundary(utc('2026-03-15T10:20:30.456Z'), 0))).toBe('2026-03-15T10:20:30.456Z');
  });

  it('clamps to the end of a shorter month, always from the anchor, never chained', () => {
    const anchor = utc('2027-01-31T08:00:00Z');
    expect([1, 2, 3, 4, 5].map((months) => iso(monthBoundary(anchor, months)))).toEqual([
      '2027-02-28T08:00:00.000Z',
      '2027-03-31T08:00:00.000Z',
      '2027-04-30T08:00:00.000Z',
      '2027-05-31T08:00:00.000Z',
      '2027-06-30T08:00:00.000Z',
    ]);
  });

  it('knows leap years, including the century rules', () => {
    expect(iso(monthBoundary(utc('2028-01-31T00:00:00Z'), 1))).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(monthBoundary(utc('2100-01-31T00:00:00Z'), 1))).toBe('2100-02-28T00:00:00.000Z');
    expect(iso(monthBoundary(utc('2000-01-30T00:00:00Z'), 1))).toBe('2000-02-29T00:00:00.000Z');
    expect(iso(monthBoundary(utc('2028-02-29T12:00:00Z'), 12))).toBe('2029-02-28T12:00:00.000Z');
    expect(iso(monthBoundary(utc('2028-02-29T12:00:00Z'), 48))).toBe('2032-02-29T12:00:00.000Z');
  });

  it('crosses years and counts many months', () => {
    expect(iso(monthBoundary(utc('2026-11-30T23:59:59Z'), 3))).toBe('2027-02-28T23:59:59.000Z');
    expect(iso(monthBoundary(utc('2026-12-31T00:00:00Z'), 12))).toBe('2027-12-31T00:00:00.000Z');
    expect(iso(monthBoundary(utc('2026-05-31T00:00:00Z'), 25))).toBe('2028-06-30T00:00:00.000Z');
  });

  it('ignores the local time zone of the process (a UTC anchor near midnight stays on its UTC day)', () => {
    expect(iso(monthBoundary(utc('2026-01-31T23:30:00Z'), 1))).toBe('2026-02-28T23:30:00.000Z');
    expect(iso(monthBoundary(utc('2026-03-01T00:15:00Z'), 1))).toBe('2026-04-01T00:15:00.000Z');
  });

  it('refuses negative or fractional months and invalid anchors', () => {
    expect(() => monthBoundary(utc('2026-01-01T00:00:00Z'), -1)).toThrow(RangeError);
    expect(() => monthBoundary(utc('2026-01-01T00:00:00Z'), 1.5)).toThrow(RangeError);
    expect(() => monthBoundary(new Date(Number.NaN), 1)).toThrow(RangeError);
  });
});

describe('daysInMonth', () => {
  it('answers 28 to 31', () => {
    expect([0, 1, 3, 11].map((month) => daysInMonth(2026, month))).toEqual([31, 28, 30, 31]);
    expect(daysInMonth(2024, 1)).toBe(29);
  });
});

describe('monthsStarted', () => {
  const anchor = utc('2027-01-31T08:00:00Z');

  it('counts the months that began strictly before now, the current one included', () => {
    expect(monthsStarted(anchor, 0, 12, anchor)).toBe(0);
    expect(monthsStarted(anchor, 0, 12, utc('2027-01-31T08:00:00.001Z'))).toBe(1);
    expect(monthsStarted(anchor, 0, 12, utc('2027-05-20T00:00:00Z'))).toBe(4);
    // exactly at the fourth boundary (May 31) the fifth month has not started yet
    expect(monthsStarted(anchor, 0, 12, utc('2027-05-31T08:00:00Z'))).toBe(4);
    expect(monthsStarted(anchor, 0, 12, utc('2027-06-01T08:00:00Z'))).toBe(5);
    expect(monthsStarted(anchor, 0, 12, utc('2030-01-01T00:00:00Z'))).toBe(12);
  });

  it('counts within a later cycle from the same anchor', () => {
    // cycle 2 of a 3-month prepay: its months start Apr 30, May 31, Jun 30
    expect(monthsStarted(anchor, 3, 3, utc('2027-04-30T08:00:00Z'))).toBe(0);
    expect(monthsStarted(anchor, 3, 3, utc('2027-06-01T00:00:00Z'))).toBe(2);
  });
});
