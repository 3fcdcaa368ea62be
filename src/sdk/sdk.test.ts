/**
 * The SDK against a real bridge over HTTP on 127.0.0.1, and its webhook verifier against the bridge's
 * real signed deliveries. Not a data-layer test: one SQLite bridge suffices.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import type { StoreUpdate as CoreStoreUpdate } from "../stores/port.ts";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, drain, simulate, type TestStore } from "../../test/support/bridge.ts";
import { CartbridgeClient, CartbridgeConnectionError, CartbridgeError, verifyWebhook, WebhookSignatureError, type StoreUpdate } from "./index.ts";

describe("SDK", () => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  let server: ServerType;
  let baseUrl: string;
  const deliveries: { body: string; headers: Record<string, string> }[] = [];

  beforeAll(async () => {
    db = await createSqliteDatabase();
    bridge = await createTestBridge({
      databaseUrl: db.url,
      // The custom adapter's outbound request, captured as the store's server would receive it.
      storeFetch: async (_url, init) => {
        deliveries.push({ body: String(init?.body), headers: Object.fromEntries(new Headers(init?.headers).entries()) });
        return new Response('{"ok":true}', { status: 200 });
      },
    });
    store = await createTestStore(bridge, "https://shop.example/cartbridge");
    server = serve({ fetch: bridge.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await bridge.close();
    await db.drop();
  });

  it("creates and retrieves a session over HTTP", async () => {
    const client = new CartbridgeClient({ baseUrl, secretKey: store.testKey });
    const session = await client.createCheckoutSession(cartBody({ order: { id: "sdk-1" } }), { idempotencyKey: "order-sdk-1" });
    expect(session).toMatchObject({ object: "checkout_session", status: "open", amount: "40.00", order: { id: "sdk-1" } });
    const again = await client.createCheckoutSession(cartBody({ order: { id: "sdk-1" } }), { idempotencyKey: "order-sdk-1" });
    expect(again.id).toBe(session.id);
    expect((await client.getCheckoutSession(session.id)).id).toBe(session.id);
  });

  it("throws typed errors carrying the envelope", async () => {
    const client = new CartbridgeClient({ baseUrl, secretKey: store.testKey, maxRetries: 0 });
    const invalid = await client.createCheckoutSession({ ...cartBody(), amount: "abc" }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(CartbridgeError);
    expect(invalid).toMatchObject({ status: 422, code: "validation_failed", type: "invalid_request_error" });
    expect((invalid as CartbridgeError).fields?.map((f) => f.path)).toContain("amount");
    expect((invalid as CartbridgeError).requestId).toBeTruthy();

    const missing = await client.getCheckoutSession("cs_000000000000000000000000").catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: "not_found" });
    const unauthenticated = await new CartbridgeClient({ baseUrl, secretKey: "sk_test_notarealkey123456" }).getCheckoutSession("cs_x").catch((e: unknown) => e);
    expect(unauthenticated).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("retries network errors, 5xx and 429 with one idempotency key, honouring Retry-After", async () => {
    const keys: (string | null)[] = [];
    const delays: number[] = [];
    let call = 0;
    const flakyFetch: typeof fetch = async (input, init) => {
      keys.push(new Headers(init?.headers).get("idempotency-key"));
      call++;
      if (call === 1) throw new TypeError("fetch failed: ECONNRESET");
      if (call === 2) return new Response(JSON.stringify({ error: { type: "api_error", code: "internal_error", message: "x", requestId: "r" } }), { status: 503 });
      if (call === 3) return new Response(JSON.stringify({ error: { type: "rate_limit_error", code: "rate_limited", message: "x", requestId: "r" } }), { status: 429, headers: { "retry-after": "7" } });
      return fetch(input, init);
    };
    const client = new CartbridgeClient({ baseUrl, secretKey: store.testKey, fetch: flakyFetch, retryBaseDelayMs: 100, sleep: async (ms) => void delays.push(ms) });
    const session = await client.createCheckoutSession(cartBody({ order: { id: "sdk-retry" } }));
    expect(session.order.id).toBe("sdk-retry");
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(delays[2]).toBe(7000);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    const rows = await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("id").where("order_id", "=", "sdk-retry").execute();
    expect(rows).toHaveLength(1);
  });

  it("gives up after the retries with a connection error, and does not retry a 4xx", async () => {
    let calls = 0;
    const down = new CartbridgeClient({ baseUrl, secretKey: store.testKey, maxRetries: 2, sleep: async () => {}, fetch: async () => { calls++; throw new TypeError("fetch failed"); } });
    await expect(down.getCheckoutSession("cs_x")).rejects.toBeInstanceOf(CartbridgeConnectionError);
    expect(calls).toBe(3);
    let badCalls = 0;
    const counting: typeof fetch = async (input, init) => { badCalls++; return fetch(input, init); };
    const client = new CartbridgeClient({ baseUrl, secretKey: store.testKey, fetch: counting, sleep: async () => {} });
    await expect(client.createCheckoutSession({ ...cartBody(), currency: "US" })).rejects.toMatchObject({ status: 422 });
    expect(badCalls).toBe(1);
  });

  it("verifies the bridge's signed store update and returns it typed", async () => {
    const client = new CartbridgeClient({ baseUrl, secretKey: store.testKey });
    const session = await client.createCheckoutSession(cartBody({ order: { id: "sdk-hook" } }));
    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    await simulate(bridge, hosted, "paid");
    await drain(bridge);
    const delivery = deliveries.find((d) => d.body.includes(session.id))!;
    expect(delivery).toBeDefined();

    const update = verifyWebhook(delivery.body, delivery.headers, store.signingSecret);
    expectTypeOf(update).toEqualTypeOf<StoreUpdate>();
    expectTypeOf<CoreStoreUpdate>().toMatchTypeOf<StoreUpdate>();
    expect(update).toMatchObject({ type: "checkout_session.paid", session: { id: session.id, status: "paid", amountPaid: "40.00" } });
    expect(update.id).toBe(delivery.headers["webhook-id"]);
    expect(verifyWebhook(new TextEncoder().encode(delivery.body), new Headers(delivery.headers), store.signingSecret).id).toBe(update.id);

    const reason = (fn: () => unknown) => {
      try {
        fn();
        return "accepted";
      } catch (err) {
        return err instanceof WebhookSignatureError ? err.reason : String(err);
      }
    };
    expect(reason(() => verifyWebhook(delivery.body.replace("40.00", "4000.00"), delivery.headers, store.signingSecret))).toBe("bad_signature");
    expect(reason(() => verifyWebhook(delivery.body, delivery.headers, "whsec_" + Buffer.from("x".repeat(32)).toString("base64")))).toBe("bad_signature");
    expect(reason(() => verifyWebhook(delivery.body, { ...delivery.headers, "webhook-signature": "" }, store.signingSecret))).toBe("missing_headers");
    const sentAt = Number(delivery.headers["webhook-timestamp"]) * 1000;
    const later = () => new Date(sentAt + 10 * 60_000);
    expect(reason(() => verifyWebhook(delivery.body, delivery.headers, store.signingSecret, { now: later }))).toBe("stale_timestamp");
    expect(reason(() => verifyWebhook(delivery.body, delivery.headers, store.signingSecret, { now: later, toleranceSeconds: 900 }))).toBe("accepted");
  });
});
