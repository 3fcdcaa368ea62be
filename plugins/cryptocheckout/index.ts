/**
 * `cryptocheckout`: the self-hosted, EVM "Crypto Checkout" (docs.mycryptoserver.com; providers.md §3).
 * Sessions are created in ad-hoc mode with a decimal-string fiat amount and the bridge's stable
 * `Idempotency-Key`; webhooks are Stripe-style `t=…,v1=…` signatures over `${t}.${rawBody}`;
 * before anything is credited the session is re-read from `GET /api/v1/checkout_sessions/{id}`.
 */
import { z } from "zod";
import { formatDecimalAmount, parseCurrency, parseDecimalAmount } from "../../src/domain/money.ts";
import {
  ProviderRequestError,
  WebhookVerificationError,
  type NormalizedPaymentEvent,
  type PaymentProvider,
  type ProviderContext,
  type SessionForProvider,
} from "../types.ts";
import {
  amountPaid,
  dedupeKeyOf,
  errorMessageOf,
  eventSchema,
  informationalEventTypes,
  parseJsonExact,
  sessionSchema,
  toBridgeStatus,
  transactionsOf,
  verifyCryptoCheckoutSignature,
  type CryptoCheckoutSession,
} from "./wire.ts";

export const cryptoCheckoutCredentials = z.object({
  /** API key from Dashboard → API Keys (`ck_test_…` / `ck_live_…`), shown once at creation. */
  apiKey: z.string().regex(/^ck_\S+$/, "a Crypto Checkout API key starts with ck_"),
  /** The webhook endpoint's signing secret (`whsec_…`) from Dashboard → Webhooks. */
  webhookSecret: z.string().min(8),
});
export type CryptoCheckoutCredentials = z.infer<typeof cryptoCheckoutCredentials>;

export const cryptoCheckoutSettings = z.object({
  /** The instance's origin, e.g. `https://pay.example.com` (the API lives under `/api/v1`). */
  baseUrl: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, "")),
});
export type CryptoCheckoutSettings = z.infer<typeof cryptoCheckoutSettings>;

type Ctx = ProviderContext<CryptoCheckoutCredentials, CryptoCheckoutSettings>;

/** "Reject when |now − t| > 300 s" [V /webhooks/signature-verification]. */
export const documentedToleranceSeconds = 300;

