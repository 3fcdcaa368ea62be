/**
 * `satsrail`: SatsRail Lightning hosted checkout (providers.md §4, platform-guides/003).
 * Sessions are created with integer `amount_cents` and a lowercase currency; webhooks are a hex HMAC-SHA256
 * of the raw body under one of three documented header/event formats (CONFLICT, all accepted, see wire.ts).
 * No format signs a timestamp, so nothing is credited from a webhook body: the session is re-read with
 * `GET /api/v1/checkout_sessions/{id}` first (webhookTrust "refetch").
 */
import { z } from "zod";
import {
  ProviderRequestError,
  type PaymentProvider,
  type ProviderContext,
  type ProviderSessionState,
} from "../types.ts";
import {
  checkTimestamp,
  createdSchema,
  dedupeKey,
  describeError,
  parseEvent,
  satsrailAmountExponent,
  satsrailMetadataKeyLimit,
  sessionSchema,
  toBridgeStatus,
  toNormalizedEvent,
  verifySignature,
} from "./wire.ts";

/**
 * Base URL CONFLICT [V]: the docs use `https://satsrail.com/api/v1`, the Ruby SDK and the MCP server
 * `https://app.satsrail.com/api/v1`. Either host is accepted, with or without the `/api/v1` suffix.
 */
export const satsrailHosts = { docs: "https://satsrail.com", sdk: "https://app.satsrail.com" } as const;

export const satsrailCredentials = z.object({
  /**
   * The secret key. Publishable `pk_` keys can create sessions [V] but not read them back, and the bridge
   * must read them back before crediting, so only `sk_` keys are accepted.
   */
  secretKey: z.string().trim().regex(/^sk_[A-Za-z0-9_]+$/, "a SatsRail secret key (sk_live_… or sk_test_…)"),
  /** The webhook endpoint's secret (`whsec_…`, shown once when the endpoint is created [V]). */
  webhookSecret: z.string().min(8),
});
export type SatsrailCredentials = z.infer<typeof satsrailCredentials>;

export const satsrailSettings = z.object({
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .default(satsrailHosts.docs)
    .transform((u) => u.replace(/\/+$/, "").replace(/\/api\/v1$/, "")),
  /**
   * Replay window for the unsigned timestamp headers, seconds; 0 turns the check off (for a sender whose
   * timestamp is the event's rather than the attempt's, which the documents do not settle). Defaults to
   * the bridge's WEBHOOK_TOLERANCE_SECONDS (300).
   */
  webhookTimestampToleranceSeconds: z.number().int().min(0).optional(),
  /**
   * Idempotency on create is not stated in the public documents (providers.md §12), so no header is sent by
   * default. `Idempotency-Key` sends the bridge's stable key (the same on the store's retries) for a
   * deployment that honours it. There is no duplicate guard besides: the API documents no way to look a
   * checkout session up by order or metadata (only `GET …/checkout_sessions/{id}`).
   */
  idempotencyHeader: z.enum(["off", "Idempotency-Key"]).default("off"),
});
export type SatsrailSettings = z.infer<typeof satsrailSettings>;

type Ctx = ProviderContext<SatsrailCredentials, SatsrailSettings>;

async function call(ctx: Ctx, method: "GET" | "POST", path: string, body?: string, extraHeaders: Record<string, string> = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await ctx.fetch(`${ctx.settings.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        accept: "application/json",
        authorization: `Bearer ${ctx.credentials.secretKey}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...extraHeaders,
      },
      ...(body !== undefined ? { body } : {}),
    });
  } catch (err) {
    throw new ProviderRequestError(`SatsRail is unreachable: ${(err as Error).message}`, true);
  }
  const text = await response.text();
  if (!response.ok) {
    // 401 bad key, 404, 410 expired [GUIDE], 422 validation: retrying the same request cannot help.
    const retryable = response.status >= 500 || response.status === 429;
    const retryAfter = response.headers.get("retry-after");
    throw new ProviderRequestError(
      `${describeError(response.status, text)}${retryAfter ? ` (Retry-After ${retryAfter})` : ""}`,
      retryable,
      response.status,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProviderRequestError("SatsRail answered with something that is not JSON", false, response.status);
  }
}

function idempotencyHeaders(setting: SatsrailSettings["idempotencyHeader"], key: string): Record<string, string> {
  switch (setting) {
    case "off":
      return {};
    case "Idempotency-Key":
      return { "idempotency-key": key };
    default: {
      const never: never = setting;
      throw new Error(`unknown idempotencyHeader ${String(never)}`);
    }
  }
}

/** Some APIs wrap the object in its resource name; accept either. */
function unwrap(value: unknown): unknown {
  if (value && typeof value === "object" && "checkout_session" in value) return (value as { checkout_session: unknown }).checkout_session;
  return value;
}

