import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { currencyExponent, formatDecimalAmount, parseCurrency, parseDecimalAmount, rescale, type CurrencyCode } from "./money.ts";

const usd = parseCurrency("usd")!;
const jpy = parseCurrency("JPY")!;
const bhd = parseCurrency("BHD")!;

describe("money", () => {
  it("knows each currency's minor units from ISO 4217", () => {
    expect([currencyExponent(usd), currencyExponent(jpy), currencyExponent(bhd)]).toEqual([2, 0, 3]);
    expect(parseCurrency("XXQ")).toBeUndefined();
    expect(parseCurrency("usd")).toBe("USD");
  });

  it("takes the digits from ISO 4217 where the runtime's CLDR data differs, and refuses codes that are not money", () => {
    // CLDR (Intl) says 0 for these; ISO 4217, which shops and platforms use, says 2, 2, 2, 2, 3 and 4.
    const digits = ["IDR", "HUF", "COP", "PKR", "IQD", "CLF"].map((c) => currencyExponent(parseCurrency(c)!));
    expect(digits).toEqual([2, 2, 2, 2, 3, 4]);
    expect(parseDecimalAmount("150000.50", parseCurrency("IDR")!)).toEqual({ ok: true, minor: 15000050n });
    for (const code of ["XAU", "XTS", "XXX", "BTC"]) expect(parseCurrency(code)).toBeUndefined();
  });

  it("parses decimal strings exactly, without rounding", () => {
    expect(parseDecimalAmount("12.5", usd)).toEqual({ ok: true, minor: 1250n });
    expect(parseDecimalAmount("0.10", usd)).toEqual({ ok: true, minor: 10n });
    expect(parseDecimalAmount("1200", jpy)).toEqual({ ok: true, minor: 1200n });
    expect(parseDecimalAmount("1.000", jpy)).toEqual({ ok: true, minor: 1n });
    expect(parseDecimalAmount("1.005", bhd)).toEqual({ ok: true, minor: 1005n });
    expect(parseDecimalAmount("99999999999999999999.99", usd)).toEqual({ ok: true, minor: 9999999999999999999999n });
  });

  it("refuses amounts longer than 30 integer digits", () => {
    expect(parseDecimalAmount("1" + "0".repeat(30), jpy)).toEqual({ ok: false, error: "not_a_decimal" });
  });

  it("refuses what is not an exact amount of the currency", () => {
    expect(parseDecimalAmount("1.001", usd)).toEqual({ ok: false, error: "too_many_decimals" });
    expect(parseDecimalAmount("12.5", jpy)).toEqual({ ok: false, error: "too_many_decimals" });
    expect(parseDecimalAmount("-1.00", usd)).toEqual({ ok: false, error: "negative" });
    for (const bad of ["1e3", "1,00", " 1", "1.", ".5", "0x10", ""]) {
      expect(parseDecimalAmount(bad, usd)).toEqual({ ok: false, error: "not_a_decimal" });
    }
  });

  it("formats and parses back to the same minor units for any amount up to 30 integer digits", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }), fc.constantFrom<CurrencyCode>(usd, jpy, bhd), (minor, currency) => {
        const text = formatDecimalAmount(minor, currency);
        expect(parseDecimalAmount(text, currency)).toEqual({ ok: true, minor });
      }),
    );
  });

  it("rescales between unit sizes and refuses to drop precision", () => {
    expect(rescale(1990n, 2, 6)).toBe(19_900_000n);
    expect(rescale(19_900_000n, 6, 2)).toBe(1990n);
    expect(() => rescale(19_900_001n, 6, 2)).toThrow(RangeError);
  });
});
