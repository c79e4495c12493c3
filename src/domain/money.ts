/**
 * Exact money. Every amount in the engine is a Decimal (arbitrary precision, decimal arithmetic)
 * paired with a currency; no money value ever passes through a JavaScript number.
 * This is the one module that converts money to and from text and JSON.
 */
import { Decimal } from 'decimal.js';

/** A Decimal constructor private to money code: 60 significant digits, half-up by default. */
export const Dec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -100, toExpPos: 100 });
export type Dec = InstanceType<typeof Dec>;

export const CURRENCIES = ['USD', 'USDT_ERC20', 'ANKR_ERC20'] as const;
export type Currency = (typeof CURRENCIES)[number];
export type TokenCurrency = Exclude<Currency, 'USD'>;

/** Decimals of each currency's smallest unit (cents for USD, on-chain decimals for tokens). */
export const CURRENCY_DECIMALS: Record<Currency, number> = { USD: 2, USDT_ERC20: 6, ANKR_ERC20: 18 };

/** Token amounts are quoted to this many decimals (DESIGN §3), rounded up. */
export const TOKEN_QUOTE_DECIMALS = 2;

/** Payment-method names used in invoices (seed 000). */
export const PAYMENT_METHOD_NAME: Record<Currency, 'USD' | 'USDT' | 'ANKR'> = {
  USD: 'USD',
  USDT_ERC20: 'USDT',
  ANKR_ERC20: 'ANKR',
};

export function isCurrency(value: string): value is Currency {
  return (CURRENCIES as readonly string[]).includes(value);
}

const DECIMAL_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/**
 * Parses a plain decimal text ("12.30", "-4", "0.1"). No exponent, no sign '+', no spaces,
 * no leading zeros: anything else is rejected so that what the client sent is what we store.
 */
export function parseDecimal(text: string): Dec {
  if (!DECIMAL_TEXT.test(text)) throw new RangeError(`not a plain decimal: ${JSON.stringify(text)}`);
  return new Dec(text);
}

/** Canonical decimal text: no exponent, no trailing zeros ("33.3", "22.2", "0"). */
export function toCanonicalString(value: Dec): string {
  if (value.isZero()) return '0';
  return value.toFixed();
}

/** Fixed decimal text with exactly `places` decimals, for NUMERIC columns and logs. */
export function toFixedString(value: Dec, places: number): string {
  return value.toFixed(places);
}

/** Number of decimal places the value actually carries ("1.50" has 1, "2" has 0). */
export function decimalPlaces(value: Dec): number {
  return value.decimalPlaces();
}

/** Rounds half-up (away from zero on a tie) to the given number of decimals. */
export function roundHalfUp(value: Dec, places: number): Dec {
  return value.toDecimalPlaces(places, Decimal.ROUND_HALF_UP);
}

/** Rounds toward +infinity to the given number of decimals (token amounts: the customer never pays short). */
export function roundUp(value: Dec, places: number): Dec {
  return value.toDecimalPlaces(places, Decimal.ROUND_CEIL);
}

/** USD cents, half-up: the one rounding step of a price. */
export function roundUsd(value: Dec): Dec {
  return roundHalfUp(value, CURRENCY_DECIMALS.USD);
}

/** Whole smallest units (cents, wei) as a bigint; throws when the value has more decimals than the currency. */
export function toMinorUnits(value: Dec, currency: Currency): bigint {
  const scaled = value.times(new Dec(10).pow(CURRENCY_DECIMALS[currency]));
  if (!scaled.isInteger()) throw new RangeError(`${value.toFixed()} has more than ${CURRENCY_DECIMALS[currency]} decimals for ${currency}`);
  return BigInt(scaled.toFixed(0));
}

export function fromMinorUnits(units: bigint, currency: Currency): Dec {
  return new Dec(units.toString()).dividedBy(new Dec(10).pow(CURRENCY_DECIMALS[currency]));
}

/**
 * The value as a JSON number token, written from its exact decimal text (JSON.rawJSON), so that
 * `/payment/v1` can answer `"balance": 3000.01` without a float ever existing.
 */
export function toJsonNumber(value: Dec): RawJson {
  return JSON.rawJSON(toCanonicalString(value));
}

/** What JSON.rawJSON returns: serialised verbatim by JSON.stringify. */
export type RawJson = { readonly rawJSON: string };

declare global {
  interface JSON {
    rawJSON(text: string): RawJson;
  }
}
