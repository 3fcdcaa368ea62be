import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, postSession, type TestStore } from "../../../test/support/bridge.ts";
import { rejectionsRecordedPerMinute } from "../../usecases/webhooks.ts";
import { rowCounts } from "../../../test/support/row-counts.ts";
import { rotateStoreKey } from "../../usecases/stores.ts";
import { applyPaymentObservation } from "../../usecases/apply-payment.ts";

describeEachDatabase("store API error paths: status, envelope, nothing written", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;

  beforeEach(async () => {
    db = await makeDb();
    // Pinned to the middle of a minute: the rate limit and the rejection budget count per clock minute, and
    // a run that crossed a minute boundary would get a second budget.
    const pinned = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
    bridge = await createTestBridge({ databaseUrl: db.url, clock: () => pinned, config: { RATE_LIMIT_PER_MINUTE: "30", API_BODY_LIMIT_BYTES: "4096", API_KEY_FAILURES_PER_MINUTE: "5" } });
    store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
  });
  afterEach(async () => {
    await bridge.close();
    await db.drop();
  });

  async function expectError(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(body).toMatchObject({ error: { code, type: expect.any(String), message: expect.any(String), requestId: expect.any(String) } });
    expect(res.headers.get("request-id")).toBe(body.error.requestId);
    return body.error;
  }

  it.each([
    ["no key", undefined],
    ["a malformed key", "Bearer nope"],
    ["an unknown key", "Bearer sk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
  ])("401 with %s", async (_label, authorization) => {
    const before = await rowCounts(bridge);
    const res = await bridge.app.request("/v1/checkout_sessions", {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(cartBody()),
    });
    await expectError(res, 401, "unauthenticated");
    expect(await rowCounts(bridge)).toEqual(before);
  });

  it("401 with a revoked key", async () => {
    await rotateStoreKey(bridge.deps, store.storeId, false);
    await expectError(await postSession(bridge, store.testKey, cartBody()), 401, "unauthenticated");
  });

  it.each([
    ["invalid JSON", "{not json", 400, "invalid_json", undefined],
    ["a missing field", { ...cartBody(), successUrl: undefined }, 422, "validation_failed", "successUrl"],
    ["an unknown field", { ...cartBody(), surprise: 1 }, 422, "validation_failed", "(body)"],
    ["a float amount", { ...cartBody(), amount: 40.0 }, 422, "validation_failed", "amount"],
    ["an unknown currency", cartBody({ currency: "XYZ" }), 422, "validation_failed", "currency"],
    ["cents on a yen cart", cartBody({ currency: "JPY", amount: "40.00" }), 422, "validation_failed", "lineItems.0.unitAmount"],
    ["a total that is not the cart's", cartBody({ amount: "39.99" }), 422, "amount_mismatch", "amount"],
    ["a zero quantity", cartBody({ lineItems: [{ name: "x", quantity: 0, unitAmount: "1.00" }], amount: "0.00" }), 422, "validation_failed", "lineItems.0.quantity"],
    ["a javascript: URL", cartBody({ successUrl: "javascript:alert(1)" }), 422, "validation_failed", "successUrl"],
    ["too much metadata", cartBody({ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) }), 422, "validation_failed", "metadata"],
    ["a reserved metadata key", cartBody({ metadata: { cartbridge_session_id: "x" } }), 422, "validation_failed", "metadata.cartbridge_session_id"],
    ["an unconnected provider", cartBody({ provider: "btcpay" }), 422, "provider_not_connected", "provider"],
  ].map(([label, body, status, code, field]) => ({ label, body, status, code, field })))("$label → $status $code, writes nothing", async ({ body, status, code, field }) => {
    const before = await rowCounts(bridge);
    const error = await expectError(await postSession(bridge, store.testKey, body), status as number, code as string);
    if (field) expect(error.fields.map((f: { path: string }) => f.path)).toContain(field);
    expect(await rowCounts(bridge)).toEqual(before);
  });

  it("a live key cannot use a test-only connection", async () => {
    const before = await rowCounts(bridge);
    await expectError(await postSession(bridge, store.liveKey, cartBody()), 422, "provider_not_connected");
    expect(await rowCounts(bridge)).toEqual(before);
  });

  it("413 for a body over the limit", async () => {
    const before = await rowCounts(bridge);
    const big = cartBody({ metadata: { note: "x".repeat(500) }, lineItems: Array.from({ length: 40 }, () => ({ name: "y".repeat(200), quantity: 1, unitAmount: "1.00" })) });
    await expectError(await postSession(bridge, store.testKey, big), 413, "body_too_large");
    expect(await rowCounts(bridge)).toEqual(before);
  });

  it("404 for another store's session and for unknown routes", async () => {
    const created = await (await postSession(bridge, store.testKey, cartBody())).json();
    const other = await createTestStore(bridge, "http://127.0.0.1:9/unused");
    await expectError(await bridge.app.request(`/v1/checkout_sessions/${created.id}`, { headers: { authorization: `Bearer ${other.testKey}` } }), 404, "not_found");
    await expectError(await bridge.app.request(`/v1/checkout_sessions/${created.id}`, { headers: { authorization: `Bearer ${store.liveKey}` } }), 404, "not_found");
    await expectError(await bridge.app.request("/v1/nothing"), 404, "not_found");
  });

  it("410 page for an expired session, linking back to the store", async () => {
    const created = await (await postSession(bridge, store.testKey, cartBody())).json();
    await applyPaymentObservation(bridge.deps, created.id, { outcome: "expired", transactions: [], source: "test" });
    const res = await bridge.app.request(`/pay/${created.id}`);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('href="https://shop.example/cart"');
  });

  it("429 for an address past its failed authentications, even with a right key; other addresses go on", async () => {
    // As the Node server passes it: the socket's peer.
    const from = (address: string, key: string) =>
      bridge.app.request("/v1/checkout_sessions/cs_missing", { headers: { authorization: `Bearer ${key}` } }, { incoming: { socket: { remoteAddress: address } } });
    const wrong = "sk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for (let i = 0; i < 5; i++) await expectError(await from("203.0.113.5", wrong), 401, "unauthenticated");
    const refused = await from("203.0.113.5", store.testKey);
    await expectError(refused, 429, "rate_limited");
    expect(refused.headers.get("retry-after")).toBe("30");
    // Another address: its own budget, and a right key works.
    await expectError(await from("203.0.113.6", wrong), 401, "unauthenticated");
    await expectError(await from("203.0.113.6", store.testKey), 404, "not_found");
  });

  it("429 with Retry-After past the rate limit", async () => {
    let last: Response | undefined;
    for (let i = 0; i < 31; i++) {
      last = await bridge.app.request("/v1/checkout_sessions/cs_missing", { headers: { authorization: `Bearer ${store.testKey}` } });
    }
    await expectError(last!, 429, "rate_limited");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("400 for a webhook that fails verification, 404 for an unknown endpoint; both change nothing", async () => {
    const path = new URL(store.webhookUrl).pathname;
    const before = await rowCounts(bridge);
    await expectError(await bridge.app.request(path, { method: "POST", body: "{}" }), 400, "webhook_verification_failed");
    await expectError(await bridge.app.request(path.replace(/\/[^/]+$/, "/wrongtoken"), { method: "POST", body: "{}" }), 400, "webhook_verification_failed");
    await expectError(await bridge.app.request("/v1/webhooks/sandbox/conn_missing/x", { method: "POST", body: "{}" }), 404, "not_found");
    expect(await rowCounts(bridge)).toEqual(before);
    const rejections = await bridge.deps.db.kysely.selectFrom("webhook_rejections").select("reason").execute();
    expect(rejections.map((r) => r.reason).sort()).toEqual(["missing_signature", "wrong_path_token"]);
  });

  it("a flood of forged webhooks is answered 400 each, but recorded only up to the per-minute budget", async () => {
    const path = new URL(store.webhookUrl).pathname.replace(/\/[^/]+$/, "/forged");
    for (let i = 0; i < rejectionsRecordedPerMinute + 15; i++) {
      expect((await bridge.app.request(path, { method: "POST", body: "{}" })).status).toBe(400);
    }
    const rows = await bridge.deps.db.kysely.selectFrom("webhook_rejections").select("id").execute();
    expect(rows).toHaveLength(rejectionsRecordedPerMinute);
  });
});
