import fc from "fast-check";
import { parse as parseLossless } from "lossless-json";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCurrency, rescale, type CurrencyCode } from "../../src/domain/money.ts";
import type { SessionStatus } from "../../src/domain/session-status.ts";
import { GstableSimulator } from "../../test/simulators/gstable/server.ts";
import type { ProviderContext, SessionForProvider } from "../types.ts";
import { gstableProvider, type GstableCredentials, type GstableSettings } from "./index.ts";
import { gstableStatuses, microUsdLiteralToCents, toBridgeStatus, toGstableLineItems, type GstableStatus } from "./wire.ts";

const usd = parseCurrency("USD")!;

interface Cart {
  lines: { quantity: number; unit: bigint }[];
  shipping: bigint;
  tax: bigint;
  discount: bigint;
  total: bigint;
}

/** USD carts (the only currency micro-USD can express), with discounts up to the whole cart. */
const cartArb = fc
  .record({
    lines: fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 40 }), unit: fc.bigInt({ min: 0n, max: 2_000_000n }) }), { minLength: 1, maxLength: 8 }),
    shipping: fc.bigInt({ min: 0n, max: 50_000n }),
    tax: fc.bigInt({ min: 0n, max: 50_000n }),
    discountPermille: fc.integer({ min: 0, max: 999 }),
  })
  .map((c): Cart => {
    const items = c.lines.reduce((s, l) => s + l.unit * BigInt(l.quantity), 0n);
    const discount = ((items + c.shipping + c.tax) * BigInt(c.discountPermille)) / 1000n;
    return { ...c, discount, total: items + c.shipping + c.tax - discount };
  })
  .filter((c) => c.total > 0n);

