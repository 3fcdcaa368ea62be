/**
 * Sprintcheckout's wire shapes (providers.md §1, platform-guides/000): the v2 payment session body with
 * its JSON-number amount written as a raw decimal literal, the notification body read losslessly, and the
 * status list.
 */
import { createHash } from "node:crypto";
import { parse as parseLossless } from "lossless-json";
import { z } from "zod";
import { formatUnits } from "../../src/domain/money.ts";
import { assertNever, type PaymentOutcome } from "../../src/domain/session-status.ts";
import type { SessionForProvider } from "../types.ts";

export function parseJsonExact(text: string): unknown {
  return parseLossless(text, null, (literal: string) => literal);
}

/**
 * The create body. `amount` is a JSON number in fiat major units [V]; it is written as the exact decimal
 * literal of the minor-unit total ("40.00"), never produced by a JS float. `editable:false` and
 * `minAmount = amount` keep the payer from changing what they pay; TRANSIENT sessions are single-use.
 * (The last three are ASSUMPTIONS [INF] in the reference; the fields themselves are [V].) `failUrl` is left
 * out: only the update contract lists it [V], create's does not.
 */
export function createSessionBody(session: Pick<SessionForProvider, "amountMinor" | "currencyExponent" | "currency" | "order" | "successUrl" | "cancelUrl">): string {
  const amount = formatUnits(session.amountMinor, session.currencyExponent);
  if (!/^\d+(\.\d+)?$/.test(amount)) throw new RangeError(`${amount} is not a JSON number literal`);
  const s = JSON.stringify;
  return (
    `{"orderType":"TRANSIENT","amount":${amount},"minAmount":${amount},"editable":false,` +
    `"currency":${s(session.currency)},"orderId":${s(session.order.id)},` +
    `"successUrl":${s(session.successUrl)},"cancelUrl":${s(session.cancelUrl)}}`
  );
}

export const createResponseSchema = z.object({ sessionId: z.string().min(1), redirectUrl: z.string().min(1) }).loose();

/**
 * Status values [V quickstart]: PENDING, SUCCESS, FAILED, EXPIRED. CONFLICT [V legacy fulfill page]:
 * "Status can be FAIL or SUCCESS"; `FAIL` is accepted as an alias of `FAILED`.
 */
export const sprintcheckoutStatuses = ["PENDING", "SUCCESS", "FAILED", "FAIL", "EXPIRED"] as const;
export type SprintcheckoutStatus = (typeof sprintcheckoutStatuses)[number];

/**
 * The platform's statuses in the bridge's terms (ASSUMPTION [INF]: the reference's suggested mapping). Sprintcheckout documents no partial or late payment:
 * an amount that differs from the session is caught by the bridge's cross-check, and a SUCCESS after the
 * session's expiry becomes `paid_late` from its timestamp.
 */
export function toBridgeOutcome(status: SprintcheckoutStatus): PaymentOutcome {
  switch (status) {
    case "PENDING":
      return "processing";
    case "SUCCESS":
      return "paid";
    case "FAILED":
    case "FAIL":
      return "failed";
    case "EXPIRED":
      return "expired";
    default:
      return assertNever(status, "Sprintcheckout status");
  }
}

const numberLiteral = z.string().regex(/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/);

/**
 * The notification [V quickstart + GUIDE]. Only `amount`, `currency` and `status` are relied on; the
 * legacy page's shape has no `event`, `timestamp` or `token`, so those are optional.
 */
export const notificationSchema = z
  .object({
    // Only `payment.succeeded` is ever named; `status` is the authority (ASSUMPTION [INF]).
    event: z.string().optional(),
    timestamp: numberLiteral.optional(),
    orderId: z.string().nullish(),
    amount: numberLiteral,
    currency: z.string().min(3).max(3),
    token: z.string().nullish(),
    paymentSessionId: z.string().nullish(),
    status: z.enum(sprintcheckoutStatuses),
    chain: z.string().nullish(),
    receipts: z.array(z.string()).nullish(),
  })
  .loose();
export type SprintcheckoutNotification = z.infer<typeof notificationSchema>;

/**
 * The platform sends no event id. Duplicates are to be deduped on `paymentSessionId` or `orderId` [V];
 * the status and the receipts are added (ASSUMPTION [INF]) so that PENDING → SUCCESS are two events, and
 * two payments on one session are not mistaken for one. Hashed to stay short: the core records
 * `webhook:<event id>` in a 64-character column.
 */
export function eventIdOf(n: SprintcheckoutNotification): string {
  const key = [n.paymentSessionId ?? "", n.orderId ?? "", n.status, ...(n.receipts ?? [])].join("\n");
  return `sc_${n.status.toLowerCase()}_${createHash("sha256").update(key).digest("hex").slice(0, 32)}`;
}

/** A receipt URL such as `https://polygonscan.com/tx/0x…` → its transaction hash. */
export function hashFromReceipt(url: string): string | undefined {
  return /\/tx\/(0x[0-9a-fA-F]{64}|[0-9a-fA-F]{64})\b/.exec(url)?.[1];
}
