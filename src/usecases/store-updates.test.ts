import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { generateMasterKeySpec } from "../crypto/secrets.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, postSession, testPublicUrl, type TestStore } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { applyPaymentObservation } from "./apply-payment.ts";
import { backoffDelayMs, runStoreUpdatesOnce } from "./store-updates.ts";

it("backoff grows exponentially with full jitter, capped", () => {
  expect(backoffDelayMs(1, 1000, 60_000, () => 0)).toBe(1000);
  expect(backoffDelayMs(5, 1000, 60_000, () => 1)).toBe(16_000);
  expect(backoffDelayMs(30, 1000, 60_000, () => 1)).toBe(60_000);
  const samples = new Set(Array.from({ length: 50 }, () => backoffDelayMs(6, 1000, 60_000)));
  expect(samples.size).toBeGreaterThan(10);
});

describeEachDatabase("store updates (outbox)", (makeDb, dialect) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  let endpoint: StoreEndpoint;
  const masterKeys = generateMasterKeySpec("shared");
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, config: { MASTER_KEYS: masterKeys, OUTBOX_MAX_ATTEMPTS: "50" } });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    store = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  });

  /** `n` paid sessions, each with one queued store update. */
  async function queuePaidSessions(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const s = await (await postSession(bridge, store.testKey, cartBody({ order: { id: `order-${i}` } }))).json();
      await applyPaymentObservation(bridge.deps, s.id, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [], source: "test" });
      ids.push(s.id);
    }
    return ids;
  }

  /** A second bridge process (`cartbridge worker`) on the same database. */
  async function startWorkerProcess(extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
    const child = spawn(process.execPath, ["bin/cartbridge.mjs", "worker"], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: db.url,
        MASTER_KEYS: masterKeys,
        PUBLIC_URL: testPublicUrl,
        LOG_LEVEL: "info",
        WORKER_POLL_MS: "50",
        OUTBOX_BASE_DELAY_MS: "50",
        OUTBOX_MAX_DELAY_MS: "200",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tag = `[worker ${children.length + 1}]`;
    child.stdout?.on("data", (d: Buffer) => process.stderr.write(`${tag} ${d}`));
    child.stderr?.on("data", (d: Buffer) => process.stderr.write(`${tag} ${d}`));
    children.push(child);
    return child;
  }

  /** Resolves once the process has logged that its background loops run (tsx start-up takes seconds under load). */
  function workerRunning(child: ChildProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      let seen = "";
      const onData = (d: Buffer) => {
        seen += d.toString();
        if (seen.includes("cartbridge worker running")) {
          child.stdout?.off("data", onData);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`worker exited with ${code} before it ran`)));
    });
  }

  const jobStates = async () =>
    (await bridge.deps.db.kysely.selectFrom("store_updates").select("state").execute()).map((r) => r.state);

  it("the store down for a while, then up, receives every update", async () => {
    await queuePaidSessions(5);
    endpoint.down = true;
    for (let i = 0; i < 3; i++) {
      await runStoreUpdatesOnce(bridge.deps, "w1");
      await new Promise((r) => setTimeout(r, 450));
    }
    expect(endpoint.received).toHaveLength(0);
    const failedAttempts = await bridge.deps.db.kysely.selectFrom("store_update_attempts").select(["outcome", "response_status"]).execute();
    expect(failedAttempts.length).toBeGreaterThanOrEqual(5);
    expect(failedAttempts.every((a) => a.outcome === "retry" && a.response_status === 503)).toBe(true);

    endpoint.down = false;
    for (let i = 0; i < 20 && endpoint.received.length < 5; i++) {
      await runStoreUpdatesOnce(bridge.deps, "w1");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(endpoint.distinct()).toHaveLength(5);
    expect(endpoint.received).toHaveLength(5);
    expect(await jobStates()).toEqual(Array(5).fill("delivered"));
  });

  it("dead-letters after the last attempt, and 'retry now' delivers it", async () => {
    await bridge.close();
    bridge = await createTestBridge({ databaseUrl: db.url, config: { MASTER_KEYS: masterKeys, OUTBOX_MAX_ATTEMPTS: "2" } });
    await queuePaidSessions(1);
    endpoint.down = true;
    for (let i = 0; i < 4; i++) {
      await runStoreUpdatesOnce(bridge.deps, "w1");
      await new Promise((r) => setTimeout(r, 120));
    }
    expect(await jobStates()).toEqual(["dead"]);
    endpoint.down = false;
    const { retryStoreUpdateNow } = await import("./store-updates.ts");
    const job = await bridge.deps.db.kysely.selectFrom("store_updates").select("id").executeTakeFirstOrThrow();
    expect(await retryStoreUpdateNow(bridge.deps, job.id)).toBe(true);
    await runStoreUpdatesOnce(bridge.deps, "w1");
    expect(await jobStates()).toEqual(["delivered"]);
    expect(endpoint.received).toHaveLength(1);
  });

  it("a worker killed in the middle of a delivery: after restart the update is delivered, once", async () => {
    await queuePaidSessions(1);
    endpoint.delayMs = 3_000; // hold the first delivery in flight
    const first = await startWorkerProcess({ OUTBOX_LEASE_MS: "1500" });
    const deadline = Date.now() + 30_000;
    while (endpoint.requests === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(endpoint.requests).toBe(1);
    first.kill("SIGKILL");
    if (first.exitCode === null) await new Promise((r) => first.once("exit", r));
    expect(await jobStates()).toEqual(["delivering"]);

    endpoint.delayMs = 0;
    await startWorkerProcess({ OUTBOX_LEASE_MS: "1500" });
    await endpoint.waitFor((r) => r.length >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 3_500)); // the abandoned request finishes its delay meanwhile
    expect(endpoint.received).toHaveLength(1);
    expect(endpoint.abandoned).toBe(1);
    expect(await jobStates()).toEqual(["delivered"]);
  });

  it("a retried update older than one the store accepted is not sent: the order never moves back", async () => {
    const { id } = (await (await postSession(bridge, store.testKey, cartBody())).json()) as { id: string };
    await applyPaymentObservation(bridge.deps, id, { outcome: "expired", transactions: [], source: "test" });
    endpoint.down = true;
    await runStoreUpdatesOnce(bridge.deps, "w1"); // `expired` fails and waits for its retry
    endpoint.down = false;
    await bridge.deps.db.kysely.updateTable("store_updates").set({ next_attempt_at: Date.now() + 60_000 }).execute();
    await applyPaymentObservation(bridge.deps, id, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [], source: "test" });
    expect(await runStoreUpdatesOnce(bridge.deps, "w1")).toBe(1); // `paid_late`, the newer one, goes first

    await bridge.deps.db.kysely.updateTable("store_updates").set({ next_attempt_at: Date.now() }).where("state", "=", "pending").execute();
    expect(await runStoreUpdatesOnce(bridge.deps, "w1")).toBe(1);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.paid_late"]);
    const rows = await bridge.deps.db.kysely.selectFrom("store_updates").select(["event_type", "state"]).orderBy("created_at").execute();
    expect(rows).toEqual([
      { event_type: "checkout_session.expired", state: "superseded" },
      { event_type: "checkout_session.paid_late", state: "delivered" },
    ]);
    const timeline = await bridge.deps.db.kysely.selectFrom("session_events").select("kind").where("session_id", "=", id).execute();
    expect(timeline.map((e) => e.kind)).toContain("store_update_superseded");
  });

  it("two updates of one session are never in flight at once, in one pass or across workers", async () => {
    const { id } = (await (await postSession(bridge, store.testKey, cartBody())).json()) as { id: string };
    await applyPaymentObservation(bridge.deps, id, { outcome: "expired", transactions: [], source: "test" });
    await new Promise((r) => setTimeout(r, 5)); // `expired` is the older by its timestamp, not only by its id
    await applyPaymentObservation(bridge.deps, id, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [], source: "test" });
    expect(await jobStates()).toEqual(["pending", "pending"]);
    endpoint.delayMs = 400;
    // Both jobs are due; one pass and a second worker running beside it must take only one of them.
    const first = runStoreUpdatesOnce(bridge.deps, "w1");
    await new Promise((r) => setTimeout(r, 100));
    expect(await runStoreUpdatesOnce(bridge.deps, "w2")).toBe(0);
    expect(await first).toBe(1);
    expect(endpoint.requests).toBe(1);
    endpoint.delayMs = 0;
    expect(await runStoreUpdatesOnce(bridge.deps, "w2")).toBe(1);
    expect(endpoint.received.map((r) => r.update.type)).toEqual(["checkout_session.expired", "checkout_session.paid_late"]);
    const rows = await bridge.deps.db.kysely.selectFrom("store_updates").select(["state", "inflight_session_id"]).execute();
    expect(rows).toEqual([{ state: "delivered", inflight_session_id: null }, { state: "delivered", inflight_session_id: null }]);
  });

  it("a delivery that outlasts the lease keeps it: no second worker takes the job over", async () => {
    await bridge.close();
    bridge = await createTestBridge({ databaseUrl: db.url, config: { MASTER_KEYS: masterKeys, OUTBOX_LEASE_MS: "300" } });
    await queuePaidSessions(1);
    endpoint.delayMs = 1_500; // five leases long
    const slow = runStoreUpdatesOnce(bridge.deps, "w1");
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 150));
      expect(await runStoreUpdatesOnce(bridge.deps, "w2")).toBe(0);
    }
    expect(await slow).toBe(1);
    expect(endpoint.requests).toBe(1);
    expect(await jobStates()).toEqual(["delivered"]);
  });

  it("two bridge processes on one database split the jobs without duplicates", async () => {
    const ids = await queuePaidSessions(60);
    // Hold the jobs back until both processes run, then release them all at once.
    const jobs = () => bridge.deps.db.kysely.updateTable("store_updates");
    await jobs().set({ next_attempt_at: Date.now() + 10 * 60_000 }).execute();
    // Each delivery is slow enough that one process alone needs ~0.75 s for all of them (three claims of 20):
    // time for the other one (polling every 50 ms) to claim its share even on a loaded machine.
    endpoint.delayMs = 250;
    // Release the jobs only once both processes poll, so neither can take them all before the other is up.
    await Promise.all([startWorkerProcess(), startWorkerProcess()].map(async (started) => workerRunning(await started)));
    await jobs().set({ next_attempt_at: Date.now() }).execute();
    await endpoint.waitFor((r) => r.length >= ids.length, 60_000);
    for (let i = 0; i < 200 && (await jobStates()).some((s) => s !== "delivered"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(endpoint.received).toHaveLength(ids.length);
    expect(new Set(endpoint.received.map((r) => r.update.session.id)).size).toBe(ids.length);
    const workers = await bridge.deps.db.kysely.selectFrom("store_update_attempts").select("worker").execute();
    expect(workers).toHaveLength(ids.length);
    const perWorker = workers.reduce<Record<string, number>>((acc, w) => ({ ...acc, [w.worker]: (acc[w.worker] ?? 0) + 1 }), {});
    // On MySQL/MariaDB, SKIP LOCKED lets both processes claim at once, so both must have delivered. SQLite
    // has one writer at a time and its busy handler lets a busy process keep the lock, so there the test
    // asserts what SQLite guarantees: every job delivered once, by whichever process claimed it.
    if (dialect === "mysql") expect(Object.keys(perWorker), JSON.stringify(perWorker)).toHaveLength(2);
    expect(children.every((c) => c.exitCode === null)).toBe(true);
  });
});
