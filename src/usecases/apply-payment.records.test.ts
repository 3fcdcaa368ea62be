import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, postSession, type TestStore } from "../../test/support/bridge.ts";
import { applyPaymentObservation } from "./apply-payment.ts";

describeEachDatabase("payment records follow the decision", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url });
    store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
  });
  afterEach(async () => {
    await bridge.close();
    await db.drop();
  });

  const newSession = async () => ((await (await postSession(bridge, store.testKey, cartBody())).json()) as { id: string }).id;
  const payments = (sessionId: string) =>
    bridge.deps.db.kysely.selectFrom("payments").select(["reference", "status", "amount_minor"]).where("session_id", "=", sessionId).execute();
  const tx = [{ hash: "0xabc", chainId: "1" }];

  it("an older event that arrives after the payment leaves the payment as credited", async () => {
    const id = await newSession();
    await applyPaymentObservation(bridge.deps, id, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: tx, source: "test" });
    const older = await applyPaymentObservation(bridge.deps, id, { outcome: "underpaid", amountPaidMinor: 1000n, currency: "USD", transactions: tx, source: "test" });
    expect(older.decision.kind).toBe("noop");
    expect(await payments(id)).toEqual([{ reference: "0xabc", status: "paid", amount_minor: "4000" }]);
  });

  it("a payment held for review is findable as held_for_review and never overwrites a credited one", async () => {
    const id = await newSession();
    await applyPaymentObservation(bridge.deps, id, { outcome: "paid", amountPaidMinor: 4000n, currency: "EUR", transactions: tx, source: "test" });
    expect(await payments(id)).toEqual([{ reference: "0xabc", status: "held_for_review", amount_minor: "4000" }]);

    const other = await newSession();
    await applyPaymentObservation(bridge.deps, other, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: tx, source: "test" });
    await applyPaymentObservation(bridge.deps, other, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: tx, source: "t", chainMismatch: "wrong recipient" });
    expect(await payments(other)).toEqual([{ reference: "0xabc", status: "paid", amount_minor: "4000" }]);
  });

  it("one transaction on a named chain pays one session: a second session naming it is held, even with no on-chain check", async () => {
    const first = await newSession();
    const second = await newSession();
    const onChain = [{ hash: "0xABC1", chainId: "137" }];
    await applyPaymentObservation(bridge.deps, first, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: onChain, source: "webhook:a" });
    const replayed = await applyPaymentObservation(bridge.deps, second, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [{ hash: "0xabc1", chainId: "137" }], source: "webhook:b" });
    expect(replayed.decision).toMatchObject({ kind: "review", reason: expect.stringContaining(first) });
    const statuses = await bridge.deps.db.kysely.selectFrom("checkout_sessions").select(["id", "status"]).where("id", "in", [first, second]).execute();
    expect(Object.fromEntries(statuses.map((r) => [r.id, r.status]))).toEqual({ [first]: "paid", [second]: "open" });
    // The first session hearing its own transaction again is no conflict.
    expect((await applyPaymentObservation(bridge.deps, first, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: onChain, source: "webhook:c" })).decision.kind).toBe("noop");
    // A transaction with no chain named (a Bitcoin payout batching several invoices) may pay several sessions.
    const third = await newSession();
    const fourth = await newSession();
    for (const id of [third, fourth]) {
      await applyPaymentObservation(bridge.deps, id, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [{ hash: "btc-batch" }], source: "webhook:d" });
    }
    const paid = await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("status").where("id", "in", [third, fourth]).execute();
    expect(paid.map((r) => r.status)).toEqual(["paid", "paid"]);
  });

  it("two sessions credited with one transaction at the same moment: exactly one is paid", async () => {
    const ids = await Promise.all([newSession(), newSession(), newSession()]);
    const results = await Promise.all(ids.map((id) =>
      applyPaymentObservation(bridge.deps, id, { outcome: "paid", amountPaidMinor: 4000n, currency: "USD", transactions: [{ hash: "0xrace", chainId: "1" }], source: "webhook:r" })));
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const rows = await bridge.deps.db.kysely.selectFrom("credited_transactions").selectAll().execute();
    expect(rows).toHaveLength(1);
  });
});
