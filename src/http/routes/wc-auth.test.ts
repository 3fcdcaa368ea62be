import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../../bridge.ts";
import { createStore } from "../../usecases/stores.ts";
import { describeEachDatabase, type TestDatabase } from "../../../test/support/databases.ts";
import { WooCommerceSimulator } from "../../../test/simulators/woocommerce/server.ts";
import { cartbridgeNotes, checkout, createWooBridge, createWooStore, pay, wooBridgePublicUrl, type WooStore } from "../../../test/simulators/woocommerce/harness.ts";

describeEachDatabase("wc-auth: connecting a WooCommerce store without copy-paste", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let sim: WooCommerceSimulator;
  let store: WooStore;
  const returnUrl = "https://shop.example/wp-admin/admin.php?page=wc-settings&tab=checkout&section=cartbridge";

  const toBridge = (url: string, init: RequestInit) => {
    const u = new URL(url);
    return Promise.resolve(bridge.app.request(`${u.pathname}${u.search}`, init));
  };
  const authed = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });
  async function startConnect(key = store.testKey) {
    const res = await bridge.app.request("/woocommerce/connect", {
      method: "POST",
      headers: authed(key),
      body: JSON.stringify({ storeUrl: sim.url, returnUrl }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { authorizeUrl: string }).authorizeUrl;
  }

  beforeEach(async () => {
    db = await makeDb();
    sim = await new WooCommerceSimulator().start();
    bridge = await createWooBridge(db.url);
    store = await createWooStore(bridge, { url: sim.url });
  });
  afterEach(async () => {
    await bridge.close();
    await sim.stop();
    await db.drop();
  });

  it("authorize → WooCommerce posts keys → the bridge stores them sealed and can update orders with them", async () => {
    const authorizeUrl = await startConnect();
    const u = new URL(authorizeUrl);
    expect(u.pathname).toBe("/wc-auth/v1/authorize");
    expect(u.searchParams.get("scope")).toBe("read_write");
    expect(u.searchParams.get("callback_url")).toBe(`${wooBridgePublicUrl}/woocommerce/wc-auth/callback`);
    expect(u.searchParams.get("user_id")).not.toContain(store.storeId);

    const status0 = await (await bridge.app.request("/woocommerce/status", { headers: authed(store.testKey) })).json();
    expect(status0).toMatchObject({ connected: false });

    const approval = await sim.approveAuthorization(authorizeUrl, toBridge);
    expect(approval.ok).toBe(true);
    const back = await bridge.app.request(new URL(approval.redirect!).pathname + new URL(approval.redirect!).search);
    expect(back.status).toBe(303);
    expect(back.headers.get("location")).toBe(`${returnUrl}&cartbridge_connect=success`);

    const status = await (await bridge.app.request("/woocommerce/status", { headers: authed(store.testKey) })).json();
    expect(status).toMatchObject({ connected: true, url: sim.url, connectedVia: "wc-auth" });
    const row = await bridge.deps.db.kysely.selectFrom("stores").select("credentials_enc").where("id", "=", store.storeId).executeTakeFirstOrThrow();
    expect(row.credentials_enc).not.toContain("ck_");

    const order = sim.createOrder();
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "paid");
    expect(order.status).toBe("processing");
    expect(cartbridgeNotes(order)).toHaveLength(1);
  });

  it("a token is spent by its first callback: a replay cannot swap the keys", async () => {
    const authorizeUrl = await startConnect();
    expect((await sim.approveAuthorization(authorizeUrl, toBridge)).ok).toBe(true);
    const second = await sim.approveAuthorization(authorizeUrl, toBridge);
    expect(second.ok).toBe(false);
    expect(second.error).toContain("404");
  });

  it("unknown tokens and read-only keys are refused: WooCommerce deletes the key and shows its error page, no way back", async () => {
    const forged = new URL(await startConnect());
    forged.searchParams.set("user_id", "cbwc_guessed");
    expect((await sim.approveAuthorization(forged.toString(), toBridge)).ok).toBe(false);

    const readOnly = new URL(await startConnect());
    readOnly.searchParams.set("scope", "read");
    const refused = await sim.approveAuthorization(readOnly.toString(), toBridge);
    expect(refused.ok).toBe(false);
    expect(refused.redirect).toBeUndefined();
    expect(refused.error).toContain("unable to send the consumer data");
    expect(sim.keys.size).toBe(0);
    const status = await (await bridge.app.request("/woocommerce/status", { headers: authed(store.testKey) })).json();
    expect(status).toMatchObject({ connected: false });
    // The token was spent and marked: were the admin to come back by hand, the plugin would say "failed".
    const back = await bridge.app.request(`/woocommerce/wc-auth/return?success=0&user_id=${readOnly.searchParams.get("user_id")}`);
    expect(back.headers.get("location")).toContain("cartbridge_connect=failed");
  });

  it("the admin pressing Deny comes back to the plugin with cartbridge_connect=denied", async () => {
    const denied = sim.denyAuthorization(await startConnect());
    expect(denied.redirect).toContain("success=0");
    const back = await bridge.app.request(new URL(denied.redirect!).pathname + new URL(denied.redirect!).search);
    expect(back.headers.get("location")).toBe(`${returnUrl}&cartbridge_connect=denied`);
  });

  it("the simulator refuses a plain-http callback as WC_Auth does, localhost included", async () => {
    const authorize = new URL(await startConnect());
    for (const callback of ["http://bridge.test/woocommerce/wc-auth/callback", "http://127.0.0.1:8080/cb", "http://localhost/cb"]) {
      authorize.searchParams.set("callback_url", callback);
      const result = await sim.approveAuthorization(authorize.toString(), toBridge);
      expect(result).toEqual({ ok: false, error: "Error: The callback_url needs to be over SSL." });
    }
    expect(sim.keys.size).toBe(0);
  });

  it("an expired connect request is refused", async () => {
    const authorizeUrl = await startConnect();
    await bridge.deps.db.kysely.updateTable("woocommerce_connect_requests" as never).set({ expires_at: 1 } as never).execute();
    expect((await sim.approveAuthorization(authorizeUrl, toBridge)).ok).toBe(false);
  });

  it("the return endpoint only redirects to the URL registered with the token", async () => {
    const res = await bridge.app.request("/woocommerce/wc-auth/return?success=1&user_id=cbwc_nope");
    expect(res.status).toBe(404);
  });

  it("connect refuses a plain-http PUBLIC_URL with callback_not_https (WooCommerce would refuse the callback)", async () => {
    const plain = await createWooBridge(db.url, undefined, { PUBLIC_URL: "http://127.0.0.1:3000" });
    try {
      const res = await plain.app.request("/woocommerce/connect", {
        method: "POST", headers: authed(store.testKey), body: JSON.stringify({ storeUrl: sim.url, returnUrl }),
      });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("callback_not_https");
      expect(body.error.message).toContain("https");
      expect(await plain.deps.db.kysely.selectFrom("woocommerce_connect_requests" as never).selectAll().execute()).toHaveLength(0);
    } finally {
      await plain.close();
    }
  });

  it("connect and pasted keys need the store's secret key and a WooCommerce store", async () => {
    const anon = await bridge.app.request("/woocommerce/connect", { method: "POST", body: JSON.stringify({ storeUrl: sim.url, returnUrl }) });
    expect(anon.status).toBe(401);
    const custom = await createStore(bridge.deps, { name: "Headless", platform: "custom", credentials: { endpointUrl: "https://x.example/hook" } });
    const wrong = await bridge.app.request("/woocommerce/connect", {
      method: "POST", headers: authed(custom.keys.testKey), body: JSON.stringify({ storeUrl: sim.url, returnUrl }),
    });
    expect(wrong.status).toBe(422);
  });

  const paste = (body: Record<string, unknown>) =>
    bridge.app.request("/woocommerce/credentials", { method: "POST", headers: authed(store.testKey), body: JSON.stringify(body) });
  const status = async () => (await (await bridge.app.request("/woocommerce/status", { headers: authed(store.testKey) })).json()) as Record<string, unknown>;

  it("pasted keys work too, after one authenticated read and one write that changes nothing", async () => {
    const key = sim.createKey();
    const ordersBefore = sim.orders.size;
    const res = await paste({ storeUrl: sim.url, consumerKey: key.consumerKey, consumerSecret: key.consumerSecret });
    expect(res.status).toBe(200);
    const checks = sim.requests.filter((r) => r.path === "/wp-json/wc/v3/orders");
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ method: "GET", auth: "oauth", status: 200 });
    expect(checks[0]!.rawUrl).toContain("per_page=1");
    const writeCheck = sim.requests.filter((r) => r.path === "/wp-json/wc/v3/orders/0");
    expect(writeCheck).toHaveLength(1);
    expect(writeCheck[0]).toMatchObject({ method: "PUT", auth: "oauth", status: 404 });
    expect(sim.orders.size).toBe(ordersBefore);
    expect(await status()).toMatchObject({ connected: true, connectedVia: "pasted", lastCheck: { ok: true, at: expect.any(String) } });
    const bad = await bridge.app.request("/woocommerce/credentials", {
      method: "POST", headers: authed(store.testKey), body: JSON.stringify({ storeUrl: sim.url, consumerKey: "nope", consumerSecret: "nope" }),
    });
    expect(bad.status).toBe(422);
    const order = sim.createOrder();
    const { hosted } = await checkout(bridge, sim, store, order);
    await pay(bridge, hosted, "paid");
    expect(order.status).toBe("processing");
  });

  it("pasted keys the shop refuses are not stored: 422 naming WooCommerce's answer; /status reports the failed check", async () => {
    const good = sim.createKey();
    expect((await paste({ storeUrl: sim.url, consumerKey: good.consumerKey, consumerSecret: good.consumerSecret })).status).toBe(200);

    const wrongSecret = await paste({ storeUrl: sim.url, consumerKey: good.consumerKey, consumerSecret: `cs_${"0".repeat(40)}` });
    expect(wrongSecret.status).toBe(422);
    const body = (await wrongSecret.json()) as { error: { code: string; message: string; fields: { path: string; message: string }[] } };
    expect(body.error).toMatchObject({ code: "validation_failed", message: "WooCommerce refused these REST API keys." });
    expect(body.error.fields[0]).toMatchObject({ path: "consumerKey", message: expect.stringContaining("store answered 401") });
    expect(body.error.fields[0]!.message).toContain("Invalid signature");

    const unknownKey = await paste({ storeUrl: sim.url, consumerKey: `ck_${"1".repeat(40)}`, consumerSecret: `cs_${"1".repeat(40)}` });
    expect(unknownKey.status).toBe(422);

    const st = await status();
    // The working keys stay; the failed check is what /status reports.
    expect(st).toMatchObject({ connected: true, connectedVia: "pasted", lastCheck: { ok: false, error: expect.stringContaining("Consumer key is invalid") } });
    const row = await bridge.deps.db.kysely.selectFrom("stores").select("credentials_enc").where("id", "=", store.storeId).executeTakeFirstOrThrow();
    expect((await bridge.deps.secrets.open(row.credentials_enc!)) as Record<string, unknown>).toMatchObject({ consumerKey: good.consumerKey, consumerSecret: good.consumerSecret });
  });

  it("pasted read-only keys are refused: 422 saying they may not update orders; the keys are not stored", async () => {
    const readOnly = sim.createKey("read");
    const res = await paste({ storeUrl: sim.url, consumerKey: readOnly.consumerKey, consumerSecret: readOnly.consumerSecret });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { message: string; fields: { path: string; message: string }[] } };
    expect(body.error.message).toContain("may not update them");
    expect(body.error.fields[0]).toMatchObject({ path: "consumerKey", message: expect.stringContaining("does not have write permissions") });
    expect(await status()).toMatchObject({ connected: false, lastCheck: { ok: false, error: expect.stringContaining("write check") } });
    const writeOnly = sim.createKey("write");
    expect((await paste({ storeUrl: sim.url, consumerKey: writeOnly.consumerKey, consumerSecret: writeOnly.consumerSecret })).status).toBe(422);
    const readWrite = sim.createKey("read_write");
    expect((await paste({ storeUrl: sim.url, consumerKey: readWrite.consumerKey, consumerSecret: readWrite.consumerSecret })).status).toBe(200);
  });

  it("pasted keys for a shop that cannot be reached are refused with 422 on storeUrl", async () => {
    const key = sim.createKey();
    const res = await paste({ storeUrl: "http://127.0.0.1:9", consumerKey: key.consumerKey, consumerSecret: key.consumerSecret });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { message: string; fields: { path: string; message: string }[] } };
    expect(body.error.message).toBe("The shop could not be reached with these REST API keys.");
    expect(body.error.fields[0]).toMatchObject({ path: "storeUrl", message: expect.stringContaining("request failed") });
    expect(await status()).toMatchObject({ connected: false, lastCheck: { ok: false } });
  });
});
