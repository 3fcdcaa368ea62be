/**
 * The evm provider against a real EVM node (ganache, in-process, HTTP on 127.0.0.1) with real token
 * transactions, on SQLite and MariaDB: the watcher's verdicts, reorgs, restarts and the store updates.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { getAddress, type Address, type PublicClient } from "viem";
import type { Bridge } from "../../src/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, drain, postSession } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { startTestChain, type TestChain } from "../../test/chain/node.ts";
import { addEvmStore, createEvmBridge, type EvmFixture } from "../../test/chain/evm-bridge.ts";
import { collectMetrics } from "../../src/metrics/index.ts";
import { isRangeRefusal, leaseName, pollIntervalFor, runWatcherOnce, type Cursor } from "./watcher.ts";
import { rpcClient } from "./rpc.ts";
import { evmDb } from "./tables.ts";

const progress = ["processing", "underpaid", "paid", "paid_late", "overpaid"];
const rpcMethods = new Set(["getBlockNumber", "getBlock", "getTransactionReceipt", "getTransaction", "request"]);

/**
 * The real RPC client with every call the watcher makes passed through `intercept` first (which may throw,
 * or change nothing). Raw requests are named by their RPC method (`eth_getLogs`) with their first param.
 */
function interceptedClient(intercept: (method: string, args: Record<string, unknown>) => void | Promise<void>) {
  return (url: string) =>
    new Proxy(rpcClient(url), {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function" || !rpcMethods.has(String(prop))) return value;
        return async (args: Record<string, unknown> = {}) => {
          if (prop === "request") await intercept(String(args.method), (args.params as Record<string, unknown>[])[0] ?? {});
          else await intercept(String(prop), args);
          return (value as (a: unknown) => Promise<unknown>).call(target, args);
        };
      },
    }) as PublicClient;
}

const byProgress = (a: string, b: string) => progress.indexOf(a.split(":")[0]!) - progress.indexOf(b.split(":")[0]!) || a.localeCompare(b);

let chain: TestChain;
let usdc: Address;
beforeAll(async () => {
  chain = await startTestChain();
  usdc = await chain.deployToken({ symbol: "USDC", decimals: 6 });
});
afterAll(async () => {
  await chain?.stop();
});

