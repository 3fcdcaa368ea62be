/** A bridge with the Shopify app mounted, talking to a fresh fake Shopify; and the prerequisites check. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bridge } from "../../../src/bridge.ts";
import { builtinStoreAdapters } from "../../../src/main.ts";
import type { ShopifyOptions } from "../../../src/shopify/api.ts";
import { shopifyMountPath, shopifyRoutes } from "../../../src/shopify/routes.ts";
import { shopifyDb } from "../../../src/shopify/tables.ts";
import { shopifyStoreAdapter } from "../../../src/stores/shopify.ts";
import { addConnection } from "../../../src/usecases/connections.ts";
import { createTestBridge } from "../../support/bridge.ts";
import { FakeShopify } from "./server.ts";
import { shopifySchemas, type ShopifySchemas } from "./schemas.ts";
import { opensslMissingReason } from "./tls.ts";

export const testApp = { apiKey: "cartbridge-test-client-id", apiSecret: "shpss_test_secret_0123456789abcdef" };
export const testShop = "cartbridge-test.myshopify.com";
export const mtlsHeader = { name: "x-client-verify", value: "SUCCESS" };

const prereq: { schemas?: ShopifySchemas; reason?: string } = await (async () => {
  const missing = opensslMissingReason();
  if (missing) return { reason: missing };
  const result = await shopifySchemas();
  return result.ok ? { schemas: result.schemas } : { reason: result.reason };
})();

/** The schemas, or undefined with the reason already printed (and a failing test under CI=true). */
export function shopifyPrerequisites(): ShopifySchemas | undefined {
  return prereq.schemas;
}

/** `describe` that runs when openssl and Shopify's schemas are available; else skips loudly (fails under CI). */
export function describeWithShopify(name: string, body: (schemas: ShopifySchemas) => void): void {
  if (prereq.schemas) {
    const schemas = prereq.schemas;
    describe(name, () => body(schemas));
    return;
  }
  console.warn(`\n*** ${prereq.reason}\n*** ${process.env.CI === "true" ? "CI=true: the Shopify tests FAIL" : "the Shopify tests are SKIPPED"}\n`);
  if (process.env.CI === "true") {
    describe(name, () => it("needs openssl and Shopify's schemas under CI", () => { throw new Error(prereq.reason); }));
  } else {
    describe.skip(`${name} — skipped: ${prereq.reason}`, () => undefined);
  }
}

export interface ShopifyWorld {
  bridge: Bridge;
  shopify: FakeShopify;
  options: ShopifyOptions;
  close(): Promise<void>;
}

export async function createShopifyWorld(databaseUrl: string, schemas: ShopifySchemas, overrides: Partial<ShopifyOptions> = {}): Promise<ShopifyWorld> {
  const shopify = await new FakeShopify(testApp, schemas).start();
  const options: ShopifyOptions = { ...testApp, livemode: false, paymentsMtlsHeader: mtlsHeader, ...overrides };
  const bridge = await createTestBridge({
    databaseUrl,
    storeAdapters: [...builtinStoreAdapters, shopifyStoreAdapter],
    storeFetch: shopify.fetch,
    mounts: (deps) => [{ path: shopifyMountPath, app: shopifyRoutes(deps, options) }],
  });
  return {
    bridge, shopify, options,
    async close() {
      await bridge.close();
      await shopify.stop();
    },
  };
}

/**
 * A fresh database, fake Shopify and bridge (installed, with a sandbox connection) for each test; afterwards
 * every document the bridge sent must have validated. Read the world through the returned getter.
 */
export function worldPerTest(makeDb: () => Promise<{ url: string; drop(): Promise<void> }>, schemas: ShopifySchemas, overrides: Partial<ShopifyOptions> = {}): () => ShopifyWorld {
  let db: { url: string; drop(): Promise<void> };
  let world: ShopifyWorld;
  beforeEach(async () => {
    db = await makeDb();
    world = await createShopifyWorld(db.url, schemas, overrides);
    await installWithSandbox(world);
  });
  afterEach(async () => {
    await world.close();
    await db.drop();
    expect(world.shopify.schemaViolations).toEqual([]);
  });
  return () => world;
}

function cookieHeader(res: Response): string {
  return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

/** The merchant installs the app through OAuth; returns the shop's bridge store id. */
export async function installViaOAuth(world: ShopifyWorld, shop = testShop): Promise<string> {
  const begin = await world.bridge.app.request(`/shopify/auth?shop=${shop}`);
  if (begin.status !== 302) throw new Error(`OAuth begin answered ${begin.status}: ${await begin.text()}`);
  const callback = world.shopify.authorize(begin.headers.get("location")!);
  const done = await world.bridge.app.request(callback, { headers: { cookie: cookieHeader(begin) } });
  if (done.status !== 302) throw new Error(`OAuth callback answered ${done.status}: ${await done.text()}`);
  const row = await shopifyDb(world.bridge.deps.db.kysely).selectFrom("shopify_shops").select("store_id").where("shop", "=", shop).executeTakeFirstOrThrow();
  return row.store_id;
}

/** Install plus a sandbox connection, so orders can be paid. */
export async function installWithSandbox(world: ShopifyWorld, shop = testShop): Promise<string> {
  const storeId = await installViaOAuth(world, shop);
  await addConnection(world.bridge.deps, { storeId, provider: "sandbox", livemode: false, credentials: {} });
  return storeId;
}

export async function postWebhook(world: ShopifyWorld, hook: { body: string; headers: Record<string, string> }): Promise<Response> {
  return world.bridge.app.request("/shopify/webhooks", { method: "POST", body: hook.body, headers: hook.headers });
}
