/**
 * Property: for random carts, SatsRail receives `amount_cents` equal to the cart total exactly, as a JSON
 * integer, for every 2-decimal currency; carts in currencies with other decimals are refused before any
 * request (amount_cents cannot express them). The cart goes through the bridge's own pricing first.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currencyExponent, formatUnits, parseCurrency } from "../../src/domain/money.ts";
import { priceCart } from "../../src/usecases/create-checkout-session.ts";
import { SatsrailSimulator } from "../../test/simulators/satsrail/server.ts";
import { ProviderRequestError, type ProviderContext, type SessionForProvider } from "../types.ts";
import { satsrailProvider, satsrailSettings, type SatsrailCredentials, type SatsrailSettings } from "./index.ts";

const currencies = ["USD", "EUR", "GBP", "CAD", "JPY", "BHD"] as const;

const cartArb = fc
  .record({
    currency: fc.constantFrom(...currencies),
    lines: fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 25 }), unit: fc.bigInt({ min: 0n, max: 50_000_000n }) }), { minLength: 1, maxLength: 6 }),
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

describe("satsrail amounts", () => {
  let sim: SatsrailSimulator;
  let ctx: ProviderContext<SatsrailCredentials, SatsrailSettings>;
  beforeAll(async () => {
    sim = await new SatsrailSimulator().start();
    ctx = {
      credentials: { secretKey: sim.secretKey, webhookSecret: sim.webhookSecret },
      settings: satsrailSettings.parse({ baseUrl: sim.url }),
      connectionId: "conn_test",
      webhookUrl: "http://bridge.test/v1/webhooks/satsrail/conn_test/token",
      publicUrl: "http://bridge.test",
      fetch,
      now: () => new Date(),
      webhookToleranceSeconds: 300,
    };
  });
  afterAll(async () => {
    await sim.stop();
  });

  it("amount_cents is the cart total exactly; other exponents are refused without a request", async () => {
    let n = 0;
    let sentCount = 0;
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
          order: { id: "1001" },
          metadata: { cartbridge_session_id: id, order_id: "1001" },
          successUrl: input.successUrl,
          cancelUrl: input.cancelUrl,
          expiresAt: new Date(Date.now() + 3_600_000),
        };
        if (session.currencyExponent !== 2) {
          const refused = await satsrailProvider.createSession(session, ctx).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(ProviderRequestError);
          expect(refused).toMatchObject({ retryable: false });
          expect(sim.creates()).toHaveLength(sentCount);
          return;
        }
        const created = await satsrailProvider.createSession(session, ctx);
        sentCount++;
        const raw = sim.creates().at(-1)!.body;
        expect(raw).toContain(`"amount_cents":${total},`);
        expect(raw).toContain(`"currency":"${cart.currency.toLowerCase()}"`);
        expect(BigInt(sim.sessions.get(created.providerSessionId)!.amount_cents)).toBe(total);
      }),
      { numRuns: 120 },
    );
  });
});
