import { createHmac } from "node:crypto";
import { afterEach, beforeEach, expect, it } from "vitest";
import { z } from "zod";
import type { Bridge } from "../bridge.ts";
import { WebhookVerificationError, type PaymentProvider, type ProviderSessionState } from "../../plugins/types.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, drain, postSession } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { addConnection } from "./connections.ts";
import { applyPaymentObservation } from "./apply-payment.ts";
import { expireSessions, pruneIdempotencyKeys, pruneWebhookRejections, reconcileSessions } from "./maintenance.ts";
import { createStore } from "./stores.ts";

/**
 * A platform whose webhooks carry no timestamped signature, so only its read endpoint counts. Its state
 * lives in `platform`, which the test changes as the platform would.
 */
const platform = new Map<string, ProviderSessionState>();
const refetchOnly: PaymentProvider<{ secret: string }, Record<string, never>> = {
  name: "refetchonly",
  displayName: "Re-fetch-only platform",
  credentialsSchema: z.object({ secret: z.string() }),
  settingsSchema: z.object({}).strict() as never,
  webhookTrust: "refetch",
  async createSession(session) {
    const id = `rf_${session.id}`;
    platform.set(id, { providerSessionId: id, status: "open", transactions: [] });
    return { providerSessionId: id, checkoutUrl: `https://platform.example/pay/${id}` };
  },
  async verifyWebhook(webhook, ctx) {
    const expected = createHmac("sha256", ctx.credentials.secret).update(webhook.rawBody).digest("hex");
    if (webhook.headers["x-sig"] !== expected) throw new WebhookVerificationError("bad_signature");
    const body = JSON.parse(Buffer.from(webhook.rawBody).toString()) as { id: string; session: string; status: "paid" };
    // The event names its own payment reference, as BTCPay's and SatsRail's adapters do: the core must still
    // file the payment under one name on every path.
    return { eventId: body.id, events: [{ providerSessionId: body.session, outcome: body.status, transactions: [], paymentReference: `ref_${body.id}` }] };
  },
  async fetchSession(id) {
    const state = platform.get(id);
    if (!state) throw new Error("unknown session");
    return state;
  },
};

