import { describe, expect, it } from "vitest";
import { decide } from "../../src/usecases/apply-payment.ts";
import type { SessionRow } from "../../src/db/schema.ts";
import { WebhookVerificationError, type ProviderContext } from "../types.ts";
import { sprintcheckoutProvider, type SprintcheckoutCredentials, type SprintcheckoutSettings } from "./index.ts";

const webhookApiKey = "whk_0123456789abcdef";

function ctx(key = webhookApiKey): ProviderContext<SprintcheckoutCredentials, SprintcheckoutSettings> {
  return {
    credentials: { apiKey: "sc_key", webhookApiKey: key },
    settings: { baseUrl: "http://127.0.0.1:9" },
    connectionId: "conn_test",
    webhookUrl: "http://bridge.test/v1/webhooks/sprintcheckout/conn_test/token",
    publicUrl: "http://bridge.test",
    fetch: () => Promise.reject(new Error("no network in this test")),
    now: () => new Date(Date.UTC(2026, 0, 15, 12)),
    webhookToleranceSeconds: 300,
  };
}

// As the guide shows it, with the amount written with two decimals.
const body = `{
  "event": "payment.succeeded",
  "timestamp": 1768478400,
  "orderId": "1001",
  "amount": 40.00,
  "currency": "USD",
  "token": "USDC",
  "paymentSessionId": "NjVkY2MzNTI3N2YxZjEwYmE0OWVjN2M2",
  "status": "SUCCESS",
  "chain": "polygon",
  "receipts": ["https://polygonscan.com/tx/0x${"ef".repeat(32)}"]
}`;

async function verify(raw: string, headers: Record<string, string>, c = ctx()) {
  return sprintcheckoutProvider.verifyWebhook({ rawBody: new TextEncoder().encode(raw), headers, pathToken: "token" }, c);
}

async function reason(raw: string, headers: Record<string, string>, c = ctx()): Promise<string> {
  try {
    await verify(raw, headers, c);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return "accepted";
}

const session = {
  id: "cs_1",
  status: "open",
  currency: "USD",
  amount_minor: "4000",
  amount_paid_minor: "0",
  order_id: "1001",
  expires_at: Date.UTC(2026, 0, 15, 13),
} as unknown as SessionRow;

/** What the bridge would do with the event: the cross-check of a `cross_check` provider. */
async function outcomeOf(raw: string) {
  const [event] = (await verify(raw, { "x-webhook-api-key": webhookApiKey })).events;
  return decide(
    session,
    {
      outcome: event!.outcome,
      ...(event!.amountPaidMinor !== undefined ? { amountPaidMinor: event!.amountPaidMinor } : {}),
      ...(event!.currency ? { currency: event!.currency } : {}),
      ...(event!.orderId ? { orderId: event!.orderId } : {}),
      transactions: event!.transactions,
      source: "test",
      requireExactMatch: sprintcheckoutProvider.webhookTrust === "cross_check",
    },
    new Date(Date.UTC(2026, 0, 15, 12)),
    3_600_000,
  ).kind;
}

describe("sprintcheckout notification verification", () => {
  it("accepts the genuine notification and maps it, reading the amount from its literal", async () => {
    const verified = await verify(body, { "x-webhook-api-key": webhookApiKey });
    expect(verified.eventId).toMatch(/^sc_success_[0-9a-f]{32}$/);
    expect(verified.events).toEqual([
      expect.objectContaining({ providerSessionId: "NjVkY2MzNTI3N2YxZjEwYmE0OWVjN2M2", orderId: "1001", outcome: "paid", amountPaidMinor: 4000n, currency: "USD", occurredAt: new Date(1768478400 * 1000) }),
    ]);
    expect(await outcomeOf(body)).toBe("transition");
  });

  it("rejects a wrong key, compared in constant time over the whole value", async () => {
    expect(await reason(body, { "x-webhook-api-key": "whk_0123456789abcdeX" })).toBe("bad_signature");
    expect(await reason(body, { "x-webhook-api-key": `${webhookApiKey}0` })).toBe("bad_signature");
    expect(await reason(body, { "x-webhook-api-key": webhookApiKey }, ctx("whk_another_key_1"))).toBe("bad_signature");
  });

  it("rejects a notification without the X-Webhook-Api-Key header", async () => {
    expect(await reason(body, {})).toBe("missing_signature");
    expect(await reason(body, { "x-webhook-api-key": "" })).toBe("missing_signature");
  });

  // Sprintcheckout signs nothing: a static key cannot tell a changed body from the original, and there is
  // no timestamp to go stale. What stands in for body integrity is the cross-check: a changed amount,
  // currency or order never credits (proved end to end in loop.test.ts as well).
  it.each([
    ["amount byte", body.replace('"amount": 40.00', '"amount": 40.01')],
    ["amount byte (fewer)", body.replace('"amount": 40.00', '"amount": 30.00')],
    ["currency byte", body.replace('"USD"', '"USE"')],
    ["orderId byte", body.replace('"1001"', '"1002"')],
  ])("a changed %s is never credited", async (_name, tampered) => {
    expect(tampered).not.toBe(body);
    expect(await outcomeOf(tampered)).toBe("review");
  });

  it("a re-serialized body (JSON.parse → JSON.stringify) carries the same facts and is read exactly", async () => {
    // Nothing to reject: no bytes are signed. The point is that re-serialization, which turns 40.00 into
    // 40, changes nothing that is credited.
    const reserialized = JSON.stringify(JSON.parse(body));
    expect(reserialized).toContain('"amount":40,');
    const [a] = (await verify(body, { "x-webhook-api-key": webhookApiKey })).events;
    const [b] = (await verify(reserialized, { "x-webhook-api-key": webhookApiKey })).events;
    expect(b).toEqual(a);
  });

  it("rejects a body that is not a notification", async () => {
    expect(await reason("{}", { "x-webhook-api-key": webhookApiKey })).toBe("malformed_body");
    expect(await reason(body.replace('"SUCCESS"', '"DONE"'), { "x-webhook-api-key": webhookApiKey })).toBe("malformed_body");
  });
});
