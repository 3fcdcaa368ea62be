import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestStore, postSession, createTestBridge } from "../../test/support/bridge.ts";
import { sandboxProvider } from "../../plugins/sandbox/index.ts";
import { ProviderRequestError } from "../../plugins/types.ts";
import { addConnection } from "../usecases/connections.ts";

describeEachDatabase("health endpoints", (makeDb, dialect) => {
  let db: TestDatabase;
  let bridge: Bridge;
  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url });
  });
  afterEach(async () => {
    await bridge.close().catch(() => {});
    await db.drop();
  });

  it("healthz answers; readyz reports the database, and 503 when it is gone", async () => {
    expect((await bridge.app.request("/healthz")).status).toBe(200);
    const ready = await bridge.app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: dialect });
    await bridge.deps.db.close();
    expect((await bridge.app.request("/readyz")).status).toBe(503);
  });

  it("every answer carries a request id; JSON logs carry it too", async () => {
    const lines: string[] = [];
    const { createLogger } = await import("../logger.ts");
    await bridge.close();
    bridge = await createTestBridge({ databaseUrl: db.url, logger: createLogger("info", {}, (l) => lines.push(l)) });
    const res = await bridge.app.request("/healthz");
    const id = res.headers.get("request-id");
    expect(id).toBeTruthy();
    const entry = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
    expect(entry).toMatchObject({ level: "info", requestId: id, method: "GET", path: "/healthz", status: 200 });
  });

  it("a line logged inside a use case carries the request id of the request it serves", async () => {
    const lines: string[] = [];
    const { createLogger } = await import("../logger.ts");
    await bridge.close();
    // A platform that refuses: the create use case logs the failure itself, far from the HTTP layer.
    const failing = { ...sandboxProvider, name: "failing", createSession: async () => { throw new ProviderRequestError("platform down", true); } };
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders: [failing], logger: createLogger("info", {}, (l) => lines.push(l)) });
    const store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
    await addConnection(bridge.deps, { storeId: store.storeId, provider: "failing", livemode: false, credentials: {} });
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "failing" }));
    expect(res.status).toBe(502);
    const id = res.headers.get("request-id");
    const inner = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "provider session creation failed");
    expect(inner, JSON.stringify(lines)).toHaveLength(1);
    expect(inner[0].requestId).toBe(id);
  });
});
