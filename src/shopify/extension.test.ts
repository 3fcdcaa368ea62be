import { afterEach, beforeEach, expect, it } from "vitest";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain, simulate } from "../../test/support/bridge.ts";
import { createShopifyWorld, describeWithShopify, installWithSandbox, postWebhook, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";

describeWithShopify("Thank-you / Order status extension endpoint", (schemas) => {
  let db: TestDatabase;
  let world: ShopifyWorld;
  beforeEach(async () => {
    db = await createSqliteDatabase();
    world = await createShopifyWorld(db.url, schemas);
    await installWithSandbox(world);
  });
  afterEach(async () => {
    await world.close();
    await db.drop();
    expect(world.shopify.schemaViolations).toEqual([]);
  });

  const view = async (orderId: string) => {
    const res = await world.bridge.app.request(`/shopify/extension/orders/${encodeURIComponent(`gid://shopify/OrderIdentity/${orderId}`)}`, {
      headers: { authorization: `Bearer ${await world.shopify.sessionToken(testShop)}` },
    });
    expect(res.status).toBe(200);
    return res.json() as Promise<Record<string, unknown>>;
  };

  it("shows the open session with its pay link; the buyer can come back to it; once paid, no link", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 2500n });
    await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
    const first = await view(order.id);
    expect(first).toMatchObject({ status: "open", paid: false, amount: "25.00", currency: "USD" });
    expect(first.payUrl).toMatch(/^http:\/\/bridge\.test\/pay\/cs_/);
    expect(await view(order.id)).toEqual(first); // resuming later: the same session

    const hosted = (await world.bridge.app.request(new URL(first.payUrl as string).pathname)).headers.get("location")!;
    await simulate(world.bridge, hosted, "paid");
    await drain(world.bridge);
    const after = await view(order.id);
    expect(after).toMatchObject({ status: "paid", paid: true, amountPaid: "25.00" });
    expect(after.payUrl).toBeUndefined();
  });

  it("if the buyer is faster than orders/create, the session is made then, and the webhook finds it", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 2500n });
    const first = await view(order.id);
    expect(first.status).toBe("open");
    const res = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
    expect((await res.json()).outcome).toBe("session exists");
    expect(await world.bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().execute()).toHaveLength(1);
  });

  it("answers an OPTIONS preflight from the extension's origin", async () => {
    const res = await world.bridge.app.request("/shopify/extension/orders/1", {
      method: "OPTIONS", headers: { origin: "https://extensions.shopifycdn.com", "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization/i);
  });
});
