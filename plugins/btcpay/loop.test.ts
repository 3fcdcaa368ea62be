import { afterEach, expect, it } from "vitest";
import type { Bridge } from "../../src/bridge.ts";
import { builtinProviders } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../../test/support/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { BtcpaySimulator } from "../../test/simulators/btcpay/server.ts";
import { btcpayProvider } from "./index.ts";

// Once src/main.ts lists the provider, registering it again would be a duplicate.
const extraProviders = builtinProviders.some((p) => p.name === btcpayProvider.name) ? [] : [btcpayProvider];

describeEachDatabase("btcpay: cart → BTCPay simulator → BTCPay-Sig webhook → invoice re-fetch → store", (makeDb) => {
  let db: TestDatabase | undefined;
  let bridge: Bridge | undefined;
  let endpoint: StoreEndpoint | undefined;
  let sim: BtcpaySimulator | undefined;

  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await sim?.stop();
    await db?.drop();
    bridge = endpoint = sim = db = undefined;
  });

  async function setup(options: { cart?: Record<string, unknown>; apiKey?: string; storeId?: string; loseFirstResponse?: boolean; headers?: Record<string, string> } = {}) {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    const store: TestStore = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    sim = await new BtcpaySimulator().start();
    const conn = await addConnection(bridge.deps, {
      storeId: store.storeId,
      provider: "btcpay",
      livemode: false,
      credentials: { apiKey: options.apiKey ?? sim.apiKey, webhookSecret: sim.webhookSecret },
      settings: { baseUrl: sim.url, storeId: options.storeId ?? sim.storeId },
    });
    const b = bridge;
    sim.deliver = async (body, headers) => b.app.request(new URL(conn.webhookUrl).pathname, { method: "POST", headers, body });
    sim.dropNextCreateResponse = options.loseFirstResponse ?? false;
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "btcpay", ...options.cart }), options.headers);
    const session = (await res.json()) as { id: string; status: string; error?: { code: string; message: string } };
    const invoiceId = [...sim.invoices.keys()].at(-1) ?? "";
    return { res, store, session, invoiceId, sim, bridge: b, endpoint };
  }

  async function statusOf(b: Bridge, store: TestStore, id: string) {
    const res = await b.app.request(`/v1/checkout_sessions/${id}`, { headers: { authorization: `Bearer ${store.testKey}` } });
    return (await res.json()) as { status: string; amountPaid: string };
  }

  it("a create whose answer was lost (502) is retried by the store into the one invoice", async () => {
    const { res, store, sim, bridge } = await setup({ loseFirstResponse: true, headers: { "idempotency-key": "order-1001-a" } });
    expect(res.status).toBe(502);
    expect(sim.invoices.size).toBe(1);
    const retried = await postSession(bridge, store.testKey, cartBody({ provider: "btcpay" }), { "idempotency-key": "order-1001-a" });
    expect(retried.status).toBe(201);
    expect(sim.invoices.size).toBe(1);
    const [invoiceId] = sim.invoices.keys();
    const session = (await retried.json()) as { id: string };
    expect((await bridge.app.request(`/pay/${session.id}`)).headers.get("location")).toBe(`${sim.url}/i/${invoiceId}`);
    // The invoice made by the lost try names the session the retry stored.
    expect(sim.invoice(invoiceId!).metadata).toMatchObject({ cartbridge_session_id: session.id, orderId: "1001" });
  });

  it("searches by orderId, creates a decimal-string invoice, and credits it processing → paid", async () => {
    const { res, store, session, invoiceId, sim, bridge, endpoint } = await setup();
    expect(res.status).toBe(201);
    const [search, create] = sim.requests;
    expect(search).toMatchObject({ method: "GET", path: `/api/v1/stores/${sim.storeId}/invoices`, search: "?orderId=1001" });
    expect(create!.method).toBe("POST");
    expect(create!.headers.authorization).toBe(`token ${sim.apiKey}`);
    // The exact bytes: a decimal string, never a JSON number.
    expect(create!.body).toContain('"amount":"40.00","currency":"USD"');
    const wire = JSON.parse(create!.body);
    // Whole minutes left of the bridge's 60-minute session, rounded down.
    expect([59, 60]).toContain(wire.checkout.expirationMinutes);
    expect(wire).toEqual({
      amount: "40.00",
      currency: "USD",
      metadata: {
        channel: "web",
        cartbridge_session_id: session.id,
        cartbridge_idempotency_key: expect.stringMatching(/^cartbridge-[0-9a-f]{48}$/),
        order_id: "1001",
        orderId: "1001",
        orderNumber: "1001",
        buyerEmail: "buyer@example.com",
        itemDesc: "T-shirt × 2, Mug",
      },
      checkout: { redirectURL: "https://shop.example/thanks", redirectAutomatically: true, expirationMinutes: wire.checkout.expirationMinutes },
      additionalSearchTerms: [session.id],
    });
    expect(sim.invoice(invoiceId).dueSats).toBe(100_000n); // 40.00 USD at 40 000 USD/BTC

    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    expect(hosted).toBe(`${sim.url}/i/${invoiceId}`);
    expect(await (await fetch(hosted)).text()).toContain("Pay 40.00 USD");

    // InvoiceCreated is acknowledged and changes nothing.
    expect((await sim.redeliver(0)).status).toBe(200);
    await sim.pay(invoiceId, { confirm: false });
    await drain(bridge);
    await sim.confirm(invoiceId);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.processing", "checkout_session.paid"]);
    expect(endpoint.received[1]!.update.session).toMatchObject({ id: session.id, status: "paid", amountPaid: "40.00", currency: "USD", order: { id: "1001" } });
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
    expect(sim.requests.some((r) => r.method === "GET" && r.path === `/api/v1/stores/${sim.storeId}/invoices/${invoiceId}`)).toBe(true);
  });

  it("a partial payment is underpaid with the paid amount; the top-up completes it", async () => {
    const { session, invoiceId, sim, bridge, endpoint } = await setup();
    await sim.pay(invoiceId, { fraction: [1n, 2n] });
    await drain(bridge);
    await sim.pay(invoiceId);
    await drain(bridge);
    expect(endpoint.received.map((r) => [r.update.type, r.update.session.amountPaid])).toEqual([
      ["checkout_session.underpaid", "20.00"],
      ["checkout_session.paid", "40.00"],
    ]);
    expect(endpoint.received[1]!.update.session.id).toBe(session.id);
  });

  it("an invoice that expires partially paid (InvoiceExpired{partiallyPaid}) reaches the store as underpaid", async () => {
    const { invoiceId, sim, bridge, endpoint } = await setup();
    await sim.pay(invoiceId, { fraction: [1n, 4n], hold: true });
    await sim.expire(invoiceId);
    await drain(bridge);
    expect(endpoint.received.map((r) => [r.update.type, r.update.session.amountPaid])).toEqual([["checkout_session.underpaid", "10.00"]]);
  });

  it("an overpayment (PaidOver) reaches the store as overpaid with the amount paid", async () => {
    const { invoiceId, sim, bridge, endpoint } = await setup();
    await sim.pay(invoiceId, { sats: 110_000n });
    await drain(bridge);
    expect(endpoint.received.map((r) => [r.update.type, r.update.session.amountPaid])).toEqual([["checkout_session.overpaid", "44.00"]]);
  });

  it("a payment to an expired invoice (PaidLate) reaches the store as paid_late after expired", async () => {
    const { invoiceId, sim, bridge, endpoint } = await setup();
    await sim.expire(invoiceId);
    await drain(bridge);
    await sim.pay(invoiceId);
    await drain(bridge);
    expect(endpoint.received.map((r) => [r.update.type, r.update.session.amountPaid])).toEqual([
      ["checkout_session.expired", "0.00"],
      ["checkout_session.paid_late", "40.00"],
    ]);
  });

  it("an unpaid invoice that expires reaches the store as expired", async () => {
    const { invoiceId, sim, bridge, endpoint } = await setup();
    await sim.expire(invoiceId);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.expired"]);
  });

  it("dedupes redeliveries (new deliveryId, same originalDeliveryId) and handles events in reverse order", async () => {
    const { store, session, invoiceId, sim, bridge, endpoint } = await setup();
    await sim.pay(invoiceId, { hold: true }); // deliveries 1..4: ReceivedPayment, Processing, PaymentSettled, Settled
    for (const index of [4, 3, 2, 1]) expect((await sim.redeliver(index)).status).toBe(200);
    await drain(bridge);
    for (const index of [1, 4]) {
      const again = await sim.redeliver(index);
      expect(again.status).toBe(200);
      expect(await (again as Response).json()).toEqual({ received: true, duplicate: true });
    }
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
    const stored = await bridge.deps.db.kysely.selectFrom("webhook_events").select("event_id").execute();
    expect(stored).toHaveLength(4);
  });

  it("credits nothing for a validly signed InvoiceSettled that the invoice re-fetch contradicts", async () => {
    const { store, session, invoiceId, sim, bridge, endpoint } = await setup();
    expect((await sim.forge(invoiceId, "InvoiceSettled", { manuallyMarked: false, overPaid: false })).status).toBe(200);
    expect((await sim.forge(invoiceId, "InvoiceProcessing", { overPaid: true })).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it("verifies the raw bytes: indented JSON signed as sent passes; a wrong secret, a changed byte, a missing header, a re-serialized body fail", async () => {
    const { store, session, invoiceId, sim, bridge, endpoint } = await setup();
    const first = await sim.forge(invoiceId, "InvoiceExpired", { partiallyPaid: false }, { hold: true });
    expect(first.status).toBe(0);
    const index = sim.deliveries.length - 1;
    expect((await sim.redeliver(index, { secret: "not-the-secret" })).status).toBe(400);
    expect((await sim.redeliver(index, { tamper: (b) => b.replace('"partiallyPaid":false', '"partiallyPaid":true ') })).status).toBe(400);
    expect((await sim.redeliver(index, { omitSignature: true })).status).toBe(400);
    // btcpayserver #2300: an indented body re-serialized by a JSON parser no longer matches its signature.
    expect((await sim.redeliver(index, { indented: true, reserialize: true })).status).toBe(400);
    expect((await sim.redeliver(index, { indented: true })).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0); // the invoice is still New: the forged expiry changed nothing
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it("sends a zero-decimal currency as a whole-number decimal string", async () => {
    const { res, invoiceId, sim, bridge, endpoint } = await setup({
      cart: { currency: "JPY", lineItems: [{ name: "Tea", quantity: 3, unitAmount: "1500" }], shippingAmount: "500", taxAmount: "0", discountAmount: "0", amount: "5000" },
    });
    expect(res.status).toBe(201);
    expect(sim.creates()[0]!.body).toContain('"amount":"5000","currency":"JPY"');
    await sim.pay(invoiceId, { fraction: [1n, 2n] });
    await drain(bridge);
    expect(endpoint.received.map((r) => [r.update.type, r.update.session.amountPaid])).toEqual([["checkout_session.underpaid", "2500"]]);
  });

  it("surfaces BTCPay's ProblemDetails for a wrong key and a store the key cannot reach", async () => {
    const badKey = await setup({ apiKey: "wrong" });
    expect(badKey.res.status).toBe(502);
    expect(badKey.session.error?.message).toMatch(/HTTP 401 unauthenticated: Authentication is required for accessing this endpoint/);
    await bridge!.close();
    await endpoint!.stop();
    await sim!.stop();
    await db!.drop();
    bridge = endpoint = sim = db = undefined;
    const badStore = await setup({ storeId: "SomeoneElsesStore" });
    expect(badStore.res.status).toBe(502);
    expect(badStore.session.error?.message).toMatch(/HTTP 403 missing-permission/);
  });
});
