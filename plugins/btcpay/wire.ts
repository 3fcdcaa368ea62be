/**
 * BTCPay Server Greenfield's wire contract (providers.md §5): invoice and webhook shapes, the status ×
 * additionalStatus mapping, the `BTCPay-Sig` check, the error envelopes and exact decimal arithmetic.
 */
import { createHmac } from "node:crypto";
import { z } from "zod";
import { safeEqual } from "../../src/crypto/secrets.ts";
import { assertNever, type PaymentOutcome, type SessionStatus } from "../../src/domain/session-status.ts";
import { WebhookVerificationError, type NormalizedPaymentEvent } from "../types.ts";

/** `status` [V InvoiceData.cs]. */
export const invoiceStatuses = ["New", "Processing", "Expired", "Invalid", "Settled"] as const;
export type InvoiceStatus = (typeof invoiceStatuses)[number];
/** `additionalStatus` [V btcpay-client InvoiceAdditionalStatus]. */
export const additionalStatuses = ["None", "PaidLate", "PaidPartial", "Marked", "Invalid", "PaidOver"] as const;
export type AdditionalStatus = (typeof additionalStatuses)[number];

/**
 * Which amount the bridge reports with a status:
 * - `none`: nothing was paid, or the platform does not yet say (Processing = paid, unconfirmed);
 * - `invoice`: paid in full (a Settled invoice), the invoice amount;
 * - `at_least_invoice`: paid in full and maybe more (overpaid, paid late): the paid amount when it can be read;
 * - `paid`: partially paid: the paid amount when it can be read.
 */
export type AmountRule = "none" | "invoice" | "at_least_invoice" | "paid";

/**
 * providers.md §5 mapping [INF]: New→open; Processing→processing; Settled→paid (PaidOver→overpaid,
 * PaidLate→paid_late); Expired+PaidPartial→underpaid; Expired→expired; Invalid→failed.
 * Choices where the document is silent are marked.
 */
export function mapInvoice(status: InvoiceStatus, additional: AdditionalStatus): { status: SessionStatus; amount: AmountRule } {
  switch (status) {
    case "New":
      switch (additional) {
        // ASSUMPTION [INF]: part paid and still open for the rest: underpaid now; a top-up moves it on.
        case "PaidPartial":
          return { status: "underpaid", amount: "paid" };
        case "None":
        case "PaidLate":
        case "Marked":
        case "Invalid":
        case "PaidOver":
          return { status: "open", amount: "none" };
        default:
          return assertNever(additional, "BTCPay additionalStatus");
      }
    case "Processing":
      // "InvoiceProcessing = fully paid" but unconfirmed: credited only when Settled.
      switch (additional) {
        case "None":
        case "PaidLate":
        case "PaidPartial":
        case "Marked":
        case "Invalid":
        case "PaidOver":
          return { status: "processing", amount: "none" };
        default:
          return assertNever(additional, "BTCPay additionalStatus");
      }
    case "Settled":
      switch (additional) {
        case "PaidOver":
          return { status: "overpaid", amount: "at_least_invoice" };
        case "PaidLate":
          return { status: "paid_late", amount: "at_least_invoice" };
        // A Settled invoice is paid in full: within the store's paymentTolerance, or marked by the merchant.
        case "None":
        case "PaidPartial":
        case "Marked":
        case "Invalid":
          return { status: "paid", amount: "invoice" };
        default:
          return assertNever(additional, "BTCPay additionalStatus");
      }
    case "Expired":
      switch (additional) {
        case "PaidPartial":
          return { status: "underpaid", amount: "paid" };
        // An expired invoice paid in full afterwards keeps Expired with PaidLate (btcpayserver #2587).
        case "PaidLate":
          return { status: "paid_late", amount: "at_least_invoice" };
        case "PaidOver":
          return { status: "overpaid", amount: "at_least_invoice" };
        case "None":
        case "Marked":
        case "Invalid":
          return { status: "expired", amount: "none" };
        default:
          return assertNever(additional, "BTCPay additionalStatus");
      }
    case "Invalid":
      switch (additional) {
        case "None":
        case "PaidLate":
        case "PaidPartial":
        case "Marked":
        case "Invalid":
        case "PaidOver":
          return { status: "failed", amount: "none" };
        default:
          return assertNever(additional, "BTCPay additionalStatus");
      }
    default:
      return assertNever(status, "BTCPay invoice status");
  }
}

const decimalString = z.string().regex(/^\d{1,30}(\.\d{1,30})?$/, "a decimal string");

