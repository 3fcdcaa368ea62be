/**
 * Property: for random carts in several currencies (2, 0 and 3 decimal places), the amount BTCPay receives is
 * the cart total, exactly, as a decimal string; and the amount read back from the invoice is the same number
 * of minor units. The cart goes through the bridge's own pricing (`priceCart`) first.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currencyExponent, formatDecimalAmount, formatUnits, parseCurrency, parseDecimalAmount } from "../../src/domain/money.ts";
import { priceCart } from "../../src/usecases/create-checkout-session.ts";
import { BtcpaySimulator } from "../../test/simulators/btcpay/server.ts";
import type { ProviderContext, SessionForProvider } from "../types.ts";
import { btcpayProvider, btcpaySettings, type BtcpayCredentials, type BtcpaySettings } from "./index.ts";
import { decimalParts, paidInInvoiceMinor } from "./wire.ts";

const currencies = ["USD", "EUR", "GBP", "CHF", "JPY", "KRW", "BHD", "KWD"] as const;

const cartArb = fc
  .record({
    currency: fc.constantFrom(...currencies),
    lines: fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 25 }), unit: fc.bigInt({ min: 0n, max: 5_000_000_000n }) }), { minLength: 1, maxLength: 6 }),
    shipping: fc.bigInt({ min: 0n, max: 100_000n }),
    tax: fc.bigInt({ min: 0n, max: 100_000n }),
    discountPermille: fc.integer({ min: 0, max: 999 }),
  })
  .map((c) => {
    const exponent = currencyExponent(parseCurrency(c.currency)!);
    const items = c.lines.reduce((s, l) => s + l.unit * BigInt(l.quantity), 0n);
    const discount = ((items + c.shipping + c.tax) * BigInt(c.discountPermille)) / 1000n;
    const total = items + c.shipping + c.tax - discount;
    const dec = (minor: bigint) => formatUnits(minor, exponent);
    return {
      total,
      input: {
        order: { id: "1001" },
        currency: c.currency,
        lineItems: c.lines.map((l, i) => ({ name: `Item ${i}`, quantity: l.quantity, unitAmount: dec(l.unit) })),
        shippingAmount: dec(c.shipping),
        taxAmount: dec(c.tax),
        discountAmount: dec(discount),
        amount: dec(total),
        successUrl: "https://shop.example/thanks",
        cancelUrl: "https://shop.example/cart",
      },
    };
  })
  .filter((c) => c.total > 0n);

describe("btcpay amounts", () => {
  let sim: BtcpaySimulator;
  let ctx: ProviderContext<BtcpayCredentials, BtcpaySettings>;
  beforeAll(async () => {
    sim = await new BtcpaySimulator().start();
    ctx = {
      credentials: { apiKey: sim.apiKey, webhookSecret: sim.webhookSecret },
      settings: btcpaySettings.parse({ baseUrl: sim.url, storeId: sim.storeId }),
      connectionId: "conn_test",
      webhookUrl: "http://bridge.test/v1/webhooks/btcpay/conn_test/token",
      publicUrl: "http://bridge.test",
      fetch,
      now: () => new Date(),
      webhookToleranceSeconds: 300,
    };
  });
  afterAll(async () => {
    await sim.stop();
  });

  it("the invoice amount is the cart total exactly, in every currency's own decimals", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(cartArb, async ({ total, input }) => {
        const cart = priceCart(input);
        expect(cart.totalMinor).toBe(total);
        const id = `cs_amounts_${++n}`;
        const session: SessionForProvider = {
          id,
          idempotencyKey: `cartbridge-${id}`,
          storeId: "st_1",
          livemode: false,
          currency: cart.currency,
          currencyExponent: currencyExponent(cart.currency),
          amountMinor: cart.totalMinor,
          lineItems: cart.lines,
          shippingMinor: cart.shippingMinor,
          taxMinor: cart.taxMinor,
          discountMinor: cart.discountMinor,
          order: { id: `order_${n}` },
          metadata: { cartbridge_session_id: id, order_id: `order_${n}` },
          successUrl: input.successUrl,
          cancelUrl: input.cancelUrl,
          expiresAt: new Date(Date.now() + 3_600_000),
        };
        const created = await btcpayProvider.createSession(session, ctx);
        const raw = sim.creates().at(-1)!.body;
        const sent = /"amount":"([0-9.]+)"/.exec(raw)?.[1];
        expect(sent).toBe(formatDecimalAmount(total, cart.currency));
        const parsed = parseDecimalAmount(sent!, cart.currency);
        expect(parsed).toEqual({ ok: true, minor: total });
        // What the platform stored and answers with reads back to the same minor units.
        const stored = sim.invoice(created.providerSessionId);
        expect(parseDecimalAmount(stored.amount, cart.currency)).toEqual({ ok: true, minor: total });
        // And a payment of exactly what is due in BTC reads back as exactly the total.
        expect(paidInInvoiceMinor(total, { amount: "0.00100000", totalPaid: "0.001", payments: [] })).toBe(total);
      }),
      { numRuns: 120 },
    );
  });

  it("reads partial payments back rounded down, never up", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.bigInt({ min: 0n, max: 10n ** 10n }), (invoice, dueSats, paidSats) => {
        const toBtc = (sats: bigint) => formatUnits(sats, 8);
        const paid = paidInInvoiceMinor(invoice, { amount: toBtc(dueSats), totalPaid: toBtc(paidSats), payments: [] })!;
        // paid/invoice ≤ paidSats/dueSats < (paid+1)/invoice
        expect(paid * dueSats <= invoice * paidSats).toBe(true);
        expect((paid + 1n) * dueSats > invoice * paidSats).toBe(true);
      }),
    );
    expect(decimalParts("0.00100000")).toEqual({ units: 100000n, scale: 8 });
  });
});
