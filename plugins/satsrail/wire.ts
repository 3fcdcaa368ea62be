/**
 * SatsRail's wire contract (providers.md §4, platform-guides/003): amounts, statuses, the error envelope and
 * the three documented webhook formats (CONFLICT), kept apart from the provider so each piece is testable.
 */
import { createHash, createHmac } from "node:crypto";
import { z } from "zod";
import { safeEqual } from "../../src/crypto/secrets.ts";
import { assertNever, type PaymentOutcome, type SessionStatus } from "../../src/domain/session-status.ts";
import { WebhookVerificationError, type NormalizedPaymentEvent } from "../types.ts";

/** `amount_cents` is an integer count of hundredths [V]; the bridge's minor units equal it only for 2-decimal currencies. */
export const satsrailAmountExponent = 2;

/** Metadata "takes at most 50 keys" [V]. */
export const satsrailMetadataKeyLimit = 50;

/** Checkout session statuses [V checkout page]: `pending → completed | expired | cancelled`. */
export const satsrailStatuses = ["pending", "completed", "expired", "cancelled"] as const;
export type SatsrailStatus = (typeof satsrailStatuses)[number];

/** ASSUMPTION [INF] (providers.md §4 "Status mapping"): pending→open, completed→paid, expired→expired, cancelled→canceled. */
export function toBridgeStatus(status: SatsrailStatus): SessionStatus {
  switch (status) {
    case "pending":
      return "open";
    case "completed":
      return "paid";
    case "expired":
      return "expired";
    case "cancelled":
      return "canceled";
    default:
      return assertNever(status, "SatsRail status");
  }
}

/**
 * The re-fetched checkout session. Only `status` is relied on; the rest is read when present.
 * The public documents list the create response's fields (`checkout_url, id, token, status, expires_at`);
 * ASSUMPTION [INF]: GET returns the same object with `amount_cents`, `currency` and `metadata` as created.
 */
export const sessionSchema = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  token: z.string().optional(),
  status: z.enum(satsrailStatuses),
  amount_cents: z.number().int().nonnegative().optional(),
  currency: z.string().optional(),
  checkout_url: z.string().optional(),
  expires_at: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  payment_hash: z.string().nullable().optional(),
});
export type SatsrailSession = z.infer<typeof sessionSchema>;

/** Create answers `{checkout_url, token, status, expires_at, id}` [V]; the guide's example has no `id`. */
export const createdSchema = z.object({
  checkout_url: z.string().min(1),
  token: z.string().optional(),
  id: z.union([z.string(), z.number()]).optional(),
  status: z.string().optional(),
  expires_at: z.string().nullable().optional(),
});

/** Error envelope [V satsrail-ruby errors.rb]: `{"error":{"message","code","details","request_id"}}`. */
export const errorEnvelopeSchema = z.object({
  error: z.object({
    message: z.string().optional(),
    code: z.string().nullable().optional(),
    details: z.unknown().optional(),
    request_id: z.string().nullable().optional(),
  }),
});

export function describeError(status: number, body: string): string {
  let parsed: z.infer<typeof errorEnvelopeSchema> | undefined;
  try {
    const result = errorEnvelopeSchema.safeParse(JSON.parse(body));
    if (result.success) parsed = result.data;
  } catch {
    // not JSON: fall through to the status alone
  }
  if (!parsed) return `SatsRail answered HTTP ${status}`;
  const { message, code, details, request_id } = parsed.error;
  const detail = details === undefined || details === null ? "" : ` ${JSON.stringify(details).slice(0, 300)}`;
  return `SatsRail answered HTTP ${status}${code ? ` ${code}` : ""}: ${message ?? "error"}${detail}${request_id ? ` (request ${request_id})` : ""}`;
}

export function signHex(secret: string, rawBody: Uint8Array | string): string {
  return createHmac("sha256", secret).update(rawBody).digest("hex");
}

