/**
 * `sprintcheckout`: Sprintcheckout payment sessions (providers.md §1). The platform signs nothing and has
 * no documented read endpoint: a notification is authenticated by the static `X-Webhook-Api-Key` plus the
 * connection's secret webhook path (checked by the core), and is credited only when its amount, currency
 * and orderId equal the session's exactly (`webhookTrust: "cross_check"`).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { safeEqual } from "../../src/crypto/secrets.ts";
import { formatUnits, parseCurrency, parseDecimalAmount } from "../../src/domain/money.ts";
import {
  ProviderRequestError,
  WebhookVerificationError,
  type NormalizedPaymentEvent,
  type PaymentProvider,
  type ProviderContext,
  type TransactionRef,
} from "../types.ts";
import { createResponseSchema, createSessionBody, eventIdOf, hashFromReceipt, notificationSchema, parseJsonExact, toBridgeOutcome } from "./wire.ts";

export const sprintcheckoutCredentials = z.object({
  /** Dashboard → Get paid; sent as `X-SC-ApiKey`. */
  apiKey: z.string().min(1),
  /** The key Sprintcheckout sends in `X-Webhook-Api-Key` (Dashboard → Notifications). */
  webhookApiKey: z.string().min(8),
});
export type SprintcheckoutCredentials = z.infer<typeof sprintcheckoutCredentials>;

export const sprintcheckoutSettings = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }).default("https://api.sprintcheckout.com").transform((u) => u.replace(/\/+$/, "")),
});
export type SprintcheckoutSettings = z.infer<typeof sprintcheckoutSettings>;

type Ctx = ProviderContext<SprintcheckoutCredentials, SprintcheckoutSettings>;

export const webhookKeyHeader = "x-webhook-api-key";

/** A notification without an orderId cannot be matched to the order, so it must not count as a match. */
const missingOrderId = "(no orderId in the notification)";

async function post(ctx: Ctx, path: string, body: string): Promise<unknown> {
  let response: Response;
  try {
    response = await ctx.fetch(`${ctx.settings.baseUrl}${path}`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "x-sc-apikey": ctx.credentials.apiKey },
      body,
    });
  } catch (err) {
    throw new ProviderRequestError(`Sprintcheckout is unreachable: ${(err as Error).message}`, true);
  }
  const text = await response.text();
  if (!response.ok) {
    // Only `500 Server error` is documented; anything else is reported as it came.
    throw new ProviderRequestError(
      `Sprintcheckout answered HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`,
      response.status >= 500 || response.status === 429,
      response.status,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProviderRequestError("Sprintcheckout answered with a body that is not JSON", true, response.status);
  }
}

/** One payment row per distinct set of receipts (the payments table keeps references to 191 characters). */
function paymentReferenceOf(transactions: TransactionRef[]): string {
  const refs = transactions.map((t) => t.hash ?? t.explorerUrl ?? "");
  const joined = refs.join(",");
  return joined.length <= 120 ? joined : `receipts:${createHash("sha256").update(joined).digest("hex")}`;
}

export const sprintcheckoutProvider: PaymentProvider<SprintcheckoutCredentials, SprintcheckoutSettings> = {
  name: "sprintcheckout",
  displayName: "Sprintcheckout",
  credentialsSchema: sprintcheckoutCredentials,
  settingsSchema: sprintcheckoutSettings,
  webhookTrust: "cross_check",

  // No idempotency key: the platform documents none, and it has no metadata field; the order id travels
  // in `orderId` and notifications come back through `paymentSessionId`.
  async createSession(session, ctx) {
    const body = createSessionBody(session);
    const parsed = createResponseSchema.safeParse(await post(ctx, "/api/checkout/v2/payment_session", body));
    if (!parsed.success) throw new ProviderRequestError("Sprintcheckout returned no sessionId/redirectUrl", false);
    return {
      providerSessionId: parsed.data.sessionId,
      checkoutUrl: parsed.data.redirectUrl,
      providerData: { wireAmount: formatUnits(session.amountMinor, session.currencyExponent), orderType: "TRANSIENT" },
    };
  },

  async verifyWebhook(webhook, ctx) {
    const key = webhook.headers[webhookKeyHeader];
    if (!key) throw new WebhookVerificationError("missing_signature", "no X-Webhook-Api-Key header");
    // Constant time (ASSUMPTION [INF] of the reference, and the only thing standing between a guessed key and a credit).
    if (!safeEqual(key, ctx.credentials.webhookApiKey)) throw new WebhookVerificationError("bad_signature", "wrong X-Webhook-Api-Key");
    let notification;
    try {
      notification = notificationSchema.parse(parseJsonExact(Buffer.from(webhook.rawBody).toString("utf8")));
    } catch {
      throw new WebhookVerificationError("malformed_body");
    }
    const currency = parseCurrency(notification.currency);
    // The amount is read from its literal text; one that is not exact in the currency's minor units is
    // left out, which the cross-check treats as "cannot be credited".
    const parsedAmount = currency ? parseDecimalAmount(notification.amount, currency) : undefined;
    const outcome = toBridgeOutcome(notification.status);
    const transactions: TransactionRef[] = (notification.receipts ?? []).map((url) => {
      const hash = hashFromReceipt(url);
      return { explorerUrl: url, ...(hash ? { hash } : {}), ...(notification.chain ? { chainId: notification.chain } : {}), ...(notification.token ? { asset: notification.token } : {}) };
    });
    const paying = outcome === "paid";
    const timestamp = notification.timestamp && /^\d{9,11}$/.test(notification.timestamp) ? new Date(Number(notification.timestamp) * 1000) : undefined;
    const event: NormalizedPaymentEvent = {
      // `paymentSessionId` may be the `sessionId` create returned (ASSUMPTION [INF]), a UUID unlike it (the
      // guide's example), or absent (the legacy page): when it finds no session, the core looks the order up
      // on this connection (cross-checked providers only), the platform having no metadata to echo our id.
      ...(notification.paymentSessionId ? { providerSessionId: notification.paymentSessionId } : {}),
      orderId: notification.orderId || missingOrderId,
      outcome,
      ...(paying && parsedAmount?.ok ? { amountPaidMinor: parsedAmount.minor } : {}),
      // The currency is always passed on: a mismatch must hold the payment, whatever the amount says.
      currency: notification.currency.toUpperCase(),
      ...(paying && transactions.length > 0 ? { paymentReference: paymentReferenceOf(transactions) } : {}),
      transactions,
      ...(timestamp ? { occurredAt: timestamp } : {}),
      providerStatus: notification.status,
    };
    return { eventId: eventIdOf(notification), events: [event] };
  },
};
