/** SatsRail's error envelope `{"error":{message,code,details,request_id}}` becomes a ProviderRequestError that says whether to retry. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../src/domain/money.ts";
import { SatsrailSimulator } from "../../test/simulators/satsrail/server.ts";
import type { ProviderContext, SessionForProvider } from "../types.ts";
import { satsrailProvider, satsrailSettings, type SatsrailCredentials, type SatsrailSettings } from "./index.ts";
import { describeError } from "./wire.ts";

let sim: SatsrailSimulator;
let ctx: ProviderContext<SatsrailCredentials, SatsrailSettings>;
beforeAll(async () => {
  sim = await new SatsrailSimulator().start();
  ctx = {
    credentials: { secretKey: sim.secretKey, webhookSecret: sim.webhookSecret },
    settings: satsrailSettings.parse({ baseUrl: `${sim.url}/api/v1/` }),
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

const session = (metadata: Record<string, string> = {}): SessionForProvider => ({
  id: "cs_err",
  idempotencyKey: "cartbridge-cs_err",
  storeId: "st_1",
  livemode: false,
  currency: "USD" as CurrencyCode,
  currencyExponent: 2,
  amountMinor: 4000n,
  lineItems: [{ name: "Thing", quantity: 1, unitAmountMinor: 4000n }],
  shippingMinor: 0n,
  taxMinor: 0n,
  discountMinor: 0n,
  order: { id: "1001" },
  metadata: { ...metadata, cartbridge_session_id: "cs_err", order_id: "1001" },
  successUrl: "https://shop.example/thanks",
  cancelUrl: "https://shop.example/cart",
  expiresAt: new Date(Date.now() + 3_600_000),
});

describe("satsrail errors", () => {
  it("429 and 5xx are retryable; 429 reports Retry-After", async () => {
    sim.failNext = 429;
    await expect(satsrailProvider.createSession(session(), ctx)).rejects.toMatchObject({ retryable: true, status: 429, message: expect.stringMatching(/rate_limited: Rate limit exceeded.*Retry-After 30/) });
    sim.failNext = 500;
    await expect(satsrailProvider.createSession(session(), ctx)).rejects.toMatchObject({ retryable: true, status: 500 });
  });

  it("a network failure is retryable", async () => {
    const offline = { ...ctx, fetch: (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch };
    await expect(satsrailProvider.fetchSession!("cs_x", offline)).rejects.toMatchObject({ retryable: true, message: "SatsRail is unreachable: fetch failed" });
  });

  it("404 on the re-fetch is not retryable and names the request", async () => {
    await expect(satsrailProvider.fetchSession!("cs_missing", ctx)).rejects.toMatchObject({
      retryable: false,
      status: 404,
      message: expect.stringMatching(/HTTP 404 not_found: Checkout session not found \(request req_/),
    });
  });

  it("refuses more than 50 metadata keys before calling, and the platform answers 422 with details for the same", async () => {
    const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
    const before = sim.creates().length;
    await expect(satsrailProvider.createSession(session(many), ctx)).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/at most 50 keys; this session has 51/) });
    expect(sim.creates()).toHaveLength(before);

    const res = await fetch(`${sim.url}/api/v1/checkout_sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.secretKey}`, "content-type": "application/json" },
      body: JSON.stringify({ checkout_session: { amount_cents: 40.5, success_url: "https://a.example", cancel_url: "https://a.example", metadata: { ...many, a: "1", b: "2" } } }),
    });
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(describeError(422, text)).toMatch(/^SatsRail answered HTTP 422 validation_error: Validation failed \{"amount_cents":\["must be a positive integer"\],"metadata":\["must have at most 50 keys"\]\} \(request req_/);
  });

  it("410 Gone on the re-fetch [GUIDE] reads as expired", async () => {
    const created = await satsrailProvider.createSession(session(), ctx);
    sim.goneWhenExpired = true;
    try {
      await sim.expire(created.providerSessionId, { hold: true });
      expect(await satsrailProvider.fetchSession!(created.providerSessionId, ctx)).toEqual({
        providerSessionId: created.providerSessionId,
        status: "expired",
        transactions: [],
        providerStatus: "gone",
      });
    } finally {
      sim.goneWhenExpired = false;
    }
  });

  it("a publishable key cannot read sessions back", async () => {
    const created = await satsrailProvider.createSession(session(), ctx);
    const pk = { ...ctx, credentials: { ...ctx.credentials, secretKey: sim.publishableKey } };
    await expect(satsrailProvider.fetchSession!(created.providerSessionId, pk)).rejects.toMatchObject({ status: 403, retryable: false });
    expect(satsrailSettings.parse({ baseUrl: "https://app.satsrail.com/api/v1/" }).baseUrl).toBe("https://app.satsrail.com");
    expect(satsrailProvider.credentialsSchema.safeParse({ secretKey: "pk_live_abc", webhookSecret: "whsec_12345678" }).success).toBe(false);
  });
});
