import { Agent } from "node:https";
import { afterEach, beforeEach, expect, it } from "vitest";
import { signSandboxPayload } from "../../plugins/sandbox/index.ts";
import type { Bridge } from "../bridge.ts";
import { resolveConnection } from "../usecases/connections.ts";
import { retryStoreUpdateNow } from "../usecases/store-updates.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain } from "../../test/support/bridge.ts";
import { WooCommerceSimulator } from "../../test/simulators/woocommerce/server.ts";
import { cartbridgeNotes, checkout, createWooBridge, createWooStore, pay, selfSignedCert, type WooStore } from "../../test/simulators/woocommerce/harness.ts";
import type { StoreUpdate } from "./port.ts";
import { createWooCommerceStoreAdapter, orderMeta, woocommerceStoreAdapter } from "./woocommerce.ts";

async function storeUpdates(bridge: Bridge, sessionId: string) {
  return bridge.deps.db.kysely.selectFrom("store_updates").selectAll().where("session_id", "=", sessionId).execute();
}

describeEachDatabase("woocommerce adapter over plain HTTP (OAuth 1.0a) against the simulator", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let sim: WooCommerceSimulator;
  let store: WooStore;

  beforeEach(async () => {
    db = await makeDb();
    sim = await new WooCommerceSimulator({ holdStockMinutes: 60 }).start();
    bridge = await createWooBridge(db.url);
    const key = sim.createKey();
    store = await createWooStore(bridge, { url: sim.url, consumerKey: key.consumerKey, consumerSecret: key.consumerSecret });
  });
  afterEach(async () => {
    await bridge.close();
    await sim.stop();
    await db.drop();
  });

  it("paid: payment_complete through set_paid, transaction id, stock reduced once, one note with the tx", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { session, hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "paid");

    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    expect(order.transaction_id).toMatch(/^sandbox_tx_/);
    expect(order.date_paid_ms).not.toBeNull();
    expect(sim.stock.get(1)).toBe(98);
    expect(sim.meta(order, orderMeta.status)).toBe("paid");
    expect(sim.meta(order, orderMeta.amountPaid)).toBe("40.00 USD");
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("Crypto payment of 40.00 USD received");
    expect(notes[0]).toContain(order.transaction_id);
    expect(notes[0]).toContain(session.id);
    const api = sim.requests.filter((r) => r.path.startsWith("/wp-json/"));
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((r) => r.auth === "oauth" && r.status < 300)).toBe(true);
    // The decisive write was set_paid on a pending order, not a forced status.
    expect(api.some((r) => r.method === "PUT" && (r.body as Record<string, unknown>).set_paid === true)).toBe(true);
  });

  it.each(["paid", "paid_late"])("%s after WooCommerce's hold-stock timer cancelled the order: reopened, completed, noted", async (outcome) => {
    const order = sim.createOrder({ total: "40.00", ageMinutes: 90 });
    const { hosted } = await checkout(bridge, sim, store, order);
    // Stock held at checkout, then released by the auto-cancel.
    expect(sim.cancelUnpaidOrders()).toEqual([order.id]);
    expect(order.status).toBe("cancelled");

    await pay(bridge, hosted, outcome);

    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    expect(order.transaction_id).toMatch(/^sandbox_tx_/);
    expect(sim.stock.get(1)).toBe(98);
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("had been cancelled");
    if (outcome === "paid_late") expect(notes[0]).toContain("paid late");
  });

  it("set_paid alone would be ignored on a cancelled order (the simulator follows WooCommerce)", async () => {
    const order = sim.createOrder({ status: "cancelled" });
    const key = sim.createKey();
    const res = await fetch(`${sim.url}/wp-json/wc/v3/orders/${order.id}`, { method: "PUT" });
    expect(res.status).toBe(401);
    const adapterApi = (await import("./woocommerce.ts")).createWooOrdersApi({ url: sim.url, consumerKey: key.consumerKey, consumerSecret: key.consumerSecret }, { timeoutMs: 5000 });
    const after = await adapterApi.updateOrder(String(order.id), { set_paid: true, transaction_id: "tx1" });
    expect(after.status).toBe("cancelled");
    expect(order.paymentCompleteCount).toBe(0);
    expect(order.transaction_id).toBe("tx1");
  });

  it("underpaid: on-hold with a note saying what is missing", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "underpaid");

    expect(order.status).toBe("on-hold");
    expect(order.paymentCompleteCount).toBe(0);
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("20.00 USD received, but 40.00 USD was due: 20.00 USD is missing");
  });

  it("underpaid after WooCommerce's hold-stock timer cancelled the order: on hold, and the note says it was reopened", async () => {
    const order = sim.createOrder({ total: "40.00", ageMinutes: 90 });
    const { hosted } = await checkout(bridge, sim, store, order);
    expect(sim.cancelUnpaidOrders()).toEqual([order.id]);
    await pay(bridge, hosted, "underpaid");

    expect(order.status).toBe("on-hold");
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("20.00 USD is missing");
    expect(notes[0]).toContain("had been cancelled (e.g. by WooCommerce's hold-stock timer) and was reopened and put on hold");
  });

  it("underpaid with an amount that cannot be parsed: the note says 'part of the amount', never 'part USD'", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const key = sim.createKey();
    const update = fakeUpdate(String(order.id), order.order_key);
    update.session = { ...update.session, status: "underpaid", amountPaid: "twenty" };
    const result = await woocommerceStoreAdapter.deliver(update, {
      storeId: "st_x", credentials: { url: sim.url, consumerKey: key.consumerKey, consumerSecret: key.consumerSecret }, fetch, timeoutMs: 5000, now: () => new Date(),
    });
    expect(result.ok).toBe(true);
    const [note] = cartbridgeNotes(order);
    expect(note).toContain("part of the amount is missing. The order is on hold");
    expect(note).not.toMatch(/part [A-Z]{3} is missing/);
  });

  it("underpaid, then topped up to paid: on-hold order is completed (set_paid would be ignored on on-hold)", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "underpaid");
    expect(order.status).toBe("on-hold");
    await pay(bridge, hosted, "paid");
    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    expect(sim.stock.get(1)).toBe(98);
    expect(cartbridgeNotes(order)).toHaveLength(2);
  });

  it("overpaid: paid, with a note about the excess", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "overpaid");

    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("44.00 USD received: overpaid (40.00 USD was due)");
  });

  it("expired while the session is the order's current one: cancelled, stock released", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "expired");

    expect(order.status).toBe("cancelled");
    expect(sim.meta(order, orderMeta.status)).toBe("expired");
    expect(cartbridgeNotes(order)[0]).toContain("expired without payment; the order was cancelled");
  });

  it("failed while current: the order is marked failed (and can still be paid later)", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "failed");
    expect(order.status).toBe("failed");
    expect(cartbridgeNotes(order)[0]).toContain("Crypto payment failed; the order was marked failed");
  });

  it("paid, but the order total was raised after the session: on hold for review, not completed", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    order.total = "55.00";
    await pay(bridge, hosted, "paid");
    expect(order.status).toBe("on-hold");
    expect(order.paymentCompleteCount).toBe(0);
    expect(cartbridgeNotes(order)[0]).toContain("the order total is now 55.00 USD; left on hold for review");
  });

  it("expired, but the order has moved on to a newer session: left pending", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const first = await checkout(bridge, sim, store, order);
    const second = await checkout(bridge, sim, store, order);
    expect(sim.meta(order, orderMeta.sessionId)).toBe(second.session.id);

    await pay(bridge, first.hosted, "expired");

    expect(order.status).toBe("pending");
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`current session is ${second.session.id}`);
  });

  it.each(["expired", "failed"])("%s while the buyer is paying the order with another gateway: not cancelled, only noted", async (outcome) => {
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    // The buyer went back and chose another gateway; the plugin's session meta stays on the order.
    order.payment_method = "stripe";
    await pay(bridge, hosted, outcome);

    expect(order.status).toBe("pending");
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`the order's payment method is now "stripe", so it was left pending`);
  });

  it("expired after the order was paid: never cancels a paid order", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const first = await checkout(bridge, sim, store, order);
    await pay(bridge, first.hosted, "paid");
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "expired");
    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
  });

  it.each(["paid", "overpaid", "paid_late"])("a second payment (%s) from another session on a paid order: flagged for refund review, the first payment's record kept", async (outcome) => {
    const order = sim.createOrder({ total: "40.00" });
    const first = await checkout(bridge, sim, store, order);
    await pay(bridge, first.hosted, "paid");
    const firstTx = order.transaction_id;
    expect(sim.meta(order, orderMeta.paidSession)).toBe(first.session.id);
    const firstPayments = sim.meta(order, orderMeta.payments);
    // A second tab's session, now the order's current one (as the plugin records it).
    const second = await checkout(bridge, sim, store, order);
    await pay(bridge, second.hosted, outcome);

    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    expect(order.transaction_id).toBe(firstTx);
    expect(sim.meta(order, orderMeta.paidSession)).toBe(first.session.id);
    expect(sim.meta(order, orderMeta.payments)).toBe(firstPayments);
    expect(sim.meta(order, orderMeta.status)).toBe("paid");
    const notes = cartbridgeNotes(order);
    expect(notes).toHaveLength(2);
    expect(notes[1]).toContain("second payment — refund review");
    expect(notes[1]).toContain(`already paid by session ${first.session.id}`);
    expect(notes[1]).toContain(second.session.id);
  });

  it("the same session delivered again after payment is not a second payment", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { session, hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "paid");
    await pay(bridge, hosted, "overpaid");
    expect(sim.meta(order, orderMeta.paidSession)).toBe(session.id);
    expect(sim.meta(order, orderMeta.status)).toBe("overpaid");
    expect(cartbridgeNotes(order).some((n) => n.includes("second payment"))).toBe(false);
  });

  it("a duplicate webhook changes the order once", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { session } = await checkout(bridge, sim, store, order);
    const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", session.id).executeTakeFirstOrThrow();
    const conn = (await resolveConnection(bridge.deps, store.connectionId))!;
    const body = JSON.stringify({
      id: "sbx_evt_duplicate_1",
      type: "payment.paid",
      created: Math.floor(Date.now() / 1000),
      data: {
        session: row.provider_session_id,
        cartbridge_session_id: session.id,
        order_id: String(order.id),
        status: "paid",
        amount_paid_minor: "4000",
        currency: "USD",
        tx: "sandbox_tx_dup",
      },
    });
    const secret = (conn.ctx.credentials as { webhookSecret: string }).webhookSecret;
    for (let i = 0; i < 2; i++) {
      const res = await bridge.app.request(new URL(conn.ctx.webhookUrl).pathname, {
        method: "POST",
        headers: { "content-type": "application/json", "cartbridge-sandbox-signature": signSandboxPayload(secret, Math.floor(Date.now() / 1000), body) },
        body,
      });
      expect(res.status).toBeLessThan(300);
      await drain(bridge);
    }
    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    expect(order.transaction_id).toBe("sandbox_tx_dup");
    expect(cartbridgeNotes(order)).toHaveLength(1);
    expect(await storeUpdates(bridge, session.id)).toHaveLength(1);
  });

  it("a retried job (same update delivered twice) never double-notes or double-completes", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { session, hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "paid");
    const [job] = await storeUpdates(bridge, session.id);
    const update = JSON.parse(job!.payload_json) as StoreUpdate;
    const row = await bridge.deps.db.kysely.selectFrom("stores").selectAll().where("id", "=", store.storeId).executeTakeFirstOrThrow();
    const credentials = woocommerceStoreAdapter.credentialsSchema.parse(await bridge.deps.secrets.open(row.credentials_enc!));
    const ctx = { storeId: row.id, credentials, fetch, timeoutMs: 5000, now: () => new Date() };
    expect(await woocommerceStoreAdapter.deliver(update, ctx)).toMatchObject({ ok: true });
    expect(await woocommerceStoreAdapter.deliver(update, ctx)).toMatchObject({ ok: true });
    expect(order.paymentCompleteCount).toBe(1);
    expect(cartbridgeNotes(order)).toHaveLength(1);
  });

  it.each(["503", "reset"] as const)("store down (%s) then up: the update is retried and lands once", async (fault) => {
    const order = sim.createOrder({ total: "40.00" });
    const { session, hosted } = await checkout(bridge, sim, store, order);
    sim.setFault(fault);
    await simulatePaidWithoutDrainingTwice(bridge, hosted);
    const [failed] = await storeUpdates(bridge, session.id);
    expect(failed!.state).toBe("pending");
    expect(failed!.attempts).toBeGreaterThanOrEqual(1);
    expect(failed!.last_error).toMatch(fault === "503" ? /store answered 503/ : /request failed/);
    expect(order.status).toBe("pending");

    sim.setFault("up");
    expect(await retryStoreUpdateNow(bridge.deps, failed!.id)).toBe(true);
    await drain(bridge);
    const [done] = await storeUpdates(bridge, session.id);
    expect(done!.state).toBe("delivered");
    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    expect(cartbridgeNotes(order)).toHaveLength(1);
  });

  it("a session whose order key differs from the store's order is refused for good (another shop's order)", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const { session, hosted } = await checkout(bridge, sim, store, order);
    order.order_key = "wc_order_someone_else";
    await pay(bridge, hosted, "paid");
    const [job] = await storeUpdates(bridge, session.id);
    expect(job!.state).toBe("dead");
    expect(job!.last_error).toContain("another order key");
    expect(order.status).toBe("pending");
  });

  it("wrong keys: 401 from WooCommerce is a retryable failure, nothing written", async () => {
    const order = sim.createOrder({ total: "40.00" });
    const result = await woocommerceStoreAdapter.deliver(fakeUpdate(String(order.id), order.order_key), {
      storeId: "st_x",
      credentials: { url: sim.url, consumerKey: "ck_" + "0".repeat(40), consumerSecret: "cs_" + "0".repeat(40) },
      fetch,
      timeoutMs: 5000,
      now: () => new Date(),
    });
    expect(result).toMatchObject({ ok: false, retryable: true, responseStatus: 401 });
    expect(order.notes).toHaveLength(0);
  });

  it("a store without keys yet waits (retryable) instead of failing for good", async () => {
    const result = await woocommerceStoreAdapter.deliver(fakeUpdate("1", "k"), {
      storeId: "st_x", credentials: { url: sim.url }, fetch, timeoutMs: 5000, now: () => new Date(),
    });
    expect(result).toMatchObject({ ok: false, retryable: true });
  });
});

