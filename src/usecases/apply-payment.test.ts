import { describe, expect, it } from "vitest";
import type { SessionRow } from "../db/schema.ts";
import { decide, type PaymentObservation } from "./apply-payment.ts";

const now = new Date("2026-11-22T12:00:00Z");
const session = (over: Partial<SessionRow> = {}): SessionRow => ({
  id: "cs_1", store_id: "st", connection_id: "conn", provider: "sandbox", livemode: 0, status: "open",
  currency: "USD", amount_minor: "4000", amount_paid_minor: "0", order_id: "1001", order_number: null,
  order_key: null, customer_email: null, cart_json: "{}", metadata_json: "{}", success_url: "", cancel_url: "",
  provider_session_id: "p1", provider_checkout_url: null, provider_data_json: "{}", review_reason: null,
  expires_at: now.getTime() + 60_000, created_at: 0, updated_at: 0, provider_checked_at: null, ...over,
});
const obs = (over: Partial<PaymentObservation>): PaymentObservation => ({ outcome: "paid", transactions: [], source: "test", ...over });
const grace = 60 * 60_000;

describe("decide: what an observation does to a session", () => {
  it("derives the status from the amount, not from the platform's word", () => {
    expect(decide(session(), obs({ amountPaidMinor: 4000n }), now, grace)).toMatchObject({ kind: "transition", to: "paid" });
    expect(decide(session(), obs({ amountPaidMinor: 3999n }), now, grace)).toMatchObject({ kind: "transition", to: "underpaid" });
    expect(decide(session(), obs({ amountPaidMinor: 4001n }), now, grace)).toMatchObject({ kind: "transition", to: "overpaid" });
  });

  it("holds for review when currency or order do not match", () => {
    expect(decide(session(), obs({ amountPaidMinor: 4000n, currency: "EUR" }), now, grace).kind).toBe("review");
    expect(decide(session(), obs({ amountPaidMinor: 4000n, orderId: "999" }), now, grace).kind).toBe("review");
    expect(decide(session(), obs({ chainMismatch: "wrong recipient" }), now, grace).kind).toBe("review");
  });

  it("requires an exact amount when the event cannot be re-checked", () => {
    expect(decide(session(), obs({ requireExactMatch: true }), now, grace).kind).toBe("review");
    expect(decide(session(), obs({ requireExactMatch: true, amountPaidMinor: 3000n }), now, grace).kind).toBe("review");
    expect(decide(session(), obs({ requireExactMatch: true, amountPaidMinor: 4000n }), now, grace).kind).toBe("review");
    expect(decide(session(), obs({ requireExactMatch: true, outcome: "overpaid", amountPaidMinor: 5000n, currency: "USD", orderId: "1001" }), now, grace).kind).toBe("review");
    expect(decide(session(), obs({ requireExactMatch: true, amountPaidMinor: 4000n, currency: "USD", orderId: "1001" }), now, grace)).toMatchObject({ to: "paid" });
  });

  it("marks payments after expiry as paid_late inside the grace window and flags them after", () => {
    const expired = session({ status: "expired", expires_at: now.getTime() - 1000 });
    expect(decide(expired, obs({ amountPaidMinor: 4000n }), now, grace)).toMatchObject({ kind: "transition", to: "paid_late" });
    const longAgo = session({ status: "expired", expires_at: now.getTime() - 2 * grace });
    expect(decide(longAgo, obs({ amountPaidMinor: 4000n, occurredAt: now }), now, grace).kind).toBe("review");
    // Found later with no time attached (a re-fetch after downtime): it may have been paid in time.
    expect(decide(longAgo, obs({ amountPaidMinor: 4000n }), now, grace)).toMatchObject({ kind: "transition", to: "paid_late" });
  });

  it("ignores duplicates and anything that would move a paid session back", () => {
    const paid = session({ status: "paid", amount_paid_minor: "4000" });
    expect(decide(paid, obs({ amountPaidMinor: 4000n }), now, grace).kind).toBe("noop");
    expect(decide(paid, obs({ outcome: "expired" }), now, grace).kind).toBe("noop");
    expect(decide(paid, obs({ outcome: "processing" }), now, grace).kind).toBe("noop");
    expect(decide(paid, obs({ outcome: "underpaid", amountPaidMinor: 100n }), now, grace).kind).toBe("noop");
  });

  it("keeps a platform's overpayment without an amount as overpaid, flagged; a contradicting amount is held", () => {
    expect(decide(session(), obs({ outcome: "overpaid" }), now, grace)).toMatchObject({
      kind: "transition", to: "overpaid", amountPaidMinor: 4000n, reviewReason: expect.stringContaining("refund"),
    });
    expect(decide(session(), obs({ outcome: "overpaid", amountPaidMinor: 4000n }), now, grace)).toMatchObject({ kind: "transition", to: "overpaid" });
    expect(decide(session(), obs({ outcome: "overpaid", amountPaidMinor: 3000n }), now, grace).kind).toBe("review");
  });

  it("records a partial payment past the grace window as underpaid, flagged for review", () => {
    const longAgo = session({ status: "expired", expires_at: now.getTime() - 2 * grace });
    expect(decide(longAgo, obs({ outcome: "underpaid", amountPaidMinor: 1000n, occurredAt: now }), now, grace)).toMatchObject({
      kind: "transition", to: "underpaid", amountPaidMinor: 1000n, reviewReason: expect.stringContaining("past the grace window"),
    });
  });

  it("hears more money on a paid_late or overpaid session instead of dropping it", () => {
    const late = session({ status: "paid_late", amount_paid_minor: "4000" });
    expect(decide(late, obs({ amountPaidMinor: 5000n }), now, grace)).toMatchObject({ kind: "transition", to: "overpaid", amountPaidMinor: 5000n });
    const over = session({ status: "overpaid", amount_paid_minor: "5000" });
    expect(decide(over, obs({ outcome: "overpaid", amountPaidMinor: 6000n }), now, grace)).toMatchObject({ kind: "transition", to: "overpaid", amountPaidMinor: 6000n });
    expect(decide(over, obs({ outcome: "overpaid", amountPaidMinor: 5000n }), now, grace).kind).toBe("noop");
  });

  it("adds up partial payments: an older, smaller total never lowers what was paid", () => {
    const partial = session({ status: "underpaid", amount_paid_minor: "2500" });
    expect(decide(partial, obs({ outcome: "underpaid", amountPaidMinor: 1000n }), now, grace).kind).toBe("noop");
    expect(decide(partial, obs({ outcome: "underpaid", amountPaidMinor: 3000n }), now, grace)).toMatchObject({ to: "underpaid", amountPaidMinor: 3000n });
    expect(decide(partial, obs({ outcome: "paid", amountPaidMinor: 4000n }), now, grace)).toMatchObject({ to: "paid" });
  });
});
