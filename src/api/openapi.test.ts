/**
 * The OpenAPI document: valid OpenAPI 3.1, complete (every store-API route of the real app is in it),
 * and in step with the SDK. Not a data-layer test: one SQLite bridge suffices.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { consoleRoutes } from "../console/routes.tsx";
import { metricsRoutes } from "../metrics/index.ts";
import { CartbridgeClient } from "../sdk/index.ts";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, type TestStore } from "../../test/support/bridge.ts";
import { buildOpenApiDocument, jsonSchemaOf, openapiRoutes } from "./openapi.ts";
import { checkoutSessionSchema, createCheckoutSessionSchema } from "./schemas.ts";

type Doc = { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> }; webhooks: Record<string, unknown> };

const storeApiPrefixes = ["/v1/", "/pay/", "/healthz", "/readyz"];

/** Hono's `/a/:id/:token?` → OpenAPI's `/a/{id}/{token}` and `/a/{id}`. */
function openapiPaths(honoPath: string): string[] {
  const optional = /\/:([A-Za-z0-9_]+)\?$/.exec(honoPath);
  const variants = optional ? [honoPath.replace(/\?$/, ""), honoPath.slice(0, optional.index)] : [honoPath];
  return variants.map((p) => p.replace(/:([A-Za-z0-9_]+)/g, "{$1}"));
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

  beforeAll(async () => {
    db = await createSqliteDatabase();
    bridge = await createTestBridge({
      databaseUrl: db.url,
      mounts: (deps) => [
        { path: "/", app: openapiRoutes(deps) },
        { path: "/dashboard", app: consoleRoutes(deps) },
        { path: "/metrics", app: metricsRoutes(deps) },
      ],
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

  it("holds every route of the store API the app serves", () => {
    const routes = bridge.app.routes.filter((r) => r.method !== "ALL" && storeApiPrefixes.some((p) => r.path.startsWith(p) || r.path === p.replace(/\/$/, "")));
    expect(routes.length).toBeGreaterThanOrEqual(6);
    const missing: string[] = [];
    for (const route of routes) {
      for (const path of openapiPaths(route.path)) {
        if (!doc.paths[path]?.[route.method.toLowerCase()]) missing.push(`${route.method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
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
    expect(checkoutSessionSchema.parse(created)).toBeTruthy();

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
