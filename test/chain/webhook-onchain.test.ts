/**
 * A platform's webhook that names a transaction goes through the bridge's on-chain check before anything
 * is credited: Sprintcheckout simulator → keyed notification naming a real ganache transaction (the
 * ganache node runs as chain 137, the chain the simulator names) → checkOnChain → session → store.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { Address, Hash } from "viem";
import type { Bridge } from "../../src/bridge.ts";
import { builtinProviders } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { processDueWebhookEvents } from "../../src/usecases/webhooks.ts";
import { createEvmChainVerifier, parseTokenList } from "../../plugins/evm/chain-verifier.ts";
import { sprintcheckoutProvider } from "../../plugins/sprintcheckout/index.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, type TestStore } from "../support/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../support/databases.ts";
import { StoreEndpoint } from "../support/store-endpoint.ts";
import { SprintcheckoutSimulator } from "../simulators/sprintcheckout/server.ts";
import { startTestChain, type TestChain } from "./node.ts";

const extraProviders = builtinProviders.some((p) => p.name === sprintcheckoutProvider.name) ? [] : [sprintcheckoutProvider];
const merchant = "0x000000000000000000000000000000000000bEEF" as Address;

let chain: TestChain;
let usdc: Address;
let lookAlike: Address;
beforeAll(async () => {
  chain = await startTestChain({ chainId: 137 });
  usdc = await chain.deployToken({ symbol: "USDC" });
  lookAlike = await chain.deployToken({ symbol: "USDC" });
});
afterAll(async () => {
  await chain?.stop();
});

describeEachDatabase("webhook → on-chain check on a real chain → store", (makeDb) => {
  let db: TestDatabase | undefined;
  let bridge: Bridge | undefined;
  let endpoint: StoreEndpoint | undefined;
  let sim: SprintcheckoutSimulator | undefined;
  let clock = Date.now();

  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await sim?.stop();
    await db?.drop();
    bridge = endpoint = sim = db = undefined;
  });

  async function setup() {
    db = await makeDb();
    clock = Date.now();
    const chainVerifier = createEvmChainVerifier({
      chains: [{ chainId: 137, rpcUrl: chain.rpcUrl, confirmations: 3 }],
      tokens: parseTokenList(`137:USDC=${usdc}`),
    });
    bridge = await createTestBridge({ databaseUrl: db.url, extraProviders, chainVerifier, clock: () => new Date(clock) });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    const store: TestStore = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    sim = await new SprintcheckoutSimulator({ now: () => new Date(clock) }).start();
    const conn = await addConnection(bridge.deps, {
      storeId: store.storeId, provider: "sprintcheckout", livemode: false,
      credentials: { apiKey: sim.apiKey, webhookApiKey: sim.webhookApiKey }, settings: { baseUrl: sim.url },
    });
    const b = bridge;
    const webhookPath = new URL(conn.webhookUrl).pathname;
    sim.deliver = async (body, headers) => b.app.request(webhookPath, { method: "POST", headers, body });
    return { store, bridge: b, endpoint, sim };
  }

  async function newSession(s: Awaited<ReturnType<typeof setup>>, orderId = "1001") {
    const res = await postSession(s.bridge, s.store.testKey, cartBody({ provider: "sprintcheckout", order: { id: orderId, number: orderId, key: `k${orderId}` } }));
    expect(res.status).toBe(201);
    const session = (await res.json()) as { id: string };
    return { id: session.id, platformId: [...s.sim.sessions.values()].at(-1)!.sessionId };
  }

  /** The platform reports SUCCESS with `hash` as its receipt (a polygonscan link, as Sprintcheckout sends). */
  async function notifyPaid(s: Awaited<ReturnType<typeof setup>>, platformId: string, hash: Hash) {
    s.sim.sessions.get(platformId)!.receipts = [`https://polygonscan.com/tx/${hash}`];
    expect((await s.sim.notify(platformId, "SUCCESS")).status).toBe(200);
  }

  async function stateOf(b: Bridge, id: string) {
    return b.deps.db.kysely.selectFrom("checkout_sessions").select(["status", "review_reason", "amount_paid_minor"]).where("id", "=", id).executeTakeFirstOrThrow();
  }

  it("a look-alike token's transfer holds the session for review and sends the store nothing", async () => {
    const s = await setup();
    const session = await newSession(s);
    const hash = await chain.transferToken(lookAlike, merchant, 40_000_000n);
    await chain.mine(3);
    await notifyPaid(s, session.platformId, hash);
    await drain(s.bridge);
    expect(s.endpoint.received).toHaveLength(0);
    const state = await stateOf(s.bridge, session.id);
    expect(state.status).toBe("open");
    expect(state.review_reason).toContain(`on-chain check failed: no`);
  });

  it("the listed token's transfer is credited, once deep enough; before that the event is retried, not held", async () => {
    const s = await setup();
    const session = await newSession(s);
    const hash = await chain.transferToken(usdc, merchant, 40_000_000n);
    await notifyPaid(s, session.platformId, hash);
    await processDueWebhookEvents(s.bridge.deps);
    const early = await s.bridge.deps.db.kysely.selectFrom("webhook_events").select(["status", "attempts", "result_note"]).executeTakeFirstOrThrow();
    expect(early).toMatchObject({ status: "received", attempts: 1, result_note: expect.stringContaining("1 of 3 confirmations") });
    expect(await stateOf(s.bridge, session.id)).toMatchObject({ status: "open", review_reason: null });

    await chain.mine(2);
    clock += 5_000; // past the retry's backoff
    await drain(s.bridge);
    expect(await stateOf(s.bridge, session.id)).toMatchObject({ status: "paid", review_reason: null });
    expect(s.endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid"]);
  });

  it("one transaction cannot pay two sessions", async () => {
    const s = await setup();
    const first = await newSession(s, "1001");
    const second = await newSession(s, "1002");
    const hash = await chain.transferToken(usdc, merchant, 40_000_000n);
    await chain.mine(3);
    await notifyPaid(s, first.platformId, hash);
    await drain(s.bridge);
    await notifyPaid(s, second.platformId, hash);
    await drain(s.bridge);
    expect((await stateOf(s.bridge, first.id)).status).toBe("paid");
    const held = await stateOf(s.bridge, second.id);
    expect(held).toMatchObject({ status: "open", amount_paid_minor: "0" });
    expect(held.review_reason).toContain(`${hash} already paid session ${first.id}`);
    expect(s.endpoint.received.map((r) => r.update.session.id)).toEqual([first.id]);
  });
});
