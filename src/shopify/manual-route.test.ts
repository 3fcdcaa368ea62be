import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain, simulate } from "../../test/support/bridge.ts";
import { createShopifyWorld, describeWithShopify, installWithSandbox, postWebhook, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";
import { retryStoreUpdateNow } from "../usecases/store-updates.ts";
import { shopifyDb } from "./tables.ts";

describeWithShopify("Shopify manual-payment route", (schemas) => {
  describeEachDatabase("orders/create → session → order updated", (makeDb) => {
    let db: TestDatabase;
    let world: ShopifyWorld;

    beforeEach(async () => {
      db = await makeDb();
      world = await createShopifyWorld(db.url, schemas);
      await installWithSandbox(world);
    });
    afterEach(async () => {
      await world.close();
      await db.drop();
      expect(world.shopify.schemaViolations).toEqual([]);
    });

    const links = () => shopifyDb(world.bridge.deps.db.kysely).selectFrom("shopify_order_links").selectAll();
    const sessions = () => world.bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll();

    async function orderWithSession(totalMinor = 4000n) {
      const order = world.shopify.addOrder(testShop, { totalMinor, currency: "EUR" });
      const res = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      expect(res.status).toBe(200);
      const link = await links().where("order_id", "=", order.id).executeTakeFirstOrThrow();
      const session = await sessions().where("id", "=", link.session_id!).executeTakeFirstOrThrow();
      return { order, session };
    }

    async function pay(sessionId: string, outcome: string) {
      const hosted = (await world.bridge.app.request(`/pay/${sessionId}`)).headers.get("location")!;
      expect((await simulate(world.bridge, hosted, outcome)).status).toBe(200);
      await drain(world.bridge);
    }

    it("creates the session from the order's outstanding balance, in its presentment currency", async () => {
      const { order, session } = await orderWithSession(4000n);
      expect(session).toMatchObject({ currency: "EUR", amount_minor: "4000", order_id: order.id, order_number: order.name, status: "open" });
      expect(order.metafields["cartbridge.session_id"]).toBe(session.id);
      expect(order.metafields["cartbridge.payment_url"]).toBe(`http://bridge.test/pay/${session.id}`);
    });

    it("uses what is still outstanding when part of the order was paid otherwise", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 5000n, receivedMinor: 1250n });
      await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      const link = await links().where("order_id", "=", order.id).executeTakeFirstOrThrow();
      expect((await sessions().where("id", "=", link.session_id!).executeTakeFirstOrThrow()).amount_minor).toBe("3750");
    });

    it("paid: the order is marked as paid once, with a note naming the update", async () => {
      const { order, session } = await orderWithSession();
      await pay(session.id, "paid");
      expect(world.shopify.callsOf("CartbridgeOrderMarkAsPaid")).toHaveLength(1);
      expect(order.receivedMinor).toBe(4000n);
      expect(order.note).toMatch(/\[cartbridge evt_[0-9a-f]+\] paid in crypto: 40.00 of 40.00 EUR received/);
      expect(order.cancelledAt).toBeNull();
    });

    it("a re-delivered update changes nothing twice: the order is re-read first", async () => {
      const { order, session } = await orderWithSession();
      await pay(session.id, "paid");
      const update = await world.bridge.deps.db.kysely.selectFrom("store_updates").select("id").where("session_id", "=", session.id).executeTakeFirstOrThrow();
      const noteBefore = order.note;
      expect(await retryStoreUpdateNow(world.bridge.deps, update.id)).toBe(false); // delivered: not retryable by hand…
      await world.bridge.deps.db.kysely.updateTable("store_updates").set({ state: "pending", next_attempt_at: 0 }).where("id", "=", update.id).execute();
      await drain(world.bridge); // …but a crashed worker's lease could deliver it again
      expect(world.shopify.callsOf("CartbridgeOrderMarkAsPaid")).toHaveLength(1);
      expect(order.note).toBe(noteBefore);
    });

    it("overpaid: marked paid, tagged, the surplus noted", async () => {
      const { order, session } = await orderWithSession();
      await pay(session.id, "overpaid");
      expect(order.receivedMinor).toBe(4000n);
      expect(order.tags).toContain("cartbridge-overpaid");
      expect(order.note).toContain("OVERPAID in crypto: 44.00 of 40.00 EUR received");
    });

    it("paid late: marked paid, tagged for a rate check", async () => {
      const { order, session } = await orderWithSession();
      await pay(session.id, "paid_late");
      expect(order.receivedMinor).toBe(4000n);
      expect(order.tags).toContain("cartbridge-paid-late");
      expect(order.note).toContain("AFTER the payment window closed");
    });

    it("underpaid: noted and tagged, the order left open and unpaid, the session resumable", async () => {
      const { order, session } = await orderWithSession();
      await pay(session.id, "underpaid");
      expect(world.shopify.callsOf("CartbridgeOrderMarkAsPaid")).toHaveLength(0);
      expect(world.shopify.callsOf("CartbridgeOrderCancel")).toHaveLength(0);
      expect(order.receivedMinor).toBe(0n);
      expect(order.tags).toContain("cartbridge-underpaid");
      expect(order.note).toContain("UNDERPAID in crypto: 20.00 of 40.00 EUR received");
      expect((await world.bridge.app.request(`/pay/${session.id}`)).status).toBe(303);
    });

    it("expired: the order is cancelled with restock and no refund, once", async () => {
      const { order, session } = await orderWithSession();
      await pay(session.id, "expired");
      expect(order.cancel).toEqual({ restock: true, refund: false, reason: "DECLINED" });
      expect(world.shopify.callsOf("CartbridgeOrderCancel")).toHaveLength(1);
      expect(world.shopify.callsOf("CartbridgeOrderCancel")[0]!.variables.staffNote).toContain("expired");
      expect((await world.bridge.app.request(`/pay/${session.id}`)).status).toBe(410);
    });

    it("expired, but the order was paid another way meanwhile: not cancelled", async () => {
      const { order, session } = await orderWithSession();
      order.receivedMinor = order.totalMinor;
      await pay(session.id, "expired");
      expect(order.cancelledAt).toBeNull();
      expect(world.shopify.callsOf("CartbridgeOrderCancel")).toHaveLength(0);
    });

    it("orders/cancelled closes the session; a payment arriving later is flagged, not booked", async () => {
      const { order, session } = await orderWithSession();
      order.cancelledAt = new Date().toISOString();
      const res = await postWebhook(world, world.shopify.webhook("orders/cancelled", testShop, world.shopify.orderPayload(order)));
      expect(await res.json()).toMatchObject({ outcome: "session closed" });
      await drain(world.bridge);
      expect((await sessions().where("id", "=", session.id).executeTakeFirstOrThrow()).status).toBe("canceled");
      expect((await world.bridge.app.request(`/pay/${session.id}`)).status).toBe(410);
      expect(world.shopify.callsOf("CartbridgeOrderCancel")).toHaveLength(0);

      const hosted = `http://bridge.test/p/sandbox/checkout/${session.connection_id}/${session.provider_session_id}`;
      await simulate(world.bridge, hosted, "paid");
      await drain(world.bridge);
      expect(world.shopify.callsOf("CartbridgeOrderMarkAsPaid")).toHaveLength(0);
      expect(order.tags).toContain("cartbridge-review");
      expect(order.note).toContain("was already CANCELLED");
    });

    it("no session for an order cancelled before its webhook was handled, nor for other payment methods", async () => {
      const cancelled = world.shopify.addOrder(testShop, { totalMinor: 1000n, cancelledAt: new Date().toISOString() });
      const card = world.shopify.addOrder(testShop, { totalMinor: 1000n, gateways: ["shopify_payments"] });
      for (const order of [cancelled, card]) {
        const res = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
        expect((await res.json()).outcome).toMatch(/^skipped/);
      }
      expect(await sessions().execute()).toHaveLength(0);
    });

    it("a duplicate webhook (same X-Shopify-Webhook-Id) and a second delivery make no second session", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 4000n });
      const hook = world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order));
      expect((await (await postWebhook(world, hook)).json()).outcome).toBe("session created");
      expect(await (await postWebhook(world, hook)).json()).toMatchObject({ duplicate: true });
      const again = world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order));
      expect((await (await postWebhook(world, again)).json()).outcome).toBe("session exists");
      const racing = await Promise.all([1, 2, 3].map(() => postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)))));
      expect(racing.map((r) => r.status).every((s) => s === 200 || s === 503)).toBe(true);
      expect(await sessions().execute()).toHaveLength(1);
    });

    it("a delivery left `processing` by a crashed handler is taken over by Shopify's retry; a live one is not", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 4000n });
      const hook = world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order));
      const id = hook.headers["x-shopify-webhook-id"]!;
      const sdb = shopifyDb(world.bridge.deps.db.kysely);
      await sdb.insertInto("shopify_webhooks").values({ webhook_id: id, shop: testShop, topic: "ORDERS_CREATE", state: "processing", received_at: Date.now(), processed_at: null }).execute();
      expect((await postWebhook(world, hook)).status).toBe(409);
      await sdb.updateTable("shopify_webhooks").set({ received_at: Date.now() - 10 * 60_000 }).where("webhook_id", "=", id).execute();
      expect((await (await postWebhook(world, hook)).json()).outcome).toBe("session created");
    });

    it("Shopify down then up: the webhook is retried, the order update waits and lands", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 4000n });
      const hook = world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order));
      world.shopify.setDown(true);
      expect((await postWebhook(world, hook)).status).toBe(503);
      expect(await links().execute()).toHaveLength(0);
      world.shopify.setDown(false);
      expect((await (await postWebhook(world, hook)).json()).outcome).toBe("session created");

      const link = await links().where("order_id", "=", order.id).executeTakeFirstOrThrow();
      world.shopify.setDown(true);
      await pay(link.session_id!, "paid");
      const update = await world.bridge.deps.db.kysely.selectFrom("store_updates").selectAll().where("session_id", "=", link.session_id!).executeTakeFirstOrThrow();
      expect(update.state).toBe("pending");
      expect(update.last_error).toMatch(/503|Service Unavailable/);
      expect(order.receivedMinor).toBe(0n);

      world.shopify.setDown(false);
      expect(await retryStoreUpdateNow(world.bridge.deps, update.id)).toBe(true);
      await drain(world.bridge);
      expect(order.receivedMinor).toBe(4000n);
      expect(world.shopify.callsOf("CartbridgeOrderMarkAsPaid")).toHaveLength(1);
    });
  });
});
