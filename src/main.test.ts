import { afterEach, expect, it } from "vitest";
import type { Bridge } from "./bridge.ts";
import { builtinMounts, builtinProviders, builtinStoreAdapters } from "./main.ts";
import { createSqliteDatabase, type TestDatabase } from "../test/support/databases.ts";
import { createTestBridge } from "../test/support/bridge.ts";

let bridge: Bridge | undefined;
let db: TestDatabase | undefined;
afterEach(async () => {
  await bridge?.close();
  await db?.drop();
});

it("the composition root registers every provider and store platform once", () => {
  expect(builtinProviders.map((p) => p.name).sort()).toEqual(["btcpay", "cryptocheckout", "evm", "gstable", "sandbox", "satsrail", "sprintcheckout"].sort());
  expect(builtinStoreAdapters.map((a) => a.platform).sort()).toEqual(["custom", "shopify", "woocommerce"]);
});

it.each([
  [{}, false],
  [{ SHOPIFY_API_KEY: "key", SHOPIFY_API_SECRET: "secret" }, true],
])("mounts the console, reference, metrics, WooCommerce and (with keys) Shopify routes: %j", async (shopifyEnv, shopifyMounted) => {
  db = await createSqliteDatabase();
  bridge = await createTestBridge({ databaseUrl: db.url, mounts: builtinMounts, config: shopifyEnv });
  const status = async (path: string) => (await bridge!.app.request(path)).status;
  expect(await status("/openapi.json")).toBe(200);
  expect(await status("/docs")).toBe(200);
  expect(await status("/metrics")).toBe(401);
  expect([302, 303]).toContain(await status("/dashboard"));
  expect(await status("/woocommerce/status")).toBe(401);
  expect((await status("/shopify/auth")) !== 404).toBe(shopifyMounted);
});
