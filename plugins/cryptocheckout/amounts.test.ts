import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currencyExponent, parseCurrency, parseDecimalAmount, type CurrencyCode } from "../../src/domain/money.ts";
import type { SessionStatus } from "../../src/domain/session-status.ts";
import { CryptoCheckoutSimulator } from "../../test/simulators/cryptocheckout/server.ts";
import type { ProviderContext, SessionForProvider } from "../types.ts";
import { cryptoCheckoutProvider, type CryptoCheckoutCredentials, type CryptoCheckoutSettings } from "./index.ts";
import { amountPaid, cryptoCheckoutStatuses, toBridgeStatus, type CryptoCheckoutStatus } from "./wire.ts";

const currencies = ["USD", "EUR", "GBP", "JPY", "CHF", "BHD"] as const;

const cartArb = fc
  .record({
    currency: fc.constantFrom(...currencies),
    lines: fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 25 }), unit: fc.bigInt({ min: 0n, max: 5_000_000n }) }), { minLength: 1, maxLength: 6 }),
    shipping: fc.bigInt({ min: 0n, max: 100_000n }),
    tax: fc.bigInt({ min: 0n, max: 100_000n }),
    discountPercent: fc.integer({ min: 0, max: 99 }),
  })
  .map((c) => {
    const currency = parseCurrency(c.currency)!;
    const items = c.lines.reduce((s, l) => s + l.unit * BigInt(l.quantity), 0n);
    const discount = ((items + c.shipping + c.tax) * BigInt(c.discountPercent)) / 100n;
    return { ...c, currency, discount, total: items + c.shipping + c.tax - discount };
  })
  .filter((c) => c.total > 0n);

interface Cart {
  currency: CurrencyCode;
  lines: { quantity: number; unit: bigint }[];
  shipping: bigint;
  tax: bigint;
  discount: bigint;
  total: bigint;
}