describeEachDatabase("expiry sweeper, reconciler, re-fetch before crediting", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let endpoint: StoreEndpoint;
  let key: string;
  let webhookPath: string;
  let now = Date.now();

  beforeEach(async () => {
    now = Date.now();
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders: [refetchOnly], clock: () => new Date(now), config: { RECONCILE_AFTER_MINUTES: "10", SESSION_TTL_MINUTES: "30" } });
    endpoint = await new StoreEndpoint("whsec_x").start();
    const store = await createStore(bridge.deps, { name: "s", platform: "custom", defaultProvider: "refetchonly", credentials: { endpointUrl: endpoint.url } });
    endpoint.setSecret(String(store.credentials.signingSecret));
    key = store.keys.testKey;
    webhookPath = new URL((await addConnection(bridge.deps, { storeId: store.storeId, provider: "refetchonly", livemode: false, credentials: { secret: "s3cret" } })).webhookUrl).pathname;
  });
  afterEach(async () => {
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  });

  /** Moves every session `minutes` into the past (the clock stays real: store updates carry real timestamps). */
  const age = async (minutes: number) => {
    const ms = minutes * 60_000;
    await bridge.deps.db.kysely.updateTable("checkout_sessions")
      .set((eb) => ({
        created_at: eb("created_at", "-", ms),
        expires_at: eb("expires_at", "-", ms),
        provider_checked_at: eb("provider_checked_at", "-", ms), // stays null where never checked
      })).execute();
  };
  const newSession = async () => (await (await postSession(bridge, key, cartBody())).json()) as { id: string };
  const status = async (id: string) => (await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("status").where("id", "=", id).executeTakeFirstOrThrow()).status;
  const webhook = (body: object) => {
    const raw = JSON.stringify(body);
    return bridge.app.request(webhookPath, { method: "POST", body: raw, headers: { "x-sig": createHmac("sha256", "s3cret").update(raw).digest("hex") } });
  };

  it("a forged 'paid' webhook for a session the platform says is unpaid credits nothing", async () => {
    const s = await newSession();
    expect((await webhook({ id: "evt_forged", session: `rf_${s.id}`, status: "paid" })).status).toBe(200);
    await drain(bridge);
    expect(await status(s.id)).toBe("open");
    expect(endpoint.received).toHaveLength(0);
    const note = await bridge.deps.db.kysely.selectFrom("session_events").select("detail_json").where("session_id", "=", s.id).where("kind", "=", "webhook_ignored").executeTakeFirstOrThrow();
    expect(note.detail_json).toContain("no change");
  });

  it("credits what the platform's own record says, whatever the webhook claimed", async () => {
    const s = await newSession();
    platform.set(`rf_${s.id}`, { providerSessionId: `rf_${s.id}`, status: "paid", amountPaidMinor: 3000n, currency: "USD", transactions: [{ hash: "0xabc" }] });
    await webhook({ id: "evt_1", session: `rf_${s.id}`, status: "paid" });
    await drain(bridge);
    expect(await status(s.id)).toBe("underpaid");
    expect(endpoint.received.map((r) => r.update.session.amountPaid)).toEqual(["30.00"]);
  });

  it("the reconciler applies a payment whose webhook never came", async () => {
    const s = await newSession();
    platform.set(`rf_${s.id}`, { providerSessionId: `rf_${s.id}`, status: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [] });
    expect((await reconcileSessions(bridge.deps)).checked).toBe(0); // too recent to chase
    await age(11);
    expect(await reconcileSessions(bridge.deps)).toEqual({ checked: 1, changed: 1, failed: 0 });
    await drain(bridge);
    expect(await status(s.id)).toBe("paid");
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
  });

  it("a payment seen by the webhook, the reconciler and the sweeper is one payment record", async () => {
    const payments = async (id: string) =>
      bridge.deps.db.kysely.selectFrom("payments").select(["reference", "amount_minor"]).where("session_id", "=", id).execute();
    for (const transactions of [[], [{ hash: "0xfeed" }]]) {
      const s = await newSession();
      platform.set(`rf_${s.id}`, { providerSessionId: `rf_${s.id}`, status: "underpaid", amountPaidMinor: 1000n, currency: "USD", transactions });
      await webhook({ id: `evt_${s.id}`, session: `rf_${s.id}`, status: "paid" });
      await drain(bridge);
      platform.set(`rf_${s.id}`, { providerSessionId: `rf_${s.id}`, status: "paid", amountPaidMinor: 4000n, currency: "USD", transactions });
      await age(11);
      await reconcileSessions(bridge.deps);
      await age(31);
      await expireSessions(bridge.deps);
      expect(await status(s.id)).toBe("paid");
      expect(await payments(s.id)).toEqual([{ reference: transactions[0]?.hash ?? `refetchonly:rf_${s.id}`, amount_minor: "4000" }]);
    }
  });

  it("the sweeper expires open sessions, after asking the platform", async () => {
    const unpaid = await newSession();
    const paidQuietly = await newSession();
    platform.set(`rf_${paidQuietly.id}`, { providerSessionId: `rf_${paidQuietly.id}`, status: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [] });
    expect(await expireSessions(bridge.deps)).toBe(0);
    await age(31);
    expect(await expireSessions(bridge.deps)).toBe(1);
    await drain(bridge);
    expect(await status(unpaid.id)).toBe("expired");
    expect(await status(paidQuietly.id)).toBe("paid");
    expect(endpoint.received.map((r) => r.update.type).sort()).toEqual(["checkout_session.expired", "checkout_session.paid"]);
    const page = await bridge.app.request(`/pay/${unpaid.id}`);
    expect(page.status).toBe(410);
  });

  it("a processing session that never confirms expires after the grace window, not at its expiry", async () => {
    const s = await newSession();
    await applyPaymentObservation(bridge.deps, s.id, { outcome: "processing", transactions: [], source: "test" });
    await age(31); // past expiry, inside the 60-minute grace window
    expect(await expireSessions(bridge.deps)).toBe(0);
    expect(await status(s.id)).toBe("processing");
    await age(60);
    expect(await expireSessions(bridge.deps)).toBe(1);
    expect(await status(s.id)).toBe("expired");
  });

  it("idempotency records are kept 24 hours and pruned after", async () => {
    await postSession(bridge, key, cartBody(), { "idempotency-key": "old" });
    now += 25 * 60 * 60_000;
    expect(await pruneIdempotencyKeys(bridge.deps)).toBe(0);
    now += 24 * 60 * 60_000;
    expect(await pruneIdempotencyKeys(bridge.deps)).toBe(1);
  });

  it("rejected webhooks are kept 30 days and pruned after", async () => {
    const rejections = () => bridge.deps.db.kysely.selectFrom("webhook_rejections").select("id").execute();
    const wrongToken = webhookPath.replace(/\/[^/]+$/, "/wrong-token");
    expect((await bridge.app.request(wrongToken, { method: "POST", body: "{}" })).status).toBe(400);
    expect(await rejections()).toHaveLength(1);
    now += 29 * 24 * 60 * 60_000;
    expect(await pruneWebhookRejections(bridge.deps)).toBe(0);
    now += 2 * 24 * 60 * 60_000;
    expect(await pruneWebhookRejections(bridge.deps)).toBe(1);
    expect(await rejections()).toHaveLength(0);
  });
});
