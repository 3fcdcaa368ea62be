/**
 * Fiat ↔ token amounts with exact integer math. A price is a fraction (fiat per one whole token) so no
 * float ever touches money.
 *
 * Rounding: the token amount asked for is rounded UP to the token's smallest unit, so the merchant never
 * receives less than the fiat total. Converting a paid token amount back to fiat is proportional to what
 * was asked (the locked rate, rounding included) and is chosen so the core's decide() reaches the same
 * verdict as a comparison in token units: exactly the amount asked → exactly the fiat total; any shortfall
 * → below the total (underpaid); a surplus is `overpaid` once it is worth at least one fiat minor unit.
 */

/** Fiat per one whole token, as `numerator / denominator` (both positive). */
export interface Price {
  numerator: bigint;
  denominator: bigint;
}

export function priceFromDecimal(value: string): Price {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) throw new Error(`not a decimal price: ${value}`);
  const fraction = match[2] ?? "";
  const numerator = BigInt(match[1]! + fraction);
  if (numerator <= 0n) throw new Error("a price must be positive");
  return { numerator, denominator: 10n ** BigInt(fraction.length) };
}

export function priceToDecimal(price: Price, digits = 8): string {
  const scaled = (price.numerator * 10n ** BigInt(digits)) / price.denominator;
  const s = scaled.toString().padStart(digits + 1, "0");
  const text = `${s.slice(0, -digits)}.${s.slice(-digits)}`.replace(/\.?0+$/, "");
  return text;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Token units (smallest unit) to ask for `fiatMinor`, rounded up. */
export function tokenUnitsFor(fiatMinor: bigint, fiatExponent: number, tokenDecimals: number, price: Price): bigint {
  if (fiatMinor <= 0n) throw new Error("amount must be positive");
  // units = fiatMinor / 10^fiatExp / (num/den) * 10^dec
  return ceilDiv(fiatMinor * price.denominator * 10n ** BigInt(tokenDecimals), price.numerator * 10n ** BigInt(fiatExponent));
}

/** The fiat minor units a paid token total counts for, against what was asked (see the module comment). */
export function fiatMinorForPaid(paidUnits: bigint, dueUnits: bigint, fiatMinor: bigint): bigint {
  if (paidUnits === dueUnits) return fiatMinor;
  const proportional = (paidUnits * fiatMinor) / dueUnits;
  if (paidUnits < dueUnits) return proportional < fiatMinor ? proportional : fiatMinor - 1n;
  return proportional > fiatMinor ? proportional : fiatMinor;
}

/** `1234500` with 6 decimals → `1.2345`. */
export function formatTokenUnits(units: bigint, decimals: number): string {
  if (decimals === 0) return units.toString();
  const s = units.toString().padStart(decimals + 1, "0");
  const whole = s.slice(0, -decimals);
  const frac = s.slice(-decimals).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

/** EIP-681 payment request: wallets prefill recipient, chain, token and amount from it. */
export function paymentUri(chainId: number, to: string, asset: { kind: string; address?: string | undefined }, units: bigint): string {
  return asset.kind === "native"
    ? `ethereum:${to}@${chainId}?value=${units}`
    : `ethereum:${asset.address}@${chainId}/transfer?address=${to}&uint256=${units}`;
}
