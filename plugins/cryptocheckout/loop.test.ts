import { afterEach, expect, it } from "vitest";
import type { Bridge } from "../../src/bridge.ts";
import { builtinProviders } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { reconcileSessions } from "../../src/usecases/maintenance.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../../test/support/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { CryptoCheckoutSimulator, type CryptoCheckoutSimOptions } from "../../test/simulators/cryptocheckout/server.ts";
import { cryptoCheckoutProvider } from "./index.ts";

// Once src/main.ts lists the provider, registering it again would be a duplicate.
const extraProviders = builtinProviders.some((p) => p.name === cryptoCheckoutProvider.name) ? [] : [cryptoCheckoutProvider];

describeEachDatabase("cryptocheckout: cart → Crypto Checkout simulator → signed webhook → store", (makeDb) => {
  let db: TestDatabase | undefined;
  let bridge: Bridge | undefined;
  let endpoint: StoreEndpoint | undefined;
  /** Moves the bridge's clock (only the reconcile test does). */
  let clockOffsetMs = 0;
  let sim: CryptoCheckoutSimulator | undefined;

  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await sim?.stop();
    await db?.drop();
    bridge = endpoint = sim = db = undefined;
    clockOffsetMs = 0;
  });

  /** `firstPost.loseResponse`: the platform makes the first session but its answer never arrives. */
  async function setup(options: CryptoCheckoutSimOptions = {}, firstPost: { headers?: Record<string, string>; loseResponse?: boolean } = {}) {
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
    sim = await new CryptoCheckoutSimulator(options).start();
    const conn = await addConnection(bridge.deps, {
      storeId: store.storeId,
      provider: "cryptocheckout",
      livemode: false,
      credentials: { apiKey: sim.apiKey, webhookSecret: sim.webhookSecret },
      settings: { baseUrl: sim.url },
    });
    const b = bridge;
    sim.deliver = async (body, headers) => b.app.request(new URL(conn.webhookUrl).pathname, { method: "POST", headers, body });
    sim.dropNextCreateResponse = firstPost.loseResponse ?? false;
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "cryptocheckout" }), firstPost.headers);
    expect(res.status).toBe(firstPost.loseResponse ? 502 : 201);
    const session = (await res.json()) as { id: string; status: string };
    const platformSession = [...sim.sessions.values()].at(-1)!;
    return { store, session, platformId: platformSession.id, sim, bridge: b, endpoint };
  }

  async function statusOf(b: Bridge, store: TestStore, id: string) {
    const res = await b.app.request(`/v1/checkout_sessions/${id}`, { headers: { authorization: `Bearer ${store.testKey}` } });
    return (await res.json()) as { status: string; amountPaid: string; review?: { reason: string } };
  }

  it("creates the session with a decimal-string amount and our idempotency key, then credits a paid webhook once", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    const create = sim.requests.find((r) => r.method === "POST" && r.path === "/api/v1/checkout_sessions")!;
    const wire = JSON.parse(create.body);
    expect(wire.amount).toEqual({ value: "40.00", currency: "USD" });
    expect(create.body).toContain('"value":"40.00"');
    expect(create.headers["idempotency-key"]).toMatch(/^cartbridge-[0-9a-f]{48}$/);
    expect(create.headers.authorization).toBe(`Bearer ${sim.apiKey}`);
    expect(wire.metadata).toMatchObject({ cartbridge_session_id: session.id, order_id: "1001", orderId: "1001", channel: "web" });

    const pay = await bridge.app.request(`/pay/${session.id}`);
    expect(pay.status).toBe(303);
    const hosted = pay.headers.get("location")!;
    expect(hosted).toBe(`${sim.url}/checkout/${platformId}`);
    expect(await (await fetch(hosted)).text()).toContain("40.00 USD");

    expect((await sim.sendCreatedEvent(platformId)).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);

    expect((await sim.transition(platformId, "paid")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(1);
    expect(endpoint.received[0]!.update.type).toBe("checkout_session.paid");
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: "paid", amountPaid: "40.00", currency: "USD", order: { id: "1001" } });
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it("a create whose answer was lost is retried by the store (same Idempotency-Key) into the one platform session", async () => {
    const headers = { "idempotency-key": "wc-1001-attempt-1" };
    const { store, session: first, sim, bridge } = await setup({}, { headers, loseResponse: true });
    expect(first).toMatchObject({ error: { code: "provider_unavailable" } }); // the platform made a session; we never heard
    expect(sim.sessions.size).toBe(1);
    const retried = await postSession(bridge, store.testKey, cartBody({ provider: "cryptocheckout" }), headers);
    expect(retried.status).toBe(201);
    expect(sim.sessions.size).toBe(1);
    const [lost, retry] = sim.requests.filter((r) => r.method === "POST").slice(-2);
    expect(retry!.headers["idempotency-key"]).toBe(lost!.headers["idempotency-key"]);
    expect(retry!.body).toBe(lost!.body);
    const stored = (await retried.json()) as { id: string };
    const hosted = (await bridge.app.request(`/pay/${stored.id}`)).headers.get("location");
    expect(hosted).toBe(`${sim.url}/checkout/${[...sim.sessions.keys()][0]}`);
    // A later attempt for the same order (the first session expired, the buyer tries again) is a new
    // session, never the platform's cached answer for the first one.
    const again = await postSession(bridge, store.testKey, cartBody({ provider: "cryptocheckout" }), { "idempotency-key": "wc-1001-attempt-2" });
    expect(again.status).toBe(201);
    expect(sim.sessions.size).toBe(2);
    expect(((await again.json()) as { id: string }).id).not.toBe(stored.id);
  });

  it.each([
    ["detected", "processing", "0.00"],
    ["underpaid", "underpaid", "20.00"],
    ["overpaid", "overpaid", "44.00"],
    ["paid_late", "paid_late", "40.00"],
    ["expired", "expired", "0.00"],
    ["failed", "failed", "0.00"],
  ] as const)("platform status %s reaches the store as checkout_session.%s", async (platformStatus, bridgeStatus, amountPaid) => {
    const { session, platformId, sim, bridge, endpoint } = await setup();
    await sim.transition(platformId, platformStatus);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual([`checkout_session.${bridgeStatus}`]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: bridgeStatus, amountPaid });
  });

  it.each([
    ["underpaid", "underpaid", "0.00"],
    // The guide: an overpaid session "transitions to paid"; the reference: "treat overpaid as paid, flag for
    // refund review". The order is paid either way (overpaid is a paid status) and the surplus stays visible.
    ["overpaid", "overpaid", "40.00"],
  ] as const)("without the received amount, %s reaches the store as checkout_session.%s", async (platformStatus, bridgeStatus, amountPaid) => {
    const { session, platformId, sim, bridge, endpoint } = await setup({ reportReceivedWei: false });
    await sim.transition(platformId, platformStatus);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual([`checkout_session.${bridgeStatus}`]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, amountPaid });
  });

  it("dedupes duplicate deliveries and ignores an older event that arrives after the payment", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    await sim.transition(platformId, "detected", { hold: true });
    const detectedIndex = sim.sentEvents.length - 1;
    const paid = await sim.transition(platformId, "paid", { times: 3 });
    expect(paid.status).toBe(200);
    await drain(bridge);
    expect((await sim.resend(detectedIndex)).status).toBe(200); // out of order: "detected" arrives after "paid"
    await drain(bridge);
    expect(endpoint.received).toHaveLength(1);
    const types = endpoint.distinct().map((r) => r.update.type);
    expect(types.filter((t) => t === "checkout_session.paid")).toHaveLength(1);
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

  it("credits nothing for a validly signed 'paid' that the platform's own record contradicts", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    expect((await sim.forge(platformId, "paid")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it("rejects bad signatures and stale timestamps at the door, and credits nothing", async () => {
    const { store, session, platformId, sim, bridge, endpoint } = await setup();
    const s = sim.sessions.get(platformId)!;
    s.status = "paid"; // even with the platform agreeing, an unverified delivery must not be processed
    expect((await sim.transition(platformId, "paid", { secret: "whsec_wrong_secret_value" })).status).toBe(400);
    expect((await sim.transition(platformId, "paid", { timestampOffsetSeconds: -301 })).status).toBe(400);
    expect((await sim.transition(platformId, "paid", { omitSignature: true })).status).toBe(400);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it.each([
    ["X-Signature header (/api-reference/webhook-endpoints)", { signatureHeader: "X-Signature" }],
    ["timestamp only in X-Webhook-Timestamp (SDK fallback)", { timestampPlacement: "separate-header-only" }],
    ["session.pending as the first event (/api-reference)", { createdEventName: "session.pending" }],
    ["whsec_ secret base64-decoded as the key", { keyDerivation: "base64" }],
  ] as const)("CONFLICT variant: %s", async (_name, options) => {
    const { platformId, sim, bridge, endpoint } = await setup(options as CryptoCheckoutSimOptions);
    expect((await sim.sendCreatedEvent(platformId)).status).toBe(200);
    expect((await sim.transition(platformId, "paid")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
  });
});
