import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, simulate, type TestStore } from "../../../test/support/bridge.ts";
import { StoreEndpoint } from "../../../test/support/store-endpoint.ts";

describeEachDatabase("checkout session: cart → sandbox → store update", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  let endpoint: StoreEndpoint;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    store = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
  });
  afterEach(async () => {
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  });

  it("creates a session with the computed total and a /pay URL", async () => {
    const res = await postSession(bridge, store.testKey, cartBody());
    expect(res.status).toBe(201);
    const session = await res.json();
    expect(session).toMatchObject({
      object: "checkout_session",
      status: "open",
      amount: "40.00",
      amountPaid: "0.00",
      currency: "USD",
      order: { id: "1001", number: "1001", key: "wc_order_abc" },
      metadata: { channel: "web" },
      provider: "sandbox",
      livemode: false,
    });
    expect(session.id).toMatch(/^cs_[0-9a-f]{24}$/);
    expect(session.checkoutUrl).toBe(`http://bridge.test/pay/${session.id}`);

    const pay = await bridge.app.request(`/pay/${session.id}`);
    expect(pay.status).toBe(303);
    expect(pay.headers.get("location")).toMatch(/\/p\/sandbox\/checkout\//);

    const got = await bridge.app.request(`/v1/checkout_sessions/${session.id}`, { headers: { authorization: `Bearer ${store.testKey}` } });
    expect(got.status).toBe(200);
    expect((await got.json()).id).toBe(session.id);
  });

  it.each([
    ["paid", "paid", "40.00"],
    ["underpaid", "underpaid", "20.00"],
    ["overpaid", "overpaid", "44.00"],
    ["paid_late", "paid_late", "40.00"],
    ["expired", "expired", "0.00"],
    ["failed", "failed", "0.00"],
  ])("sandbox %s reaches the store once as checkout_session.%s", async (outcome, status, amountPaid) => {
    const session = await (await postSession(bridge, store.testKey, cartBody())).json();
    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    const page = await bridge.app.request(new URL(hosted).pathname);
    expect(await page.text()).toContain("40.00 USD");

    const sim = await simulate(bridge, hosted, outcome);
    expect(sim.status).toBe(200);
    await drain(bridge);

    expect(endpoint.received).toHaveLength(1);
    const update = endpoint.received[0]!.update;
    expect(update.type).toBe(`checkout_session.${status}`);
    expect(update.session).toMatchObject({ id: session.id, status, amountPaid, order: { id: "1001" } });

    const got = await (await bridge.app.request(`/v1/checkout_sessions/${session.id}`, { headers: { authorization: `Bearer ${store.testKey}` } })).json();
    expect(got.status).toBe(status);
  });
});
