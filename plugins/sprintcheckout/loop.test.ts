import { afterEach, expect, it } from "vitest";
import type { Bridge } from "../../src/bridge.ts";
import { builtinProviders } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../../test/support/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { SprintcheckoutSimulator, type SprintcheckoutSimOptions } from "../../test/simulators/sprintcheckout/server.ts";
import { sprintcheckoutProvider } from "./index.ts";

// Once src/main.ts lists the provider, registering it again would be a duplicate.
const extraProviders = builtinProviders.some((p) => p.name === sprintcheckoutProvider.name) ? [] : [sprintcheckoutProvider];

describeEachDatabase("sprintcheckout: cart → Sprintcheckout simulator → keyed notification → cross-check → store", (makeDb) => {
  let db: TestDatabase | undefined;
  let bridge: Bridge | undefined;
  let endpoint: StoreEndpoint | undefined;
  let sim: SprintcheckoutSimulator | undefined;

  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await sim?.stop();
    await db?.drop();
    bridge = endpoint = sim = db = undefined;
  });

  async function setup(options: SprintcheckoutSimOptions = {}) {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    const store: TestStore = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    sim = await new SprintcheckoutSimulator(options).start();
    const conn = await addConnection(bridge.deps, {
      storeId: store.storeId,
      provider: "sprintcheckout",
      livemode: false,
      credentials: { apiKey: sim.apiKey, webhookApiKey: sim.webhookApiKey },
      settings: { baseUrl: sim.url },
    });
    const b = bridge;
    const webhookPath = new URL(conn.webhookUrl).pathname;
    sim.deliver = async (body, headers) => b.app.request(webhookPath, { method: "POST", headers, body });
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "sprintcheckout" }));
    expect(res.status).toBe(201);
    const session = (await res.json()) as { id: string; expiresAt: string };
    const platformId = [...sim.sessions.values()].at(-1)!.sessionId;
    return { store, session, platformId, sim, bridge: b, endpoint, webhookPath };
  }

  async function statusOf(b: Bridge, store: TestStore, id: string) {
    const res = await b.app.request(`/v1/checkout_sessions/${id}`, { headers: { authorization: `Bearer ${store.testKey}` } });
    return (await res.json()) as { status: string; amountPaid: string; review?: { reason: string } };
  }

  it("creates a TRANSIENT, non-editable session with the amount as an exact JSON number, and credits SUCCESS", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    const create = sim.requests.find((r) => r.method === "POST")!;
    expect(create.path).toBe("/api/checkout/v2/payment_session");
    expect(create.headers["x-sc-apikey"]).toBe(sim.apiKey);
    expect(create.body).toContain('"amount":40.00,"minAmount":40.00,"editable":false');
    expect(create.body).toContain('"orderType":"TRANSIENT"');
    expect(create.body).toContain('"orderId":"1001"');
    expect(create.body).not.toContain("failUrl"); // not in the create contract, only in update's
    const platform = sim.sessions.get(platformId)!;
    expect([platform.amountLiteral, platform.minAmountLiteral, platform.editable, platform.currency]).toEqual(["40.00", "40.00", false, "USD"]);

    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    expect(hosted).toBe(`${sim.url}/?uid=${platformId}`);
    expect(await (await fetch(hosted)).text()).toContain("Pay 40.00 USD");

    expect((await sim.notify(platformId, "SUCCESS")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: "paid", amountPaid: "40.00", currency: "USD", order: { id: "1001" } });
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it.each([
    ["PENDING", {}, "processing", "0.00"],
    ["SUCCESS", {}, "paid", "40.00"],
    ["FAILED", {}, "failed", "0.00"],
    ["FAILED", { failStatus: "FAIL" }, "failed", "0.00"], // CONFLICT: the legacy page's FAIL
    ["EXPIRED", {}, "expired", "0.00"],
  ] as const)("platform status %s %j reaches the store as checkout_session.%s", async (status, options, bridgeStatus, amountPaid) => {
    const { session, platformId, sim, bridge, endpoint } = await setup(options as SprintcheckoutSimOptions);
    await sim.notify(platformId, status);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual([`checkout_session.${bridgeStatus}`]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: bridgeStatus, amountPaid });
  });

  it.each([
    ["a smaller amount (underpayment)", { amountLiteral: "39.99" }],
    ["a larger amount", { amountLiteral: "40.01" }],
    ["an amount with more decimals than USD has", { amountLiteral: "40.001" }],
    ["another currency", { currency: "EUR" }],
    ["another orderId", { orderId: "1002" }],
    ["no orderId", { orderId: null }],
  ] as const)("a keyed SUCCESS with %s credits nothing and holds the session for review", async (_name, tamper) => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    expect((await sim.notify(platformId, "SUCCESS", tamper)).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    const got = await statusOf(bridge, store, session.id);
    expect(got.status).toBe("open");
    expect(got.review?.reason).toBeTruthy();
  });

  it("the same amount written in its shortest number form (40 for 40.00) is an exact match", async () => {
    const { platformId, sim, bridge, endpoint } = await setup({ amountFormat: "shortest" });
    await sim.notify(platformId, "SUCCESS");
    expect(sim.sentEvents.at(-1)!.body).toContain('"amount":40,');
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
  });

  it("a SUCCESS stamped after the session's expiry reaches the store as paid_late", async () => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    await sim.notify(platformId, "SUCCESS", { timestamp: Math.floor(Date.parse(session.expiresAt) / 1000) + 120 });
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid_late"]);
  });

  it("dedupes duplicate notifications and ignores a PENDING that arrives after SUCCESS", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    await sim.notify(platformId, "PENDING", { hold: true });
    expect((await sim.notify(platformId, "SUCCESS", { times: 3 })).status).toBe(200);
    await drain(bridge);
    expect((await sim.resend(0)).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it.each([
    ["a UUID unlike create's sessionId (the guide's example)", "uuid"],
    ["absent", "omitted"],
  ] as const)("a SUCCESS whose paymentSessionId is %s finds its session by order and is credited", async (_name, mode) => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup({ paymentSessionId: mode });
    await sim.notify(platformId, "SUCCESS");
    const sent = JSON.parse(sim.sentEvents.at(-1)!.body) as { paymentSessionId?: string };
    expect(sent.paymentSessionId).not.toBe(platformId);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, amountPaid: "40.00" });
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it("found only by order: a payment goes to the newest waiting session, and an EXPIRED closes nothing", async () => {
    const { store, session: first, platformId: firstPlatformId, sim, bridge, endpoint } = await setup({ paymentSessionId: "uuid" });
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "sprintcheckout" }));
    const second = (await res.json()) as { id: string };
    const secondPlatformId = [...sim.sessions.values()].at(-1)!.sessionId;
    // The first attempt expires on the platform: it must not close the attempt the buyer is on now.
    await sim.notify(firstPlatformId, "EXPIRED");
    await drain(bridge);
    expect((await statusOf(bridge, store, second.id)).status).toBe("open");
    await sim.notify(secondPlatformId, "SUCCESS");
    await drain(bridge);
    expect(endpoint.received.map((r) => `${r.update.session.id}:${r.update.type}`)).toEqual([`${second.id}:checkout_session.paid`]);
    expect((await statusOf(bridge, store, first.id)).status).toBe("open");
  });

  it("the legacy notification shape (no event, timestamp or token) is accepted", async () => {
    const { platformId, sim, bridge, endpoint } = await setup({ payloadShape: "legacy", failStatus: "FAIL" });
    await sim.notify(platformId, "SUCCESS");
    expect(sim.sentEvents.at(-1)!.body).not.toContain('"event"');
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
  });

  it("rejects a wrong or missing X-Webhook-Api-Key, and a wrong path token, crediting nothing", async () => {
    const { store, session, platformId, sim, bridge, endpoint, webhookPath } = await setup();
    expect((await sim.notify(platformId, "SUCCESS", { apiKey: "whk_wrong_key_value" })).status).toBe(400);
    expect((await sim.notify(platformId, "SUCCESS", { omitApiKey: true })).status).toBe(400);
    const wrongPath = webhookPath.replace(/[^/]+$/, "not-the-token");
    const res = await bridge.app.request(wrongPath, {
      method: "POST",
      headers: { "content-type": "application/json", "x-webhook-api-key": sim.webhookApiKey },
      body: sim.sentEvents.at(-1)!.body,
    });
    expect(res.status).toBe(400);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });
});
