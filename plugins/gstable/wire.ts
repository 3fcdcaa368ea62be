/**
 * GStable's wire shapes (providers.md §2; SDK GStable/gstable-js `sdk/src/types/*`), its status list,
 * the cart → micro-USD line items, and the webhook signature (`timestamp + ":" + rawBody`).
 * Numbers are read losslessly (as their literal text): no amount passes through a JS float.
 */
import { createHash, createHmac } from "node:crypto";
import { parse as parseLossless } from "lossless-json";
import { z } from "zod";
import { safeEqual } from "../../src/crypto/secrets.ts";
import { rescale } from "../../src/domain/money.ts";
import { assertNever, type SessionStatus } from "../../src/domain/session-status.ts";
import { WebhookVerificationError, type SessionForProvider, type TransactionRef } from "../types.ts";

export function parseJsonExact(text: string): unknown {
  return parseLossless(text, null, (literal: string) => literal);
}

/** 1 USD = 1,000,000 [V guide: "must be integers"]. */
export const microUsdDecimals = 6;

/** [V https://docs.gstable.io/docs/api/core-api/checkout-session] */
export const gstableStatuses = ["initialized", "paid", "settling", "settlement_pending", "completed", "expired", "cancelled"] as const;
export type GstableStatus = (typeof gstableStatuses)[number];

/**
 * The platform's lifecycle in the bridge's terms (ASSUMPTION [INF]: the reference's suggested mapping). Payment happens atomically through a smart contract, so
 * there is no partial payment; `paid` already means the funds are committed, and everything after it is
 * settlement to the merchant's wallet.
 */
export function toBridgeStatus(status: GstableStatus): SessionStatus {
  switch (status) {
    case "initialized":
      return "open";
    case "paid":
    case "settling":
    case "settlement_pending": // a reorg or similar delayed settlement; it re-settles by itself [V]
    case "completed":
      return "paid";
    case "expired":
      return "expired";
    case "cancelled":
      return "canceled";
    default:
      return assertNever(status, "GStable status");
  }
}

/** The statuses with money committed, whose `amount` counts as paid. */
export function isPaying(status: GstableStatus): boolean {
  return toBridgeStatus(status) === "paid";
}

/**
 * Any JSON number literal, kept as its text. The SDK types `amount` and `expirationTime` only as `number`,
 * so a non-integer (`19900000.0`, `1.99e7`, `19.9`) is a valid platform answer: refusing it would turn a
 * correctly signed event into a "malformed" one that the platform retries until it pauses the endpoint.
 */
const numberLiteral = z.string().regex(/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/, "a JSON number");

