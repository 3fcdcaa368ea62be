import { afterEach, expect, it } from "vitest";
import type { Bridge } from "../../src/bridge.ts";
import { builtinProviders } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { expireSessions } from "../../src/usecases/maintenance.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../../test/support/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { SatsrailSimulator, type SatsrailMode, type SatsrailSimOptions } from "../../test/simulators/satsrail/server.ts";
import { satsrailProvider } from "./index.ts";

// Once src/main.ts lists the provider, registering it again would be a duplicate.
const extraProviders = builtinProviders.some((p) => p.name === satsrailProvider.name) ? [] : [satsrailProvider];

describeEachDatabase("satsrail: cart → SatsRail simulator → HMAC webhook → re-fetch → store", (makeDb) => {
  let db: TestDatabase | undefined;
  let bridge: Bridge | undefined;
  let endpoint: StoreEndpoint | undefined;
  let sim: SatsrailSimulator | undefined;
  let clockOffsetMs = 0;
  const clock = () => new Date(Date.now() + clockOffsetMs);

  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await sim?.stop();
    await db?.drop();
    bridge = endpoint = sim = db = undefined;
    clockOffsetMs = 0;
  });

  async function setup(options: {
    mode?: SatsrailMode; cart?: Record<string, unknown>; baseUrlSuffix?: string; secretKey?: string; createdAgoMs?: number;
    settings?: Record<string, unknown>; sim?: SatsrailSimOptions; loseFirstResponse?: boolean; headers?: Record<string, string>;
  } = {}) {
    clockOffsetMs = -(options.createdAgoMs ?? 0);
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders, clock });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    const store: TestStore = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    sim = await new SatsrailSimulator({ mode: options.mode ?? "docs", now: clock, ...options.sim }).start();
    const conn = await addConnection(bridge.deps, {
      storeId: store.storeId,
      provider: "satsrail",
      livemode: false,
      credentials: { secretKey: options.secretKey ?? sim.secretKey, webhookSecret: sim.webhookSecret },
      settings: { baseUrl: `${sim.url}${options.baseUrlSuffix ?? ""}`, ...options.settings },
    });
    const b = bridge;
    sim.deliver = async (body, headers) => b.app.request(new URL(conn.webhookUrl).pathname, { method: "POST", headers, body });
    sim.dropNextCreateResponse = options.loseFirstResponse ?? false;
    const res = await postSession(bridge, store.testKey, cartBody({ provider: "satsrail", ...options.cart }), options.headers);
    const session = (await res.json()) as { id: string; status: string; error?: { code: string; message: string } };
    const token = [...sim.sessions.keys()].at(-1) ?? "";
    clockOffsetMs = 0;
    const s = sim;
    /** Another session on the same bridge, store and connection. */
    const another = async (orderId: string) => {
      const created = (await (await postSession(b, store.testKey, cartBody({ provider: "satsrail", order: { id: orderId } }))).json()) as { id: string };
      return { session: created, token: [...s.sessions.keys()].at(-1)! };
    };
    return { res, store, session, token, sim, bridge: b, endpoint, another };
  }

  async function statusOf(b: Bridge, store: TestStore, id: string) {
    const res = await b.app.request(`/v1/checkout_sessions/${id}`, { headers: { authorization: `Bearer ${store.testKey}` } });
    return (await res.json()) as { status: string; amountPaid: string };
  }

  it("sends no Idempotency-Key by default (SatsRail documents none)", async () => {
    const { res, sim } = await setup({ headers: { "idempotency-key": "order-1001-a" } });
    expect(res.status).toBe(201);
    expect(sim.creates()[0]!.headers["idempotency-key"]).toBeUndefined();
  });

  it("with idempotencyHeader set, a create whose answer was lost is retried by the store into the one session", async () => {
    const headers = { "idempotency-key": "order-1001-a" };
    const { res, store, sim, bridge } = await setup({ settings: { idempotencyHeader: "Idempotency-Key" }, sim: { idempotency: "honoured" }, loseFirstResponse: true, headers });
    expect(res.status).toBe(502);
    const retried = await postSession(bridge, store.testKey, cartBody({ provider: "satsrail" }), headers);
    expect(retried.status).toBe(201);
    expect(sim.sessions.size).toBe(1);
    const [lost, retry] = sim.creates();
    expect(lost!.headers["idempotency-key"]).toMatch(/^cartbridge-[0-9a-f]{48}$/);
    expect(retry!.headers["idempotency-key"]).toBe(lost!.headers["idempotency-key"]);
    const session = (await retried.json()) as { id: string };
    expect((await bridge.app.request(`/pay/${session.id}`)).headers.get("location")).toBe(`${sim.url}/checkout/${[...sim.sessions.keys()][0]}`);
  });

  it("sends integer amount_cents in lowercase usd with our metadata, and credits a paid session once", async () => {
    const { res, store, session, token, sim, bridge, endpoint } = await setup();
    expect(res.status).toBe(201);
    const [create] = sim.creates();
    expect(create!.headers.authorization).toBe(`Bearer ${sim.secretKey}`);
    // The exact bytes: an integer count of cents, never a float or a string.
    expect(create!.body).toContain('"amount_cents":4000,');
    const wire = JSON.parse(create!.body);
    expect(wire).toEqual({
      checkout_session: {
        amount_cents: 4000,
        currency: "usd",
        success_url: "https://shop.example/thanks",
        cancel_url: "https://shop.example/cart",
        customer_email: "buyer@example.com",
        metadata: { channel: "web", cartbridge_session_id: session.id, order_id: "1001" },
      },
    });

    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    expect(hosted).toBe(`${sim.url}/checkout/${token}`);
    expect(await (await fetch(hosted)).text()).toContain("Pay 40.00 USD");

    expect((await sim.complete(token)).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect(endpoint.received[0]!.update.session).toMatchObject({ id: session.id, status: "paid", amountPaid: "40.00", currency: "USD", order: { id: "1001" } });
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
    // The re-fetch ran before crediting.
    expect(sim.requests.some((r) => r.method === "GET" && r.path === `/api/v1/checkout_sessions/${token}`)).toBe(true);
  });

  it("each platform status reaches the store: completed → paid, expired → expired, cancelled → canceled", async () => {
    const first = await setup();
    const { sim, bridge, endpoint, another } = first;
    const expired = await another("1002");
    const cancelled = await another("1003");
    await sim.complete(first.token);
    await sim.expire(expired.token);
    await sim.cancel(cancelled.token);
    await drain(bridge);
    const bySession = Object.fromEntries(endpoint.received.map((r) => [r.update.session.id, [r.update.type, r.update.session.amountPaid]]));
    expect(bySession).toEqual({
      [first.session.id]: ["checkout_session.paid", "40.00"],
      [expired.session.id]: ["checkout_session.expired", "0.00"],
      [cancelled.session.id]: ["checkout_session.canceled", "0.00"],
    });
    expect(endpoint.received).toHaveLength(3);
  });

  it("platform status pending: a validly signed paid event that the re-fetch contradicts credits nothing", async () => {
    const { store, session, token, sim, bridge, endpoint } = await setup();
    for (const mode of ["docs", "privapaid", "guide"] as const) {
      expect((await sim.forge(token, { mode })).status).toBe(200);
    }
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
  });

  it("a payment after the bridge expired the session reaches the store as paid_late", async () => {
    // Created 61 minutes ago: past SESSION_TTL_MINUTES (60).
    const { session, token, sim, bridge, endpoint } = await setup({ createdAgoMs: 61 * 60_000 });
    expect(await expireSessions(bridge.deps)).toBe(1);
    await drain(bridge);
    await sim.complete(token);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.expired", "checkout_session.paid_late"]);
    expect(endpoint.received[1]!.update.session).toMatchObject({ id: session.id, status: "paid_late", amountPaid: "40.00" });
  });

  // SatsRail documents no partial or excess payment (a Lightning invoice is paid exactly); the only way to
  // be under- or overpaid is a platform record whose settled amount differs from the cart's.
  it("a completed record for less or more than the cart reaches the store as underpaid / overpaid", async () => {
    const first = await setup();
    const { sim, bridge, endpoint, another } = first;
    const over = await another("1002");
    await sim.complete(first.token, { recordAmountCents: 2000 });
    await sim.complete(over.token, { recordAmountCents: 4400 });
    await drain(bridge);
    const bySession = Object.fromEntries(endpoint.received.map((r) => [r.update.session.id, [r.update.type, r.update.session.amountPaid]]));
    expect(bySession).toEqual({
      [first.session.id]: ["checkout_session.underpaid", "20.00"],
      [over.session.id]: ["checkout_session.overpaid", "44.00"],
    });
  });

  it("a guide-format event claiming a smaller amount_usd cannot underpay: the re-fetch decides", async () => {
    const { token, sim, bridge, endpoint } = await setup({ mode: "guide" });
    await sim.complete(token, { rewrite: (b) => b.replace('"amount_sats":40000', '"amount_sats":20000').replace('"amount_usd":"40.00"', '"amount_usd":"20.00"') });
    expect(sim.sent[0]!.body).toContain('"amount_usd":"20.00"');
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.session.amountPaid)).toEqual(["40.00"]);
  });

  it("CONFLICT: each documented header/event format credits its session (base URL given SDK-style, with /api/v1)", async () => {
    const first = await setup({ baseUrlSuffix: "/api/v1" });
    const { sim, bridge, endpoint, another } = first;
    const variants = [
      // docs page: X-Webhook-Signature hex, invoice.paid / payment.confirmed
      { ...first, send: { mode: "docs" as const } },
      { ...(await another("1002")), send: { mode: "docs" as const, event: "payment.confirmed" } },
      // PrivaPaid: x-satsrail-signature + x-satsrail-timestamp, {id,type,payload}
      { ...(await another("1003")), send: { mode: "privapaid" as const } },
      // integration guide: X-SatsRail-Signature: sha256=…, checkout.completed
      { ...(await another("1004")), send: { mode: "guide" as const } },
    ];
    for (const v of variants) expect((await sim.complete(v.token, v.send)).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received.map((r) => [r.update.session.id, r.update.type]).sort()).toEqual(
      variants.map((v) => [v.session.id, "checkout_session.paid"]).sort(),
    );
  });

  it("dedupes duplicate deliveries and survives events out of order", async () => {
    const { store, session, token, sim, bridge, endpoint } = await setup();
    await sim.complete(token, { event: "payment.received", hold: true });
    expect((await sim.complete(token, { times: 3 })).status).toBe(200);
    await drain(bridge);
    const heldIndex = 0;
    expect((await sim.resend(heldIndex, { times: 2 })).status).toBe(200);
    await sim.resend(1);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
    expect((await statusOf(bridge, store, session.id)).status).toBe("paid");
  });

  it("rejects a wrong secret, a changed byte, a stale timestamp, a missing header and a re-serialized body", async () => {
    const { store, session, token, sim, bridge, endpoint } = await setup();
    expect((await sim.complete(token, { secret: "whsec_wrong_secret_value" })).status).toBe(400);
    expect((await sim.complete(token, { tamper: (b) => b.replace('"order_id":"1001"', '"order_id":"1002"') })).status).toBe(400);
    expect((await sim.complete(token, { timestampOffsetSeconds: -301 })).status).toBe(400);
    expect((await sim.complete(token, { mode: "privapaid", timestampOffsetSeconds: 301 })).status).toBe(400);
    expect((await sim.complete(token, { omitSignature: true })).status).toBe(400);
    expect((await sim.complete(token, { reserialize: true })).status).toBe(400);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
    expect((await statusOf(bridge, store, session.id)).status).toBe("open");
    const reasons = await bridge.deps.db.kysely.selectFrom("webhook_rejections").select("reason").orderBy("received_at").execute();
    expect(reasons.map((r) => r.reason).sort()).toEqual(["bad_signature", "bad_signature", "bad_signature", "missing_signature", "stale_timestamp", "stale_timestamp"]);
  });

  it("acknowledges platform events without payment news and changes nothing", async () => {
    const { sim, bridge, endpoint } = await setup({ mode: "privapaid" });
    expect((await sim.sendPlatformEvent("merchant.plan_changed")).status).toBe(200);
    await drain(bridge);
    expect(endpoint.received).toHaveLength(0);
  });

  it("refuses a zero-decimal currency with a clear error and sends nothing", async () => {
    const jpy = await setup({
      cart: { currency: "JPY", lineItems: [{ name: "Tea", quantity: 1, unitAmount: "1500" }], shippingAmount: "0", taxAmount: "0", discountAmount: "0", amount: "1500" },
    });
    expect(jpy.res.status).toBe(502);
    expect(jpy.session.error?.message).toMatch(/amount_cents.*JPY has 0 decimal places/);
    expect(jpy.sim.creates()).toHaveLength(0);
  });

  it("surfaces SatsRail's error envelope when the key is wrong", async () => {
    const bad = await setup({ secretKey: "sk_test_not_the_right_one" });
    expect(bad.res.status).toBe(502);
    expect(bad.session.error?.message).toMatch(/HTTP 401 authentication_error: Invalid API key \(request req_[0-9a-f]+\)/);
  });
});