async function simulatePaidWithoutDrainingTwice(bridge: Bridge, hosted: string) {
  // One pass of the workers: the delivery fails once and is rescheduled with backoff.
  const { simulate } = await import("../../test/support/bridge.ts");
  const { processDueWebhookEvents } = await import("../usecases/webhooks.ts");
  const { runStoreUpdatesOnce } = await import("../usecases/store-updates.ts");
  expect((await simulate(bridge, hosted, "paid")).status).toBe(200);
  await bridge.workers.settle();
  await processDueWebhookEvents(bridge.deps);
  await runStoreUpdatesOnce(bridge.deps, "test-worker");
}

function fakeUpdate(orderId: string, orderKey: string): StoreUpdate {
  return {
    id: "evt_fake_1",
    type: "checkout_session.paid",
    createdAt: Date.now(),
    session: {
      id: "cs_fake", object: "checkout_session", status: "paid", checkoutUrl: "http://bridge.test/pay/cs_fake",
      amount: "40.00", amountPaid: "40.00", currency: "USD", order: { id: orderId, key: orderKey }, metadata: {},
      provider: "sandbox", expiresAt: new Date().toISOString(), createdAt: new Date().toISOString(), livemode: false,
      successUrl: "https://shop.example/ok", cancelUrl: "https://shop.example/cancel", payments: [{ reference: "tx1", status: "confirmed", txHash: "0xabc", explorerUrl: "https://etherscan.io/tx/0xabc" }],
    },
  };
}

