/**
 * The OpenAPI document: valid OpenAPI 3.1, complete (every store-API route of the real app is in it),
 * and in step with the SDK. Not a data-layer test: one SQLite bridge suffices.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Bridge } from "../bridge.ts";
import { builtinMounts } from "../main.ts";
import { createStore } from "../usecases/stores.ts";
import { CartbridgeClient } from "../sdk/index.ts";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, drain, simulate, type TestStore } from "../../test/support/bridge.ts";
import { WooCommerceSimulator } from "../../test/simulators/woocommerce/server.ts";
import { buildOpenApiDocument, jsonSchemaOf, openapiRoutes } from "./openapi.ts";
import { checkoutSessionSchema, createCheckoutSessionSchema, storeUpdateSchema, wooConnectResponseSchema, wooCredentialsResponseSchema, wooStatusResponseSchema } from "./schemas.ts";

type Doc = { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> }; webhooks: Record<string, unknown> };

/** Public routes of the store API (no key): the buyer's page, platform webhooks and probes. */
const publicApiPrefixes = ["/v1/", "/pay/", "/healthz", "/readyz"];

/** What `requireApiKey` (src/http/middleware.ts) answers a request without a key; no other route says this. */
const storeKeyChallenge = 'Bearer realm="cartbridge"';

/** Hono's `/a/:id/:token?` → OpenAPI's `/a/{id}/{token}` and `/a/{id}`. */
function openapiPaths(honoPath: string): string[] {
  const optional = /\/:([A-Za-z0-9_]+)\?$/.exec(honoPath);
  const variants = optional ? [honoPath.replace(/\?$/, ""), honoPath.slice(0, optional.index)] : [honoPath];
  return variants.map((p) => p.replace(/:([A-Za-z0-9_]+)/g, "{$1}"));
}

/**
 * The schema with every nested object made strict: a field the bridge sends but the document does not
 * describe fails the parse. (The document itself stays open, so clients tolerate fields added later.)
 */
function deepStrict(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) {
    return z.strictObject(Object.fromEntries(Object.entries(schema.shape as Record<string, z.ZodType>).map(([k, v]) => [k, deepStrict(v)])));
  }
  if (schema instanceof z.ZodOptional) return deepStrict(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodNullable) return deepStrict(schema.unwrap() as z.ZodType).nullable();
  if (schema instanceof z.ZodArray) return z.array(deepStrict(schema.element as z.ZodType));
  return schema;
}

/** The templated document path a concrete URL path falls under. */
function templateOf(doc: Doc, path: string): string | undefined {
  return Object.keys(doc.paths).find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path));
}

