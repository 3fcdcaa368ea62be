import { afterEach, beforeEach, expect, it } from "vitest";
import { z } from "zod";
import type { Bridge } from "../bridge.ts";
import { ProviderRequestError, type PaymentProvider } from "../../plugins/types.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, postSession } from "../../test/support/bridge.ts";
import { rowCounts } from "../../test/support/row-counts.ts";
import { addConnection } from "./connections.ts";
import { createStore } from "./stores.ts";

/** What the failing platform throws next; each test sets it. */
let failure: Error = new Error("unset");
const failing: PaymentProvider<Record<string, never>, Record<string, never>> = {
  name: "failing",
  displayName: "Failing platform",
  credentialsSchema: z.object({}).strict() as never,
  settingsSchema: z.object({}).strict() as never,
  webhookTrust: "signed",
  async createSession() {
    throw failure;
  },
  async verifyWebhook() {
    throw new Error("not used");
  },
};

describeEachDatabase("a platform that refuses to create a session", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let key: string;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders: [failing] });
    const store = await createStore(bridge.deps, {
      name: "Shop",
      platform: "custom",
      defaultProvider: "failing",
      credentials: { endpointUrl: "http://127.0.0.1:9/unused" },
    });
    await addConnection(bridge.deps, { storeId: store.storeId, provider: "failing", livemode: false, credentials: {} });
    key = store.keys.testKey;
  });
  afterEach(async () => {
    await bridge.close();
    await db.drop();
  });

  it("tells the shop the adapter's reason and whether to retry, and writes no session", async () => {
    const before = await rowCounts(bridge);
    failure = new ProviderRequestError("HTTP 401 authentication_error: Invalid API key\n(request req_1)", false, 401);
    const refused = await postSession(bridge, key, cartBody());
    expect(refused.status).toBe(502);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("provider_unavailable");
    expect(error.message).toBe(
      "Failing platform did not create the session: HTTP 401 authentication_error: Invalid API key (request req_1) (check the connection's settings).",
    );

    failure = new ProviderRequestError("Failing platform is unreachable: ECONNREFUSED", true);
    const down = await postSession(bridge, key, cartBody());
    expect(((await down.json()) as { error: { message: string } }).error.message).toMatch(/unreachable: ECONNREFUSED \(it is safe to retry\)\.$/);
    expect(await rowCounts(bridge)).toEqual(before);
  });

  it("keeps an unexpected exception's text out of the answer (it may carry internals)", async () => {
    failure = new TypeError("Cannot read properties of undefined (reading 'apiKey') at /srv/secret/path.js:12");
    const res = await postSession(bridge, key, cartBody());
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toContain("Failing platform did not create the session (it is safe to retry).");
    expect(text).not.toMatch(/apiKey|secret\/path/);
  });

  it("bounds a platform's very long error to one short line", async () => {
    failure = new ProviderRequestError(`HTTP 400 ${"x".repeat(5000)}`, false, 400);
    const { error } = (await (await postSession(bridge, key, cartBody())).json()) as { error: { message: string } };
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toContain("…");
  });
});