/**
 * Signature header CONFLICT, every variant accepted:
 * 1. docs page: `X-Webhook-Signature: <hex HMAC-SHA256(raw body)>` [V];
 * 2. PrivaPaid: `x-satsrail-signature: <hex>` (no prefix) [V];
 * 3. integration guide: `X-SatsRail-Signature: sha256=<hex>` [GUIDE].
 * Headers arrive lower-cased, so 2 and 3 share a name and differ only by the optional `sha256=` prefix.
 */
export const signatureHeaders = ["x-webhook-signature", "x-satsrail-signature"] as const;
/** Unsigned unix-second timestamps: the docs page's `X-Webhook-Timestamp` [V] and PrivaPaid's `x-satsrail-timestamp` [V]. */
export const timestampHeaders = ["x-webhook-timestamp", "x-satsrail-timestamp"] as const;

export function verifySignature(rawBody: Uint8Array, headers: Record<string, string>, secret: string): void {
  const present = signatureHeaders.map((h) => headers[h]).filter((v): v is string => v !== undefined && v !== "");
  if (present.length === 0) throw new WebhookVerificationError("missing_signature");
  const expected = signHex(secret, rawBody);
  // Any one present header that matches suffices; a sender emits one of the formats.
  const ok = present.some((value) => {
    const hex = value.trim().replace(/^sha256=/i, "").toLowerCase();
    return /^[0-9a-f]{64}$/.test(hex) && safeEqual(hex, expected);
  });
  if (!ok) throw new WebhookVerificationError("bad_signature");
}

/**
 * The timestamp headers are not part of the signed bytes, so they only give weak replay protection; they
 * are still enforced when present (providers.md §4 [INF]; PrivaPaid checks 5 minutes [V]).
 * Returns the timestamp, if any.
 */
export function checkTimestamp(headers: Record<string, string>, nowMs: number, toleranceSeconds: number): Date | undefined {
  let seen: Date | undefined;
  for (const name of timestampHeaders) {
    const value = headers[name];
    if (value === undefined || value === "") continue;
    if (!/^\d{1,12}$/.test(value.trim())) throw new WebhookVerificationError("bad_timestamp");
    const seconds = Number(value.trim());
    if (toleranceSeconds > 0 && Math.abs(nowMs / 1000 - seconds) > toleranceSeconds) {
      throw new WebhookVerificationError("stale_timestamp");
    }
    seen = new Date(seconds * 1000);
  }
  return seen;
}

/**
 * Event shapes (CONFLICT):
 * 1. docs page [V]: event name in `X-Webhook-Event`; ASSUMPTION [INF]: the body is `{id, event|type, created_at?,
 *    data: {…object…}}` — the docs name the events and headers, not the body;
 * 2. PrivaPaid [V]: `{id, type, payload}`;
 * 3. guide [GUIDE]: `{event:"checkout.completed", checkout_id, payment_hash, amount_sats, amount_usd, metadata, timestamp}`.
 */
const looseObject = z.record(z.string(), z.unknown());

export interface ParsedEvent {
  name: string;
  object: Record<string, unknown>;
  bodyId?: string;
  paymentHash?: string;
  occurredAt?: Date;
}

export function parseEvent(rawBody: Uint8Array, headers: Record<string, string>): ParsedEvent {
  let body: Record<string, unknown>;
  try {
    body = looseObject.parse(JSON.parse(Buffer.from(rawBody).toString("utf8")));
  } catch {
    throw new WebhookVerificationError("malformed_body");
  }
  const name = str(body.event) ?? str(body.type) ?? headers["x-webhook-event"];
  if (!name) throw new WebhookVerificationError("malformed_body", "no event name");
  const nested = asObject(body.payload) ?? asObject(asObject(body.data)?.object) ?? asObject(body.data);
  const object = nested ?? body;
  const paymentHash = str(object.payment_hash) ?? str(body.payment_hash);
  const occurredAt = time(body.timestamp) ?? time(body.created_at) ?? time(object.completed_at) ?? time(object.paid_at);
  const bodyId = str(body.id);
  return {
    name,
    object,
    ...(bodyId ? { bodyId } : {}),
    ...(paymentHash ? { paymentHash } : {}),
    ...(occurredAt ? { occurredAt } : {}),
  };
}

