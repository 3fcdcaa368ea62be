import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain, simulate } from "../../test/support/bridge.ts";
import { createShopifyWorld, describeWithShopify, installWithSandbox, mtlsHeader, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";
import { applyPaymentObservation } from "../usecases/apply-payment.ts";
import { retryStoreUpdateNow } from "../usecases/store-updates.ts";
import type { ShopifyOptions } from "./api.ts";
import { pendingWindowMs } from "./payments-app.ts";
import { shopifyDb } from "./tables.ts";

function startRequest(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id, gid: `gid://shopify/PaymentSession/${id}`, group: `grp_${id}`, session_id: `sess_${id}`, amount: "123.00", currency: "CAD", test: true,
    merchant_locale: "en", payment_method: { type: "offsite", data: { cancel_url: `https://${testShop}/checkouts/c/abc/processing` } },
    proposed_at: new Date().toISOString(), customer: { email: "buyer@example.com", locale: "en" }, kind: "sale", ...overrides,
  };
}

describeWithShopify("Shopify Payments Apps route", (schemas) => {
  describeEachDatabase("payment and refund sessions", (makeDb) => {
    let db: TestDatabase;
    let world: ShopifyWorld;
    async function setUp(overrides: Partial<ShopifyOptions> = {}) {
      db = await makeDb();
      world = await createShopifyWorld(db.url, schemas, overrides);
      await installWithSandbox(world);
    }
    beforeEach(async () => setUp());
    afterEach(async () => {
      await world.close();
      await db.drop();
      expect(world.shopify.schemaViolations).toEqual([]);
    });

    const post = (path: string, body: unknown) => world.bridge.app.request(path, {
      method: "POST", body: JSON.stringify(body),
      headers: { "content-type": "application/json", "shopify-shop-domain": testShop, "shopify-request-id": crypto.randomUUID(), "shopify-api-version": "2026-07", [mtlsHeader.name]: mtlsHeader.value },
    });

    async function start(id: string) {
      const res = await post("/shopify/payments/sessions", startRequest(id));
      expect(res.status).toBe(201);
      const { redirect_url } = (await res.json()) as { redirect_url: string };
      return redirect_url;
    }

    async function pay(redirectUrl: string, outcome: string) {
      const hosted = (await world.bridge.app.request(new URL(redirectUrl).pathname)).headers.get("location")!;
      await simulate(world.bridge, hosted, outcome);
      await drain(world.bridge);
    }

    it("answers redirect_url to the bridge's pay page; the same id again gets the same session", async () => {
      const first = await start("ps_1");
      expect(first).toMatch(/^http:\/\/bridge\.test\/pay\/cs_[0-9a-f]{24}$/);
      expect(await start("ps_1")).toBe(first);
      const rows = await world.bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ amount_minor: "12300", currency: "CAD", order_id: "ps_1", cancel_url: `https://${testShop}/checkouts/c/abc/processing` });
    });

    it("refuses malformed requests and authorization (capture-later) sessions", async () => {
      expect((await post("/shopify/payments/sessions", { id: "x" })).status).toBe(422);
      expect((await post("/shopify/payments/sessions", startRequest("ps_auth", { kind: "authorization" }))).status).toBe(422);
      expect((await post("/shopify/payments/sessions", startRequest("ps_jpy", { currency: "JPY", amount: "10.50" }))).status).toBe(422);
    });

    it("paid: paymentSessionResolve, and the buyer is sent on to Shopify's next action", async () => {
      const redirect = await start("ps_paid");
      await pay(redirect, "paid");
      expect(world.shopify.paymentSessions.get("gid://shopify/PaymentSession/ps_paid")).toEqual({ state: "resolved" });
      const back = await world.bridge.app.request("/shopify/payments/return/ps_paid");
      expect(back.status).toBe(303);
      expect(back.headers.get("location")).toBe("https://shopify.test/checkouts/ps_paid/resolved");
      const row = await shopifyDb(world.bridge.deps.db.kysely).selectFrom("shopify_payment_sessions").selectAll().where("id", "=", "ps_paid").executeTakeFirstOrThrow();
      expect(row.state).toBe("resolved");
    });

    it("before resolution the return page waits instead of redirecting", async () => {
      await start("ps_wait");
      expect((await world.bridge.app.request("/shopify/payments/return/ps_wait")).status).toBe(202);
    });

    it.each([
      ["expired", "CANCELLED_PAYMENT"],
      ["failed", "PROCESSING_ERROR"],
      ["underpaid", "INSUFFICIENT_FUNDS"],
    ])("%s: paymentSessionReject with %s", async (outcome, code) => {
      const redirect = await start(`ps_${outcome}`);
      await pay(redirect, outcome);
      expect(world.shopify.paymentSessions.get(`gid://shopify/PaymentSession/ps_${outcome}`)).toEqual({ state: "rejected", reason: code });
      expect(world.shopify.callsOf("CartbridgePaymentSessionResolve")).toHaveLength(0);
    });

    const sessionIdOf = (redirectUrl: string) => new URL(redirectUrl).pathname.split("/").pop()!;
    const observe = (redirectUrl: string, outcome: "processing" | "canceled") =>
      applyPaymentObservation(world.bridge.deps, sessionIdOf(redirectUrl), { outcome, transactions: [], source: "test" });

    it("processing: paymentSessionPending (expiring within 3 days), the buyer sent on to Shopify; resolved once confirmed", async () => {
      const redirect = await start("ps_conf");
      await observe(redirect, "processing");
      await drain(world.bridge);
      const marked = world.shopify.paymentSessions.get("gid://shopify/PaymentSession/ps_conf")!;
      expect(marked).toMatchObject({ state: "pending", reason: "NETWORK_ACTION_REQUIRED" });
      const expiresIn = Date.parse(marked.pendingExpiresAt!) - Date.now();
      expect(expiresIn).toBeGreaterThan(pendingWindowMs - 60_000);
      expect(expiresIn).toBeLessThanOrEqual(pendingWindowMs);
      const back = await world.bridge.app.request("/shopify/payments/return/ps_conf");
      expect(back.status).toBe(303);
      expect(back.headers.get("location")).toBe("https://shopify.test/checkouts/ps_conf/pending");

      await pay(redirect, "paid");
      expect(world.shopify.paymentSessions.get("gid://shopify/PaymentSession/ps_conf")).toEqual({ state: "resolved" });
      expect(world.shopify.callsOf("CartbridgePaymentSessionPending")).toHaveLength(1);
    });

    it("a buyer back before the update was delivered is marked pending on the spot, not kept on a reloading page", async () => {
      const redirect = await start("ps_back");
      await observe(redirect, "processing"); // the store update is not delivered yet
      const back = await world.bridge.app.request("/shopify/payments/return/ps_back");
      expect(back.status).toBe(303);
      expect(back.headers.get("location")).toBe("https://shopify.test/checkouts/ps_back/pending");
      await drain(world.bridge); // the delivery finds it already pending: no second mutation
      expect(world.shopify.callsOf("CartbridgePaymentSessionPending")).toHaveLength(1);
    });

    it("cancelled: paymentSessionReject with CANCELLED_PAYMENT", async () => {
      await observe(await start("ps_cancel"), "canceled");
      await drain(world.bridge);
      expect(world.shopify.paymentSessions.get("gid://shopify/PaymentSession/ps_cancel")).toEqual({ state: "rejected", reason: "CANCELLED_PAYMENT" });
    });

    it.each(["overpaid", "paid_late"])("%s: resolved (the money is in)", async (outcome) => {
      await pay(await start(`ps_${outcome}`), outcome);
      expect(world.shopify.paymentSessions.get(`gid://shopify/PaymentSession/ps_${outcome}`)).toEqual({ state: "resolved" });
      expect(world.shopify.callsOf("CartbridgePaymentSessionReject")).toHaveLength(0);
    });

    it("Shopify down then up around resolve: the update waits, the buyer waits, then both go through", async () => {
      const redirect = await start("ps_down");
      world.shopify.setDown(true);
      await pay(redirect, "paid");
      const update = await world.bridge.deps.db.kysely.selectFrom("store_updates").selectAll().where("session_id", "=", sessionIdOf(redirect)).executeTakeFirstOrThrow();
      expect(update.state).toBe("pending");
      expect((await world.bridge.app.request("/shopify/payments/return/ps_down")).status).toBe(202);
      world.shopify.setDown(false);
      expect(await retryStoreUpdateNow(world.bridge.deps, update.id)).toBe(true);
      await drain(world.bridge);
      expect(world.shopify.paymentSessions.get("gid://shopify/PaymentSession/ps_down")).toEqual({ state: "resolved" });
      expect((await world.bridge.app.request("/shopify/payments/return/ps_down")).headers.get("location")).toBe("https://shopify.test/checkouts/ps_down/resolved");
    });

    it("refunds are acknowledged with 201 and rejected by default, with a message for the merchant", async () => {
      await pay(await start("ps_r"), "paid");
      const res = await post("/shopify/payments/refunds", { id: "rf_1", gid: "gid://shopify/RefundSession/rf_1", payment_id: "ps_r", amount: "23.00", currency: "CAD", test: true });
      expect(res.status).toBe(201);
      expect(world.shopify.refundSessions.get("gid://shopify/RefundSession/rf_1")).toMatchObject({ state: "rejected", message: expect.stringContaining("payment platform") });
      // Shopify retries: answered again, no second mutation.
      expect((await post("/shopify/payments/refunds", { id: "rf_1", gid: "gid://shopify/RefundSession/rf_1", payment_id: "ps_r", amount: "23.00", currency: "CAD" })).status).toBe(201);
      expect(world.shopify.callsOf("CartbridgeRefundSessionReject")).toHaveLength(1);
    });

    it("with paymentsRefunds=resolve, a valid refund is resolved and one larger than the payment rejected", async () => {
      await world.close();
      await db.drop();
      await setUp({ paymentsRefunds: "resolve" });
      await pay(await start("ps_r2"), "paid");
      await post("/shopify/payments/refunds", { id: "rf_ok", gid: "gid://shopify/RefundSession/rf_ok", payment_id: "ps_r2", amount: "123.00", currency: "CAD" });
      await post("/shopify/payments/refunds", { id: "rf_big", gid: "gid://shopify/RefundSession/rf_big", payment_id: "ps_r2", amount: "123.01", currency: "CAD" });
      await post("/shopify/payments/refunds", { id: "rf_unknown", gid: "gid://shopify/RefundSession/rf_unknown", payment_id: "nope", amount: "1.00", currency: "CAD" });
      expect(world.shopify.refundSessions.get("gid://shopify/RefundSession/rf_ok")).toEqual({ state: "resolved" });
      expect(world.shopify.refundSessions.get("gid://shopify/RefundSession/rf_big")?.state).toBe("rejected");
      expect(world.shopify.refundSessions.get("gid://shopify/RefundSession/rf_unknown")?.state).toBe("rejected");
    });

    it("with paymentsRefunds=resolve, refunds together may not exceed the payment; a refused resolve counts for nothing", async () => {
      await world.close();
      await db.drop();
      await setUp({ paymentsRefunds: "resolve" });
      await pay(await start("ps_r3"), "paid");
      const refund = (id: string, amount: string) => post("/shopify/payments/refunds", { id, gid: `gid://shopify/RefundSession/${id}`, payment_id: "ps_r3", amount, currency: "CAD" });
      const state = async (id: string) => (await shopifyDb(world.bridge.deps.db.kysely).selectFrom("shopify_refund_sessions").select("state").where("id", "=", id).executeTakeFirstOrThrow()).state;

      world.shopify.refundResolveError = "Refund session was cancelled";
      expect((await refund("rf_refused", "100.00")).status).toBe(201);
      expect(await state("rf_refused")).toBe("failed");
      expect((await refund("rf_a", "100.00")).status).toBe(201);
      expect(await state("rf_a")).toBe("resolved");
      expect((await refund("rf_b", "30.00")).status).toBe(201); // 100 + 30 > 123
      expect(world.shopify.refundSessions.get("gid://shopify/RefundSession/rf_b")).toMatchObject({ state: "rejected", message: expect.stringContaining("exceeds") });
      expect((await refund("rf_c", "23.00")).status).toBe(201); // 100 + 23 = 123
      expect(await state("rf_c")).toBe("resolved");
    });

    it("a refund Shopify cannot be told about yet is answered 503, so Shopify sends it again", async () => {
      await pay(await start("ps_r4"), "paid");
      const body = { id: "rf_down", gid: "gid://shopify/RefundSession/rf_down", payment_id: "ps_r4", amount: "1.00", currency: "CAD" };
      world.shopify.setDown(true);
      expect((await post("/shopify/payments/refunds", body)).status).toBe(503);
      world.shopify.setDown(false);
      expect((await post("/shopify/payments/refunds", body)).status).toBe(201);
      expect(world.shopify.refundSessions.get("gid://shopify/RefundSession/rf_down")?.state).toBe("rejected");
    });
  });
});
