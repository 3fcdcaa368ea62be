import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, postSession, type TestStore } from "../../../test/support/bridge.ts";
import { sandboxProvider } from "../../../plugins/sandbox/index.ts";
import { ProviderRequestError } from "../../../plugins/types.ts";
import { createCheckoutSessionSchema } from "../../api/schemas.ts";
import { addConnection } from "../../usecases/connections.ts";
import { createCheckoutSessionOnce, priceCart } from "../../usecases/create-checkout-session.ts";

describeEachDatabase("Idempotency-Key on POST /v1/checkout_sessions", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url });
    store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
  });
  afterEach(async () => {
    await bridge.close();
    await db.drop();
  });

  const sessions = async () => (await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("id").execute()).length;

  it("replays the first response for the same key and body", async () => {
    const first = await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "order-1001-a" });
    const second = await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "order-1001-a" });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.json()).toEqual(await first.json());
    expect(await sessions()).toBe(1);
  });

  it("refuses the same key with a different body, and writes nothing", async () => {
    await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "k1" });
    const res = await postSession(bridge, store.testKey, cartBody({ amount: "41.00", shippingAmount: "5.99" }), { "idempotency-key": "k1" });
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe("idempotency_key_reused");
    expect(await sessions()).toBe(1);
  });

  it("keys are case-sensitive on every database, as Stripe's are", async () => {
    expect((await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "Order-1" })).status).toBe(201);
    expect((await postSession(bridge, store.testKey, cartBody({ amount: "41.00", shippingAmount: "5.99" }), { "idempotency-key": "order-1" })).status).toBe(201);
    expect(await sessions()).toBe(2);
  });

  it("keys are per store: another store may use the same key", async () => {
    const other = await createTestStore(bridge, "http://127.0.0.1:9/unused");
    expect((await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "same" })).status).toBe(201);
    expect((await postSession(bridge, other.testKey, cartBody(), { "idempotency-key": "same" })).status).toBe(201);
    expect(await sessions()).toBe(2);
  });

  it("does not store a failed validation: the corrected retry with the same key succeeds", async () => {
    const bad = await postSession(bridge, store.testKey, cartBody({ amount: "1.00" }), { "idempotency-key": "fixme" });
    expect(bad.status).toBe(422);
    expect((await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "fixme" })).status).toBe(201);
  });

  it("a cart that does not add up is 422 before the key is taken: concurrent retries all get 422, none 409", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => postSession(bridge, store.testKey, cartBody({ amount: "1.00" }), { "idempotency-key": "bad-cart" })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(422));
    expect(await bridge.deps.db.kysely.selectFrom("idempotency_keys").select("idem_key").execute()).toEqual([]);
  });

  it("a request while the first with its key is still at the provider gets 409 with Retry-After, then replays", async () => {
    await bridge.close();
    // The sandbox, held at the provider call until the test lets it go: the first request is surely in flight.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    const gated = { ...sandboxProvider, name: "gated", createSession: async (...args: Parameters<typeof sandboxProvider.createSession>) => {
      calls++;
      await held;
      return sandboxProvider.createSession(...args);
    } };
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders: [gated] });
    await addConnection(bridge.deps, { storeId: store.storeId, provider: "gated", livemode: false, credentials: {} });
    const body = cartBody({ provider: "gated" });
    const first = postSession(bridge, store.testKey, body, { "idempotency-key": "held" });
    while (calls === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await postSession(bridge, store.testKey, body, { "idempotency-key": "held" });
    expect(second.status).toBe(409);
    expect(second.headers.get("retry-after")).toBe("1");
    expect((await second.json()).error.code).toBe("idempotency_key_in_use");
    release();
    expect((await first).status).toBe(201);
    const third = await postSession(bridge, store.testKey, body, { "idempotency-key": "held" });
    expect(third.headers.get("idempotent-replayed")).toBe("true");
    expect(calls).toBe(1);
    expect(await sessions()).toBe(1);
  });

  it("concurrent requests with one key create exactly one session; the others replay or get 409", async () => {
    const results = await Promise.all(
      Array.from({ length: 25 }, () => postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "burst" })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    const ids = new Set(await Promise.all(results.filter((r) => r.status === 201).map(async (r) => (await r.json()).id)));
    expect(ids.size).toBe(1);
    for (const r of results.filter((r) => r.status === 409)) {
      expect((await r.json()).error.code).toBe("idempotency_key_in_use");
      expect(r.headers.get("retry-after")).toBe("1");
    }
    expect(await sessions()).toBe(1);
  });

  /** The sandbox under another name, counting its calls and the idempotency key each carried; it can fail first. */
  const recordingSandbox = async (options: { failFirst?: boolean; clock?: () => Date } = {}) => {
    await bridge.close();
    const keys: string[] = [];
    const recording = { ...sandboxProvider, name: "recording", createSession: async (...args: Parameters<typeof sandboxProvider.createSession>) => {
      keys.push(args[0].idempotencyKey);
      if (options.failFirst && keys.length === 1) throw new ProviderRequestError("the answer was lost", true);
      return sandboxProvider.createSession(...args);
    } };
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders: [recording], ...(options.clock ? { clock: options.clock } : {}) });
    await addConnection(bridge.deps, { storeId: store.storeId, provider: "recording", livemode: false, credentials: {} });
    return keys;
  };

  it("a failure after the platform was asked keeps the claim: the retry sends the platform the same key; another body is refused", async () => {
    const calls = await recordingSandbox({ failFirst: true });
    const body = cartBody({ provider: "recording" });
    const failed = await postSession(bridge, store.testKey, body, { "idempotency-key": "lost-answer" });
    expect(failed.status).toBe(502);
    expect((await failed.json()).error.code).toBe("provider_unavailable");
    const changed = await postSession(bridge, store.testKey, cartBody({ provider: "recording", customer: { email: "other@example.com" } }), { "idempotency-key": "lost-answer" });
    expect(changed.status).toBe(422);
    expect((await changed.json()).error.code).toBe("idempotency_key_reused");
    const retried = await postSession(bridge, store.testKey, body, { "idempotency-key": "lost-answer" });
    expect(retried.status).toBe(201);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toBe(calls[0]);
    expect(await sessions()).toBe(1);
  });

  it("a provider that is not connected is refused before the key is taken: the corrected request with the same key succeeds", async () => {
    const wrong = await postSession(bridge, store.testKey, cartBody({ provider: "gstable" }), { "idempotency-key": "fix-me" });
    expect(wrong.status).toBe(422);
    expect((await wrong.json()).error.code).toBe("provider_not_connected");
    expect(await bridge.deps.db.kysely.selectFrom("idempotency_keys").select("idem_key").execute()).toEqual([]);
    const fixed = await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "fix-me" });
    expect(fixed.status).toBe(201);
  });

  it("a create that stored its session and stopped before answering: the retry replays it at once, as it was created", async () => {
    const calls = await recordingSandbox();
    const body = JSON.stringify(cartBody({ provider: "recording" }));
    // The first request runs to its session insert; its answer never reaches the store.
    const input = createCheckoutSessionSchema.parse(JSON.parse(body));
    const authenticated = { storeId: store.storeId, livemode: false, defaultProvider: "sandbox" };
    const lost = await createCheckoutSessionOnce(bridge.deps, {
      store: authenticated, input, cart: priceCart(input), idempotencyKey: "stopped", fingerprint: `POST /v1/checkout_sessions\nfalse\n${body}`,
    });
    if (lost.replayed) throw new Error("expected a new session");
    // Meanwhile the buyer paid: the replay is still the first response (the current state is GET's job).
    await bridge.deps.db.kysely.updateTable("checkout_sessions").set({ status: "paid", amount_paid_minor: "4000" }).execute();

    const retried = await postSession(bridge, store.testKey, body, { "idempotency-key": "stopped" });
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    expect(await retried.text()).toBe(JSON.stringify(lost.session));
    expect(lost.session).toMatchObject({ status: "open", amountPaid: "0.00", payments: [] });
    expect(calls).toHaveLength(1);
    expect(await sessions()).toBe(1);
  });

  it("the replay of a completed create is byte for byte its first answer", async () => {
    const first = await postSession(bridge, store.testKey, cartBody({ metadata: { cart: "7" } }), { "idempotency-key": "bytes" });
    const again = await postSession(bridge, store.testKey, cartBody({ metadata: { cart: "7" } }), { "idempotency-key": "bytes" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(await first.text());
  });

  it("two holders of one claim (the first stalled past its lock) store one session, and both answer it", async () => {
    let now = Date.now();
    await bridge.close();
    // The first call to the platform is held until the test lets it go: its request stalls past its lock.
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    const keys: string[] = [];
    const stalling = { ...sandboxProvider, name: "stalling", createSession: async (...args: Parameters<typeof sandboxProvider.createSession>) => {
      keys.push(args[0].idempotencyKey);
      if (keys.length === 1) await firstHeld;
      return sandboxProvider.createSession(...args);
    } };
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders: [stalling], clock: () => new Date(now) });
    await addConnection(bridge.deps, { storeId: store.storeId, provider: "stalling", livemode: false, credentials: {} });
    const body = cartBody({ provider: "stalling" });

    const stalled = postSession(bridge, store.testKey, body, { "idempotency-key": "twice" });
    while (keys.length === 0) await new Promise((r) => setTimeout(r, 5));
    now += 61_000;
    const takeover = await postSession(bridge, store.testKey, body, { "idempotency-key": "twice" });
    expect(takeover.status).toBe(201);
    releaseFirst();
    const late = await stalled;
    expect(late.status).toBe(201);
    expect((await late.json()).id).toBe((await takeover.json()).id);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(await sessions()).toBe(1);
  });
});
