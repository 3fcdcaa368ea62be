import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { createTestBridge } from "../../test/support/bridge.ts";
import { beginIdempotentRequest, type IdempotencyStart } from "./idempotency.ts";
import { createStore } from "./stores.ts";

describeEachDatabase("Idempotency-Key takeover after a stalled request", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let storeId: string;
  let now = Date.now();

  beforeEach(async () => {
    now = Date.now();
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, clock: () => new Date(now) });
    storeId = (await createStore(bridge.deps, { name: "s", platform: "custom", credentials: { endpointUrl: "http://127.0.0.1:9/x" } })).storeId;
  });
  afterEach(async () => {
    await bridge.close();
    await db.drop();
  });

  const begin = () => beginIdempotentRequest(bridge.deps, storeId, "key-1", "POST /v1/checkout_sessions\nbody");
  const proceed = (start: IdempotencyStart) => {
    if (start.kind !== "proceed") throw new Error(`expected to proceed, got ${start.kind}`);
    return start;
  };
  const complete = (start: ReturnType<typeof proceed>, body: unknown) => start.complete(201, body);

  it("the request that lost its key can neither complete nor delete it; the new holder's answer is replayed", async () => {
    const stalled = proceed(await begin());
    await expect(begin()).rejects.toMatchObject({ code: "idempotency_key_in_use" });

    now += 61_000; // the first holder's lock ran out (its process looks dead)
    const takeover = proceed(await begin());

    expect(takeover).toMatchObject({ tookOver: true, claimedAt: stalled.claimedAt });
    expect(await complete(stalled, { id: "cs_stalled" })).toBe(false);
    await stalled.abandon({ reachedProvider: false });
    await stalled.abandon({ reachedProvider: true });
    expect(await complete(takeover, { id: "cs_takeover" })).toBe(true);

    const replay = await begin();
    expect(replay).toEqual({ kind: "replay", status: 201, body: JSON.stringify({ id: "cs_takeover" }) });
  });

  it("a request that reached no provider forgets the key: any retry starts afresh", async () => {
    const first = proceed(await begin());
    await first.abandon({ reachedProvider: false });
    now += 5_000;
    const other = proceed(await beginIdempotentRequest(bridge.deps, storeId, "key-1", "POST /v1/checkout_sessions\nanother body"));
    expect(other).toMatchObject({ tookOver: false, claimedAt: now });
    await complete(other, { id: "cs_retry" });
    expect(await beginIdempotentRequest(bridge.deps, storeId, "key-1", "POST /v1/checkout_sessions\nanother body")).toMatchObject({ kind: "replay" });
  });

  it("a request that reached the provider keeps its claim, free: the same body takes it over with the claim's time", async () => {
    const first = proceed(await begin());
    await first.abandon({ reachedProvider: true });
    now += 5_000;
    await expect(beginIdempotentRequest(bridge.deps, storeId, "key-1", "POST /v1/checkout_sessions\nanother body")).rejects.toMatchObject({
      code: "idempotency_key_reused",
    });
    const retry = proceed(await begin());
    expect(retry).toMatchObject({ tookOver: true, claimedAt: first.claimedAt });
    expect(retry.claimedAt).toBe(now - 5_000);
    await complete(retry, { id: "cs_retry" });
    expect(await begin()).toMatchObject({ kind: "replay", body: JSON.stringify({ id: "cs_retry" }) });
  });
});