export const satsrailProvider: PaymentProvider<SatsrailCredentials, SatsrailSettings> = {
  name: "satsrail",
  displayName: "SatsRail (Lightning)",
  credentialsSchema: satsrailCredentials,
  settingsSchema: satsrailSettings,
  // Its signatures carry no signed timestamp: only the re-fetched state counts.
  webhookTrust: "refetch",

  async createSession(session, ctx) {
    // `amount_cents` counts hundredths. A JPY or BHD cart has no exact hundredths meaning SatsRail documents,
    // so such carts are refused rather than rescaled into units the platform may read differently.
    if (session.currencyExponent !== satsrailAmountExponent) {
      throw new ProviderRequestError(
        `SatsRail takes amount_cents (hundredths); ${session.currency} has ${session.currencyExponent} decimal places, so it cannot be sent exactly`,
        false,
      );
    }
    if (session.amountMinor > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProviderRequestError("the amount is too large for SatsRail's integer amount_cents", false);
    }
    const metadataKeys = Object.keys(session.metadata);
    if (metadataKeys.length > satsrailMetadataKeyLimit) {
      throw new ProviderRequestError(
        `SatsRail metadata takes at most ${satsrailMetadataKeyLimit} keys; this session has ${metadataKeys.length} (the merchant's plus cartbridge_session_id and order_id)`,
        false,
      );
    }
    const body = JSON.stringify({
      checkout_session: {
        // A safe integer (checked above) serializes exactly.
        amount_cents: Number(session.amountMinor),
        currency: session.currency.toLowerCase(),
        success_url: session.successUrl,
        cancel_url: session.cancelUrl,
        ...(session.customerEmail ? { customer_email: session.customerEmail } : {}),
        metadata: session.metadata,
      },
    });
    const idempotency = idempotencyHeaders(ctx.settings.idempotencyHeader, session.idempotencyKey);
    const created = createdSchema.safeParse(unwrap(await call(ctx, "POST", "/checkout_sessions", body, idempotency)));
    if (!created.success) throw new ProviderRequestError("SatsRail returned an unexpected checkout session", false);
    // The guide's example returns only `token` (cs_…), which is also the id its GET and webhooks use.
    const providerSessionId = created.data.token ?? (created.data.id !== undefined ? String(created.data.id) : undefined);
    if (!providerSessionId) throw new ProviderRequestError("SatsRail returned a checkout session without token or id", false);
    return {
      providerSessionId,
      checkoutUrl: created.data.checkout_url,
      providerData: {
        amountCents: session.amountMinor.toString(),
        currency: session.currency.toLowerCase(),
        ...(created.data.expires_at ? { satsrailExpiresAt: created.data.expires_at } : {}),
      },
    };
  },

  async verifyWebhook(webhook, ctx) {
    verifySignature(webhook.rawBody, webhook.headers, ctx.credentials.webhookSecret);
    const tolerance = ctx.settings.webhookTimestampToleranceSeconds ?? ctx.webhookToleranceSeconds;
    const sentAt = checkTimestamp(webhook.headers, ctx.now().getTime(), tolerance);
    const event = parseEvent(webhook.rawBody, webhook.headers);
    const normalized = toNormalizedEvent(event, sentAt);
    return { eventId: dedupeKey(webhook.headers, event, webhook.rawBody), events: normalized ? [normalized] : [] };
  },

  async fetchSession(providerSessionId, ctx): Promise<ProviderSessionState> {
    let json: unknown;
    try {
      json = await call(ctx, "GET", `/checkout_sessions/${encodeURIComponent(providerSessionId)}`);
    } catch (err) {
      // The guide answers 410 Gone for a session past its 15-minute TTL [GUIDE]: that is an answer, not a failure.
      if (err instanceof ProviderRequestError && err.status === 410) {
        return { providerSessionId, status: "expired", transactions: [], providerStatus: "gone" };
      }
      throw err;
    }
    const parsed = sessionSchema.safeParse(unwrap(json));
    if (!parsed.success) {
      throw new ProviderRequestError(`SatsRail returned an unexpected checkout session: ${parsed.error.issues[0]?.message ?? "invalid"}`, false);
    }
    const record = parsed.data;
    const status = toBridgeStatus(record.status);
    // ASSUMPTION [INF]: a Lightning invoice is paid exactly or not at all, so a completed session has been
    // paid its own `amount_cents`; a record whose amount differs from the cart then shows as under/overpaid.
    const paid = status === "paid" && record.amount_cents !== undefined;
    return {
      providerSessionId,
      status,
      ...(paid ? { amountPaidMinor: BigInt(record.amount_cents!) } : {}),
      ...(record.currency ? { currency: record.currency.toUpperCase() } : {}),
      transactions: record.payment_hash ? [{ hash: record.payment_hash, asset: "BTC-LN" }] : [],
      providerStatus: record.status,
    };
  },
};
