import { describe, expect, it } from "vitest";
import { allowedNext, canTransition, isSettledPaid, sessionStatuses } from "./session-status.ts";

describe("session state machine", () => {
  it("never moves a settled-paid session to anything but overpaid", () => {
    for (const to of sessionStatuses) {
      expect(canTransition("paid_late", to)).toBe(to === "overpaid");
      expect(canTransition("overpaid", to)).toBe(false);
      expect(canTransition("paid", to)).toBe(to === "overpaid");
    }
  });

  it("never goes back to open, and never from a paid state to unpaid", () => {
    for (const from of sessionStatuses) {
      expect(canTransition(from, "open")).toBe(false);
      if (isSettledPaid(from)) {
        for (const to of allowedNext(from)) expect(isSettledPaid(to)).toBe(true);
      }
    }
  });

  it("lets money that arrives after expiry, failure or cancellation be recorded", () => {
    for (const from of ["expired", "failed", "canceled"] as const) {
      expect(canTransition(from, "paid_late")).toBe(true);
      expect(canTransition(from, "paid")).toBe(false);
      expect(canTransition(from, "processing")).toBe(false);
    }
  });

  it("completes an underpaid session with a top-up", () => {
    expect(canTransition("underpaid", "paid")).toBe(true);
    expect(canTransition("underpaid", "expired")).toBe(false);
  });
});
