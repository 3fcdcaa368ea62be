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
});
