/**
 * `gstable`: GStable hosted checkout (the integration guide's "Web3 checkout"; providers.md §2).
 * Sessions are created with ad-hoc `one_time` line items priced in integer micro-USD; every answer is a
 * `{code, message, data}` envelope where code ≠ 0 is an error even on HTTP 200; webhooks are HMAC-SHA256
 * over `timestamp + ":" + rawBody`, and the session is re-read with `GET /session/{id}` before crediting.
 */
import { z } from "zod";
import { formatDecimalAmount } from "../../src/domain/money.ts";
import {
  ProviderRequestError,
  WebhookVerificationError,
  type NormalizedPaymentEvent,
  type PaymentProvider,
  type ProviderContext,
} from "../types.ts";
import {
  dedupeKeyOf,
  envelopeSchema,
  isPaying,
  isRetryableCode,
  microUsdLiteralToCents,
  parseJsonExact,
  parsePlatformTime,
  sessionSchema,
  toBridgeStatus,
  toGstableLineItems,
  transactionSchema,
  transactionsOf,
  verifyGstableSignature,
  webhookSchema,
  type GstableSession,
} from "./wire.ts";

/**
 * Base URL CONFLICT [V]: the hosted-checkout guide calls `https://api.gstable.io/payment/v1/…`, the SDK
 * defaults to `https://api.gstable.io/api/v1/…` (and says to trust the integration when they differ).
 * The SDK's is the default; the other is one setting away.
 */
export const gstableBaseUrls = {
  sdk: "https://api.gstable.io/api/v1",
  guide: "https://api.gstable.io/payment/v1",
} as const;

export const gstableCredentials = z.object({
  /** API key; a `Bearer ` prefix is tolerated, as the SDK does. */
  apiKey: z.string().min(1).transform((k) => k.trim().replace(/^Bearer\s+/i, "")),
  /** The webhook endpoint's signing secret (`wkk_…`), returned by webhook create / refreshKey. */
  webhookSecret: z.string().min(8),
});
export type GstableCredentials = z.infer<typeof gstableCredentials>;

export const gstableSettings = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }).default(gstableBaseUrls.sdk).transform((u) => u.replace(/\/+$/, "")),
  /** The receiving account (`acc_…`); required by create [V SDK]. */
  accountId: z.string().min(1),
  /** Settlement token as `chain::token`, e.g. `polygon::usdc` [V]. */
  settlementToken: z.string().regex(/^[a-z0-9_-]+::[a-z0-9_.-]+$/i, "looks like polygon::usdc"),
  /** 1 = the merchant pays the fee (default), 2 = the payer pays [V SDK]. */
  feeModel: z.union([z.literal(1), z.literal(2)]).default(1),
  payerEmailRequired: z.boolean().default(false),
});
export type GstableSettings = z.infer<typeof gstableSettings>;

type Ctx = ProviderContext<GstableCredentials, GstableSettings>;

/** The platform's floor for `expirationTime` is 1800 s ahead [V SDK]; a minute of margin for clock skew. */
const minimumExpirySeconds = 1800 + 60;

