import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain, simulate } from "../../test/support/bridge.ts";
import { createShopifyWorld, describeWithShopify, installWithSandbox, mtlsHeader, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";
import type { ShopifyOptions } from "./api.ts";
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
  });
});