describe("OpenAPI document", () => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  const doc = buildOpenApiDocument("https://pay.example.com") as unknown as Doc;
  const storeUpdates: string[] = [];

  beforeAll(async () => {
    db = await createSqliteDatabase();
    // The production mounts (main.ts), Shopify's included, so a route added to any of them is checked.
    bridge = await createTestBridge({
      databaseUrl: db.url,
      // https: /woocommerce/connect refuses a plain-http PUBLIC_URL (WooCommerce only posts keys to https).
      config: { SHOPIFY_API_KEY: "test-api-key", SHOPIFY_API_SECRET: "test-api-secret", PUBLIC_URL: "https://bridge.test" },
      mounts: builtinMounts,
      storeFetch: async (_url, init) => {
        storeUpdates.push(String(init?.body));
        return new Response("{}", { status: 200 });
      },
    });
    store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
  });
  afterAll(async () => {
    await bridge.close();
    await db.drop();
  });

  it("validates against the OpenAPI 3.1 schema", async () => {
    const validator = new Validator();
    const served = await (await bridge.app.request("/openapi.json")).json();
    const result = await validator.validate(served);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("holds every route of the app that takes a store key, and every public store-API route", async () => {
    const routes = bridge.app.routes.filter((r) => r.method !== "ALL");
    const storeKeyRoutes: typeof routes = [];
    for (const route of routes) {
      // Asked without a key, a route behind requireApiKey answers with its challenge before anything else runs.
      const concrete = route.path.replace(/:[A-Za-z0-9_]+\??/g, "x").replace(/\*/g, "x");
      const res = await bridge.app.request(concrete, { method: route.method });
      if (res.status === 401 && res.headers.get("www-authenticate") === storeKeyChallenge) storeKeyRoutes.push(route);
    }
    const keyed = storeKeyRoutes.map((r) => `${r.method} ${r.path}`);
    for (const known of ["POST /v1/checkout_sessions", "GET /v1/checkout_sessions/:id", "POST /woocommerce/connect", "POST /woocommerce/credentials", "GET /woocommerce/status"]) {
      expect(keyed).toContain(known);
    }
    const publicRoutes = routes.filter((r) => publicApiPrefixes.some((p) => r.path.startsWith(p) || r.path === p.replace(/\/$/, "")));
    const missing: string[] = [];
    for (const route of new Set([...storeKeyRoutes, ...publicRoutes])) {
      for (const path of openapiPaths(route.path)) {
        if (!doc.paths[path]?.[route.method.toLowerCase()]) missing.push(`${route.method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("describes exactly what the WooCommerce plugin's store-key routes answer", async () => {
    // Pasted keys are checked against the shop before they are stored, so the shop must answer.
    const shop = await new WooCommerceSimulator().start();
    const wooKey = shop.createKey();
    const woo = await createStore(bridge.deps, { name: "Woo", platform: "woocommerce", credentials: { url: shop.url } });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await bridge.app.request(path, {
        method,
        headers: { authorization: `Bearer ${woo.keys.testKey}`, "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status, path).toBe(200);
      return res.json();
    };
    expect(wooStatusResponseSchema.strict().parse(await call("GET", "/woocommerce/status"))).toEqual({ connected: false, url: shop.url, connectedVia: null, lastCheck: null });
    wooConnectResponseSchema.strict().parse(await call("POST", "/woocommerce/connect", { storeUrl: shop.url, returnUrl: `${shop.url}/wp-admin/` }));
    const keys = { storeUrl: shop.url, consumerKey: wooKey.consumerKey, consumerSecret: wooKey.consumerSecret };
    wooCredentialsResponseSchema.strict().parse(await call("POST", "/woocommerce/credentials", keys));
    expect(wooStatusResponseSchema.strict().parse(await call("GET", "/woocommerce/status"))).toMatchObject({ connected: true, connectedVia: "pasted", lastCheck: { ok: true } });
    await shop.stop();
  });

  it("names every error code the WooCommerce connect route can answer", () => {
    const responses = doc.paths["/woocommerce/connect"]!.post!.responses as Record<string, { description: string }>;
    for (const code of ["callback_not_https", "validation_failed"]) expect(responses["422"]!.description).toContain(`\`${code}\``);
  });

  it("documents every error status of session creation with the error envelope", () => {
    const responses = doc.paths["/v1/checkout_sessions"]!.post!.responses as Record<string, { content?: Record<string, { schema: { $ref: string } }> }>;
    for (const status of ["201", "400", "401", "404", "409", "410", "413", "422", "429", "502"]) expect(responses[status], status).toBeDefined();
    for (const status of ["400", "401", "404", "409", "410", "413", "422", "429", "502"]) {
      expect(responses[status]!.content!["application/json"]!.schema.$ref).toBe("#/components/schemas/ErrorEnvelope");
    }
    expect(doc.webhooks.storeUpdate).toBeDefined();
  });

  it("takes the request body schema from the zod schema that validates requests", () => {
    const body = doc.paths["/v1/checkout_sessions"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(body.$ref).toBe("#/components/schemas/CreateCheckoutSessionRequest");
    expect(doc.components.schemas.CreateCheckoutSessionRequest).toEqual(jsonSchemaOf(createCheckoutSessionSchema, "input"));
  });

  it("matches what the SDK sends: method, path and body", async () => {
    const sent: { method: string; path: string; body: unknown }[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      sent.push({ method: init?.method ?? "GET", path: url.pathname, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      return bridge.app.request(`${url.pathname}${url.search}`, init);
    };
    const client = new CartbridgeClient({ baseUrl: "http://bridge.test", secretKey: store.testKey, fetch: recordingFetch });
    const created = await client.createCheckoutSession(cartBody());
    await client.getCheckoutSession(created.id);
    expect(deepStrict(checkoutSessionSchema).parse(created)).toBeTruthy();

    expect(sent.map((s) => s.method)).toEqual(["POST", "GET"]);
    for (const call of sent) {
      const template = templateOf(doc, call.path);
      expect(template, call.path).toBeDefined();
      const operation = doc.paths[template!]![call.method.toLowerCase()];
      expect(operation, `${call.method} ${template}`).toBeDefined();
      if (call.body !== undefined) {
        expect(operation!.requestBody!.content["application/json"]!.schema.$ref).toBe("#/components/schemas/CreateCheckoutSessionRequest");
        expect(createCheckoutSessionSchema.safeParse(call.body).success).toBe(true);
      }
    }
  });

  it("describes every field of a paid session and of the store update, and no more", async () => {
    const strictSession = deepStrict(checkoutSessionSchema);
    const created = await (await bridge.app.request("/v1/checkout_sessions", {
      method: "POST", headers: { authorization: `Bearer ${store.testKey}`, "content-type": "application/json" }, body: JSON.stringify(cartBody({ customer: { email: "b@example.com" } })),
    })).json();
    await simulate(bridge, (await bridge.app.request(`/pay/${created.id}`)).headers.get("location")!, "paid");
    await drain(bridge);
    const paid = await (await bridge.app.request(`/v1/checkout_sessions/${created.id}`, { headers: { authorization: `Bearer ${store.testKey}` } })).json();
    expect(paid.payments.length).toBeGreaterThan(0);
    strictSession.parse(paid);
    const update = storeUpdates.map((b) => JSON.parse(b)).find((u) => u.session?.id === created.id);
    deepStrict(storeUpdateSchema).parse(update);
    // The strict parse does refuse what the schema does not name, nested too.
    expect(strictSession.safeParse({ ...paid, undocumented: 1 }).success).toBe(false);
    expect(strictSession.safeParse({ ...paid, payments: [{ ...paid.payments[0], undocumented: 1 }] }).success).toBe(false);
  });

  it("serves a readable reference page without external resources", async () => {
    const res = await bridge.app.request("/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const text of ["POST /v1/checkout_sessions", "GET /v1/checkout_sessions/{id}", "Idempotency-Key", "storeUpdate", "webhook-signature", "ErrorEnvelope", "lineItems"]) {
      expect(html, text).toContain(text);
    }
    expect(html).not.toMatch(/<script|https?:\/\/(?!pay\.example|bridge\.test)[a-z]+\.[a-z]+\/[^"]*\.(js|css)/);
  });
});