/**
 * The dedupe key, in the order providers.md §4 gives: `X-Idempotency-Key` → `X-Webhook-Delivery-ID` → body `id`
 * → `payment_hash`. An event with none of them (a guide-format event other than a payment) falls back to
 * the hash of its bytes, so an identical redelivery still dedupes.
 */
export function dedupeKey(headers: Record<string, string>, event: ParsedEvent, rawBody: Uint8Array): string {
  return (
    headers["x-idempotency-key"] ||
    headers["x-webhook-delivery-id"] ||
    event.bodyId ||
    (event.paymentHash ? `payment_hash:${event.paymentHash}` : undefined) ||
    `sha256:${createHash("sha256").update(rawBody).digest("hex")}`
  );
}

/**
 * What an event claims, for the timeline (the re-fetch decides). `checkout.completed` [GUIDE] and
 * `invoice.paid` / `payment.confirmed` [V] all mean paid (providers.md §4 [INF]).
 */
export function outcomeOf(name: string): PaymentOutcome | undefined {
  switch (name) {
    case "checkout.completed":
    case "invoice.paid":
    case "payment.confirmed":
      return "paid";
    // ASSUMPTION [INF]: "received" precedes "confirmed"; on Lightning both mean the preimage is known.
    case "payment.received":
      return "processing";
    case "invoice.expired":
    case "checkout.expired":
      return "expired";
    case "checkout.cancelled":
      return "canceled";
    // ASSUMPTION [INF]: the docs page has no cancellation event; an `order.updated` that names a checkout
    // session is taken as "something changed" and triggers the re-fetch, which says what (the claimed
    // outcome here only labels the timeline).
    case "order.updated":
      return "processing";
    default:
      // order.created, invoice.created, product.*, merchant.* … carry no payment news.
      return undefined;
  }
}

/** The platform's session id wherever an event shape puts it. */
export function checkoutIdOf(object: Record<string, unknown>): string | undefined {
  return (
    str(object.checkout_id) ??
    str(object.checkout_session_id) ??
    str(asObject(object.checkout_session)?.token) ??
    str(asObject(object.checkout_session)?.id) ??
    (str(object.token)?.startsWith("cs_") ? str(object.token) : undefined) ??
    (str(object.id)?.startsWith("cs_") ? str(object.id) : undefined)
  );
}

export function toNormalizedEvent(event: ParsedEvent, fallbackTime: Date | undefined): NormalizedPaymentEvent | undefined {
  const outcome = outcomeOf(event.name);
  if (!outcome) return undefined;
  const metadata = asObject(event.object.metadata) ?? {};
  const bridgeSessionId = str(metadata.cartbridge_session_id);
  const providerSessionId = checkoutIdOf(event.object);
  if (!bridgeSessionId && !providerSessionId) return undefined;
  const orderId = str(metadata.order_id);
  const occurredAt = event.occurredAt ?? fallbackTime;
  return {
    ...(bridgeSessionId ? { bridgeSessionId } : {}),
    ...(providerSessionId ? { providerSessionId } : {}),
    ...(orderId ? { orderId } : {}),
    outcome,
    ...(providerSessionId ? { paymentReference: `satsrail:${providerSessionId}` } : {}),
    transactions: event.paymentHash ? [{ hash: event.paymentHash, asset: "BTC-LN" }] : [],
    ...(occurredAt ? { occurredAt } : {}),
    providerStatus: event.name,
  };
}

function str(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function time(value: unknown): Date | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return new Date(value < 1e12 ? value * 1000 : value);
  if (typeof value === "string" && value !== "") {
    if (/^\d{1,12}$/.test(value)) return new Date(Number(value) * 1000);
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return undefined;
}
