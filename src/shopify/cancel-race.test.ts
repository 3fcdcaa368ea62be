/**
 * orders/cancelled racing the creation of the order's session: whichever finishes first, no payable session
 * is left for a cancelled order. The race is made deterministic by delivering the cancellation from inside
 * session creation (after the per-order lock is taken, before the session is recorded on it).
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { describeEachDatabase } from "../../test/support/databases.ts";
import { drain } from "../../test/support/bridge.ts";
import { describeWithShopify, postWebhook, testShop, worldPerTest } from "../../test/simulators/shopify/harness.ts";
import { shopifyDb } from "./tables.ts";

const hooks = vi.hoisted(() => ({ duringCreate: undefined as undefined | (() => Promise<void>) }));
vi.mock("../usecases/create-checkout-session.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../usecases/create-checkout-session.ts")>();
  return {
    ...real,
    createCheckoutSession: async (...args: Parameters<typeof real.createCheckoutSession>) => {
      const created = await real.createCheckoutSession(...args);
      const hook = hooks.duringCreate;
      hooks.duringCreate = undefined;
      await hook?.();
      return created;
    },
  };
});

describeWithShopify("orders/cancelled racing session creation", (schemas) => {
  describeEachDatabase("the per-order lock carries a cancelled marker", (makeDb) => {
    const current = worldPerTest(makeDb, schemas);
    let world: ReturnType<typeof current>;
    beforeEach(() => {
      world = current();
    });
    afterEach(() => {
      hooks.duringCreate = undefined;
    });
    const link = (orderId: string) => shopifyDb(world.bridge.deps.db.kysely).selectFrom("shopify_order_links").selectAll().where("order_id", "=", orderId).executeTakeFirst();
    const sessions = () => world.bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().execute();

    it("cancelled while the session is being created: the marker wins and the new session is closed at once", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 4000n });
      let cancelOutcome: unknown;
      hooks.duringCreate = async () => {
        expect((await link(order.id))?.state).toBe("creating");
        const res = await postWebhook(world, world.shopify.webhook("orders/cancelled", testShop, world.shopify.orderPayload(order)));
        cancelOutcome = (await res.json()).outcome;
      };
      const res = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      expect(cancelOutcome).toBe("session marked");
      expect((await res.json()).outcome).toBe("skipped: the order is cancelled");
      await drain(world.bridge);
      const [session] = await sessions();
      expect(session?.status).toBe("canceled");
      expect(await link(order.id)).toMatchObject({ state: "cancelled", session_id: session!.id });
      expect((await world.bridge.app.request(`/pay/${session!.id}`)).status).toBe(410);
      // A later look (a retried orders/create, the buyer's page) makes no second session.
      await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      expect(await sessions()).toHaveLength(1);
    });

    it("cancelled before orders/create was handled: no session, even if Shopify's read still shows the order open", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 4000n });
      const cancel = await postWebhook(world, world.shopify.webhook("orders/cancelled", testShop, world.shopify.orderPayload(order)));
      expect((await cancel.json()).outcome).toBe("session marked");
      const create = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      expect((await create.json()).outcome).toBe("skipped: the order is cancelled");
      expect(await sessions()).toHaveLength(0);
    });

    it("orders/cancelled for an order paid another way leaves no marker", async () => {
      const order = world.shopify.addOrder(testShop, { totalMinor: 4000n, gateways: ["shopify_payments"] });
      const cancel = await postWebhook(world, world.shopify.webhook("orders/cancelled", testShop, world.shopify.orderPayload(order)));
      expect((await cancel.json()).outcome).toMatch(/^skipped/);
      expect(await link(order.id)).toBeUndefined();
    });
  });
});
