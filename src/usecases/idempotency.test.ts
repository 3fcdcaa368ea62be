import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { sha256Hex } from "../crypto/secrets.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { createTestBridge } from "../../test/support/bridge.ts";
import { beginIdempotentRequest, type IdempotencyStart } from "./idempotency.ts";
import { createStore } from "./stores.ts";

/**
 * The claim's own rules, with a stand-in for the session store: `stored` plays the session rows, so a test
 * decides whether the claim's session exists (the create completed) or not (it stopped or failed).
 */
describeEachDatabase("Idempotency-Key claims", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let storeId: string;
  let now = Date.now();
  let stored: Map<string, string>;

  beforeEach(async () => {
    now = Date.now();
    stored = new Map();
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, clock: () => new Date(now) });
    storeId = (await createStore(bridge.deps, { name: "s", platform: "custom", credentials: { endpointUrl: "http://127.0.0.1:9/x" } })).storeId;
  });
  afterEach(async () => {
    await bridge.close();
    await db.drop();
  });

  const begin = (fingerprint = "POST /v1/checkout_sessions\nbody") =>
    beginIdempotentRequest(bridge.deps, {
      storeId, key: "key-1", fingerprint,
      sessionIdAt: (claimedAt) => `cs_at_${claimedAt}`,
      createdResponse: async (sessionId) => stored.get(sessionId),
    });
  const proceed = (start: IdempotencyStart) => {
    if (start.kind !== "proceed") throw new Error(`expected to proceed, got ${start.kind}`);
    return start;
  };
  const record = () => bridge.deps.db.kysely.selectFrom("idempotency_keys").selectAll().executeTakeFirstOrThrow();

  it("the claim names its session; once that session is stored, the same request replays it at once (no third write)", async () => {
    const first = proceed(await begin());
    expect(first).toMatchObject({ claimedAt: now, sessionId: `cs_at_${now}` });
    expect(await record()).toMatchObject({ state: "in_progress", session_id: `cs_at_${now}`, response_body: null });
    await expect(begin()).rejects.toMatchObject({ code: "idempotency_key_in_use" });

    stored.set(first.sessionId, JSON.stringify({ id: first.sessionId }));
    expect(await begin()).toEqual({ kind: "replay", status: 201, body: JSON.stringify({ id: first.sessionId }) });
    now += 61_000; // long after the lock: still a replay, never a takeover
    expect(await begin()).toEqual({ kind: "replay", status: 201, body: JSON.stringify({ id: first.sessionId }) });
  });

  it("another body with the key is refused, whether the first is running or done", async () => {
    const first = proceed(await begin());
    await expect(begin("POST /v1/checkout_sessions\nanother body")).rejects.toMatchObject({ code: "idempotency_key_reused" });
    stored.set(first.sessionId, "{}");
    await expect(begin("POST /v1/checkout_sessions\nanother body")).rejects.toMatchObject({ code: "idempotency_key_reused" });
  });

  it("a released claim is taken over at once by the same body, with the claim's time and session", async () => {
    const first = proceed(await begin());
    await first.release();
    now += 5_000;
    const retry = proceed(await begin());
    expect(retry).toMatchObject({ claimedAt: first.claimedAt, sessionId: first.sessionId });
    await expect(begin()).rejects.toMatchObject({ code: "idempotency_key_in_use" });
  });

  it("a holder that stalled past its lock is taken over; it can no longer release the new holder's claim", async () => {
    const stalled = proceed(await begin());
    now += 61_000;
    const takeover = proceed(await begin());
    expect(takeover.claimedAt).toBe(stalled.claimedAt);
    await stalled.release();
    // The takeover still holds the key: a third request waits instead of taking it over again.
    await expect(begin()).rejects.toMatchObject({ code: "idempotency_key_in_use" });
    await takeover.release();
    expect(proceed(await begin()).claimedAt).toBe(stalled.claimedAt);
  });

  it("a response stored by a bridge before migration 012 is still replayed", async () => {
    await bridge.deps.db.kysely.insertInto("idempotency_keys").values({
      store_id: storeId, idem_key: "key-1", request_hash: sha256Hex("POST /v1/checkout_sessions\nbody"),
      state: "done", response_status: 201, response_body: '{"id":"cs_old"}', created_at: now, locked_until: now, session_id: null,
    }).execute();
    expect(await begin()).toEqual({ kind: "replay", status: 201, body: '{"id":"cs_old"}' });
  });
});
