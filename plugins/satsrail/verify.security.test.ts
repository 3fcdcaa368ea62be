import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WebhookVerificationError, type ProviderContext } from "../types.ts";
import { satsrailProvider, satsrailSettings, type SatsrailCredentials, type SatsrailSettings } from "./index.ts";
import { toBridgeStatus } from "./wire.ts";

const secret = "whsec_0123456789abcdef0123456789";
const nowMs = Date.UTC(2026, 0, 15, 10, 2, 30);
const nowSeconds = Math.floor(nowMs / 1000);

function ctx(settings: Partial<SatsrailSettings> = {}): ProviderContext<SatsrailCredentials, SatsrailSettings> {
  return {
    credentials: { secretKey: "sk_test_abc", webhookSecret: secret },
    settings: satsrailSettings.parse({ baseUrl: "https://satsrail.com", ...settings }),
    connectionId: "conn_test",
    webhookUrl: "http://bridge.test/v1/webhooks/satsrail/conn_test/token",
    publicUrl: "http://bridge.test",
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: () => new Date(nowMs),
    webhookToleranceSeconds: 300,
  };
}

const hex = (body: string, key = secret) => createHmac("sha256", key).update(body).digest("hex");
const bytes = (body: string) => new TextEncoder().encode(body);

/** The integration guide's example, byte for byte but with our metadata. */
const guideBody = JSON.stringify({
  event: "checkout.completed",
  checkout_id: "cs_abc123",
  payment_hash: "abc123",
  amount_sats: 50000,
  amount_usd: "50.00",
  metadata: { order_id: "ORD-1234", cartbridge_session_id: "cs_0123456789abcdef01234567" },
  timestamp: "2024-01-15T10:02:30Z",
});
const docsBody = JSON.stringify({
  id: "evt_1",
  event: "invoice.paid",
  created_at: "2026-01-15T10:02:00Z",
  data: { object: { id: "inv_1", checkout_session_id: "cs_abc123", metadata: { cartbridge_session_id: "cs_x", order_id: "ORD-1" } } },
});
const privapaidBody = JSON.stringify({ id: "evt_pp", type: "checkout.completed", payload: { checkout_id: "cs_abc123", metadata: { cartbridge_session_id: "cs_x" } } });

async function verify(body: string, headers: Record<string, string>, settings: Partial<SatsrailSettings> = {}) {
  return satsrailProvider.verifyWebhook({ rawBody: bytes(body), headers }, ctx(settings));
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return "accepted";
}

describe("satsrail verifier: every documented variant (CONFLICT)", () => {
  it("docs page: X-Webhook-Signature hex over the raw body, deduped on X-Idempotency-Key", async () => {
    const result = await verify(docsBody, {
      "x-webhook-signature": hex(docsBody),
      "x-webhook-event": "invoice.paid",
      "x-webhook-delivery-id": "whd_1",
      "x-idempotency-key": "idem_1",
      "x-webhook-timestamp": String(nowSeconds),
    });
    expect(result.eventId).toBe("idem_1");
    expect(result.events).toEqual([
      expect.objectContaining({ bridgeSessionId: "cs_x", providerSessionId: "cs_abc123", orderId: "ORD-1", outcome: "paid", providerStatus: "invoice.paid" }),
    ]);
  });

  it("PrivaPaid: x-satsrail-signature plain hex + x-satsrail-timestamp, {id,type,payload}, deduped on the body id", async () => {
    const result = await verify(privapaidBody, { "x-satsrail-signature": hex(privapaidBody), "x-satsrail-timestamp": String(nowSeconds - 299) });
    expect(result.eventId).toBe("evt_pp");
    expect(result.events[0]).toMatchObject({ bridgeSessionId: "cs_x", providerSessionId: "cs_abc123", outcome: "paid" });
  });

  it("guide: X-SatsRail-Signature: sha256=…, checkout.completed, deduped on payment_hash", async () => {
    const result = await verify(guideBody, { "x-satsrail-signature": `sha256=${hex(guideBody)}` });
    expect(result.eventId).toBe("payment_hash:abc123");
    expect(result.events[0]).toMatchObject({
      providerSessionId: "cs_abc123",
      orderId: "ORD-1234",
      outcome: "paid",
      occurredAt: new Date("2024-01-15T10:02:30Z"),
      transactions: [{ hash: "abc123", asset: "BTC-LN" }],
    });
  });

  it("dedupe key order: X-Idempotency-Key → X-Webhook-Delivery-ID → body id → payment_hash", async () => {
    const withBoth = JSON.stringify({ id: "evt_9", event: "checkout.completed", checkout_id: "cs_1", payment_hash: "ph_9" });
    const signature = { "x-webhook-signature": hex(withBoth) };
    expect((await verify(withBoth, { ...signature, "x-idempotency-key": "k", "x-webhook-delivery-id": "d" })).eventId).toBe("k");
    expect((await verify(withBoth, { ...signature, "x-webhook-delivery-id": "d" })).eventId).toBe("d");
    expect((await verify(withBoth, signature)).eventId).toBe("evt_9");
    const noId = JSON.stringify({ event: "checkout.completed", checkout_id: "cs_1", payment_hash: "ph_9" });
    expect((await verify(noId, { "x-webhook-signature": hex(noId) })).eventId).toBe("payment_hash:ph_9");
  });

  it("events without payment news verify and carry no events", async () => {
    for (const body of [
      JSON.stringify({ id: "evt_2", type: "merchant.plan_changed", payload: { merchant_id: "m" } }),
      JSON.stringify({ id: "evt_3", type: "product.key_rotated", payload: { product_id: "p" } }),
      JSON.stringify({ id: "evt_4", event: "order.created", data: { object: { id: "ord_1", metadata: { cartbridge_session_id: "cs_x" } } } }),
    ]) {
      expect((await verify(body, { "x-satsrail-signature": hex(body) })).events).toEqual([]);
    }
  });
});

