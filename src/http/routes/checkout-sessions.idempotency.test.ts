import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, postSession, type TestStore } from "../../../test/support/bridge.ts";
import { sandboxProvider } from "../../../plugins/sandbox/index.ts";
import { ProviderRequestError } from "../../../plugins/types.ts";
import { createCheckoutSessionSchema } from "../../api/schemas.ts";
import { addConnection } from "../../usecases/connections.ts";
import { createCheckoutSession } from "../../usecases/create-checkout-session.ts";
import { beginIdempotentRequest } from "../../usecases/idempotency.ts";

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

  it("a provider that is not connected forgets the key: the corrected request with the same key succeeds", async () => {
    const wrong = await postSession(bridge, store.testKey, cartBody({ provider: "gstable" }), { "idempotency-key": "fix-me" });
    expect(wrong.status).toBe(422);
    expect((await wrong.json()).error.code).toBe("provider_not_connected");
    const fixed = await postSession(bridge, store.testKey, cartBody(), { "idempotency-key": "fix-me" });
    expect(fixed.status).toBe(201);
  });

  it("a create that stored its session and stopped before answering: after its lock the retry answers that session, and the platform was asked once", async () => {
    let now = Date.now();
    const calls = await recordingSandbox({ clock: () => new Date(now) });
    const body = JSON.stringify(cartBody({ provider: "recording" }));
    // The first request, up to its session insert, and no further (its process stops there).
    const input = createCheckoutSessionSchema.parse(JSON.parse(body));
    const started = await beginIdempotentRequest(bridge.deps, store.storeId, "stopped", `POST /v1/checkout_sessions\nfalse\n${body}`);
    if (started.kind !== "proceed") throw new Error("expected to proceed");
    const stored = await createCheckoutSession(bridge.deps, { store: { storeId: store.storeId, livemode: false, defaultProvider: "sandbox" }, input, idempotencyKey: "stopped", claim: started });

    const meanwhile = await postSession(bridge, store.testKey, body, { "idempotency-key": "stopped" });
    expect(meanwhile.status).toBe(409);
    now += 61_000;
    const retried = await postSession(bridge, store.testKey, body, { "idempotency-key": "stopped" });
    expect(retried.status).toBe(201);
    expect(((await retried.json()) as { id: string }).id).toBe(stored.id);
    const replayed = await postSession(bridge, store.testKey, body, { "idempotency-key": "stopped" });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(calls).toHaveLength(1);
    expect(await sessions()).toBe(1);
  });

  it("two holders of one claim (the first stalled past its lock) store one session, and both answer it", async () => {
    let now = Date.now();
    await recordingSandbox({ clock: () => new Date(now) });
    const body = JSON.stringify(cartBody({ provider: "recording" }));
    const input = createCheckoutSessionSchema.parse(JSON.parse(body));
    const authenticated = { storeId: store.storeId, livemode: false, defaultProvider: "sandbox" };
    const begin = async () => {
      const started = await beginIdempotentRequest(bridge.deps, store.storeId, "twice", `POST /v1/checkout_sessions\nfalse\n${body}`);
      if (started.kind !== "proceed") throw new Error("expected to proceed");
      return started;
    };
    const stalled = await begin();
    now += 61_000;
    const takeover = await begin();
    const [a, b] = await Promise.all([
      createCheckoutSession(bridge.deps, { store: authenticated, input, idempotencyKey: "twice", claim: stalled }),
      createCheckoutSession(bridge.deps, { store: authenticated, input, idempotencyKey: "twice", claim: takeover }),
    ]);
    expect(a.id).toBe(b.id);
    expect(await stalled.complete(201, a)).toBe(false);
    expect(await takeover.complete(201, b)).toBe(true);
    expect(await sessions()).toBe(1);
  });
});