/** `InvoiceData` [V]; amounts are decimal strings (NumericStringJsonConverter). */
export const invoiceSchema = z.object({
  id: z.string().min(1),
  storeId: z.string().optional(),
  amount: decimalString,
  currency: z.string().min(1),
  type: z.string().optional(),
  checkoutLink: z.string().min(1),
  status: z.enum(invoiceStatuses),
  additionalStatus: z.enum(additionalStatuses).default("None"),
  expirationTime: z.number().optional(),
  createdTime: z.number().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type InvoiceData = z.infer<typeof invoiceSchema>;

/**
 * `GET …/invoices/{id}/payment-methods`. ASSUMPTION [INF]: providers.md does not describe it; the field
 * names are Greenfield's (`paymentMethod`/`cryptoCode` in 1.x, `paymentMethodId`/`currency` in 2.x),
 * crypto amounts as decimal strings: `amount` (due in total), `totalPaid` (paid through every method,
 * in this method's unit), `payments[]`.
 */
export const paymentMethodsSchema = z.array(
  z.object({
    paymentMethod: z.string().optional(),
    paymentMethodId: z.string().optional(),
    cryptoCode: z.string().optional(),
    currency: z.string().optional(),
    amount: decimalString.optional(),
    totalPaid: decimalString.optional(),
    activated: z.boolean().optional(),
    payments: z.array(z.object({ id: z.string(), value: z.string().optional(), status: z.string().optional() })).default([]),
  }),
);
export type PaymentMethodData = z.infer<typeof paymentMethodsSchema>[number];

/** ProblemDetails `{code, message}`; 400 ValidationProblemDetails `[{path, message}]` [V]. */
const problemSchema = z.object({ code: z.string().optional(), message: z.string().optional() });
const validationProblemSchema = z.array(z.object({ path: z.string().nullable().optional(), message: z.string() }));

export function describeError(status: number, body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return `BTCPay answered HTTP ${status}`;
  }
  const validation = validationProblemSchema.safeParse(json);
  if (validation.success) {
    return `BTCPay answered HTTP ${status}: ${validation.data.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ")}`;
  }
  const problem = problemSchema.safeParse(json);
  if (problem.success && (problem.data.code || problem.data.message)) {
    return `BTCPay answered HTTP ${status}${problem.data.code ? ` ${problem.data.code}` : ""}: ${problem.data.message ?? "error"}`;
  }
  return `BTCPay answered HTTP ${status}`;
}

/** Webhook body [V WebhookEvent.cs / WebhookInvoiceEvent.cs]. */
export const webhookSchema = z.object({
  deliveryId: z.string().min(1),
  webhookId: z.string().optional(),
  originalDeliveryId: z.string().nullable().optional(),
  isRedelivery: z.boolean().optional(),
  type: z.string().min(1),
  timestamp: z.number().optional(),
  storeId: z.string().optional(),
  invoiceId: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  overPaid: z.boolean().optional(),
  partiallyPaid: z.boolean().optional(),
  afterExpiration: z.boolean().optional(),
  manuallyMarked: z.boolean().optional(),
});
export type WebhookEvent = z.infer<typeof webhookSchema>;

export const signatureHeader = "btcpay-sig";

/** `sha256=` + lowercase hex HMAC-SHA256 with key UTF8(secret) over the raw body [V swagger]. */
export function sign(secret: string, rawBody: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", Buffer.from(secret, "utf8")).update(rawBody).digest("hex")}`;
}

export function verifySignature(rawBody: Uint8Array, headers: Record<string, string>, secret: string): void {
  const header = headers[signatureHeader];
  if (!header) throw new WebhookVerificationError("missing_signature");
  const given = header.trim();
  if (!/^sha256=[0-9a-fA-F]{64}$/.test(given)) throw new WebhookVerificationError("bad_signature", "malformed BTCPay-Sig");
  if (!safeEqual(given.toLowerCase(), sign(secret, rawBody))) throw new WebhookVerificationError("bad_signature");
}

/** What an event claims, for the timeline only (the re-fetched invoice decides); undefined = no payment news. */
export function claimedOutcome(event: WebhookEvent): PaymentOutcome | undefined {
  switch (event.type) {
    case "InvoiceReceivedPayment":
    case "InvoicePaymentSettled":
      return event.afterExpiration ? "paid_late" : "processing";
    case "InvoiceProcessing":
      return event.overPaid ? "overpaid" : "processing";
    case "InvoiceSettled":
      return event.overPaid ? "overpaid" : "paid";
    case "InvoiceExpired":
      return event.partiallyPaid ? "underpaid" : "expired";
    case "InvoiceInvalid":
      return "failed";
    default:
      // InvoiceCreated, payout and payment-request events.
      return undefined;
  }
}

export function toNormalizedEvent(event: WebhookEvent): NormalizedPaymentEvent | undefined {
  const outcome = claimedOutcome(event);
  if (!outcome || !event.invoiceId) return undefined;
  const metadata = event.metadata ?? {};
  const bridgeSessionId = typeof metadata.cartbridge_session_id === "string" ? metadata.cartbridge_session_id : undefined;
  const orderId = typeof metadata.orderId === "string" ? metadata.orderId : undefined;
  return {
    ...(bridgeSessionId ? { bridgeSessionId } : {}),
    providerSessionId: event.invoiceId,
    ...(orderId ? { orderId } : {}),
    outcome,
    // One payment row per invoice: its amount is updated as the invoice's total grows.
    paymentReference: `btcpay:${event.invoiceId}`,
    transactions: [],
    ...(event.timestamp !== undefined ? { occurredAt: new Date(event.timestamp * 1000) } : {}),
    providerStatus: event.type,
  };
}

/** A decimal string as an integer and its scale ("0.00100000" → 100000n, 8). */
export function decimalParts(value: string): { units: bigint; scale: number } {
  const [whole, fraction = ""] = value.split(".");
  return { units: BigInt(`${whole}${fraction}`), scale: fraction.length };
}

/**
 * The part of the invoice paid, in the invoice currency's minor units: invoice × totalPaid / amountDue,
 * computed on integers and rounded down (never credits a fraction of a cent that was not paid). A payment
 * of exactly the amount due gives exactly the invoice amount, whatever the rate.
 */
export function paidInInvoiceMinor(invoiceMinor: bigint, method: PaymentMethodData): bigint | undefined {
  if (!method.amount || !method.totalPaid) return undefined;
  const due = decimalParts(method.amount);
  const paid = decimalParts(method.totalPaid);
  if (due.units === 0n) return undefined;
  // paid.units/10^paid.scale ÷ due.units/10^due.scale
  const numerator = invoiceMinor * paid.units * 10n ** BigInt(due.scale);
  const denominator = due.units * 10n ** BigInt(paid.scale);
  return numerator / denominator;
}
