import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WebhookVerificationError, type ProviderContext } from "../types.ts";
import { cryptoCheckoutProvider, type CryptoCheckoutCredentials, type CryptoCheckoutSettings } from "./index.ts";

const secret = "whsec_c2VjcmV0LWZvci10ZXN0cy1vbmx5LTEyMzQ1Njc4OTA=";
const nowMs = Date.UTC(2026, 0, 15, 12, 0, 0);
const now = Math.floor(nowMs / 1000);

function ctx(webhookSecret = secret): ProviderContext<CryptoCheckoutCredentials, CryptoCheckoutSettings> {
  return {
    credentials: { apiKey: "ck_test_abc", webhookSecret },
    settings: { baseUrl: "http://127.0.0.1:9" },
    connectionId: "conn_test",
    webhookUrl: "http://bridge.test/v1/webhooks/cryptocheckout/conn_test/token",
    publicUrl: "http://bridge.test",
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: () => new Date(nowMs),
    webhookToleranceSeconds: 300,
  };
}

// Pretty-printed like some servers send it, so a re-serialization is visibly different bytes.
const body = JSON.stringify(
  {
    id: "evt_01",
    type: "session.paid",
    livemode: false,
    createdAt: "2026-01-15T12:00:00.000Z",
    data: {
      id: "cs_01HZ",
      object: "checkout_session",
      status: "paid",
      amount: { wei: "16000000000000000", eth: "0.016" },
      fiat: { amount: "40.00", currency: "USD" },
      txHash: `0x${"ab".repeat(32)}`,
      chainId: 1,
      paidAt: "2026-01-15T11:59:00.000Z",
      metadata: { cartbridge_session_id: "cs_bridge", order_id: "1001", orderId: "1001" },
    },
  },
  null,
  2,
);

function sign(raw: string, t = now, key = secret) {
  return createHmac("sha256", key).update(`${t}.${raw}`).digest("hex");
}

async function verify(raw: string, headers: Record<string, string>, c = ctx()) {
  return cryptoCheckoutProvider.verifyWebhook({ rawBody: new TextEncoder().encode(raw), headers }, c);
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

describe("cryptocheckout webhook verification", () => {
  it("accepts the genuine delivery and maps it", async () => {
    const verified = await verify(body, { "x-webhook-signature": `t=${now},v1=${sign(body)}` });
    expect(verified.eventId).toBe("evt_01");
    expect(verified.events).toEqual([
      expect.objectContaining({ bridgeSessionId: "cs_bridge", providerSessionId: "cs_01HZ", orderId: "1001", outcome: "paid", amountPaidMinor: 4000n, currency: "USD" }),
    ]);
  });

  it("rejects a signature made with another secret", async () => {
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now},v1=${sign(body, now, "whsec_other")}` }))).toBe("bad_signature");
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now},v1=${sign(body)}` }, ctx("whsec_other_secret")))).toBe("bad_signature");
  });

  it("rejects a body with one byte changed", async () => {
    const tampered = body.replace('"40.00"', '"40.01"');
    expect(tampered).not.toBe(body);
    expect(await reason(verify(tampered, { "x-webhook-signature": `t=${now},v1=${sign(body)}` }))).toBe("bad_signature");
  });

  it("rejects a timestamp outside the 300 s window, either way", async () => {
    for (const t of [now - 301, now + 301]) {
      expect(await reason(verify(body, { "x-webhook-signature": `t=${t},v1=${sign(body, t)}` }))).toBe("stale_timestamp");
    }
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now - 299},v1=${sign(body, now - 299)}` }))).toBe("accepted");
  });

  it("keeps the documented 300 s window even when the bridge allows more, and a narrower setting narrows it", async () => {
    const wide = { ...ctx(), webhookToleranceSeconds: 3600 };
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now - 301},v1=${sign(body, now - 301)}` }, wide))).toBe("stale_timestamp");
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now - 300},v1=${sign(body, now - 300)}` }, wide))).toBe("accepted");
    const narrow = { ...ctx(), webhookToleranceSeconds: 60 };
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now - 61},v1=${sign(body, now - 61)}` }, narrow))).toBe("stale_timestamp");
  });

  it("rejects a delivery without a signature header, or without any timestamp", async () => {
    expect(await reason(verify(body, {}))).toBe("missing_signature");
    expect(await reason(verify(body, { "x-webhook-timestamp": String(now) }))).toBe("missing_signature");
    expect(await reason(verify(body, { "x-webhook-signature": `v1=${sign(body)}` }))).toBe("missing_signature");
  });

  it("rejects a re-serialized body (JSON.parse → JSON.stringify)", async () => {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const reordered = JSON.stringify({ type: parsed.type, ...parsed });
    for (const reserialized of [JSON.stringify(parsed), reordered]) {
      expect(reserialized).not.toBe(body);
      expect(await reason(verify(reserialized, { "x-webhook-signature": `t=${now},v1=${sign(body)}` }))).toBe("bad_signature");
    }
  });

  it("CONFLICT: accepts X-Signature as well as X-Webhook-Signature, and the X-Webhook-Timestamp fallback", async () => {
    expect(await reason(verify(body, { "x-signature": `t=${now},v1=${sign(body)}` }))).toBe("accepted");
    expect(await reason(verify(body, { "x-webhook-signature": `v1=${sign(body)}`, "x-webhook-timestamp": String(now) }))).toBe("accepted");
    expect(await reason(verify(body, { "x-signature": sign(body), "x-webhook-timestamp": String(now) }))).toBe("accepted");
    // The fallback timestamp is signed too: a replayed body with a fresh X-Webhook-Timestamp fails.
    expect(await reason(verify(body, { "x-webhook-signature": `v1=${sign(body, now - 600)}`, "x-webhook-timestamp": String(now) }))).toBe("bad_signature");
  });

  it("accepts a v1 among several (secret rolling)", async () => {
    expect(await reason(verify(body, { "x-webhook-signature": `t=${now},v1=${"0".repeat(64)},v1=${sign(body)}` }))).toBe("accepted");
  });

  it.each(["session.created", "session.pending"])("CONFLICT: %s verifies and carries no payment event", async (type) => {
    const created = JSON.stringify({ id: "evt_c", type, livemode: false, createdAt: "2026-01-15T12:00:00Z", data: { id: "cs_01HZ", status: "pending", metadata: {} } });
    const verified = await verify(created, { "x-webhook-signature": `t=${now},v1=${sign(created)}` });
    expect(verified).toEqual({ eventId: "evt_c", events: [] });
  });
});
