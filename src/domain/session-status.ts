/**
 * The checkout session's state machine. It only moves forward: a late or duplicate event never turns a
 * settled session back. See docs/decisions/0003-state-machine.md.
 *
 *   open → processing → paid | paid_late | overpaid | underpaid | expired | failed | canceled
 *   underpaid → paid | paid_late | overpaid                (a top-up completes it)
 *   expired | failed | canceled → paid_late | overpaid | underpaid   (money that arrives anyway is never lost)
 *   paid | paid_late → overpaid                            (a second payment on a paid session)
 *   underpaid → underpaid, overpaid → overpaid             (only with a larger amount: more money arrived)
 */
export const sessionStatuses = [
  "open",
  "processing",
  "paid",
  "paid_late",
  "overpaid",
  "underpaid",
  "expired",
  "failed",
  "canceled",
] as const;

export type SessionStatus = (typeof sessionStatuses)[number];

/** What a provider (or the chain) says happened; `open` is never an outcome. */
export type PaymentOutcome = Exclude<SessionStatus, "open">;

export function isSessionStatus(value: string): value is SessionStatus {
  return (sessionStatuses as readonly string[]).includes(value);
}

export function assertNever(value: never, what = "value"): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(value)}`);
}

/** Outcomes that say money arrived (in full, late, too much or too little): they credit a payment. */
export const payingOutcomes: ReadonlySet<SessionStatus> = new Set<SessionStatus>(["paid", "paid_late", "overpaid", "underpaid"]);

/** Whether money was received in full: the store order may be fulfilled. */
export function isSettledPaid(status: SessionStatus): boolean {
  switch (status) {
    case "paid":
    case "paid_late":
    case "overpaid":
      return true;
    case "open":
    case "processing":
    case "underpaid":
    case "expired":
    case "failed":
    case "canceled":
      return false;
    default:
      return assertNever(status, "session status");
  }
}

/** The statuses a session in `from` may move to. */
export function allowedNext(from: SessionStatus): readonly SessionStatus[] {
  switch (from) {
    case "open":
      return ["processing", "paid", "paid_late", "overpaid", "underpaid", "expired", "failed", "canceled"];
    case "processing":
      return ["paid", "paid_late", "overpaid", "underpaid", "expired", "failed", "canceled"];
    case "underpaid":
      return ["paid", "paid_late", "overpaid"];
    case "expired":
    case "failed":
    case "canceled":
      return ["paid_late", "overpaid", "underpaid"];
    case "paid":
    case "paid_late":
      return ["overpaid"];
    case "overpaid":
      return [];
    default:
      return assertNever(from, "session status");
  }
}

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return allowedNext(from).includes(to);
}

/** Whether the session can still receive a first payment at its original terms. */
export function isOpenForPayment(status: SessionStatus): boolean {
  return status === "open" || status === "processing";
}
