import { expect, it, describe } from "vitest";
import fc from "fast-check";
import { HDKey } from "@scure/bip32";
import { mnemonicToSeedSync } from "@scure/bip39";
import { mnemonicToAccount } from "viem/accounts";
import { fiatMinorForPaid, formatTokenUnits, priceFromDecimal, tokenUnitsFor } from "./amounts.ts";
import { depositAddress, isValidXpub, xpubProblem } from "./derive.ts";
import { priceFromAggregator, RateUnavailableError } from "./rates.ts";
import { decide } from "../../src/usecases/apply-payment.ts";
import type { SessionRow } from "../../src/db/schema.ts";
import { testMnemonic } from "../../test/chain/node.ts";

describe("token amounts", () => {
  it("rounds the asked amount up to the token's smallest unit", () => {
    // $40.00 at 3000.00 USD/ETH = 0.013333… ETH → rounded up in wei
    expect(tokenUnitsFor(4000n, 2, 18, priceFromDecimal("3000.00"))).toBe(13_333_333_333_333_334n);
    expect(tokenUnitsFor(4000n, 2, 6, priceFromDecimal("1"))).toBe(40_000_000n);
    // JPY (no minor digits) at 150.5 JPY per USDC
    expect(tokenUnitsFor(1000n, 0, 6, priceFromDecimal("150.5"))).toBe(6_644_519n);
  });

  it("never asks for less than the fiat total, and the verdict in fiat agrees with the one in tokens", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        fc.integer({ min: 0, max: 8 }),
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        (fiat, fiatExp, dec, priceNum, priceDigits, delta) => {
          const price = { numerator: priceNum, denominator: 10n ** BigInt(priceDigits) };
          const due = tokenUnitsFor(fiat, fiatExp, dec, price);
          // what the asked units are worth, in fiat, is at least the total
          expect(due * price.numerator * 10n ** BigInt(fiatExp)).toBeGreaterThanOrEqual(fiat * price.denominator * 10n ** BigInt(dec));
          const paid = due + delta < 0n ? 0n : due + delta;
          const minor = fiatMinorForPaid(paid, due, fiat);
          if (paid === due) expect(minor).toBe(fiat);
          if (paid < due) expect(minor).toBeLessThan(fiat);
          if (paid > due) expect(minor).toBeGreaterThanOrEqual(fiat);
        },
      ),
    );
  });

  it("formats units", () => {
    expect(formatTokenUnits(40_000_000n, 6)).toBe("40");
    expect(formatTokenUnits(1_234_500n, 6)).toBe("1.2345");
    expect(formatTokenUnits(5n, 18)).toBe("0.000000000000000005");
    expect(formatTokenUnits(7n, 0)).toBe("7");
  });

  it("core decide() reaches the verdict the token comparison implies", () => {
    const session = { status: "processing", amount_minor: "4000", amount_paid_minor: "0", currency: "USD", order_id: "1", expires_at: Date.now() + 60_000 } as unknown as SessionRow;
    const due = 40_000_000n;
    const verdict = (paid: bigint) => {
      const d = decide(session, { outcome: "paid", amountPaidMinor: fiatMinorForPaid(paid, due, 4000n), currency: "USD", transactions: [], source: "chain" }, new Date(), 0);
      return d.kind === "transition" ? d.to : d.kind;
    };
    expect(verdict(due)).toBe("paid");
    expect(verdict(due - 1n)).toBe("underpaid");
    expect(verdict(due + 10_000n)).toBe("overpaid"); // one cent more
    expect(verdict(due + 9_999n)).toBe("paid"); // less than a cent over: dust, not an overpayment
  });
});

describe("Chainlink answer decoding", () => {
  const now = Date.UTC(2026, 0, 1);
  it("turns answer and feed decimals into a price", () => {
    const price = priceFromAggregator(312_345_000_000n, 8, BigInt(now / 1000 - 60), now, 3600);
    expect(price).toEqual({ numerator: 312_345_000_000n, denominator: 100_000_000n });
    expect(tokenUnitsFor(312_345n, 2, 18, price)).toBe(10n ** 18n);
  });
  it("refuses stale and non-positive answers", () => {
    expect(() => priceFromAggregator(1n, 8, BigInt(now / 1000 - 7200), now, 3600)).toThrow(RateUnavailableError);
    expect(() => priceFromAggregator(0n, 8, BigInt(now / 1000), now, 3600)).toThrow(RateUnavailableError);
    expect(() => priceFromAggregator(-5n, 8, BigInt(now / 1000), now, 3600)).toThrow(RateUnavailableError);
  });
});

describe("deposit addresses from an xpub", () => {
  it("are the wallet's own receive addresses m/44'/60'/0'/0/i", () => {
    const xpub = HDKey.fromMasterSeed(mnemonicToSeedSync(testMnemonic)).derive("m/44'/60'/0'").publicExtendedKey;
    for (const i of [0, 1, 7]) expect(depositAddress(xpub, i)).toBe(mnemonicToAccount(testMnemonic, { addressIndex: i }).address);
  });
  it("accept public keys only", () => {
    const key = HDKey.fromMasterSeed(mnemonicToSeedSync(testMnemonic)).derive("m/44'/60'/0'");
    expect(isValidXpub(key.publicExtendedKey)).toBe(true);
    expect(isValidXpub(key.privateExtendedKey)).toBe(false);
    expect(isValidXpub("xpub-nonsense")).toBe(false);
  });
  it("must be the account-level key (depth 3, m/44'/60'/0'), so the addresses are the wallet's own", () => {
    const master = HDKey.fromMasterSeed(mnemonicToSeedSync(testMnemonic));
    expect(xpubProblem(master.publicExtendedKey)).toMatch(/depth 0/);
    expect(xpubProblem(master.derive("m/44'/60'/0'/0").publicExtendedKey)).toMatch(/depth 4/);
    expect(xpubProblem(master.derive("m/44'/60'/0'").privateExtendedKey)).toMatch(/private key/);
    expect(xpubProblem(master.derive("m/44'/60'/0'").publicExtendedKey)).toBeUndefined();
  });
  it("read a testnet tpub with its own version bytes, giving the same addresses as the xpub", () => {
    const testnet = { private: 0x04358394, public: 0x043587cf };
    const tpub = HDKey.fromMasterSeed(mnemonicToSeedSync(testMnemonic), testnet).derive("m/44'/60'/0'").publicExtendedKey;
    expect(tpub.startsWith("tpub")).toBe(true);
    expect(xpubProblem(tpub)).toBeUndefined();
    expect(depositAddress(tpub, 3)).toBe(mnemonicToAccount(testMnemonic, { addressIndex: 3 }).address);
  });
});
