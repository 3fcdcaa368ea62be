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
  const complete = (start: ReturnType<typeof proceed>, body: unknown) =>
    bridge.deps.db.kysely.transaction().execute((trx) => start.complete(trx, 201, body));

  it("the request that lost its key can neither complete nor delete it; the new holder's answer is replayed", async () => {
    const stalled = proceed(await begin());
    await expect(begin()).rejects.toMatchObject({ code: "idempotency_key_in_use" });

    now += 61_000; // the first holder's lock ran out (its process looks dead)
    const takeover = proceed(await begin());

    await expect(complete(stalled, { id: "cs_stalled" })).rejects.toMatchObject({ code: "idempotency_key_in_use" });
    await stalled.abandon();
    await complete(takeover, { id: "cs_takeover" });

    const replay = await begin();
    expect(replay).toEqual({ kind: "replay", status: 201, body: JSON.stringify({ id: "cs_takeover" }) });
  });

  it("abandoning frees the key for a clean retry", async () => {
    const first = proceed(await begin());
    await first.abandon();
    const retry = proceed(await begin());
    await complete(retry, { id: "cs_retry" });
    expect(await begin()).toMatchObject({ kind: "replay" });
  });
});
