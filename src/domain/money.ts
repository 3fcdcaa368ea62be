/**
 * Money is an integer count of a currency's minor units (a bigint) plus the currency. Never a JS float.
 * See docs/decisions/0001-money.md.
 */
import currencyCodes from "currency-codes";

export type CurrencyCode = string & { readonly __brand: "CurrencyCode" };

export interface Money {
  /** Integer count of minor units (cents for USD, yen for JPY, fils for BHD). */
  readonly minor: bigint;
  readonly currency: CurrencyCode;
}

/**
 * ISO 4217's own table (the `currency-codes` package carries ISO's list), not the runtime's ICU data: CLDR
 * gives IDR, HUF, COP or PKR 0 digits and IQD 0 where ISO says 2 and 3, and ICU changes with the Node
 * version, which would change what a stored `amount_minor` means. Codes ISO lists without minor units (gold,
 * silver, SDR, test and "no currency" codes) are not money a shop charges in.
 */
const notMoney = new Set(["XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"]);
const isoExponents = new Map(
  currencyCodes.data.filter((c) => !notMoney.has(c.code)).map((c) => [c.code, c.digits] as const),
);

/** Upper-cased ISO 4217 code if ISO lists it as a currency, else undefined. */
export function parseCurrency(code: string): CurrencyCode | undefined {
  const upper = code.toUpperCase();
  return /^[A-Z]{3}$/.test(upper) && isoExponents.has(upper) ? (upper as CurrencyCode) : undefined;
}

/** The currency's number of minor-unit digits from ISO 4217 (USD 2, JPY 0, BHD 3, IDR 2, CLF 4). */
export function currencyExponent(currency: CurrencyCode): number {
  const exponent = isoExponents.get(currency);
  if (exponent === undefined) throw new Error(`not an ISO 4217 currency: ${currency}`);
  return exponent;
}

export type DecimalParseError = "not_a_decimal" | "too_many_decimals" | "negative";

/**
 * Parses a decimal string ("12.50") into minor units of `currency`. Rejects exponent notation,
 * signs, and more fraction digits than the currency has (no silent rounding).
 */
export function parseDecimalAmount(
  value: string,
  currency: CurrencyCode,
): { ok: true; minor: bigint } | { ok: false; error: DecimalParseError } {
  if (value.startsWith("-")) return { ok: false, error: "negative" };
  const match = /^(\d{1,30})(?:\.(\d{1,30}))?$/.exec(value);
  if (!match) return { ok: false, error: "not_a_decimal" };
  const whole = match[1]!;
  const fraction = match[2] ?? "";
  const exponent = currencyExponent(currency);
  const significantFraction = fraction.replace(/0+$/, "");
  if (significantFraction.length > exponent) return { ok: false, error: "too_many_decimals" };
  return { ok: true, minor: BigInt(whole + significantFraction.padEnd(exponent, "0")) };
}

/** Minor units → the canonical decimal string of the currency ("1050" USD → "10.50"). */
export function formatDecimalAmount(minor: bigint, currency: CurrencyCode): string {
  return formatUnits(minor, currencyExponent(currency));
}

/** An integer count of units with `decimals` digits → decimal string, exact for any size. */
export function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return (negative ? "-" : "") + (decimals > 0 ? `${whole}.${fraction}` : whole);
}

/**
 * Rescales minor units of one exponent to another (cents → micro-USD is ×10^4). Refuses to
 * lose precision: scaling down must divide exactly.
 */
export function rescale(units: bigint, fromDecimals: number, toDecimals: number): bigint {
  if (toDecimals >= fromDecimals) return units * 10n ** BigInt(toDecimals - fromDecimals);
  const divisor = 10n ** BigInt(fromDecimals - toDecimals);
  if (units % divisor !== 0n) {
    throw new RangeError(`${units} has more precision than ${toDecimals} decimals`);
  }
  return units / divisor;
}

export function money(minor: bigint, currency: CurrencyCode): Money {
  return { minor, currency };
}
