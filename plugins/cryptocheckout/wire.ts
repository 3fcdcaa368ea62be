/**
 * Crypto Checkout's wire shapes (docs.mycryptoserver.com; reference: providers.md §3), its status list
 * and the signature scheme. Numbers are read losslessly (as their literal text) so no amount ever passes
 * through a JS float.
 */
import { createHash, createHmac } from "node:crypto";
import { parse as parseLossless } from "lossless-json";
import { z } from "zod";
import { safeEqual } from "../../src/crypto/secrets.ts";
import { parseCurrency, parseDecimalAmount } from "../../src/domain/money.ts";
import { assertNever, type SessionStatus } from "../../src/domain/session-status.ts";
import { WebhookVerificationError, type TransactionRef } from "../types.ts";

/** JSON with every number kept as its literal text. */
export function parseJsonExact(text: string): unknown {
  return parseLossless(text, null, (literal: string) => literal);
}

/** [V /concepts/session-lifecycle] */
export const cryptoCheckoutStatuses = [
  "pending",
  "detected",
  "underpaid",
  "overpaid",
  "paid",
  "paid_late",
  "expired",
  "failed",
] as const;
export type CryptoCheckoutStatus = (typeof cryptoCheckoutStatuses)[number];

/** The platform's lifecycle in the bridge's terms (`open` = nothing has happened yet). */
export function toBridgeStatus(status: CryptoCheckoutStatus): SessionStatus {
  switch (status) {
    case "pending":
      return "open";
    case "detected":
      // A transaction is seen but not yet confirmed.
      return "processing";
    case "underpaid":
      // Never resolves by itself on the platform ("needs merchant action").
      return "underpaid";
    case "overpaid":
      // The docs call `paid` "exact (or overpaid)" yet list `overpaid` apart; it is kept apart here so the
      // store sees the excess (ASSUMPTION [INF]: "paid, flag for refund review").
      return "overpaid";
    case "paid":
      return "paid";
    case "paid_late":
      // Confirmed after expiresAt, inside the platform's grace window.
      return "paid_late";
    case "expired":
      return "expired";
    case "failed":
      return "failed";
    default:
      return assertNever(status, "Crypto Checkout status");
  }
}

const literal = z.string();

/** A checkout session as the platform returns it (create, re-fetch, webhook `data`). */
export const sessionSchema = z
  .object({
    id: z.string().min(1),
    status: z.enum(cryptoCheckoutStatuses),
    checkoutUrl: z.string().optional(),
    address: z.string().nullish(),
    amount: z.object({ wei: literal.optional(), eth: literal.optional() }).partial().nullish(),
    fiat: z.object({ amount: literal, currency: z.string() }).nullish(),
    ethPriceUsd: literal.nullish(),
    expiresAt: z.string().nullish(),
    paidAt: z.string().nullish(),
    txHash: z.string().nullish(),
    chainId: literal.nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    livemode: z.boolean().optional(),
    /**
     * ASSUMPTION [INF]: the wei actually received. The public documents name no such field; when a
     * deployment sends one, under- and overpayments carry their amount, otherwise they do not.
     */
    amountReceived: z.object({ wei: literal }).partial().nullish(),
  })
  .loose();
export type CryptoCheckoutSession = z.infer<typeof sessionSchema>;

export const eventSchema = z
  .object({
    id: z.string().min(1),
    type: z.string().min(1),
    livemode: z.boolean().optional(),
    createdAt: z.string().optional(),
    data: z.unknown(),
  })
  .loose();

/**
 * Event types that say nothing about money. CONFLICT [V]: /webhooks/event-types calls the first event
 * `session.created`, /api-reference/webhook-endpoints calls it `session.pending`; both are accepted.
 */
export const informationalEventTypes = new Set(["session.created", "session.pending"]);

/**
 * What the session says was paid, in minor units of its fiat currency. A full payment (`paid`,
 * `paid_late`) is the session's fiat amount; a partial or excess one only when the received wei is
 * known, scaled by the session's own expected wei (so no live rate is used), rounded down.
 */
