import fc from "fast-check";
import { parse as parseLossless } from "lossless-json";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currencyExponent, parseCurrency, parseDecimalAmount, type CurrencyCode } from "../../src/domain/money.ts";
import type { PaymentOutcome } from "../../src/domain/session-status.ts";
import { SprintcheckoutSimulator } from "../../test/simulators/sprintcheckout/server.ts";
import type { ProviderContext, SessionForProvider } from "../types.ts";
import { sprintcheckoutProvider, type SprintcheckoutCredentials, type SprintcheckoutSettings } from "./index.ts";
import { sprintcheckoutStatuses, toBridgeOutcome, type SprintcheckoutStatus } from "./wire.ts";

const currencies = ["USD", "EUR", "GBP", "JPY", "CHF", "BHD", "KWD"] as const;

interface Cart {
  currency: CurrencyCode;
  lines: { quantity: number; unit: bigint }[];
  shipping: bigint;
  tax: bigint;
  discount: bigint;
  total: bigint;
}

// Up to 10^13 minor units: far beyond where a JS float would start to round the decimal.
const cartArb = fc
  .record({
    currency: fc.constantFrom(...currencies),
    lines: fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 50 }), unit: fc.bigInt({ min: 0n, max: 200_000_000_000n }) }), { minLength: 1, maxLength: 6 }),
    shipping: fc.bigInt({ min: 0n, max: 1_000_000n }),
    tax: fc.bigInt({ min: 0n, max: 1_000_000n }),
    discountPercent: fc.integer({ min: 0, max: 99 }),
  })
  .map((c): Cart => {
    const currency = parseCurrency(c.currency)!;
    const items = c.lines.reduce((s, l) => s + l.unit * BigInt(l.quantity), 0n);
    const discount = ((items + c.shipping + c.tax) * BigInt(c.discountPercent)) / 100n;
    return { ...c, currency, discount, total: items + c.shipping + c.tax - discount };
  })
  .filter((c) => c.total > 0n);

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
    order: { id: `order-${id}` },
    metadata: { cartbridge_session_id: id, order_id: `order-${id}` },
    successUrl: "https://shop.example/thanks",
    cancelUrl: "https://shop.example/cart",
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

describe("sprintcheckout amounts", () => {
  let sim: SprintcheckoutSimulator;
  let ctx: ProviderContext<SprintcheckoutCredentials, SprintcheckoutSettings>;
  beforeAll(async () => {
    sim = await new SprintcheckoutSimulator().start();
    ctx = {
      credentials: { apiKey: sim.apiKey, webhookApiKey: sim.webhookApiKey },
      settings: { baseUrl: sim.url },
      connectionId: "conn_test",
      webhookUrl: "http://bridge.test/v1/webhooks/sprintcheckout/conn_test/t",
      publicUrl: "http://bridge.test",
      fetch,
      now: () => new Date(),
      webhookToleranceSeconds: 300,
    };
  });
  afterAll(() => sim.stop());

  it("the platform receives the cart total as an exact JSON number literal, in every currency", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(cartArb, async (cart) => {
        const created = await sprintcheckoutProvider.createSession(sessionFor(cart, `cs_prop_${n++}`), ctx);
        const request = sim.requests.filter((r) => r.method === "POST").at(-1)!;
        const wire = parseLossless(request.body, null, (literal: string) => ({ literal })) as Record<string, { literal: string }>;
        const amount = wire.amount!.literal;
        expect(amount).toMatch(/^\d+(\.\d+)?$/); // a plain decimal: no exponent, no float artefacts
        expect(parseDecimalAmount(amount, cart.currency)).toEqual({ ok: true, minor: cart.total });
        expect(wire.minAmount!.literal).toBe(amount);
        expect(sim.sessions.get(created.providerSessionId)!.amountLiteral).toBe(amount);
      }),
      { numRuns: 80 },
    );
  });

  it("the simulator refuses an amount sent as a string with the platform's only documented error", async () => {
    const res = await fetch(`${sim.url}/api/checkout/v2/payment_session`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sc-apikey": sim.apiKey },
      body: '{"amount":"40.00","currency":"USD"}',
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: "Server error" });
  });

  it("maps HTTP failures to ProviderRequestError (5xx and network retryable)", async () => {
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 5 })[0]!;
    await expect(sprintcheckoutProvider.createSession(sessionFor(cart, "cs_e1"), { ...ctx, credentials: { ...ctx.credentials, apiKey: "wrong" } })).rejects.toMatchObject({ retryable: false, status: 401 });
    await expect(sprintcheckoutProvider.createSession(sessionFor(cart, "cs_e2"), { ...ctx, settings: { baseUrl: "http://127.0.0.1:1" } })).rejects.toMatchObject({ retryable: true });
  });
});

describe("sprintcheckout statuses", () => {
  // A Record over the platform's status type: a status without a row here does not compile.
  const expected: Record<SprintcheckoutStatus, PaymentOutcome> = {
    PENDING: "processing",
    SUCCESS: "paid",
    FAILED: "failed",
    FAIL: "failed", // CONFLICT: the legacy page's spelling
    EXPIRED: "expired",
  };
  it.each(sprintcheckoutStatuses.map((s) => [s, expected[s]] as const))("%s → %s", (status, outcome) => {
    expect(toBridgeOutcome(status)).toBe(outcome);
  });
});