describeEachDatabase("evm watcher on a real chain", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let endpoint: StoreEndpoint;
  let shop: EvmFixture;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createEvmBridge({ databaseUrl: db.url });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    shop = await addEvmStore(bridge, endpoint.url, { chain, token: usdc, confirmations: 3 });
    endpoint.setSecret(shop.signingSecret);
  });
  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await db?.drop();
  });

  async function newSession(b: Bridge = bridge, amount = "40.00") {
    const res = await postSession(b, shop.testKey, cartBody({ lineItems: [{ name: "Thing", quantity: 1, unitAmount: amount }], shippingAmount: "0", taxAmount: "0", discountAmount: "0", amount }));
    expect(res.status).toBe(201);
    const session = (await res.json()) as { id: string };
    const row = await b.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", session.id).executeTakeFirstOrThrow();
    const data = JSON.parse(row.provider_data_json) as { depositAddress: Address; amountUnits: string; paymentUri: string };
    return { id: session.id, address: data.depositAddress, due: BigInt(data.amountUnits), data };
  }
  const watch = (b: Bridge = bridge, owner = "watcher-a", leaseMs?: number) => runWatcherOnce(b.deps, { owner, ...(leaseMs ? { leaseMs } : {}) });
  const status = async (id: string, b: Bridge = bridge) =>
    b.deps.db.kysely.selectFrom("checkout_sessions").select(["status", "amount_paid_minor", "review_reason"]).where("id", "=", id).executeTakeFirstOrThrow();
  // The outbox does not promise delivery order between two updates of a session queued in the same pass.
  const storeStatuses = () => endpoint.received.map((r) => `${r.update.session.status}:${r.update.session.amountPaid}`).sort(byProgress);

  it("exact payment: processing when seen, paid after 3 confirmations, store told once each", async () => {
    const s = await newSession();
    expect(s.due).toBe(40_000_000n); // USDC at par, 6 decimals
    expect(s.data.paymentUri).toBe(`ethereum:${getAddress(usdc)}@${chain.chainId}/transfer?address=${s.address}&uint256=40000000`);
    await chain.transferToken(usdc, s.address, s.due);
    expect((await watch()).seen).toBe(1);
    expect((await status(s.id)).status).toBe("processing");
    await chain.mine(1); // 2 confirmations: not yet
    await watch();
    expect((await status(s.id)).status).toBe("processing");
    await chain.mine(1);
    expect((await watch()).confirmed).toBe(1);
    expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
    await drain(bridge);
    expect(storeStatuses()).toEqual(["processing:0.00", "paid:40.00"]);
    const payment = endpoint.received[1]!.update.session.payments?.[0] as Record<string, unknown> | undefined;
    expect(JSON.stringify(payment ?? endpoint.received[1]!.update.session)).toContain("explorer.test/tx/");
    await chain.mine(3);
    await watch();
    await drain(bridge);
    expect(storeStatuses()).toHaveLength(2);
  });

  it("sessions created at once get distinct deposit addresses, in derivation order", async () => {
    const sessions = await Promise.all(Array.from({ length: 12 }, () => newSession()));
    const rows = await evmDb(bridge.deps.db.kysely).selectFrom("evm_deposits").select(["derivation_index", "address"]).execute();
    expect(new Set(rows.map((r) => r.address)).size).toBe(12);
    expect(new Set(rows.map((r) => r.derivation_index)).size).toBe(12);
    expect(new Set(sessions.map((x) => x.address.toLowerCase()))).toEqual(new Set(rows.map((r) => r.address)));
  });

  it("two partial payments add up: underpaid, then paid", async () => {
    const s = await newSession();
    await chain.transferToken(usdc, s.address, 15_000_000n);
    await watch();
    await chain.mine(2);
    await watch();
    expect(await status(s.id)).toMatchObject({ status: "underpaid", amount_paid_minor: "1500" });
    await chain.transferToken(usdc, s.address, 25_000_000n);
    await watch();
    await chain.mine(2);
    await watch();
    expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
    await drain(bridge);
    expect(storeStatuses()).toEqual(["processing:0.00", "underpaid:15.00", "paid:40.00"]);
  });

  it("underpayment by one unit is underpaid; overpayment by a dollar is overpaid", async () => {
    const a = await newSession();
    const b = await newSession();
    await chain.transferToken(usdc, a.address, a.due - 1n);
    await chain.transferToken(usdc, b.address, b.due + 1_000_000n);
    await watch();
    await chain.mine(3);
    await watch();
    expect(await status(a.id)).toMatchObject({ status: "underpaid", amount_paid_minor: "3999" });
    expect(await status(b.id)).toMatchObject({ status: "overpaid", amount_paid_minor: "4100" });
  });

  it("after expiry: inside the grace window paid_late; past it recorded and flagged for review", async () => {
    const inside = await newSession();
    const outside = await newSession();
    const nowMs = Date.now();
    const k = evmDb(bridge.deps.db.kysely);
    await k.updateTable("checkout_sessions").set({ expires_at: nowMs - 10 * 60_000 }).where("id", "=", inside.id).execute();
    await k.updateTable("checkout_sessions").set({ expires_at: nowMs - 3 * 3_600_000 }).where("id", "=", outside.id).execute();
    await chain.transferToken(usdc, inside.address, inside.due);
    await chain.transferToken(usdc, outside.address, outside.due);
    await watch();
    await chain.mine(3);
    await watch();
    expect(await status(inside.id)).toMatchObject({ status: "paid_late", amount_paid_minor: "4000" });
    const flagged = await status(outside.id);
    expect(flagged.status).not.toMatch(/paid/);
    expect(flagged.review_reason).toMatch(/past the grace window/);
    const recorded = await k.selectFrom("evm_transfers").select(["state", "amount_units"]).where("session_id", "=", outside.id).execute();
    expect(recorded).toEqual([{ state: "credited", amount_units: "40000000" }]);
  });

  it("a fake token with the same symbol credits nothing", async () => {
    const fake = await chain.deployToken({ symbol: "USDC", decimals: 6 });
    const s = await newSession();
    await chain.transferToken(fake, s.address, s.due);
    await watch();
    await chain.mine(3);
    await watch();
    expect(await status(s.id)).toMatchObject({ status: "open", amount_paid_minor: "0" });
    expect(await evmDb(bridge.deps.db.kysely).selectFrom("evm_transfers").select("id").where("session_id", "=", s.id).execute()).toEqual([]);
  });

  it("a reorg that removes a seen payment before it settles credits nothing", async () => {
    const s = await newSession();
    const snap = await chain.snapshot();
    await chain.transferToken(usdc, s.address, s.due);
    expect((await watch()).seen).toBe(1);
    expect((await status(s.id)).status).toBe("processing");
    await chain.revert(snap);
    await chain.mine(5);
    const pass = await watch();
    expect(pass).toMatchObject({ confirmed: 0, dropped: 1 });
    await watch();
    expect(await status(s.id)).toMatchObject({ status: "processing", amount_paid_minor: "0" });
    const rows = await evmDb(bridge.deps.db.kysely).selectFrom("evm_transfers").select("state").where("session_id", "=", s.id).execute();
    expect(rows).toEqual([{ state: "dropped" }]);
    await drain(bridge);
    expect(storeStatuses()).toEqual(["processing:0.00"]);
  });

  it("a reorg that brings a payment in a block already read: the watcher reads the new fork again", async () => {
    const s = await newSession();
    const snap = await chain.snapshot();
    await chain.mine(2); // blocks the watcher reads, with nothing for us
    await watch();
    await chain.revert(snap);
    await chain.transferToken(usdc, s.address, s.due); // the new fork: the payment sits at a height already read
    await chain.mine(1);
    await watch(); // same height as before: nothing to notice yet
    await chain.mine(1); // the fork grows past the cursor: the replaced block is noticed and read again
    expect((await watch()).seen).toBe(1);
    expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
  });

  it("a restart mid-watch: the next process takes the lease, misses nothing and counts nothing twice", async () => {
    const s = await newSession();
    await chain.transferToken(usdc, s.address, 10_000_000n);
    await watch(bridge, "process-a", 1); // process A sees the first payment, then dies (its lease lapses)
    const masterKeys = bridge.deps.config.MASTER_KEYS!;
    await bridge.close();
    await chain.transferToken(usdc, s.address, 30_000_000n); // paid while no one watches
    await chain.mine(3);

    bridge = await createEvmBridge({ databaseUrl: db.url, config: { MASTER_KEYS: masterKeys } });
    const second = await watch(bridge, "process-b");
    expect(second).toMatchObject({ chains: 1, seen: 1 });
    expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
    // A zombie A cannot take the chain back while B holds it.
    expect((await watch(bridge, "process-a")).chains).toBe(0);
    // Even if the cursor went back (two watchers overlapping), the same transfers are not credited again.
    await evmDb(bridge.deps.db.kysely).updateTable("worker_leases").set({ cursor_json: "{}" }).execute();
    await watch(bridge, "process-b");
    await chain.mine(3);
    await watch(bridge, "process-b");
    const transfers = await evmDb(bridge.deps.db.kysely).selectFrom("evm_transfers").select(["amount_units", "state"]).where("session_id", "=", s.id).orderBy("amount_units").execute();
    expect(transfers).toEqual([{ amount_units: "10000000", state: "credited" }, { amount_units: "30000000", state: "credited" }]);
    expect(await status(s.id, bridge)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
    await drain(bridge);
    // Each outcome once: A's "processing", then B credits the two transfers in block order.
    expect(storeStatuses()).toEqual(["processing:0.00", "underpaid:10.00", "paid:40.00"]);
  });

  it("two watchers overlapping on the same blocks credit each transfer once", async () => {
    const other = await createEvmBridge({ databaseUrl: db.url, config: { MASTER_KEYS: bridge.deps.config.MASTER_KEYS! } });
    try {
      const s = await newSession();
      await chain.transferToken(usdc, s.address, s.due);
      await chain.mine(2);
      // A lease of 1 ms lets both believe they hold the chain: the worst case of a stalled holder.
      const passes = await Promise.all([watch(bridge, "a", 1), watch(other, "b", 1), watch(bridge, "a", 1), watch(other, "b", 1)]);
      expect(passes.reduce((n, p) => n + p.seen, 0)).toBe(1);
      await watch(bridge, "a", 1);
      expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
      const rows = await evmDb(bridge.deps.db.kysely).selectFrom("evm_transfers").select("state").where("session_id", "=", s.id).execute();
      expect(rows).toEqual([{ state: "credited" }]);
      await drain(bridge);
      expect(storeStatuses()).toEqual(["processing:0.00", "paid:40.00"]);
    } finally {
      await other.close();
    }
  });

  it("an unreachable RPC fails the pass for that chain only, and the next pass catches up", async () => {
    const s = await newSession();
    await chain.transferToken(usdc, s.address, s.due);
    await chain.mine(2);
    const broken = await runWatcherOnce(bridge.deps, { owner: "watcher-a", client: () => { throw new Error("connection refused"); } });
    expect(broken.failed).toEqual([chain.chainId]);
    await watch();
    expect((await status(s.id)).status).toBe("paid");
  });

  it("serves the status JSON the hosted page polls", async () => {
    const s = await newSession();
    const conn = shop.connectionId;
    const res = await bridge.app.request(`/p/evm/status/${conn}/evm_${s.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "open", final: false, paid: false, paidAmount: "0", remainingAmount: "40" });
    const page = await bridge.app.request(`/p/evm/checkout/${conn}/evm_${s.id}`);
    const text = await page.text();
    expect(text).toContain(s.address);
    expect(text).toContain("<svg");
    expect((await bridge.app.request(`/p/evm/status/${conn}/evm_nope`)).status).toBe(404);
    await chain.transferToken(usdc, s.address, 15_500_000n);
    await watch();
    await chain.mine(2);
    await watch();
    const partly = await (await bridge.app.request(`/p/evm/status/${conn}/evm_${s.id}`)).json();
    expect(partly).toMatchObject({ status: "underpaid", paid: false, paidAmount: "15.5", remainingAmount: "24.5" });
    expect(partly.remainingUri).toBe(`ethereum:${getAddress(usdc)}@${chain.chainId}/transfer?address=${s.address}&uint256=24500000`);
    expect(await (await bridge.app.request(`/p/evm/checkout/${conn}/evm_${s.id}`)).text()).toContain("send the remaining <strong>24.5 USDC</strong>");
    await chain.transferToken(usdc, s.address, 24_500_000n);
    await watch();
    await chain.mine(2);
    await watch();
    expect(await (await bridge.app.request(`/p/evm/status/${conn}/evm_${s.id}`)).json()).toMatchObject({ status: "paid", paid: true, final: true, redirectUrl: "https://shop.example/thanks", remainingAmount: "0" });
  });

  it("asks getLogs only for the deposit addresses, and halves the block range when the RPC refuses", async () => {
    const s = await newSession();
    await newSession(); // a second recipient in the same topic filter
    await chain.mine(6); // a range wider than the fake RPC accepts
    await chain.transferToken(usdc, s.address, s.due);
    await chain.transferToken(usdc, "0x000000000000000000000000000000000000dEaD", 5n); // someone else's transfer
    const calls: { from: bigint; to: bigint; recipients: string[] }[] = [];
    const tooMany = Object.assign(new Error("query returned more than 10000 results"), { code: -32005 });
    const client = interceptedClient((method, args) => {
      if (method !== "eth_getLogs") return;
      const [from, to] = [BigInt(args.fromBlock as string), BigInt(args.toBlock as string)];
      const recipients = ((args.topics as (string[] | string | null)[])[2] as string[]).map((t) => `0x${t.slice(26)}`);
      calls.push({ from, to, recipients });
      if (to - from + 1n > 2n) throw tooMany;
    });
    const pass = await runWatcherOnce(bridge.deps, { owner: "watcher-a", client });
    expect(pass).toMatchObject({ seen: 1, failed: [] });
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.every((c) => c.recipients.length === 2 && c.recipients.includes(s.address.toLowerCase()))).toBe(true);
    // The answered chunks cover the range once, without gaps.
    const answered = calls.filter((c) => c.to - c.from + 1n <= 2n).sort((a, b) => Number(a.from - b.from));
    for (let i = 1; i < answered.length; i++) expect(answered[i]!.from).toBe(answered[i - 1]!.to + 1n);
    expect(answered.at(-1)!.to).toBe(await chain.blockNumber());
    const rows = await evmDb(bridge.deps.db.kysely).selectFrom("evm_transfers").select("session_id").execute();
    expect(rows).toEqual([{ session_id: s.id }]);

    // Any other error is not a refusal: the pass fails and resumes later, without a storm of smaller calls.
    await chain.transferToken(usdc, s.address, 1n);
    calls.length = 0;
    const down = interceptedClient((method) => {
      if (method === "eth_getLogs") { calls.push({ from: 0n, to: 0n, recipients: [] }); throw new Error("fetch failed: ECONNRESET"); }
    });
    expect((await runWatcherOnce(bridge.deps, { owner: "watcher-a", client: down })).failed).toEqual([chain.chainId]);
    expect(calls).toHaveLength(1);
    expect(isRangeRefusal(new Error("fetch failed: ECONNRESET"))).toBe(false);
    expect(isRangeRefusal({ message: "RPC error", cause: { code: -32602, message: "block range is too wide" } })).toBe(true);
  });

  it("a watcher whose lease is taken mid-pass writes nothing; the new holder credits the payment once", async () => {
    await chain.mine(1); // the head block is scanned for a new session: keep earlier tests' transfers out of it
    const s = await newSession();
    await chain.transferToken(usdc, s.address, s.due);
    await chain.mine(3);
    const k = evmDb(bridge.deps.db.kysely);
    // A stalls inside its pass (here: in eth_getLogs) long enough for B to take over the chain.
    const stalled = interceptedClient(async (method) => {
      if (method === "eth_getLogs") await k.updateTable("worker_leases").set({ owner: "process-b", lease_until: Date.now() + 60_000 }).execute();
    });
    const a = await runWatcherOnce(bridge.deps, { owner: "process-a", client: stalled });
    expect(a).toMatchObject({ seen: 0, confirmed: 0, lost: [chain.chainId] });
    expect(await k.selectFrom("evm_transfers").select("id").execute()).toEqual([]);
    expect(await status(s.id)).toMatchObject({ status: "open" });
    const b = await watch(bridge, "process-b");
    expect(b).toMatchObject({ seen: 1, confirmed: 1 });
    expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
  });

  it("saves the head in the cursor, so the lag metric reports the real watcher", async () => {
    const k = evmDb(bridge.deps.db.kysely);
    const conn = await k.selectFrom("provider_connections").select("settings_json").where("id", "=", shop.connectionId).executeTakeFirstOrThrow();
    const settings_json = JSON.stringify({ ...(JSON.parse(conn.settings_json) as object), maxBlocksPerPass: 2 });
    await k.updateTable("provider_connections").set({ settings_json }).where("id", "=", shop.connectionId).execute();
    await newSession();
    await chain.mine(5);
    // Passes of at most 2 blocks leave the watcher behind the head.
    const pass = await runWatcherOnce(bridge.deps, { owner: "watcher-a" });
    expect(pass).toMatchObject({ blocks: 2, blockTimeMs: 1000 });
    const head = Number(await chain.blockNumber());
    const row = await k.selectFrom("worker_leases").select("cursor_json").where("name", "=", leaseName(chain.chainId)).executeTakeFirstOrThrow();
    const cursor = JSON.parse(row.cursor_json) as Cursor;
    expect(cursor.head).toBe(head);
    const behind = head + 1 - cursor.next!;
    expect(behind).toBeGreaterThanOrEqual(3);
    const lag = (await collectMetrics(bridge.deps)).split("\n").find((l) => l.startsWith("cartbridge_watcher_lag_blocks{"));
    expect(lag).toBe(`cartbridge_watcher_lag_blocks{watcher="evm:${chain.chainId}"} ${behind}`);
  });

  it("a reorg deeper than the confirmations: the watcher walks back to the block the chain still agrees with", async () => {
    const s = await newSession();
    await chain.mine(1);
    await watch(); // a checkpoint below the fork, which the walk back stops at
    const snap = await chain.snapshot();
    for (let i = 0; i < 6; i++) { // six passes, one block each, none with a payment
      await chain.mine(1);
      await watch();
    }
    await chain.revert(snap);
    await chain.transferToken(usdc, s.address, s.due); // the new fork pays at the first height already read
    await chain.mine(6); // longer than the old fork
    expect((await watch()).seen).toBe(1);
    await chain.mine(1);
    await watch();
    expect(await status(s.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
  });

  it("polls at half the shortest block time, within bounds", () => {
    expect(pollIntervalFor(undefined)).toBe(2_000);
    expect(pollIntervalFor(12_000)).toBe(6_000);
    expect(pollIntervalFor(2_000)).toBe(1_000);
    expect(pollIntervalFor(100)).toBe(250);
    expect(pollIntervalFor(120_000)).toBe(15_000);
  });

  it("a process stopped at any point of a pass and restarted misses nothing and counts nothing twice", async () => {
    const a = await newSession();
    const b = await newSession();
    await chain.transferToken(usdc, a.address, 10_000_000n);
    await chain.transferToken(usdc, b.address, b.due);
    await chain.mine(1);
    await chain.transferToken(usdc, a.address, 30_000_000n);
    let calls = 0;
    let budget = 0;
    const dying = interceptedClient(() => {
      if (++calls > budget) throw new Error("process killed");
    });
    // Each round the process dies one RPC call later, then mines on: every point of every pass is hit.
    for (budget = 0; budget < 40; budget++) {
      calls = 0;
      await runWatcherOnce(bridge.deps, { owner: "watcher-a", client: dying });
      if (budget % 8 === 7) await chain.mine(1);
    }
    await chain.mine(3);
    await watch();
    await watch();
    expect(await status(a.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
    expect(await status(b.id)).toMatchObject({ status: "paid", amount_paid_minor: "4000" });
    const rows = await evmDb(bridge.deps.db.kysely).selectFrom("evm_transfers").select(["session_id", "amount_units", "state"]).orderBy("amount_units").execute();
    expect(rows).toEqual([
      { session_id: a.id, amount_units: "10000000", state: "credited" },
      { session_id: a.id, amount_units: "30000000", state: "credited" },
      { session_id: b.id, amount_units: "40000000", state: "credited" },
    ]);
    await drain(bridge);
    const perSession = (id: string) => endpoint.received.filter((r) => r.update.session.id === id).map((r) => r.update.session.status).sort();
    expect(perSession(a.id)).toEqual(["paid", "processing", "underpaid"]);
    expect(perSession(b.id)).toEqual(["paid", "processing"]);
  });
});
