import { Session } from "@shopify/shopify-api";
import { afterEach, beforeEach, expect, it } from "vitest";
import { generateMasterKeySpec, parseMasterKeys, SecretBox } from "../crypto/secrets.ts";
import { migrateToLatest, openDatabase, type Db } from "../db/database.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { KyselySessionStorage } from "./session-storage.ts";
import { shopifyDb } from "./tables.ts";

describeEachDatabase("Shopify session storage", (makeDb) => {
  let testDb: TestDatabase;
  let db: Db;
  let storage: KyselySessionStorage;
  beforeEach(async () => {
    testDb = await makeDb();
    db = openDatabase(testDb.url);
    await migrateToLatest(db);
    storage = new KyselySessionStorage(db.kysely, new SecretBox(parseMasterKeys(generateMasterKeySpec("t"))));
  });
  afterEach(async () => {
    await db.close();
    await testDb.drop();
  });

  const offline = (shop: string, token: string) => new Session({ id: `offline_${shop}`, shop, state: "", isOnline: false, scope: "read_orders,write_orders", accessToken: token });

  it("stores, replaces, loads, finds by shop and deletes sessions; tokens never in clear", async () => {
    await storage.storeSession(offline("a.myshopify.com", "shpat_one"));
    await storage.storeSession(offline("a.myshopify.com", "shpat_two"));
    await storage.storeSession(offline("b.myshopify.com", "shpat_b"));
    const loaded = await storage.loadSession("offline_a.myshopify.com");
    expect(loaded?.accessToken).toBe("shpat_two");
    expect(loaded?.scope).toBe("read_orders,write_orders");
    expect((await storage.findSessionsByShop("a.myshopify.com")).map((s) => s.id)).toEqual(["offline_a.myshopify.com"]);
    const rows = await shopifyDb(db.kysely).selectFrom("shopify_sessions").selectAll().execute();
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.session_enc).join()).not.toMatch(/shpat_/);
    await storage.deleteSessions(["offline_a.myshopify.com"]);
    expect(await storage.loadSession("offline_a.myshopify.com")).toBeUndefined();
    await storage.deleteSession("offline_b.myshopify.com");
    expect(await storage.findSessionsByShop("b.myshopify.com")).toEqual([]);
  });

  it("the per-order lock and webhook dedupe are unique keys", async () => {
    const sdb = shopifyDb(db.kysely);
    const link = { shop: "a.myshopify.com", order_id: "1", route: "manual" as const, state: "creating", session_id: null, order_name: "#1", created_at: 1, updated_at: 1 };
    await sdb.insertInto("shopify_order_links").values(link).execute();
    await expect(sdb.insertInto("shopify_order_links").values(link).execute()).rejects.toThrow();
    await sdb.insertInto("shopify_order_links").values({ ...link, order_id: "2" }).execute();
    const hook = { webhook_id: "w1", shop: "a.myshopify.com", topic: "ORDERS_CREATE", state: "done", received_at: 1, processed_at: 2 };
    await sdb.insertInto("shopify_webhooks").values(hook).execute();
    await expect(sdb.insertInto("shopify_webhooks").values(hook).execute()).rejects.toThrow();
  });
});