describe("satsrail verifier: rejections", () => {
  it("rejects a wrong secret", async () => {
    expect(await reason(verify(guideBody, { "x-satsrail-signature": `sha256=${hex(guideBody, "whsec_other_secret_value")}` }))).toBe("bad_signature");
    expect(await reason(verify(docsBody, { "x-webhook-signature": hex(docsBody, "whsec_other_secret_value") }))).toBe("bad_signature");
  });

  it("rejects a changed byte in the body", async () => {
    const signature = hex(guideBody);
    const changed = guideBody.replace('"amount_usd":"50.00"', '"amount_usd":"50.01"');
    expect(changed).not.toBe(guideBody);
    expect(await reason(verify(changed, { "x-satsrail-signature": `sha256=${signature}` }))).toBe("bad_signature");
  });

  it("rejects a re-serialized body (whitespace changed by JSON.parse → JSON.stringify)", async () => {
    const sent = JSON.stringify(JSON.parse(guideBody), null, 2);
    const reserialized = JSON.stringify(JSON.parse(sent));
    expect(await reason(verify(sent, { "x-satsrail-signature": hex(sent) }))).toBe("accepted");
    expect(await reason(verify(reserialized, { "x-satsrail-signature": hex(sent) }))).toBe("bad_signature");
  });

  it("rejects a missing signature header", async () => {
    expect(await reason(verify(guideBody, {}))).toBe("missing_signature");
    expect(await reason(verify(guideBody, { "x-satsrail-timestamp": String(nowSeconds) }))).toBe("missing_signature");
  });

  it("rejects stale or future timestamps on either timestamp header, and unparseable ones", async () => {
    const signed = { "x-satsrail-signature": hex(privapaidBody) };
    expect(await reason(verify(privapaidBody, { ...signed, "x-satsrail-timestamp": String(nowSeconds - 301) }))).toBe("stale_timestamp");
    expect(await reason(verify(privapaidBody, { ...signed, "x-satsrail-timestamp": String(nowSeconds + 301) }))).toBe("stale_timestamp");
    expect(await reason(verify(docsBody, { "x-webhook-signature": hex(docsBody), "x-webhook-timestamp": String(nowSeconds - 3600) }))).toBe("stale_timestamp");
    expect(await reason(verify(privapaidBody, { ...signed, "x-satsrail-timestamp": "2026-01-15T10:00:00Z" }))).toBe("bad_timestamp");
    // The check can be turned off for a sender whose timestamp is the event's, not the attempt's.
    expect(await reason(verify(privapaidBody, { ...signed, "x-satsrail-timestamp": String(nowSeconds - 3600) }, { webhookTimestampToleranceSeconds: 0 }))).toBe("accepted");
  });

  it("rejects a malformed signature value and a signed body that is not JSON", async () => {
    expect(await reason(verify(guideBody, { "x-satsrail-signature": "sha256=zz" }))).toBe("bad_signature");
    expect(await reason(verify("not json", { "x-satsrail-signature": hex("not json") }))).toBe("malformed_body");
  });
});

describe("satsrail status mapping", () => {
  it.each([
    ["pending", "open"],
    ["completed", "paid"],
    ["expired", "expired"],
    ["cancelled", "canceled"],
  ] as const)("%s → %s", (platform, bridge) => {
    expect(toBridgeStatus(platform)).toBe(bridge);
  });
});
