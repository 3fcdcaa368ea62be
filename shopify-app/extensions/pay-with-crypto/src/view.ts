/**
 * What the block shows for the bridge's answer, and when it asks again. Kept free of UI imports so the
 * bridge's test suite checks the same decisions the buyer sees (src/shopify/extension.test.ts).
 */

/** The bridge's answer (GET /shopify/extension/orders/{id}); a type only, so the extension bundle stays alone. */
import type { OrderPaymentView } from "../../../../src/shopify/orders.ts";

export type Block =
  | { kind: "hidden" }
  | { kind: "preparing" }
  | { kind: "unavailable" }
  | { kind: "paid"; text: string }
  | { kind: "confirming"; text: string }
  | { kind: "due"; underpaid: boolean; text: string; payUrl: string; expiresAt?: string }
  | { kind: "ended" };

/** The bridge's reason while the order or its session does not exist yet (it answers this, then catches up). */
export const preparingReason = "being prepared";
/**
 * Right after checkout Shopify may not have the order yet, and the bridge may still be making its session.
 * That is worth waiting for, but not forever: after this long the block says the status is unavailable.
 */
export const preparingLimitMs = 3 * 60_000;
const preparingPollMs = 3_000;
/** Re-checks while the buyer waits on the page (a payment confirms in the background), at most 60 times. */
const pollMs = 10_000;
const maxPolls = 60;

export function blockFor(view: OrderPaymentView, waitedMs: number): Block {
  if (view.paid) return { kind: "paid", text: `${view.amountPaid} ${view.currency}` };
  if (view.status === "none") {
    if (view.reason !== preparingReason) return { kind: "hidden" };
    return waitedMs < preparingLimitMs ? { kind: "preparing" } : { kind: "unavailable" };
  }
  // Before the pay link: a buyer whose payment is confirming must not be asked to pay again.
  if (view.status === "processing") return { kind: "confirming", text: `${view.amount} ${view.currency}` };
  if (view.payUrl) {
    const underpaid = view.status === "underpaid";
    return {
      kind: "due",
      underpaid,
      text: underpaid ? `${view.amountPaid} / ${view.amount} ${view.currency}` : `${view.amount} ${view.currency}`,
      payUrl: view.payUrl,
      ...(view.expiresAt ? { expiresAt: view.expiresAt } : {}),
    };
  }
  return { kind: "ended" };
}

/** Milliseconds until the next check, or undefined when the block has nothing more to wait for. */
export function nextPollMs(block: Block, polls: number): number | undefined {
  switch (block.kind) {
    case "preparing":
      return preparingPollMs;
    case "due":
    case "confirming":
      return polls < maxPolls ? pollMs : undefined;
    case "hidden":
    case "unavailable":
    case "paid":
    case "ended":
      return undefined;
    default: {
      const never: never = block;
      throw new Error(`unhandled block ${JSON.stringify(never)}`);
    }
  }
}
