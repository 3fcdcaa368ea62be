/**
 * Every BTCPay status × additionalStatus, re-fetched from the simulator through the real provider, and what
 * the bridge decides from it (the same `decide` the webhook pipeline runs), for an open 40.00 USD session.
 * Also: invoice creation reuses an invoice already made for the same bridge session.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionRow } from "../../src/db/schema.ts";
import type { CurrencyCode } from "../../src/domain/money.ts";
import { decide } from "../../src/usecases/apply-payment.ts";
import { BtcpaySimulator, type SimAdditional, type SimStatus } from "../../test/simulators/btcpay/server.ts";
import { ProviderRequestError, type ProviderContext, type SessionForProvider } from "../types.ts";
import { btcpayProvider, btcpaySettings, type BtcpayCredentials, type BtcpaySettings } from "./index.ts";

let sim: BtcpaySimulator;
beforeAll(async () => {
  sim = await new BtcpaySimulator().start();
});
afterAll(async () => {
  await sim.stop();
});

function ctx(): ProviderContext<BtcpayCredentials, BtcpaySettings> {
  return {
    credentials: { apiKey: sim.apiKey, webhookSecret: sim.webhookSecret },
    settings: btcpaySettings.parse({ baseUrl: sim.url, storeId: sim.storeId }),
    connectionId: "conn_test",
    webhookUrl: "http://bridge.test/v1/webhooks/btcpay/conn_test/token",
    publicUrl: "http://bridge.test",
    fetch,
    now: () => new Date(),
    webhookToleranceSeconds: 300,
  };
}

let counter = 0;
function session(overrides: Partial<SessionForProvider> = {}): SessionForProvider {
  counter++;
  return {
    id: `cs_status_${counter}`,
    idempotencyKey: `cartbridge-cs_status_${counter}`,
    storeId: "st_1",
    livemode: false,
    currency: "USD" as CurrencyCode,
    currencyExponent: 2,
    amountMinor: 4000n,
    lineItems: [{ name: "Thing", quantity: 1, unitAmountMinor: 4000n }],
    shippingMinor: 0n,
    taxMinor: 0n,
    discountMinor: 0n,
    order: { id: `order_${counter}` },
    metadata: { cartbridge_session_id: `cs_status_${counter}`, order_id: `order_${counter}` },
    successUrl: "https://shop.example/thanks",
    cancelUrl: "https://shop.example/cart",
    expiresAt: new Date(Date.now() + 3_600_000),
    ...overrides,
  };
}

function openRow(forProvider: SessionForProvider): SessionRow {
  return {
    status: "open",
    currency: "USD",
    amount_minor: "4000",
    amount_paid_minor: "0",
    order_id: forProvider.order.id,
    expires_at: forProvider.expiresAt.getTime(),
  } as SessionRow;
}

describe("btcpay status × additionalStatus → bridge outcome", () => {
  // Paid satoshis out of 100 000 due (40.00 USD at 40 000 USD/BTC).
  it.each<[SimStatus, SimAdditional, bigint, string, string]>([
    ["New", "None", 0n, "open (nothing to apply)", "-"],
    ["New", "PaidPartial", 50_000n, "underpaid", "2000"],
    ["Processing", "None", 100_000n, "processing", "0"],
    ["Processing", "PaidOver", 120_000n, "processing", "0"],
    ["Processing", "PaidLate", 100_000n, "processing", "0"],
    ["Settled", "None", 100_000n, "paid", "4000"],
    ["Settled", "PaidOver", 110_000n, "overpaid", "4400"],
    ["Settled", "PaidLate", 100_000n, "paid_late", "4000"],
    ["Settled", "Marked", 0n, "paid", "4000"],
    ["Settled", "PaidPartial", 99_000n, "paid", "4000"],
    ["Expired", "None", 0n, "expired", "0"],
    ["Expired", "PaidPartial", 25_000n, "underpaid", "1000"],
    ["Expired", "PaidLate", 100_000n, "paid_late", "4000"],
    ["Expired", "Marked", 0n, "expired", "0"],
    ["Invalid", "Marked", 0n, "failed", "0"],
    ["Invalid", "None", 100_000n, "failed", "0"],
  ])("%s / %s (paid %i sats) → %s", async (status, additional, paidSats, expected, paidMinor) => {
    const forProvider = session();
    const created = await btcpayProvider.createSession(forProvider, ctx());
    await sim.setState(created.providerSessionId, status, additional, paidSats, "InvoiceReceivedPayment");
    const state = await btcpayProvider.fetchSession!(created.providerSessionId, ctx());
    expect(state.providerStatus).toBe(additional === "None" ? status : `${status}/${additional}`);
    if (state.status === "open") {
      expect(expected).toBe("open (nothing to apply)");
      return;
    }
    const decision = decide(
      openRow(forProvider),
      {
        outcome: state.status,
        ...(state.amountPaidMinor !== undefined ? { amountPaidMinor: state.amountPaidMinor } : {}),
        ...(state.currency ? { currency: state.currency } : {}),
        transactions: state.transactions,
        source: "test+refetch",
      },
      new Date(),
      3_600_000,
    );
    expect(decision).toMatchObject({ kind: "transition", to: expected, amountPaidMinor: BigInt(paidMinor) });
  });

  it("without the payment-methods endpoint an overpaid invoice still reads as paid in full (the status speaks)", async () => {
    const created = await btcpayProvider.createSession(session(), ctx());
    await sim.setState(created.providerSessionId, "Settled", "PaidOver", 110_000n, "InvoiceSettled", { overPaid: true });
    sim.hidePaymentMethods = true;
    try {
      const state = await btcpayProvider.fetchSession!(created.providerSessionId, ctx());
      expect(state).toMatchObject({ status: "overpaid", amountPaidMinor: 4000n });
    } finally {
      sim.hidePaymentMethods = false;
    }
  });

  it("a 5xx while reading the invoice is retryable", async () => {
    const created = await btcpayProvider.createSession(session(), ctx());
    sim.failNext = 503;
    await expect(btcpayProvider.fetchSession!(created.providerSessionId, ctx())).rejects.toMatchObject({ name: "ProviderRequestError", retryable: true, status: 503 });
  });
});

describe("btcpay create without an idempotency key", () => {
  it("reuses the invoice made for the same bridge session instead of making a second", async () => {
    const forProvider = session();
    const first = await btcpayProvider.createSession(forProvider, ctx());
    const again = await btcpayProvider.createSession(forProvider, ctx());
    expect(again.providerSessionId).toBe(first.providerSessionId);
    expect(again.providerData).toMatchObject({ reusedInvoice: true });
    // Another bridge session for the same order gets its own invoice.
    const other = await btcpayProvider.createSession({ ...session(), order: forProvider.order }, ctx());
    expect(other.providerSessionId).not.toBe(first.providerSessionId);
  });

  it("never hands out again an invoice that expired, or one for another amount or another key", async () => {
    const forProvider = session();
    const first = await btcpayProvider.createSession(forProvider, ctx());
    const invoice = sim.invoices.get(first.providerSessionId)!;
    invoice.expirationTime = Math.floor(Date.now() / 1000) - 1; // past its time, even before BTCPay marks it
    const afterExpiry = await btcpayProvider.createSession(forProvider, ctx());
    expect(afterExpiry.providerSessionId).not.toBe(first.providerSessionId);
    sim.invoices.get(afterExpiry.providerSessionId)!.status = "Expired";
    const afterExpired = await btcpayProvider.createSession(forProvider, ctx());
    expect([first.providerSessionId, afterExpiry.providerSessionId]).not.toContain(afterExpired.providerSessionId);
    // Same order, same key but another amount (a marker copied by hand, say): not ours to reuse.
    const otherAmount = await btcpayProvider.createSession({ ...forProvider, amountMinor: 4100n, lineItems: [{ name: "Thing", quantity: 1, unitAmountMinor: 4100n }] }, ctx());
    expect(otherAmount.providerSessionId).not.toBe(afterExpired.providerSessionId);
    const otherKey = await btcpayProvider.createSession({ ...forProvider, idempotencyKey: "cartbridge-another-try" }, ctx());
    expect(otherKey.providerSessionId).not.toBe(afterExpired.providerSessionId);
    expect(sim.invoices.get(afterExpired.providerSessionId)!.metadata).toMatchObject({ cartbridge_idempotency_key: forProvider.idempotencyKey, orderId: forProvider.order.id });
  });

  it("after a lost create response (502), the retry finds the invoice that was made", async () => {
    const forProvider = session();
    const before = sim.invoices.size;
    sim.dropNextCreateResponse = true;
    const lost = await btcpayProvider.createSession(forProvider, ctx()).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ProviderRequestError);
    expect(lost).toMatchObject({ retryable: true, status: 502 });
    const retried = await btcpayProvider.createSession(forProvider, ctx());
    expect(sim.invoices.size).toBe(before + 1);
    expect(retried.providerSessionId).toBe([...sim.invoices.keys()].at(-1));
  });

  it("answers 400 ValidationProblemDetails to a JSON-number amount, as the adapter never sends", async () => {
    const res = await fetch(`${sim.url}/api/v1/stores/${sim.storeId}/invoices`, {
      method: "POST",
      headers: { authorization: `token ${sim.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ amount: 40.1, currency: "usd" }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual([
      { path: "amount", message: "The amount should be a positive decimal" },
      { path: "currency", message: "Invalid currency" },
    ]);
  });
});