function sessionFor(c: Cart, id: string): SessionForProvider {
  return {
    id,
    idempotencyKey: `cartbridge-${id}`,
    storeId: "st_1",
    livemode: false,
    currency: c.currency,
    currencyExponent: currencyExponent(c.currency),
    amountMinor: c.total,
    lineItems: c.lines.map((l, i) => ({ name: `Item ${i}`, quantity: l.quantity, unitAmountMinor: l.unit })),
    shippingMinor: c.shipping,
    taxMinor: c.tax,
    discountMinor: c.discount,
    order: { id: "1001" },
    metadata: { cartbridge_session_id: id, order_id: "1001" },
    successUrl: "https://shop.example/thanks",
    cancelUrl: "https://shop.example/cart",
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

describe("cryptocheckout amounts", () => {
  let sim: CryptoCheckoutSimulator;
  let ctx: ProviderContext<CryptoCheckoutCredentials, CryptoCheckoutSettings>;
  beforeAll(async () => {
    sim = await new CryptoCheckoutSimulator().start();
    ctx = {
      credentials: { apiKey: sim.apiKey, webhookSecret: sim.webhookSecret },
      settings: { baseUrl: sim.url },
      connectionId: "conn_test",
      webhookUrl: "http://bridge.test/v1/webhooks/cryptocheckout/conn_test/t",
      publicUrl: "http://bridge.test",
      fetch,
      now: () => new Date(),
      webhookToleranceSeconds: 300,
    };
  });
  afterAll(() => sim.stop());

  it("the platform receives exactly the cart total, in every currency, with no rounding drift", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(cartArb, async (cart) => {
        const created = await cryptoCheckoutProvider.createSession(sessionFor(cart, `cs_prop_${n++}`), ctx);
        const request = sim.requests.filter((r) => r.method === "POST").at(-1)!;
        const wire = JSON.parse(request.body) as { amount: { value: string; currency: string } };
        expect(typeof wire.amount.value).toBe("string");
        expect(wire.amount.currency).toBe(cart.currency);
        const parsed = parseDecimalAmount(wire.amount.value, cart.currency);
        expect(parsed).toEqual({ ok: true, minor: cart.total });
        expect(sim.sessions.get(created.providerSessionId)!.fiat.amount).toBe(wire.amount.value);
      }),
      { numRuns: 80 },
    );
  });

  it("a retried create with the same session id returns the platform's first session (Idempotency-Key)", async () => {
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 7 })[0]!;
    const first = await cryptoCheckoutProvider.createSession(sessionFor(cart, "cs_retry"), ctx);
    const again = await cryptoCheckoutProvider.createSession(sessionFor(cart, "cs_retry"), ctx);
    expect(again.providerSessionId).toBe(first.providerSessionId);
  });

  it("the same Idempotency-Key with a different body is a 409 conflict, not retried", async () => {
    const [a, b] = fc.sample(cartArb, { numRuns: 2, seed: 11 });
    await cryptoCheckoutProvider.createSession(sessionFor(a!, "cs_conflict"), ctx);
    await expect(cryptoCheckoutProvider.createSession(sessionFor({ ...b!, total: a!.total + 1n }, "cs_conflict"), ctx)).rejects.toMatchObject({
      retryable: false,
      status: 409,
      message: expect.stringContaining("idempotency_error"),
    });
  });

  it("refuses, as not retryable, a created session whose fiat amount is not the one sent", async () => {
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 5 })[0]!;
    const sent = sessionFor(cart, "cs_readback");
    sim.nextFiatAmount = "0.01";
    const refused = await cryptoCheckoutProvider.createSession(sent, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "ProviderRequestError", retryable: false, message: expect.stringContaining("is for 0.01") });
    // The same amount written otherwise ("40" for "40.00") is the same amount.
    const usd = { ...cart, currency: parseCurrency("USD")!, lines: [{ quantity: 1, unit: 4000n }], shipping: 0n, tax: 0n, discount: 0n, total: 4000n };
    sim.nextFiatAmount = "40";
    await expect(cryptoCheckoutProvider.createSession(sessionFor(usd, "cs_readback_ok"), ctx)).resolves.toMatchObject({ providerSessionId: expect.any(String) });
  });

  it("an HTTP error becomes a ProviderRequestError that says whether to retry", async () => {
    const bad = { ...ctx, credentials: { ...ctx.credentials, apiKey: "ck_test_wrong" } };
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 3 })[0]!;
    await expect(cryptoCheckoutProvider.createSession(sessionFor(cart, "cs_401"), bad)).rejects.toMatchObject({ retryable: false, status: 401 });
    const down = { ...ctx, settings: { baseUrl: "http://127.0.0.1:1" } };
    await expect(cryptoCheckoutProvider.createSession(sessionFor(cart, "cs_down"), down)).rejects.toMatchObject({ retryable: true });
  });
});

describe("cryptocheckout statuses", () => {
  // A Record over the platform's status type: adding a status without a row here does not compile.
  const expected: Record<CryptoCheckoutStatus, SessionStatus> = {
    pending: "open",
    detected: "processing",
    underpaid: "underpaid",
    overpaid: "overpaid",
    paid: "paid",
    paid_late: "paid_late",
    expired: "expired",
    failed: "failed",
  };

  it.each(cryptoCheckoutStatuses.map((s) => [s, expected[s]] as const))("%s → %s", (status, bridge) => {
    expect(toBridgeStatus(status)).toBe(bridge);
  });

  it("reports what was paid in the session currency's minor units", () => {
    const base = { id: "cs_1", amount: { wei: "1000", eth: "0.000000000000001" }, fiat: { amount: "40.00", currency: "USD" } };
    expect(amountPaid({ ...base, status: "paid" })).toEqual({ minor: 4000n, currency: "USD" });
    expect(amountPaid({ ...base, status: "paid_late" })).toEqual({ minor: 4000n, currency: "USD" });
    expect(amountPaid({ ...base, status: "underpaid", amountReceived: { wei: "500" } })).toEqual({ minor: 2000n, currency: "USD" });
    expect(amountPaid({ ...base, status: "overpaid", amountReceived: { wei: "1100" } })).toEqual({ minor: 4400n, currency: "USD" });
    // Without the received amount, a partial payment reports no amount rather than a guess.
    expect(amountPaid({ ...base, status: "underpaid" })).toBeUndefined();
    expect(amountPaid({ ...base, status: "expired" })).toBeUndefined();
    expect(amountPaid({ ...base, status: "paid", fiat: { amount: "5000", currency: "JPY" } })).toEqual({ minor: 5000n, currency: "JPY" });
  });
});