export const sessionSchema = z
  .object({
    sessionId: z.string().min(1),
    status: z.enum(gstableStatuses),
    amount: numberLiteral.nullish(),
    paymentUrl: z.string().nullish(),
    expirationTime: numberLiteral.nullish(),
    paymentSucceededTime: z.string().nullish(),
    initiateTx: z.string().nullish(),
    completeTx: z.string().nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .loose();
export type GstableSession = z.infer<typeof sessionSchema>;

export const transactionSchema = z
  .object({ sourceTx: z.string().nullish(), targetTx: z.string().nullish(), executeTime: z.string().nullish() })
  .loose();

export const envelopeSchema = z.object({ code: z.string(), message: z.string().nullish(), data: z.unknown() }).loose();

export const webhookSchema = z
  .object({
    eventId: z.string().min(1),
    eventType: z.string().min(1),
    businessType: z.string().optional(),
    occurrence: z.string().optional(),
    payload: z
      .object({ sessionData: z.unknown().optional(), transaction: z.unknown().optional() })
      .loose()
      .optional(),
  })
  .loose();

/**
 * Platform time strings: unix seconds or milliseconds, ISO, or `YYYY-MM-DD HH:mm:ss` without a zone
 * (read as UTC: ASSUMPTION [INF], the docs give no zone).
 */
export function parsePlatformTime(value: string | null | undefined): Date | undefined {
  if (!value) return undefined;
  if (/^\d{9,11}$/.test(value)) return new Date(Number(value) * 1000);
  if (/^\d{12,14}$/.test(value)) return new Date(Number(value));
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(value);
  const date = new Date(m ? `${m[1]}T${m[2]}Z` : value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function transactionsOf(session: GstableSession, transaction: z.infer<typeof transactionSchema> | undefined): TransactionRef[] {
  const hash = transaction?.sourceTx || session.initiateTx || undefined;
  return hash ? [{ hash }] : [];
}

/**
 * A micro-USD amount, written as any JSON number literal, in whole USD cents; undefined when the literal
 * is not an exact count of cents (a sub-cent or fractional micro-USD value, a negative one): never rounded,
 * never read through a float. `40000000`, `40000000.0` and `4e7` are all 4000 cents.
 */
export function microUsdLiteralToCents(literal: string): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return undefined;
  const digits = BigInt(`${m[1]}${m[2] ?? ""}`);
  // literal = digits × 10^power micro-USD, and a cent is 10^(6 - 2) micro-USD.
  const power = Number(m[3] ?? "0") - (m[2]?.length ?? 0) - (microUsdDecimals - 2);
  if (digits === 0n) return 0n;
  if (power >= 0) return power <= 30 ? digits * 10n ** BigInt(power) : undefined; // beyond any real amount
  if (-power > m[1]!.length + (m[2]?.length ?? 0)) return undefined; // 0 < value < 1 cent
  const divisor = 10n ** BigInt(-power);
  return digits % divisor === 0n ? digits / divisor : undefined;
}

export interface GstableLineItem {
  itemType: "one_time";
  quantity: number;
  unitPrice: number;
  productData: { productName: string; productDescription?: string; imageUrl?: string };
}

interface MinorLine {
  name: string;
  description?: string;
  imageUrl?: string;
  quantity: number;
  unitMinor: bigint;
}

/**
 * The cart as ad-hoc `one_time` line items whose Σ quantity × unitPrice equals the cart total exactly.
 * GStable has no fields for shipping, tax or discount, and a negative price is not a line item, so:
 * shipping and tax become lines of their own; the discount is taken off the item lines from the last one
 * back (then off shipping, then tax, should it exceed the items), each reduced line split so every unit
 * keeps an integer price (q units at u − k, the last r of them one minor unit less); a line the discount
 * covers entirely, and any zero-priced line, is left out (ASSUMPTION [INF]: a zero unitPrice may be
 * refused). What the payer sees adds up to what the store charges, to the micro-dollar.
 */
export function toGstableLineItems(session: Pick<SessionForProvider, "lineItems" | "shippingMinor" | "taxMinor" | "discountMinor" | "currencyExponent">): GstableLineItem[] {
  const items: MinorLine[] = session.lineItems.map((l) => ({
    name: l.name,
    quantity: l.quantity,
    unitMinor: l.unitAmountMinor,
    ...(l.imageUrl ? { imageUrl: l.imageUrl } : {}),
    ...(l.sku ? { description: `SKU ${l.sku}` } : {}),
  }));
  const shipping: MinorLine[] = session.shippingMinor > 0n ? [{ name: "Shipping", quantity: 1, unitMinor: session.shippingMinor }] : [];
  const tax: MinorLine[] = session.taxMinor > 0n ? [{ name: "Tax", quantity: 1, unitMinor: session.taxMinor }] : [];
  const lines = [...items, ...shipping, ...tax];
  const reductionOrder = [...items.map((_, i) => i).reverse(), ...shipping.map((_, i) => items.length + i), ...tax.map((_, i) => items.length + shipping.length + i)];

  let remaining = session.discountMinor;
  const replaced = new Map<number, MinorLine[]>();
  for (const index of reductionOrder) {
    if (remaining === 0n) break;
    const line = lines[index]!;
    const total = line.unitMinor * BigInt(line.quantity);
    if (total === 0n) continue;
    if (remaining >= total) {
      remaining -= total;
      replaced.set(index, []);
      continue;
    }
    const q = BigInt(line.quantity);
    const perUnit = remaining / q;
    const extra = remaining % q; // this many units take one more minor unit off
    remaining = 0n;
    const description = "price after the order discount";
    replaced.set(index, [
      { ...line, quantity: Number(q - extra), unitMinor: line.unitMinor - perUnit, description },
      { ...line, quantity: Number(extra), unitMinor: line.unitMinor - perUnit - 1n, description },
    ]);
  }
  if (remaining > 0n) throw new RangeError("the discount is larger than the cart");

  return lines
    .flatMap((line, index) => replaced.get(index) ?? [line])
    .filter((l) => l.quantity > 0 && l.unitMinor > 0n)
    .map((l) => {
      const micro = rescale(l.unitMinor, session.currencyExponent, microUsdDecimals);
      if (micro > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`unit price ${micro} micro-USD is too large for a JSON integer`);
      return {
        itemType: "one_time" as const,
        quantity: l.quantity,
        unitPrice: Number(micro),
        productData: {
          productName: l.name.slice(0, 250),
          ...(l.description ? { productDescription: l.description } : {}),
          ...(l.imageUrl ? { imageUrl: l.imageUrl } : {}),
        },
      };
    });
}

export const signatureHeader = "x-gstable-signature";
export const timestampHeader = "x-gstable-timestamp";

export function gstableMac(secret: string, timestamp: string, rawBody: Uint8Array | string): Buffer {
  // [V https://docs.gstable.io/docs/guides/webhook]: key = the endpoint's `wkk_…` secret, signed payload =
  // timestamp + ":" + raw body (a colon, not a dot).
  return createHmac("sha256", secret).update(`${timestamp}:`).update(rawBody).digest();
}

/**
 * Not stated in the public documents, so all plausible readings are accepted (providers.md §12):
 * signature encoding hex or base64 (standard or URL-safe), timestamp in seconds or milliseconds.
 */
export function verifyGstableSignature(
  rawBody: Uint8Array,
  headers: Record<string, string>,
  secret: string,
  nowMs: number,
  toleranceSeconds: number,
): void {
  const signature = headers[signatureHeader]?.trim();
  const timestamp = headers[timestampHeader]?.trim();
  if (!signature || !timestamp) throw new WebhookVerificationError("missing_signature");
  if (!/^\d{9,14}$/.test(timestamp)) throw new WebhookVerificationError("bad_timestamp");
  const mac = gstableMac(secret, timestamp, rawBody);
  const ok =
    safeEqual(signature.toLowerCase(), mac.toString("hex")) ||
    safeEqual(signature, mac.toString("base64")) ||
    safeEqual(signature, mac.toString("base64url"));
  if (!ok) throw new WebhookVerificationError("bad_signature");
  // 12+ digits cannot be seconds before the year 5138: read as milliseconds.
  const sentMs = timestamp.length >= 12 ? Number(timestamp) : Number(timestamp) * 1000;
  if (Math.abs(nowMs - sentMs) > toleranceSeconds * 1000) throw new WebhookVerificationError("stale_timestamp");
}

/** [V sdk/src/errors/common-platform.ts]: which business codes may succeed later. */
export function isRetryableCode(code: string): boolean {
  return code === "900101" /* too many requests */ || code.startsWith("9002") /* record create/update/query failed */ || code === "999999";
}

/**
 * The dedupe key for a platform event id. The core records `webhook:<event id>+refetch` in a 64-character
 * column, so an id longer than 48 characters is replaced by a stable hash of itself.
 */
export function dedupeKeyOf(eventId: string): string {
  return eventId.length <= 48 ? eventId : `gs_${createHash("sha256").update(eventId).digest("hex").slice(0, 40)}`;
}