export function amountPaid(session: CryptoCheckoutSession): { minor: bigint; currency: string } | undefined {
  if (!session.fiat) return undefined;
  const currency = parseCurrency(session.fiat.currency);
  if (!currency) return undefined;
  const parsed = parseDecimalAmount(session.fiat.amount, currency);
  if (!parsed.ok) return undefined;
  switch (session.status) {
    case "paid":
    case "paid_late":
      return { minor: parsed.minor, currency };
    case "underpaid":
    case "overpaid": {
      const received = session.amountReceived?.wei;
      const expected = session.amount?.wei;
      if (!received || !expected || !/^\d+$/.test(received) || !/^[1-9]\d*$/.test(expected)) return undefined;
      return { minor: (parsed.minor * BigInt(received)) / BigInt(expected), currency };
    }
    case "pending":
    case "detected":
    case "expired":
    case "failed":
      return undefined;
    default:
      return assertNever(session.status, "Crypto Checkout status");
  }
}

export function transactionsOf(session: CryptoCheckoutSession): TransactionRef[] {
  if (!session.txHash) return [];
  return [{ hash: session.txHash, ...(session.chainId ? { chainId: String(session.chainId) } : {}) }];
}

/**
 * CONFLICT [V]: /webhooks/signature-verification names `X-Webhook-Signature`, /api-reference/webhook-endpoints
 * names `X-Signature`. The first present wins.
 */
export const signatureHeaders = ["x-webhook-signature", "x-signature"] as const;
export const timestampHeader = "x-webhook-timestamp";

function candidateKeys(secret: string): Buffer[] {
  const keys = [Buffer.from(secret, "utf8")];
  // ASSUMPTION [INF]: the `whsec_` secret is used literally (Stripe-style). Whether it is instead
  // base64-decoded (Standard Webhooks-style) is not stated, so that reading is accepted too.
  const rest = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : "";
  if (rest && /^[A-Za-z0-9+/]+={0,2}$/.test(rest) && rest.length % 4 === 0) {
    const decoded = Buffer.from(rest, "base64");
    if (decoded.length >= 16) keys.push(decoded);
  }
  return keys;
}

export function signCryptoCheckout(secret: string, timestamp: number | string, rawBody: Uint8Array | string): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex");
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "${t}.${rawBody}">` [V]. When `t=` is missing the SDK falls back
 * to `X-Webhook-Timestamp` [V]; a bare hex value (as an `X-Signature` header might carry) is read as `v1`.
 * Several `v1` values (secret rolling) are accepted if any matches.
 */
export function verifyCryptoCheckoutSignature(
  rawBody: Uint8Array,
  headers: Record<string, string>,
  secret: string,
  nowMs: number,
  toleranceSeconds: number,
): void {
  const header = signatureHeaders.map((h) => headers[h]).find((v) => v !== undefined && v !== "");
  if (!header) throw new WebhookVerificationError("missing_signature");
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      if (/^[0-9a-fA-F]{64}$/.test(part)) v1.push(part.toLowerCase());
      continue;
    }
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === "t") t = value;
    else if (key === "v1") v1.push(value.toLowerCase());
  }
  t ??= headers[timestampHeader];
  if (!t) throw new WebhookVerificationError("missing_signature", "no timestamp (t= or X-Webhook-Timestamp)");
  if (!/^\d{1,12}$/.test(t)) throw new WebhookVerificationError("bad_timestamp");
  if (v1.length === 0) throw new WebhookVerificationError("bad_signature", "no v1 signature");
  const signed = Buffer.concat([Buffer.from(`${t}.`, "utf8"), Buffer.from(rawBody)]);
  const matches = candidateKeys(secret).some((key) => {
    const expected = createHmac("sha256", key).update(signed).digest("hex");
    return v1.some((candidate) => safeEqual(candidate, expected));
  });
  if (!matches) throw new WebhookVerificationError("bad_signature");
  if (Math.abs(nowMs / 1000 - Number(t)) > toleranceSeconds) throw new WebhookVerificationError("stale_timestamp");
}

/** The error envelope: `{"error":{…}}` [V]; its fields are not stated, `{type, message}` is ASSUMED [INF]. */
export function errorMessageOf(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return error;
  if (error && typeof error === "object") {
    const e = error as { message?: unknown; type?: unknown; code?: unknown };
    const parts = [e.type ?? e.code, e.message].filter((p) => typeof p === "string");
    return parts.length ? parts.join(": ") : undefined;
  }
  return undefined;
}

/**
 * The dedupe key for a platform event id. The core records `webhook:<event id>+refetch` in a 64-character
 * column, so an id longer than 48 characters is replaced by a stable hash of itself.
 */
export function dedupeKeyOf(eventId: string): string {
  return eventId.length <= 48 ? eventId : `cc_${createHash("sha256").update(eventId).digest("hex").slice(0, 40)}`;
}