function sessionFor(c: Cart, id: string, currency: CurrencyCode = usd): SessionForProvider {
  return {
    id,
    idempotencyKey: `cartbridge-${id}`,
    storeId: "st_1",
    livemode: false,
    currency,
    currencyExponent: 2,
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

describe("gstable amounts", () => {
  let sim: GstableSimulator;
  let ctx: ProviderContext<GstableCredentials, GstableSettings>;
  beforeAll(async () => {
    sim = await new GstableSimulator().start();
    ctx = {
      credentials: { apiKey: sim.apiKey, webhookSecret: sim.webhookSecret },
      settings: { baseUrl: sim.baseUrl(), accountId: sim.accountId, settlementToken: "polygon::usdc", feeModel: 1, payerEmailRequired: false },
      connectionId: "conn_test",
      webhookUrl: "http://bridge.test/v1/webhooks/gstable/conn_test/t",
      publicUrl: "http://bridge.test",
      fetch,
      now: () => new Date(),
      webhookToleranceSeconds: 300,
    };
  });
  afterAll(() => sim.stop());

  it("the platform receives integer micro-USD line items whose sum is exactly the cart total", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(cartArb, async (cart) => {
        const created = await gstableProvider.createSession(sessionFor(cart, `cs_prop_${n++}`), ctx);
        const request = sim.requests.filter((r) => r.method === "POST").at(-1)!;
        // Read the wire with every number as its literal text: no float between the bytes and the check.
        const wire = parseLossless(request.body, null, (literal: string) => literal) as { lineItems: { quantity: string; unitPrice: string }[] };
        let sum = 0n;
        for (const item of wire.lineItems) {
          expect(item.unitPrice).toMatch(/^[1-9]\d*$/);
          expect(item.quantity).toMatch(/^[1-9]\d*$/);
          sum += BigInt(item.unitPrice) * BigInt(item.quantity);
        }
        expect(sum).toBe(rescale(cart.total, 2, 6));
        expect(sim.sessions.get(created.providerSessionId)!.amount).toBe(Number(sum));
      }),
      { numRuns: 80 },
    );
  });

  it("spreads a discount so every unit keeps an integer price", () => {
    const lines = toGstableLineItems({
      lineItems: [{ name: "Pen", quantity: 3, unitAmountMinor: 100n }],
      shippingMinor: 0n,
      taxMinor: 0n,
      discountMinor: 100n,
      currencyExponent: 2,
    });
    expect(lines.map((l) => [l.quantity, l.unitPrice])).toEqual([
      [2, 670_000],
      [1, 660_000],
    ]);
  });

  it.each(["EUR", "GBP", "JPY"])("refuses a %s cart before calling the platform (micro-USD only)", async (code) => {
    const before = sim.requests.length;
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 1 })[0]!;
    await expect(gstableProvider.createSession(sessionFor(cart, "cs_fx", parseCurrency(code)!), ctx)).rejects.toMatchObject({
      name: "ProviderRequestError",
      retryable: false,
      message: expect.stringMatching(new RegExp(`USD only.*${code}`)),
    });
    expect(sim.requests.length).toBe(before);
  });

  it("treats a non-zero code as an error even on HTTP 200, retryable only where the code says so", async () => {
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 2 })[0]!;
    const badAccount = { ...ctx, settings: { ...ctx.settings, accountId: "acc_nope" } };
    await expect(gstableProvider.createSession(sessionFor(cart, "cs_e1"), badAccount)).rejects.toMatchObject({ retryable: false, status: 200, message: expect.stringContaining("400101") });
    const down = { ...ctx, settings: { ...ctx.settings, baseUrl: "http://127.0.0.1:1/api/v1" } };
    await expect(gstableProvider.createSession(sessionFor(cart, "cs_e2"), down)).rejects.toMatchObject({ retryable: true });
  });

  it("the simulator refuses a decimal unitPrice with code 400101 on HTTP 200, as the platform does", async () => {
    const res = await fetch(`${sim.baseUrl()}/session/checkout/create`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${sim.apiKey}` },
      body: JSON.stringify({ accountId: sim.accountId, settlementToken: "polygon::usdc", lineItems: [{ itemType: "one_time", quantity: 1, unitPrice: 19.9, productData: { productName: "x" } }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 400101, data: null });
  });

  it("refuses, as not retryable, a created session whose amount is not the one sent; the same amount written otherwise passes", async () => {
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 6 })[0]!;
    sim.nextAmount = Number(rescale(cart.total, 2, 6)) + 10_000; // one cent more
    const refused = await gstableProvider.createSession(sessionFor(cart, "cs_readback"), ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "ProviderRequestError", retryable: false, message: expect.stringContaining("micro-USD, not") });
    sim.nextAmount = { rawNumber: `${rescale(cart.total, 2, 6)}.0` };
    await expect(gstableProvider.createSession(sessionFor(cart, "cs_readback_ok"), ctx)).resolves.toMatchObject({ providerSessionId: expect.any(String) });
  });

  it("never rounds a re-fetched committed amount that is not whole cents: it is left out and named", async () => {
    const cart = fc.sample(cartArb, { numRuns: 1, seed: 4 })[0]!;
    const created = await gstableProvider.createSession(sessionFor(cart, "cs_subcent"), ctx);
    const s = sim.sessions.get(created.providerSessionId)!;
    s.status = "paid";
    s.amount = 40_000_001;
    const state = await gstableProvider.fetchSession!(created.providerSessionId, ctx);
    expect(state).toMatchObject({ status: "paid", providerStatus: "paid (amount 40000001 micro-USD is not whole cents)" });
    expect(state.amountPaidMinor).toBeUndefined();
    s.amount = 40_000_000;
    await expect(gstableProvider.fetchSession!(created.providerSessionId, ctx)).resolves.toMatchObject({ status: "paid", amountPaidMinor: 4000n, currency: "USD" });
  });
});

describe("gstable statuses", () => {
  // A Record over the platform's status type: a status without a row here does not compile.
  const expected: Record<GstableStatus, SessionStatus> = {
    initialized: "open",
    paid: "paid",
    settling: "paid",
    settlement_pending: "paid",
    completed: "paid",
    expired: "expired",
    cancelled: "canceled",
  };
  it.each(gstableStatuses.map((s) => [s, expected[s]] as const))("%s → %s", (status, bridge) => {
    expect(toBridgeStatus(status)).toBe(bridge);
  });
});

describe("gstable micro-USD literal → cents", () => {
  it.each([
    ["40000000", 4000n],
    ["40000000.000", 4000n],
    ["4e7", 4000n],
    ["4.0E+7", 4000n],
    ["400000000000e-4", 4000n],
    ["0", 0n],
    ["0.0", 0n],
    ["40000000.5", undefined],
    ["40005000", undefined], // half a cent
    ["19.9", undefined], // dollars, or a fraction of a micro-dollar: either way not exact cents
    ["1e-9", undefined],
    ["1e400", undefined],
    ["-40000000", undefined],
  ] as const)("%s → %s", (literal, cents) => {
    expect(microUsdLiteralToCents(literal)).toBe(cents);
  });

  it("any whole number of cents, written with any exponent, reads back exactly", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 8 }), (cents, shift) => {
        const micro = (cents * 10_000n).toString();
        // The same value as digits × 10^shift with the decimal point moved: "4000.0000e4"-style literals.
        const padded = micro.padStart(shift + 1, "0");
        const literal = shift === 0 ? micro : `${padded.slice(0, -shift)}.${padded.slice(-shift)}e${shift}`;
        expect(microUsdLiteralToCents(literal)).toBe(cents);
      }),
    );
  });
});
