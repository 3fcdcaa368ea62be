import { afterEach, beforeEach, expect, it } from "vitest";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { createShopifyWorld, describeWithShopify, installWithSandbox, mtlsHeader, postWebhook, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";
import { shopifyDb } from "./tables.ts";

describeWithShopify("Shopify routes refuse forgeries", (schemas) => {
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
  });
  const sdb = () => shopifyDb(world.bridge.deps.db.kysely);

  it("a webhook with a bad HMAC gets 401 and changes nothing", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 1000n });
    const forged = world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order), { secret: "not-the-app-secret" });
    expect((await postWebhook(world, forged)).status).toBe(401);
    const tampered = world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order));
    expect((await postWebhook(world, { ...tampered, body: tampered.body.replace("Pay with crypto", "Pay with crypt0") })).status).toBe(401);
    const unsigned = world.shopify.webhook("app/uninstalled", testShop, {});
    delete unsigned.headers["x-shopify-hmac-sha256"];
    expect((await postWebhook(world, unsigned)).status).toBe(401);
    expect(await sdb().selectFrom("shopify_webhooks").selectAll().execute()).toHaveLength(0);
    expect(await sdb().selectFrom("shopify_sessions").selectAll().execute()).toHaveLength(1);
  });

  it("a validly signed webhook for a shop outside myshopify.com is refused", async () => {
    const hook = world.shopify.webhook("app/uninstalled", "evil.example.com", {});
    expect((await postWebhook(world, hook)).status).toBe(401);
  });

  it.each(["evil.example.com", "cartbridge-test.myshopify.io", "cartbridge-test.shop.dev", "x.myshopify.com.evil.com", "https://cartbridge-test.myshopify.com"])(
    "OAuth for shop %s is refused before any redirect",
    async (shop) => {
      const res = await world.bridge.app.request(`/shopify/auth?shop=${encodeURIComponent(shop)}`);
      expect(res.status).toBe(422);
      expect(res.headers.get("location")).toBeNull();
    },
  );

  it("the extension endpoint accepts only genuine session tokens for myshopify.com shops", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 1000n });
    const ask = async (token: string) => world.bridge.app.request(`/shopify/extension/orders/${encodeURIComponent(`gid://shopify/OrderIdentity/${order.id}`)}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await ask(await world.shopify.sessionToken(testShop, { secret: "forged-secret" }))).status).toBe(401);
    expect((await ask(await world.shopify.sessionToken(testShop, { aud: "another-app" }))).status).toBe(401);
    expect((await ask(await world.shopify.sessionToken(testShop, { dest: "https://evil.example.com" }))).status).toBe(401);
    expect((await ask(await world.shopify.sessionToken(testShop, { expSeconds: -60 }))).status).toBe(401);
    expect((await ask(await world.shopify.sessionToken(testShop, { nbfSeconds: 120 }))).status).toBe(401); // not valid yet
    expect((await ask(await world.shopify.sessionToken(testShop, { nbfSeconds: null }))).status).toBe(401); // no nbf
    expect((await ask(await world.shopify.sessionToken(testShop, { iss: "https://other-shop.myshopify.com/admin" }))).status).toBe(401);
    expect((await ask(await world.shopify.sessionToken(testShop, { iss: `https://${testShop}/admin` }))).status).toBe(200);
    expect((await world.bridge.app.request(`/shopify/extension/orders/${order.id}`)).status).toBe(401);
    const good = await ask(await world.shopify.sessionToken(testShop));
    expect(good.status).toBe(200);
    expect(good.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("a buyer's token for one shop cannot read another shop's order", async () => {
    const order = world.shopify.addOrder(testShop, { totalMinor: 1000n });
    const res = await world.bridge.app.request(`/shopify/extension/orders/${order.id}`, {
      headers: { authorization: `Bearer ${await world.shopify.sessionToken("other-shop.myshopify.com")}` },
    });
    expect(await res.json()).toMatchObject({ status: "none", reason: "the shop is not installed" });
  });

  it("Payments Apps requests without the proxy's client-certificate header are refused", async () => {
    const body = JSON.stringify({ id: "p1" });
    const none = await world.bridge.app.request("/shopify/payments/sessions", { method: "POST", body, headers: { "shopify-shop-domain": testShop } });
    expect(none.status).toBe(401);
    const wrongShop = await world.bridge.app.request("/shopify/payments/sessions", { method: "POST", body, headers: { "shopify-shop-domain": "evil.example.com", [mtlsHeader.name]: mtlsHeader.value } });
    expect(wrongShop.status).toBe(401);
  });
});