async function call(ctx: Ctx, method: "GET" | "POST", path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<unknown> {
  const url = `${ctx.settings.baseUrl}${path}`;
  let response: Response;
  try {
    response = await ctx.fetch(url, {
      method,
      headers: {
        accept: "application/json",
        authorization: `Bearer ${ctx.credentials.apiKey}`,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  } catch (err) {
    throw new ProviderRequestError(`Crypto Checkout is unreachable: ${(err as Error).message}`, true);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? parseJsonExact(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const detail = errorMessageOf(body) ?? text.slice(0, 200);
    // 409: the same Idempotency-Key was used with a different body [V]; retrying cannot help.
    throw new ProviderRequestError(
      `Crypto Checkout answered HTTP ${response.status}${detail ? `: ${detail}` : ""}`,
      response.status >= 500 || response.status === 429,
      response.status,
    );
  }
  if (body === undefined) throw new ProviderRequestError("Crypto Checkout answered with a body that is not JSON", true, response.status);
  return body;
}

function parseSession(body: unknown): CryptoCheckoutSession {
  const parsed = sessionSchema.safeParse(body);
  if (!parsed.success) {
    throw new ProviderRequestError(`Crypto Checkout returned an unexpected session: ${parsed.error.issues[0]?.message ?? "invalid"}`, false);
  }
  return parsed.data;
}

function metadataOf(session: CryptoCheckoutSession): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(session.metadata ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * The fiat amount read back must be the amount sent, to the minor unit: a session for another amount
 * (a proxy that rewrote the body, an idempotent replay of some other request) must never reach a buyer.
 * A session without `fiat` cannot be checked and is taken as created (the field is documented [V]).
 */
function assertEchoedAmount(created: CryptoCheckoutSession, session: SessionForProvider): void {
  if (!created.fiat) return;
  const currency = parseCurrency(created.fiat.currency);
  const parsed = currency ? parseDecimalAmount(created.fiat.amount, currency) : undefined;
  if (currency !== session.currency || !parsed?.ok || parsed.minor !== session.amountMinor) {
    throw new ProviderRequestError(
      `Crypto Checkout session ${created.id} is for ${created.fiat.amount} ${created.fiat.currency}, not ${formatDecimalAmount(session.amountMinor, session.currency)} ${session.currency}`,
      false,
    );
  }
}

export const cryptoCheckoutProvider: PaymentProvider<CryptoCheckoutCredentials, CryptoCheckoutSettings> = {
  name: "cryptocheckout",
  displayName: "Crypto Checkout (self-hosted)",
  credentialsSchema: cryptoCheckoutCredentials,
  settingsSchema: cryptoCheckoutSettings,
  webhookTrust: "signed",

  async createSession(session, ctx) {
    const body = JSON.stringify({
      // Ad-hoc mode [V]: a decimal string in the currency's own minor-unit precision.
      amount: { value: formatDecimalAmount(session.amountMinor, session.currency), currency: session.currency },
      // `orderId` is where the platform's docs and dashboard look for the order [V]; the bridge's own keys
      // map events back to the session.
      metadata: { ...session.metadata, orderId: session.order.id },
      successUrl: session.successUrl,
      // ASSUMPTION [INF]: `cancelUrl` is accepted on create (it is a documented session field).
      cancelUrl: session.cancelUrl,
    });
    // The key survives the bridge's and the store's retries (the body is the same too, the session id being
    // derived from it), so a create whose answer was lost is answered from the platform's 24 h cache [V].
    const created = parseSession(
      await call(ctx, "POST", "/api/v1/checkout_sessions", { body, headers: { "idempotency-key": session.idempotencyKey } }),
    );
    if (!created.checkoutUrl) throw new ProviderRequestError("Crypto Checkout returned no checkoutUrl", false);
    assertEchoedAmount(created, session);
    return {
      providerSessionId: created.id,
      checkoutUrl: created.checkoutUrl,
      providerData: {
        wireAmount: formatDecimalAmount(session.amountMinor, session.currency),
        ...(created.address ? { address: created.address } : {}),
        ...(created.amount?.wei ? { amountWei: created.amount.wei } : {}),
        ...(created.amount?.eth ? { amountEth: created.amount.eth } : {}),
        ...(created.ethPriceUsd ? { ethPriceUsd: created.ethPriceUsd } : {}),
        ...(created.expiresAt ? { providerExpiresAt: created.expiresAt } : {}),
      },
    };
  },

  async verifyWebhook(webhook, ctx) {
    // The platform documents a 300 s window [V /webhooks/signature-verification]: a bridge configured with
    // a wider WEBHOOK_TOLERANCE_SECONDS (for a platform with slower clocks) must not widen this one's replay
    // window beyond what Crypto Checkout promises; a narrower setting still applies.
    const tolerance = Math.min(ctx.webhookToleranceSeconds, documentedToleranceSeconds);
    verifyCryptoCheckoutSignature(webhook.rawBody, webhook.headers, ctx.credentials.webhookSecret, ctx.now().getTime(), tolerance);
    let event;
    try {
      event = eventSchema.parse(parseJsonExact(Buffer.from(webhook.rawBody).toString("utf8")));
    } catch {
      throw new WebhookVerificationError("malformed_body");
    }
    if (informationalEventTypes.has(event.type) || !event.type.startsWith("session.")) return { eventId: dedupeKeyOf(event.id), events: [] };
    const parsed = sessionSchema.safeParse(event.data);
    if (!parsed.success) throw new WebhookVerificationError("malformed_body", "data is not a checkout session");
    const session = parsed.data;
    const status = toBridgeStatus(session.status);
    if (status === "open") return { eventId: dedupeKeyOf(event.id), events: [] };
    const metadata = metadataOf(session);
    const paid = amountPaid(session);
    const transactions = transactionsOf(session);
    const occurred = session.paidAt ?? event.createdAt;
    const normalized: NormalizedPaymentEvent = {
      providerSessionId: session.id,
      ...(metadata.cartbridge_session_id ? { bridgeSessionId: metadata.cartbridge_session_id } : {}),
      ...((metadata.order_id ?? metadata.orderId) ? { orderId: metadata.order_id ?? metadata.orderId } : {}),
      outcome: status,
      ...(paid ? { amountPaidMinor: paid.minor, currency: paid.currency } : {}),
      ...(session.txHash ? { paymentReference: session.txHash } : {}),
      transactions,
      ...(occurred && !Number.isNaN(Date.parse(occurred)) ? { occurredAt: new Date(occurred) } : {}),
      providerStatus: session.status,
    };
    return { eventId: dedupeKeyOf(event.id), events: [normalized] };
  },

  async fetchSession(providerSessionId, ctx) {
    const session = parseSession(await call(ctx, "GET", `/api/v1/checkout_sessions/${encodeURIComponent(providerSessionId)}`));
    if (session.id !== providerSessionId) throw new ProviderRequestError("Crypto Checkout returned a different session", false);
    const paid = amountPaid(session);
    return {
      providerSessionId: session.id,
      status: toBridgeStatus(session.status),
      ...(paid ? { amountPaidMinor: paid.minor, currency: paid.currency } : {}),
      transactions: transactionsOf(session),
      providerStatus: session.status,
    };
  },
};
