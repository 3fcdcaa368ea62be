import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WebhookVerificationError, type ProviderContext } from "../types.ts";
import { gstableProvider, type GstableCredentials, type GstableSettings } from "./index.ts";

const secret = "wkk_0123456789abcdef0123456789abcdef";
const nowMs = Date.UTC(2026, 0, 15, 12, 0, 0);
const now = Math.floor(nowMs / 1000);

function ctx(webhookSecret = secret): ProviderContext<GstableCredentials, GstableSettings> {
  return {
    credentials: { apiKey: "gs_key", webhookSecret },
    settings: { baseUrl: "http://127.0.0.1:9/api/v1", accountId: "acc_1", settlementToken: "polygon::usdc", feeModel: 1, payerEmailRequired: false },
    connectionId: "conn_test",
    webhookUrl: "http://bridge.test/v1/webhooks/gstable/conn_test/token",
    publicUrl: "http://bridge.test",
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: () => new Date(nowMs),
    webhookToleranceSeconds: 300,
  };
}

const body = JSON.stringify(
  {
    eventId: "evt_g1",
    eventType: "session.paid",
    businessType: "session",
    occurrence: "2026-01-15 11:59:30",
    isSubscribable: true,
    payload: {
      sessionData: {
        sessionId: "cs_g1",
        status: "paid",
        amount: 40000000,
        paymentSucceededTime: "2026-01-15 11:59:00",
        initiateTx: `0x${"cd".repeat(32)}`,
        metadata: { cartbridge_session_id: "cs_bridge", order_id: "1001" },
      },
      transaction: { sourceTx: `0x${"cd".repeat(32)}`, paymentValue: 40000000 },
    },
  },
  null,
  2,
);

function mac(raw: string, timestamp: string, key = secret) {
  return createHmac("sha256", key).update(`${timestamp}:${raw}`).digest();
}

function headers(raw: string, timestamp = String(now), key = secret, encoding: "hex" | "base64" = "hex") {
  return { "x-gstable-timestamp": timestamp, "x-gstable-signature": mac(raw, timestamp, key).toString(encoding) };
}

async function reason(raw: string, h: Record<string, string>, c = ctx()): Promise<string> {
  try {
    await gstableProvider.verifyWebhook({ rawBody: new TextEncoder().encode(raw), headers: h }, c);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return "accepted";
}

describe("gstable webhook verification", () => {
  it("accepts the genuine delivery and maps it (micro-USD → cents)", async () => {
    const verified = await gstableProvider.verifyWebhook({ rawBody: new TextEncoder().encode(body), headers: headers(body) }, ctx());
    expect(verified.eventId).toBe("evt_g1");
    expect(verified.events).toEqual([
      expect.objectContaining({ bridgeSessionId: "cs_bridge", providerSessionId: "cs_g1", orderId: "1001", outcome: "paid", amountPaidMinor: 4000n, currency: "USD", occurredAt: new Date("2026-01-15T11:59:00Z") }),
    ]);
  });

  it("rejects a signature made with another secret", async () => {
    expect(await reason(body, headers(body, String(now), "wkk_other"))).toBe("bad_signature");
    expect(await reason(body, headers(body), ctx("wkk_another_secret"))).toBe("bad_signature");
  });

  it("rejects a body with one byte changed", async () => {
    const tampered = body.replace("40000000", "40000001");
    expect(tampered).not.toBe(body);
    expect(await reason(tampered, headers(body))).toBe("bad_signature");
  });

  it("rejects a timestamp outside the window (seconds and milliseconds), and a changed timestamp", async () => {
    for (const t of [String(now - 301), String(now + 301), String(nowMs - 301_000)]) {
      expect(await reason(body, headers(body, t))).toBe("stale_timestamp");
    }
    const h = headers(body);
    expect(await reason(body, { ...h, "x-gstable-timestamp": String(now - 1) })).toBe("bad_signature");
  });

  it("rejects a delivery missing either header", async () => {
    const h = headers(body);
    expect(await reason(body, {})).toBe("missing_signature");
    expect(await reason(body, { "x-gstable-signature": h["x-gstable-signature"] })).toBe("missing_signature");
    expect(await reason(body, { "x-gstable-timestamp": h["x-gstable-timestamp"] })).toBe("missing_signature");
  });

  it("rejects a re-serialized body (JSON.parse → JSON.stringify)", async () => {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    for (const reserialized of [JSON.stringify(parsed), JSON.stringify({ payload: parsed.payload, ...parsed })]) {
      expect(reserialized).not.toBe(body);
      expect(await reason(reserialized, headers(body))).toBe("bad_signature");
    }
  });

  it("accepts every undocumented-but-plausible form: hex, base64, base64url; seconds or milliseconds", async () => {
    expect(await reason(body, headers(body, String(now), secret, "base64"))).toBe("accepted");
    expect(await reason(body, { "x-gstable-timestamp": String(now), "x-gstable-signature": mac(body, String(now)).toString("base64url") })).toBe("accepted");
    expect(await reason(body, headers(body, String(nowMs)))).toBe("accepted");
    expect(await reason(body, { ...headers(body), "x-gstable-signature": mac(body, String(now)).toString("hex").toUpperCase() })).toBe("accepted");
  });

  it.each([
    ["session.created", "session", "initialized"],
    ["product.created", "product", undefined],
    ["payment.link.created", "payment_link", undefined],
    ["account.updated", "account", undefined],
  ])("%s verifies and carries no payment event", async (eventType, businessType, status) => {
    const raw = JSON.stringify({ eventId: "evt_x", eventType, businessType, occurrence: "2026-01-15 12:00:00", isSubscribable: true, payload: status ? { sessionData: { sessionId: "cs_g1", status, amount: 40000000, metadata: {} } } : { productData: {} } });
    expect(await gstableProvider.verifyWebhook({ rawBody: new TextEncoder().encode(raw), headers: headers(raw) }, ctx())).toEqual({ eventId: "evt_x", events: [] });
  });
});
