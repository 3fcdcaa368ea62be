import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { buildSandboxEvent, signatureHeader, signSandboxPayload } from "../../plugins/sandbox/index.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { resolveConnection } from "./connections.ts";
import { toHostedView } from "./session-records.ts";

describeEachDatabase("webhook pipeline", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  let endpoint: StoreEndpoint;
  let secret: string;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, workers: true });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    store = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    secret = ((await resolveConnection(bridge.deps, store.connectionId))!.ctx.credentials as { webhookSecret: string }).webhookSecret;
  });
  afterEach(async () => {
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  });

  async function newSession() {
    const created = await (await postSession(bridge, store.testKey, cartBody())).json();
    const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", created.id).executeTakeFirstOrThrow();
    return toHostedView(row);
  }

  function signed(event: unknown, at = new Date()) {
    const body = JSON.stringify(event);
    return { body, headers: { "content-type": "application/json", [signatureHeader]: signSandboxPayload(secret, Math.floor(at.getTime() / 1000), body) } };
  }

  const post = (req: { body: string; headers: Record<string, string> }) =>
    bridge.app.request(new URL(store.webhookUrl).pathname, { method: "POST", ...req });

  it("1,000 concurrent deliveries of one event produce exactly one store update", async () => {
    const session = await newSession();
    const req = signed(buildSandboxEvent(session, "paid", new Date()));
    const responses = await Promise.all(Array.from({ length: 1000 }, () => post(req)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);

    await endpoint.waitFor((r) => r.length >= 1);
    await drain(bridge);
    await new Promise((r) => setTimeout(r, 200));
    expect(endpoint.received).toHaveLength(1);
    expect(endpoint.received[0]!.update.type).toBe("checkout_session.paid");
    const events = await bridge.deps.db.kysely.selectFrom("webhook_events").select("id").execute();
    const updates = await bridge.deps.db.kysely.selectFrom("store_updates").select("id").execute();
    expect([events.length, updates.length]).toEqual([1, 1]);
  });

  it("distinct events with the same outcome still update the store once", async () => {
    const session = await newSession();
    await Promise.all(Array.from({ length: 50 }, () => post(signed(buildSandboxEvent(session, "paid", new Date())))));
    await drain(bridge);
    await endpoint.waitFor((r) => r.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(endpoint.received).toHaveLength(1);
  });

  it("event ids longer than the indexed column are told apart by their whole text, and still deduplicated", async () => {
    const session = await newSession();
    const prefix = `evt_${"x".repeat(300)}`;
    const first = signed({ ...buildSandboxEvent(session, "underpaid", new Date()), id: `${prefix}-1` });
    const second = signed({ ...buildSandboxEvent(session, "paid", new Date()), id: `${prefix}-2` });
    const bodies = [];
    for (const req of [first, second, first]) bodies.push(await (await post(req)).json());
    expect(bodies.map((b) => Boolean(b.duplicate))).toEqual([false, false, true]);
    const keys = await bridge.deps.db.kysely.selectFrom("webhook_events").select("event_id").execute();
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => /^sha256:[0-9a-f]{64}$/.test(k.event_id))).toBe(true);
  });

  it("a late or out-of-order event never turns a paid session back", async () => {
    const session = await newSession();
    await post(signed(buildSandboxEvent(session, "paid", new Date())));
    await drain(bridge);
    for (const outcome of ["expired", "failed", "underpaid"] as const) {
      expect((await post(signed(buildSandboxEvent(session, outcome, new Date())))).status).toBe(200);
    }
    await drain(bridge);
    const got = await (await bridge.app.request(`/v1/checkout_sessions/${session.id}`, { headers: { authorization: `Bearer ${store.testKey}` } })).json();
    expect(got.status).toBe("paid");
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    const ignored = await bridge.deps.db.kysely.selectFrom("session_events").select("kind").where("session_id", "=", session.id).where("kind", "=", "observation_ignored").execute();
    expect(ignored).toHaveLength(3);
  });

  it("an expired session that is then paid becomes paid_late, and the store hears both", async () => {
    const session = await newSession();
    await post(signed(buildSandboxEvent(session, "expired", new Date())));
    await drain(bridge);
    await post(signed(buildSandboxEvent(session, "paid", new Date())));
    await drain(bridge);
    await endpoint.waitFor((r) => r.length >= 2);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.expired", "checkout_session.paid_late"]);
  });

  it("refuses a stale timestamp, a changed byte, a re-serialized body and a wrong secret", async () => {
    const session = await newSession();
    const event = buildSandboxEvent(session, "paid", new Date());
    const stale = signed(event, new Date(Date.now() - 301_000));
    expect((await post(stale)).status).toBe(400);

    const good = signed(event);
    expect((await post({ ...good, body: good.body.replace('"paid"', '"pai d"') })).status).toBe(400);
    expect((await post({ ...good, body: JSON.stringify(JSON.parse(good.body), null, 2) })).status).toBe(400);
    const forged = JSON.stringify(event);
    const wrongSecret = { body: forged, headers: { [signatureHeader]: signSandboxPayload("not-the-secret-at-all", Math.floor(Date.now() / 1000), forged) } };
    expect((await post(wrongSecret)).status).toBe(400);

    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    const reasons = (await bridge.deps.db.kysely.selectFrom("webhook_rejections").select("reason").execute()).map((r) => r.reason).sort();
    expect(reasons).toEqual(["bad_signature", "bad_signature", "bad_signature", "stale_timestamp"]);
  });

  it("replaying an applied event changes nothing and updates the store no second time", async () => {
    const { replayWebhookEvent } = await import("./webhooks.ts");
    const session = await newSession();
    await post(signed(buildSandboxEvent(session, "paid", new Date())));
    await drain(bridge);
    const event = await bridge.deps.db.kysely.selectFrom("webhook_events").select(["id", "status"]).executeTakeFirstOrThrow();
    expect(event.status).toBe("processed");
    expect(await replayWebhookEvent(bridge.deps, event.id)).toBe(true);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(1);
    expect((await bridge.deps.db.kysely.selectFrom("webhook_events").select("status").executeTakeFirstOrThrow()).status).toBe("processed");
  });

  it("an event through one connection cannot touch another connection's session", async () => {
    const other = await createTestStore(bridge, endpoint.url);
    const theirs = await (await postSession(bridge, other.testKey, cartBody())).json();
    const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", theirs.id).executeTakeFirstOrThrow();
    // Signed correctly for OUR connection, but naming THEIR session.
    expect((await post(signed(buildSandboxEvent(toHostedView(row), "paid", new Date())))).status).toBe(200);
    await drain(bridge);
    const after = await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("status").where("id", "=", theirs.id).executeTakeFirstOrThrow();
    expect(after.status).toBe("open");
  });
});
