import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WebhookVerificationError, type ProviderContext } from "../types.ts";
import { btcpayProvider, btcpaySettings, type BtcpayCredentials, type BtcpaySettings } from "./index.ts";
import { describeError } from "./wire.ts";

const secret = "3Hc8ZtK4pQ9wX2vN";
const storeId = "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776";

function ctx(): ProviderContext<BtcpayCredentials, BtcpaySettings> {
  return {
    credentials: { apiKey: "key", webhookSecret: secret },
    settings: btcpaySettings.parse({ baseUrl: "https://btcpay.example.com/", storeId }),
    connectionId: "conn_test",
    webhookUrl: "http://bridge.test/v1/webhooks/btcpay/conn_test/token",
    publicUrl: "http://bridge.test",
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: () => new Date(),
    webhookToleranceSeconds: 300,
  };
}

const sig = (body: string, key = secret) => `sha256=${createHmac("sha256", Buffer.from(key, "utf8")).update(body).digest("hex")}`;
const bytes = (body: string) => new TextEncoder().encode(body);

const event = {
  deliveryId: "KzGk3FMLSQq5Ckr4hQKMAh",
  webhookId: "EyHrNPPfJPNpJsyxUyqYqC",
  originalDeliveryId: "KzGk3FMLSQq5Ckr4hQKMAh",
  isRedelivery: false,
  type: "InvoiceSettled",
  timestamp: 1_767_000_000,
  storeId,
  invoiceId: "Q8bMvDFEu6X3Zk9YbRJ5Hq",
  metadata: { orderId: "1001", cartbridge_session_id: "cs_0123456789abcdef01234567" },
  manuallyMarked: false,
  overPaid: false,
};
/** Older servers sent `Formatting.Indented` (btcpayserver #2300). */
const indented = JSON.stringify(event, null, 2);
const compact = JSON.stringify(event);

async function verify(body: string, headers: Record<string, string>) {
  return btcpayProvider.verifyWebhook({ rawBody: bytes(body), headers }, ctx());
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

describe("btcpay verifier", () => {
  it("accepts BTCPay-Sig over the raw bytes, compact or indented, and maps the event to our session", async () => {
    for (const body of [compact, indented]) {
      const result = await verify(body, { "btcpay-sig": sig(body) });
      expect(result.eventId).toBe(event.deliveryId);
      expect(result.events).toEqual([
        {
          bridgeSessionId: "cs_0123456789abcdef01234567",
          providerSessionId: event.invoiceId,
          orderId: "1001",
          outcome: "paid",
          paymentReference: `btcpay:${event.invoiceId}`,
          transactions: [],
          occurredAt: new Date(event.timestamp * 1000),
          providerStatus: "InvoiceSettled",
        },
      ]);
    }
  });

  it("dedupes a redelivery on originalDeliveryId, and a first delivery on deliveryId", async () => {
    const redelivery = JSON.stringify({ ...event, deliveryId: "NewDeliveryId", isRedelivery: true });
    expect((await verify(redelivery, { "btcpay-sig": sig(redelivery) })).eventId).toBe(event.deliveryId);
    const withoutOriginal = JSON.stringify({ ...event, originalDeliveryId: null });
    expect((await verify(withoutOriginal, { "btcpay-sig": sig(withoutOriginal) })).eventId).toBe(event.deliveryId);
  });

  it.each([
    ["InvoiceCreated", {}, undefined],
    ["InvoiceReceivedPayment", { afterExpiration: false }, "processing"],
    ["InvoiceReceivedPayment", { afterExpiration: true }, "paid_late"],
    ["InvoicePaymentSettled", { afterExpiration: false }, "processing"],
    ["InvoiceProcessing", { overPaid: false }, "processing"],
    ["InvoiceProcessing", { overPaid: true }, "overpaid"],
    ["InvoiceSettled", { overPaid: true }, "overpaid"],
    ["InvoiceSettled", { manuallyMarked: true, overPaid: false }, "paid"],
    ["InvoiceExpired", { partiallyPaid: false }, "expired"],
    ["InvoiceExpired", { partiallyPaid: true }, "underpaid"],
    ["InvoiceInvalid", { manuallyMarked: true }, "failed"],
    ["PayoutCreated", {}, undefined],
  ] as const)("%s %j claims %s (the re-fetch decides)", async (type, extras, claimed) => {
    const body = JSON.stringify({ ...event, type, overPaid: undefined, manuallyMarked: undefined, ...extras });
    const result = await verify(body, { "btcpay-sig": sig(body) });
    expect(result.events.map((e) => e.outcome)).toEqual(claimed ? [claimed] : []);
  });

  it("acknowledges another store's event without applying it", async () => {
    const body = JSON.stringify({ ...event, storeId: "AnotherStore" });
    expect((await verify(body, { "btcpay-sig": sig(body) })).events).toEqual([]);
  });

  it("rejects a wrong secret", async () => {
    expect(await reason(verify(compact, { "btcpay-sig": sig(compact, "another-secret") }))).toBe("bad_signature");
  });

  it("rejects a changed byte in the body", async () => {
    const changed = compact.replace('"overPaid":false', '"overPaid":true');
    expect(await reason(verify(changed, { "btcpay-sig": sig(compact) }))).toBe("bad_signature");
  });

  it("rejects a missing header, and a signature without the sha256= prefix", async () => {
    expect(await reason(verify(compact, {}))).toBe("missing_signature");
    expect(await reason(verify(compact, { "btcpay-sig": sig(compact).slice("sha256=".length) }))).toBe("bad_signature");
  });

  it("rejects a re-serialized body (btcpayserver #2300: indented JSON parsed and stringified again)", async () => {
    const reserialized = JSON.stringify(JSON.parse(indented));
    expect(reserialized).toBe(compact);
    expect(await reason(verify(reserialized, { "btcpay-sig": sig(indented) }))).toBe("bad_signature");
  });

  it("rejects a signed body that is not a BTCPay event", async () => {
    const body = JSON.stringify({ hello: "world" });
    expect(await reason(verify(body, { "btcpay-sig": sig(body) }))).toBe("malformed_body");
  });
});

describe("btcpay error envelopes", () => {
  it("reads ValidationProblemDetails and ProblemDetails", () => {
    expect(describeError(400, JSON.stringify([{ path: "amount", message: "The amount should be a positive decimal" }, { path: "currency", message: "Invalid currency" }]))).toBe(
      "BTCPay answered HTTP 400: amount: The amount should be a positive decimal; currency: Invalid currency",
    );
    expect(describeError(401, JSON.stringify({ code: "unauthenticated", message: "Authentication is required for accessing this endpoint" }))).toBe(
      "BTCPay answered HTTP 401 unauthenticated: Authentication is required for accessing this endpoint",
    );
    expect(describeError(502, "<html>Bad Gateway</html>")).toBe("BTCPay answered HTTP 502");
  });
});