async function call(ctx: Ctx, method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await ctx.fetch(`${ctx.settings.baseUrl}${path}`, {
      method,
      headers: {
        accept: "application/json",
        authorization: `Bearer ${ctx.credentials.apiKey}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ProviderRequestError(`GStable is unreachable: ${(err as Error).message}`, true);
  }
  const text = await response.text();
  let envelope;
  try {
    envelope = envelopeSchema.parse(parseJsonExact(text));
  } catch {
    throw new ProviderRequestError(
      `GStable answered HTTP ${response.status} without its {code, message, data} envelope`,
      response.status >= 500 || response.status === 429,
      response.status,
    );
  }
  if (!response.ok || envelope.code !== "0") {
    const retryable = response.status >= 500 || response.status === 429 || isRetryableCode(envelope.code);
    throw new ProviderRequestError(
      `GStable error ${envelope.code} (HTTP ${response.status}): ${envelope.message ?? "no message"}`,
      retryable,
      response.status,
    );
  }
  return envelope.data;
}

function parseSession(value: unknown): GstableSession {
  const parsed = sessionSchema.safeParse(value);
  if (!parsed.success) throw new ProviderRequestError(`GStable returned an unexpected session: ${parsed.error.issues[0]?.message ?? "invalid"}`, false);
  return parsed.data;
}

function stringMetadata(session: GstableSession): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(session.metadata ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * The committed amount in USD cents, or undefined when nothing is committed or it is not an exact count of
 * cents (then the amount is left to the platform's word on the status, see `fetchSession`).
 * ASSUMPTION [INF]: the session's `amount` is micro-USD like `unitPrice` (the SDK types it only as a number).
 */
function paidCents(session: GstableSession): bigint | undefined {
  if (!isPaying(session.status) || session.amount == null) return undefined;
  return microUsdLiteralToCents(session.amount);
}

export const gstableProvider: PaymentProvider<GstableCredentials, GstableSettings> = {
  name: "gstable",
  displayName: "GStable",
  credentialsSchema: gstableCredentials,
  settingsSchema: gstableSettings,
  webhookTrust: "signed",

  async createSession(session, ctx) {
    // Prices are micro-USD; no currency field exists on create or on line items [V SDK], so only a USD
    // cart can be expressed without an exchange rate the bridge does not have.
    if (session.currency !== "USD") {
      throw new ProviderRequestError(`GStable prices checkouts in USD only (micro-USD); this cart is in ${session.currency}`, false);
    }
    let lineItems;
    try {
      lineItems = toGstableLineItems(session);
    } catch (err) {
      throw new ProviderRequestError(`the cart cannot be expressed in GStable line items: ${(err as Error).message}`, false);
    }
    const nowSeconds = Math.floor(ctx.now().getTime() / 1000);
    const expirationTime = Math.max(Math.floor(session.expiresAt.getTime() / 1000), nowSeconds + minimumExpirySeconds);
    const data = await call(ctx, "POST", "/session/checkout/create", {
      accountId: ctx.settings.accountId,
      settlementToken: ctx.settings.settlementToken,
      lineItems,
      successUrl: session.successUrl, // the request has no cancelUrl [V SDK]
      payerEmailRequired: ctx.settings.payerEmailRequired ? 1 : 0,
      feeModel: ctx.settings.feeModel,
      expirationTime,
      metadata: session.metadata,
    });
    const created = parseSession(data);
    if (!created.paymentUrl) throw new ProviderRequestError("GStable returned no paymentUrl", false);
    const wireTotal = lineItems.reduce((sum, l) => sum + BigInt(l.unitPrice) * BigInt(l.quantity), 0n);
    // The amount read back must be the amount sent, to the cent: a session for another amount must never
    // reach a buyer. ASSUMPTION [INF]: `amount` is the line items' micro-USD total (the SDK types it only as
    // a number), fees apart; a session without it cannot be checked and is taken as created.
    if (created.amount != null && microUsdLiteralToCents(created.amount) !== session.amountMinor) {
      throw new ProviderRequestError(
        `GStable session ${created.sessionId} is for ${created.amount} micro-USD, not ${wireTotal} (${formatDecimalAmount(session.amountMinor, session.currency)} USD)`,
        false,
      );
    }
    return {
      providerSessionId: created.sessionId,
      checkoutUrl: created.paymentUrl,
      providerData: {
        amountMicroUsd: wireTotal.toString(),
        ...(created.amount != null ? { platformAmount: created.amount } : {}),
        expirationTime,
        settlementToken: ctx.settings.settlementToken,
      },
    };
  },

  async verifyWebhook(webhook, ctx) {
    verifyGstableSignature(webhook.rawBody, webhook.headers, ctx.credentials.webhookSecret, ctx.now().getTime(), ctx.webhookToleranceSeconds);
    let event;
    try {
      event = webhookSchema.parse(parseJsonExact(Buffer.from(webhook.rawBody).toString("utf8")));
    } catch {
      throw new WebhookVerificationError("malformed_body");
    }
    // Account, product and payment-link events, and `session.created`, move no money. The full list of
    // `session.*` events is not published (ASSUMPTION [INF]: they mirror the statuses), so the session's
    // own `status` decides, whatever the event is called.
    if (!event.eventType.startsWith("session.") || event.eventType === "session.created") {
      return { eventId: dedupeKeyOf(event.eventId), events: [] };
    }
    const parsed = sessionSchema.safeParse(event.payload?.sessionData);
    if (!parsed.success) throw new WebhookVerificationError("malformed_body", "payload.sessionData is not a session");
    const session = parsed.data;
    const status = toBridgeStatus(session.status);
    if (status === "open") return { eventId: dedupeKeyOf(event.eventId), events: [] };
    const transaction = transactionSchema.safeParse(event.payload?.transaction ?? {});
    const transactions = transactionsOf(session, transaction.success ? transaction.data : undefined);
    const metadata = stringMetadata(session);
    const cents = paidCents(session);
    const occurredAt = parsePlatformTime(session.paymentSucceededTime) ?? parsePlatformTime(event.occurrence);
    const normalized: NormalizedPaymentEvent = {
      providerSessionId: session.sessionId,
      ...(metadata.cartbridge_session_id ? { bridgeSessionId: metadata.cartbridge_session_id } : {}),
      ...(metadata.order_id ? { orderId: metadata.order_id } : {}),
      outcome: status,
      ...(cents !== undefined ? { amountPaidMinor: cents, currency: "USD" } : {}),
      ...(transactions[0]?.hash ? { paymentReference: transactions[0].hash } : {}),
      transactions,
      ...(occurredAt ? { occurredAt } : {}),
      providerStatus: session.status,
    };
    return { eventId: dedupeKeyOf(event.eventId), events: [normalized] };
  },

  async fetchSession(providerSessionId, ctx) {
    const data = await call(ctx, "GET", `/session/${encodeURIComponent(providerSessionId)}`);
    const detail = z.object({ session: z.unknown(), transaction: z.unknown().optional() }).safeParse(data);
    if (!detail.success) throw new ProviderRequestError("GStable returned an unexpected session detail", false);
    const session = parseSession(detail.data.session);
    if (session.sessionId !== providerSessionId) throw new ProviderRequestError("GStable returned a different session", false);
    const transaction = transactionSchema.safeParse(detail.data.transaction ?? {});
    const amountPaidMinor = paidCents(session);
    // A committed amount that is no exact count of cents is neither rounded nor refused (refusing would fail
    // every re-fetch of a paid session): the platform's own status is taken for a full payment, as GStable's
    // contract takes exact amounts, and the odd amount is named on the timeline for a person to see.
    const inexact = isPaying(session.status) && session.amount != null && amountPaidMinor === undefined;
    return {
      providerSessionId: session.sessionId,
      status: toBridgeStatus(session.status),
      ...(amountPaidMinor !== undefined ? { amountPaidMinor, currency: "USD" } : {}),
      transactions: transactionsOf(session, transaction.success ? transaction.data : undefined),
      providerStatus: inexact ? `${session.status} (amount ${session.amount} micro-USD is not whole cents)` : session.status,
    };
  },
};
