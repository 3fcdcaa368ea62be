import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { drain, simulate } from "../../test/support/bridge.ts";
import { createShopifyWorld, describeWithShopify, installViaOAuth, installWithSandbox, mtlsHeader, postWebhook, testShop, type ShopifyWorld } from "../../test/simulators/shopify/harness.ts";
import { addConnection } from "../usecases/connections.ts";
import { offlineSessionId } from "./api.ts";
import { sessionStorage } from "./shops.ts";
import { shopifyDb } from "./tables.ts";

describeWithShopify("Shopify install, uninstall and compliance", (schemas) => {
  describeEachDatabase("install", (makeDb) => {
    let db: TestDatabase;
    let world: ShopifyWorld;
    beforeEach(async () => {
      db = await makeDb();
      world = await createShopifyWorld(db.url, schemas);
    });
    afterEach(async () => {
      await world.close();
      await db.drop();
      expect(world.shopify.schemaViolations).toEqual([]);
    });
    const sdb = () => shopifyDb(world.bridge.deps.db.kysely);

    it("OAuth: the offline token is stored sealed and the shop gets a bridge store of platform shopify", async () => {
      const storeId = await installViaOAuth(world);
      const store = await world.bridge.deps.db.kysely.selectFrom("stores").selectAll().where("id", "=", storeId).executeTakeFirstOrThrow();
      expect(store.platform).toBe("shopify");
      const [token] = [...world.shopify.tokens.keys()];
      const row = await sdb().selectFrom("shopify_sessions").selectAll().executeTakeFirstOrThrow();
      expect(row.id).toBe(offlineSessionId(testShop));
      expect(row.session_enc.split(".")).toHaveLength(5); // compact JWE
      expect(row.session_enc).not.toContain(token);
      const loaded = await sessionStorage(world.bridge.deps).loadSession(offlineSessionId(testShop));
      expect(loaded?.accessToken).toBe(token);
      expect(loaded?.isOnline).toBe(false);
    });

    it("OAuth: a callback whose HMAC was tampered with is refused and stores nothing", async () => {
      const begin = await world.bridge.app.request(`/shopify/auth?shop=${testShop}`);
      const callback = world.shopify.authorize(begin.headers.get("location")!).replace(/hmac=[0-9a-f]+/, `hmac=${"0".repeat(64)}`);
      const res = await world.bridge.app.request(callback, { headers: { cookie: begin.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") } });
      expect(res.status).toBe(401);
      expect(await sdb().selectFrom("shopify_sessions").selectAll().execute()).toHaveLength(0);
    });

    it("embedded app: token exchange with the admin's id_token installs the shop", async () => {
      const idToken = await world.shopify.sessionToken(testShop);
      const res = await world.bridge.app.request(`/shopify/app?shop=${testShop}&id_token=${idToken}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("Pay with crypto");
      expect(res.headers.get("content-security-policy")).toBe(`frame-ancestors https://${testShop} https://admin.shopify.com;`);
      expect(world.shopify.tokens.size).toBe(1);
      expect(await sdb().selectFrom("shopify_shops").selectAll().execute()).toHaveLength(1);
      // A second load does not exchange again.
      await world.bridge.app.request(`/shopify/app?shop=${testShop}&id_token=${await world.shopify.sessionToken(testShop)}`);
      expect(world.shopify.tokens.size).toBe(1);
    });

    it("expiring offline tokens: requested at install; an expired one is refreshed on load, the new pair stored together", async () => {
      world.shopify.accessTokenTtlSeconds = 1;
      await installWithSandbox(world);
      expect(world.shopify.tokenRequests).toEqual([{ grant: "authorization_code", expiring: true }]);
      const storage = sessionStorage(world.bridge.deps);
      const before = (await storage.loadSession(offlineSessionId(testShop)))!;
      expect(before.refreshToken).toMatch(/^shprt_/);
      await new Promise((r) => setTimeout(r, 1_100)); // Shopify now refuses the access token

      const order = world.shopify.addOrder(testShop, { totalMinor: 1000n });
      const res = await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      expect((await res.json()).outcome).toBe("session created");
      expect(world.shopify.tokenRequests.map((r) => r.grant)).toEqual(["authorization_code", "refresh_token"]);
      const after = (await storage.loadSession(offlineSessionId(testShop)))!;
      expect(after.accessToken).not.toBe(before.accessToken);
      expect(after.refreshToken).not.toBe(before.refreshToken);
      expect(world.shopify.refreshTokens.has(after.refreshToken!)).toBe(true);
      expect(world.shopify.refreshTokens.has(before.refreshToken!)).toBe(false);
    });

    it("embedded app: the token exchange asks for an expiring token; a spent refresh token means a new exchange", async () => {
      world.shopify.accessTokenTtlSeconds = 1;
      const open = async () => world.bridge.app.request(`/shopify/app?shop=${testShop}&id_token=${await world.shopify.sessionToken(testShop)}`);
      expect((await open()).status).toBe(200);
      expect(world.shopify.tokenRequests).toEqual([{ grant: "urn:ietf:params:oauth:grant-type:token-exchange", expiring: true }]);
      world.shopify.refreshTokens.clear(); // refused from now on
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await open()).status).toBe(200);
      expect(world.shopify.tokenRequests.map((r) => r.grant)).toEqual([
        "urn:ietf:params:oauth:grant-type:token-exchange", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange",
      ]);
    });

    it("app/uninstalled removes the tokens; updates then stop (not retried); re-install reuses the store", async () => {
      const storeId = await installWithSandbox(world);
      const order = world.shopify.addOrder(testShop, { totalMinor: 1000n });
      await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      const res = await postWebhook(world, world.shopify.webhook("app/uninstalled", testShop, { id: 1, domain: testShop }));
      expect(res.status).toBe(200);
      expect(await sdb().selectFrom("shopify_sessions").selectAll().execute()).toHaveLength(0);
      expect((await sdb().selectFrom("shopify_shops").selectAll().executeTakeFirstOrThrow()).uninstalled_at).not.toBeNull();

      const session = await world.bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().executeTakeFirstOrThrow();
      await simulate(world.bridge, `http://bridge.test/p/sandbox/checkout/${session.connection_id}/${session.provider_session_id}`, "paid");
      await drain(world.bridge);
      const update = await world.bridge.deps.db.kysely.selectFrom("store_updates").selectAll().executeTakeFirstOrThrow();
      expect(update.state).toBe("dead");
      expect(update.last_error).toContain("uninstalled");

      expect(await installViaOAuth(world)).toBe(storeId);
    });

    it("compliance webhooks are answered; customers/redact erases the buyer's e-mail", async () => {
      const storeId = await installViaOAuth(world);
      await addConnection(world.bridge.deps, { storeId, provider: "sandbox", livemode: false, credentials: {} });
      const order = world.shopify.addOrder(testShop, { totalMinor: 1000n });
      await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(order)));
      const email = async () => (await world.bridge.deps.db.kysely.selectFrom("checkout_sessions").select("customer_email").executeTakeFirstOrThrow()).customer_email;
      expect(await email()).toBe("buyer@example.com");

      const request = await postWebhook(world, world.shopify.webhook("customers/data_request", testShop, { shop_domain: testShop, customer: { id: 1 }, orders_requested: [Number(order.id)] }));
      expect(request.status).toBe(200);
      const redact = await postWebhook(world, world.shopify.webhook("customers/redact", testShop, { shop_domain: testShop, customer: { id: 1 }, orders_to_redact: [Number(order.id)] }));
      expect(await redact.json()).toMatchObject({ outcome: "redacted 1" });
      expect(await email()).toBeNull();
      const shopRedact = await postWebhook(world, world.shopify.webhook("shop/redact", testShop, { shop_domain: testShop }));
      expect(shopRedact.status).toBe(200);
      expect(await sdb().selectFrom("shopify_order_links").selectAll().execute()).toHaveLength(0);
    });

      it("customers/redact also finds the buyer's Payments Apps sessions by e-mail and scrubs the store updates", async () => {
      await installWithSandbox(world);
      const kysely = world.bridge.deps.db.kysely;
      const payHosted = async (payUrl: string) => {
        const hosted = (await world.bridge.app.request(new URL(payUrl).pathname)).headers.get("location")!;
        await simulate(world.bridge, hosted, "paid");
      };
      const order = world.shopify.addOrder(testShop, { totalMinor: 1000n, email: "buyer@example.com" });
      const other = world.shopify.addOrder(testShop, { totalMinor: 1000n, email: "someone-else@example.com" });
      for (const o of [order, other]) await postWebhook(world, world.shopify.webhook("orders/create", testShop, world.shopify.orderPayload(o)));
      const partner = await world.bridge.app.request("/shopify/payments/sessions", {
        method: "POST",
        headers: { "content-type": "application/json", "shopify-shop-domain": testShop, [mtlsHeader.name]: mtlsHeader.value },
        body: JSON.stringify({
          id: "ps_gdpr", gid: "gid://shopify/PaymentSession/ps_gdpr", amount: "5.00", currency: "USD", test: true, kind: "sale",
          payment_method: { type: "offsite", data: { cancel_url: `https://${testShop}/cancel` } }, customer: { email: "Buyer@Example.com" },
        }),
      });
      expect(partner.status).toBe(201);
      await payHosted(((await partner.json()) as { redirect_url: string }).redirect_url);
      for (const s of await kysely.selectFrom("checkout_sessions").select("id").where("order_id", "!=", "ps_gdpr").execute()) await payHosted(`http://bridge.test/pay/${s.id}`);
      await drain(world.bridge);
      const emails = async () => (await kysely.selectFrom("checkout_sessions").select(["order_id", "customer_email"]).orderBy("order_id").execute());
      const payloads = async () => (await kysely.selectFrom("store_updates").select("payload_json").execute()).map((u) => u.payload_json).join("\n");
      expect(await payloads()).toMatch(/buyer@example\.com/i);

      const res = await postWebhook(world, world.shopify.webhook("customers/redact", testShop, {
        shop_domain: testShop, customer: { id: 7, email: "buyer@example.com" }, orders_to_redact: [Number(order.id)],
      }));
      expect(await res.json()).toMatchObject({ outcome: "redacted 2" });
      expect(await emails()).toEqual([
        { order_id: order.id, customer_email: null },
        { order_id: other.id, customer_email: "someone-else@example.com" },
        { order_id: "ps_gdpr", customer_email: null },
      ]);
      expect(await payloads()).not.toMatch(/buyer@example\.com/i);
      expect(await payloads()).toContain("someone-else@example.com");
    });
  });
});
