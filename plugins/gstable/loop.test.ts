import { afterEach, expect, it } from "vitest";
import type { Bridge } from "../../src/bridge.ts";
import { builtinProviders } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { reconcileSessions } from "../../src/usecases/maintenance.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../../test/support/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { GstableSimulator, type GstableSimOptions } from "../../test/simulators/gstable/server.ts";
import { gstableProvider } from "./index.ts";

// Once src/main.ts lists the provider, registering it again would be a duplicate.
const extraProviders = builtinProviders.some((p) => p.name === gstableProvider.name) ? [] : [gstableProvider];

describeEachDatabase("gstable: cart → GStable simulator → signed webhook → re-fetch → store", (makeDb) => {
  let db: TestDatabase | undefined;
  let bridge: Bridge | undefined;
  let endpoint: StoreEndpoint | undefined;
  /** Moves the bridge's clock (only the reconcile test does). */
  let clockOffsetMs = 0;
  let sim: GstableSimulator | undefined;

  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await sim?.stop();
    await db?.drop();
    bridge = endpoint = sim = db = undefined;
    clockOffsetMs = 0;
  });

  async function setup(options: GstableSimOptions & { base?: "sdk" | "guide"; cart?: Record<string, unknown>; settlementToken?: string } = {}) {
    db = await makeDb();
    bridge = await createTestBridge({
      databaseUrl: db.url,
      extraProviders,
      clock: () => new Date(Date.now() + clockOffsetMs),
      config: { RECONCILE_AFTER_MINUTES: "0" },
    });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    const store: TestStore = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    sim = await new GstableSimulator(options).start();
    const conn = await addConnection(bridge.deps, {
      storeId: store.storeId,
      provider: "gstable",
      livemode: false,
      credentials: { apiKey: sim.apiKey, webhookSecret: sim.webhookSecret },
      settings: { baseUrl: sim.baseUrl(options.base ?? "sdk"), accountId: sim.accountId, settlementToken: options.settlementToken ?? "polygon::usdc" },
    });
    const b = bridge;
    sim.deliver = async (body, headers) => b.app.request(new URL(conn.webhookUrl).pathname, { method: "POST", headers, body });
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "gstable", ...options.cart }));
    const session = (await res.json()) as { id: string; status: string; expiresAt: string; error?: { code: string; message: string } };
    const platformId = [...sim.sessions.values()].at(-1)?.sessionId ?? "";
    return { res, store, session, platformId, sim, bridge: b, endpoint };
  }

  async function statusOf(b: Bridge, store: TestStore, id: string) {
    const res = await b.app.request(`/v1/checkout_sessions/${id}`, { headers: { authorization: `Bearer ${store.testKey}` } });
    return (await res.json()) as { status: string; amountPaid: string; review?: { reason: string } };
  }

  it("creates micro-USD line items that add up to the cart, and credits session.paid once through settlement", async () => {
    const { res, store, session, platformId, sim, bridge, endpoint } = await setup();
    expect(res.status).toBe(201);
    const create = sim.requests.find((r) => r.method === "POST")!;
    expect(create.path).toBe("/api/v1/session/checkout/create");
    expect(create.headers.authorization).toBe(`Bearer ${sim.apiKey}`);
    const wire = JSON.parse(create.body);
    // 2 × 12.50 + 8.00 − 1.00 discount (taken off the last item) + 4.99 shipping + 3.01 tax = 40.00
    expect(wire.lineItems.map((l: { quantity: number; unitPrice: number; productData: { productName: string } }) => [l.productData.productName, l.quantity, l.unitPrice])).toEqual([
      ["T-shirt", 2, 12_500_000],
      ["Mug", 1, 7_000_000],
      ["Shipping", 1, 4_990_000],
      ["Tax", 1, 3_010_000],
    ]);
    expect(create.body).toContain('"unitPrice":12500000');
    expect(sim.sessions.get(platformId)!.amount).toBe(40_000_000);
    expect(wire).toMatchObject({ accountId: sim.accountId, settlementToken: "polygon::usdc", feeModel: 1, metadata: { cartbridge_session_id: session.id, order_id: "1001", channel: "web" } });

    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    expect(hosted).toBe(`${sim.url}/checkout/${platformId}`);
    expect(await (await fetch(hosted)).text()).toContain("Pay 40.00 USD");

    expect((await sim.sendCreatedEvent(platformId)).status).toBe(200);
    expect((await sim.sendOtherEvent("product.created", "product")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);

    await sim.transition(platformId, "paid");
    await drain(bridge);
    await sim.transition(platformId, "settling");
    await sim.transition(platformId, "completed");
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: "paid", amountPaid: "40.00", currency: "USD", order: { id: "1001" } });
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it.each([
    ["paid", "paid", "40.00"],
    ["settling", "paid", "40.00"],
    ["settlement_pending", "paid", "40.00"],
    ["completed", "paid", "40.00"],
    ["expired", "expired", "0.00"],
    ["cancelled", "canceled", "0.00"],
  ] as const)("platform status %s reaches the store as checkout_session.%s", async (platformStatus, bridgeStatus, amountPaid) => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    if (platformStatus !== "paid" && platformStatus !== "expired" && platformStatus !== "cancelled") {
      await sim.transition(platformId, "paid", { hold: true }); // the paid event is lost; a later one carries the news
    }
    await sim.transition(platformId, platformStatus);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual([`checkout_session.${bridgeStatus}`]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: bridgeStatus, amountPaid });
  });

  it("a payment after the session's expiry reaches the store as paid_late", async () => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    await sim.transition(platformId, "paid", { paidAt: new Date(Date.parse(session.expiresAt) + 60_000) });
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid_late"]);
  });

  it("a platform record showing less committed than the cart reaches the store as underpaid", async () => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    await sim.transition(platformId, "paid", { committedMicroUsd: 20_000_000 });
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.underpaid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, amountPaid: "20.00" });
  });

  it.each([
    ["40000000.0", "paid", "40.00"],
    ["4e7", "paid", "40.00"],
    ["2.0E7", "underpaid", "20.00"],
  ] as const)("a committed amount written %s (not an integer literal) is read exactly: %s %s", async (literal, bridgeStatus, amountPaid) => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    expect((await sim.transition(platformId, "paid", { committedMicroUsd: literal })).status).toBe(200);
    expect(sim.sentEvents.at(-1)!.body).toContain(`"amount":${literal},`);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual([`checkout_session.${bridgeStatus}`]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, amountPaid });
  });

  it("a committed amount that is no exact count of cents is accepted, never rounded: the platform's paid stands, the amount is named", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    expect((await sim.transition(platformId, "paid", { committedMicroUsd: "40000000.5" })).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, amountPaid: "40.00" });
    const timeline = await bridge.deps.db.kysely.selectFrom("session_events").select("detail_json").where("session_id", "=", session.id).execute();
    expect(timeline.map((e) => e.detail_json).join("\n")).toContain("40000000.5 micro-USD is not whole cents");
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it("dedupes duplicate deliveries and handles events out of order", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    await sim.transition(platformId, "paid", { hold: true });
    const paidIndex = sim.sentEvents.length - 1;
    expect((await sim.transition(platformId, "completed", { times: 3 })).status).toBe(200);
    await drain(bridge);
    expect((await sim.resend(paidIndex, { times: 2 })).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it("a payment whose webhook never came is found by reconcile through the re-fetch", async () => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    await sim.transition(platformId, "paid", { hold: true });
    clockOffsetMs = 1000; // the session is now older than RECONCILE_AFTER_MINUTES (0 here)
    expect(await reconcileSessions(bridge.deps)).toMatchObject({ checked: 1, changed: 1, failed: 0 });
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, amountPaid: "40.00" });
  });

  it("credits nothing for a validly signed session.paid that GET /session/{id} contradicts", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    expect((await sim.forge(platformId, "paid")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it("rejects bad signatures, stale timestamps and missing headers at the door", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    expect((await sim.transition(platformId, "paid", { secret: "wkk_wrong" })).status).toBe(400);
    expect((await sim.transition(platformId, "paid", { timestampOffsetSeconds: -301 })).status).toBe(400);
    expect((await sim.transition(platformId, "paid", { omitSignature: true })).status).toBe(400);
    expect((await sim.transition(platformId, "paid", { omitTimestamp: true })).status).toBe(400);
    expect((await sim.transition(platformId, "paid", { tamper: (b) => b.replace('"order_id":"1001"', '"order_id":"1002"') })).status).toBe(400);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it.each([
    ["base URL of the hosted-checkout guide (/payment/v1)", { base: "guide" }],
    ["base64 signature", { signatureEncoding: "base64" }],
    ["timestamp in milliseconds", { timestampUnit: "ms" }],
    ["base64 signature with a millisecond timestamp", { signatureEncoding: "base64", timestampUnit: "ms" }],
  ] as const)("CONFLICT / open point: %s", async (_name, options) => {
    const { res, platformId, sim, bridge, endpoint } = await setup(options as GstableSimOptions & { base?: "sdk" | "guide" });
    expect(res.status).toBe(201);
    expect((await sim.transition(platformId, "paid")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
  });

  it("refuses a non-USD cart with a clear error, and reports a business error sent on HTTP 200", async () => {
    const eur = await setup({ cart: { currency: "EUR" } });
    expect(eur.res.status).toBe(502);
    expect(eur.session.error?.message).toMatch(/USD only.*EUR/);
    expect(eur.sim.requests).toHaveLength(0);
    await bridge!.close();
    await endpoint!.stop();
    await sim!.stop();
    await db!.drop();

    const unsupported = await setup({ settlementToken: "solana::doge" });
    expect(unsupported.res.status).toBe(502);
    expect(unsupported.session.error?.message).toMatch(/400203/);
  });
});