describeEachDatabase("woocommerce adapter over HTTPS (Basic auth) against the simulator", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let sim: WooCommerceSimulator;

  beforeEach(async () => {
    db = await makeDb();
    const tls = selfSignedCert();
    sim = await new WooCommerceSimulator({ tls }).start();
    bridge = await createWooBridge(db.url, createWooCommerceStoreAdapter({ httpsAgent: new Agent({ ca: tls.cert }) }));
  });
  afterEach(async () => {
    await bridge.close();
    await sim.stop();
    await db.drop();
  });

  it.each([
    [false, "basic"],
    [true, "query"],
  ] as const)("queryStringAuth=%s authenticates with %s and completes payment; explorer links in the note", async (queryStringAuth, mode) => {
    const key = sim.createKey();
    const store = await createWooStore(bridge, { url: sim.url, consumerKey: key.consumerKey, consumerSecret: key.consumerSecret, queryStringAuth });
    const order = sim.createOrder({ total: "40.00" });
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "paid");
    expect(order.status).toBe("processing");
    expect(order.paymentCompleteCount).toBe(1);
    const api = sim.requests.filter((r) => r.path.startsWith("/wp-json/"));
    expect(api.every((r) => r.auth === mode)).toBe(true);
  });

  it("notes carry explorer links for each payment", async () => {
    const key = sim.createKey();
    const order = sim.createOrder({ total: "40.00" });
    const update = fakeUpdate(String(order.id), order.order_key);
    const adapter = createWooCommerceStoreAdapter({ httpsAgent: new Agent({ ca: (sim as unknown as { options: { tls: { cert: string } } }).options.tls.cert }) });
    const result = await adapter.deliver(update, {
      storeId: "st_x", credentials: { url: sim.url, consumerKey: key.consumerKey, consumerSecret: key.consumerSecret }, fetch, timeoutMs: 5000, now: () => new Date(),
    });
    expect(result.ok).toBe(true);
    expect(cartbridgeNotes(order)[0]).toContain('<a href="https://etherscan.io/tx/0xabc"');
    expect(JSON.parse(String(sim.meta(order, orderMeta.payments)))[0]).toMatchObject({ txHash: "0xabc", explorerUrl: "https://etherscan.io/tx/0xabc" });
  });
});
