/**
 * `btcpay`: BTCPay Server invoices through the Greenfield API (providers.md §5).
 * Invoices are created with a decimal-string amount built from minor units, `metadata.orderId` and our
 * `cartbridge_session_id`; webhooks carry `BTCPay-Sig: sha256=<hex HMAC>` over the raw body with no
 * timestamp, so nothing is credited before the invoice is re-read (webhookTrust "refetch").
 */
import { z } from "zod";
import { formatDecimalAmount, parseCurrency, parseDecimalAmount } from "../../src/domain/money.ts";
import {
  ProviderRequestError,
  WebhookVerificationError,
  type CreatedProviderSession,
  type PaymentProvider,
  type ProviderContext,
  type ProviderSessionState,
  type SessionForProvider,
} from "../types.ts";
import {
  describeError,
  invoiceSchema,
  mapInvoice,
  paidInInvoiceMinor,
  paymentMethodsSchema,
  toNormalizedEvent,
  verifySignature,
  webhookSchema,
  type InvoiceData,
} from "./wire.ts";

export const btcpayCredentials = z.object({
  /** Greenfield API key (Account → API keys) with btcpay.store.cancreateinvoice and btcpay.store.canviewinvoices. */
  apiKey: z.string().trim().min(1).transform((k) => k.replace(/^token\s+/i, "")),
  /** The store webhook's secret (Store → Webhooks). */
  webhookSecret: z.string().min(1),
});
export type BtcpayCredentials = z.infer<typeof btcpayCredentials>;

export const btcpaySettings = z.object({
  /** The instance's URL, e.g. https://btcpay.example.com (per instance [V]). */
  baseUrl: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, "")),
  storeId: z.string().min(1),
  speedPolicy: z.enum(["HighSpeed", "MediumSpeed", "LowMediumSpeed", "LowSpeed"]).optional(),
  paymentMethods: z.array(z.string().min(1)).optional(),
  /** Percent of the amount the store forgives [V checkout.paymentTolerance]. */
  paymentTolerance: z.number().min(0).max(100).optional(),
});
export type BtcpaySettings = z.infer<typeof btcpaySettings>;

type Ctx = ProviderContext<BtcpayCredentials, BtcpaySettings>;

async function call(ctx: Ctx, method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  let response: Response;
  try {
    response = await ctx.fetch(`${ctx.settings.baseUrl}/api/v1/stores/${encodeURIComponent(ctx.settings.storeId)}${path}`, {
      method,
      headers: {
        accept: "application/json",
        authorization: `token ${ctx.credentials.apiKey}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ProviderRequestError(`BTCPay is unreachable: ${(err as Error).message}`, true);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new ProviderRequestError(describeError(response.status, text), response.status >= 500 || response.status === 429, response.status);
  }
  try {
    return { status: response.status, json: JSON.parse(text) as unknown };
  } catch {
    throw new ProviderRequestError("BTCPay answered with something that is not JSON", false, response.status);
  }
}

function parseInvoice(json: unknown): InvoiceData {
  const parsed = invoiceSchema.safeParse(json);
  if (!parsed.success) {
    throw new ProviderRequestError(`BTCPay returned an unexpected invoice: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`, false);
  }
  return parsed.data;
}

/** The invoice amount in minor units of its currency, or undefined when it is not an ISO currency amount. */
function invoiceMinor(invoice: InvoiceData): bigint | undefined {
  const currency = parseCurrency(invoice.currency);
  if (!currency) return undefined;
  const parsed = parseDecimalAmount(invoice.amount, currency);
  return parsed.ok ? parsed.minor : undefined;
}

function created(invoice: InvoiceData, session: SessionForProvider, reused: boolean): CreatedProviderSession {
  // The amount read back must be the amount sent, to the minor unit.
  if (invoice.currency.toUpperCase() !== session.currency || invoiceMinor(invoice) !== session.amountMinor) {
    throw new ProviderRequestError(
      `BTCPay invoice ${invoice.id} is for ${invoice.amount} ${invoice.currency}, not ${formatDecimalAmount(session.amountMinor, session.currency)} ${session.currency}`,
      false,
    );
  }
  return {
    providerSessionId: invoice.id,
    checkoutUrl: invoice.checkoutLink,
    providerData: { invoiceAmount: invoice.amount, invoiceCurrency: invoice.currency, ...(reused ? { reusedInvoice: true } : {}) },
  };
}

/** The metadata key that carries the bridge's stable idempotency key, the mark of an invoice we made. */
export const idempotencyMarker = "cartbridge_idempotency_key";

/**
 * An invoice an earlier try of this create made: the same order, amount and currency, our idempotency key
 * (which already names the connection, order, amount, currency and the store's key), and still payable.
 * An expired, paid or invalid one is never handed to a buyer again.
 */
function isReusable(invoice: InvoiceData, session: SessionForProvider, now: Date): boolean {
  return (
    invoice.metadata?.[idempotencyMarker] === session.idempotencyKey &&
    invoice.metadata?.orderId === session.order.id &&
    invoice.currency.toUpperCase() === session.currency &&
    invoiceMinor(invoice) === session.amountMinor &&
    invoice.status === "New" &&
    invoice.additionalStatus === "None" &&
    (invoice.expirationTime === undefined || invoice.expirationTime * 1000 > now.getTime())
  );
}

export const btcpayProvider: PaymentProvider<BtcpayCredentials, BtcpaySettings> = {
  name: "btcpay",
  displayName: "BTCPay Server",
  credentialsSchema: btcpayCredentials,
  settingsSchema: btcpaySettings,
  // BTCPay-Sig has no timestamp: only the re-fetched invoice counts.
  webhookTrust: "refetch",

  async createSession(session, ctx) {
    // BTCPay has no idempotency key [V]. ASSUMPTION [INF] (providers.md §5): look for an invoice already
    // made by an earlier try of this very create (the answer was lost) before making another.
    const search = await call(ctx, "GET", `/invoices?orderId=${encodeURIComponent(session.order.id)}`);
    const existing = z.array(z.unknown()).catch([]).parse(search.json)
      .map((item) => invoiceSchema.safeParse(item))
      .flatMap((r) => (r.success ? [r.data] : []))
      .find((invoice) => isReusable(invoice, session, ctx.now()));
    if (existing) return created(existing, session, true);

    const itemDesc = session.lineItems.map((l) => (l.quantity > 1 ? `${l.name} × ${l.quantity}` : l.name)).join(", ");
    // Expires no later than the bridge session, so the buyer cannot pay an invoice the bridge gave up on.
    const minutes = Math.max(1, Math.floor((session.expiresAt.getTime() - ctx.now().getTime()) / 60_000));
    const body = {
      amount: formatDecimalAmount(session.amountMinor, session.currency),
      currency: session.currency,
      metadata: {
        ...session.metadata,
        // Well-known keys [V invoice-metadata]: orderId is indexed and searchable.
        orderId: session.order.id,
        ...(session.order.number ? { orderNumber: session.order.number } : {}),
        ...(session.customerEmail ? { buyerEmail: session.customerEmail } : {}),
        ...(itemDesc ? { itemDesc: itemDesc.slice(0, 500) } : {}),
        cartbridge_session_id: session.id,
        [idempotencyMarker]: session.idempotencyKey,
      },
      checkout: {
        redirectURL: session.successUrl,
        redirectAutomatically: true,
        expirationMinutes: minutes,
        ...(ctx.settings.speedPolicy ? { speedPolicy: ctx.settings.speedPolicy } : {}),
        ...(ctx.settings.paymentMethods ? { paymentMethods: ctx.settings.paymentMethods } : {}),
        ...(ctx.settings.paymentTolerance !== undefined ? { paymentTolerance: ctx.settings.paymentTolerance } : {}),
      },
      additionalSearchTerms: [session.id],
    };
    const response = await call(ctx, "POST", "/invoices", body);
    return created(parseInvoice(response.json), session, false);
  },

  async verifyWebhook(webhook, ctx) {
    verifySignature(webhook.rawBody, webhook.headers, ctx.credentials.webhookSecret);
    let event;
    try {
      event = webhookSchema.parse(JSON.parse(Buffer.from(webhook.rawBody).toString("utf8")));
    } catch {
      throw new WebhookVerificationError("malformed_body");
    }
    // A redelivery gets a new deliveryId and points at the first one [V].
    const eventId = event.originalDeliveryId || event.deliveryId;
    // Another store's invoice (one webhook secret shared across stores) is acknowledged, never applied.
    if (event.storeId !== undefined && event.storeId !== ctx.settings.storeId) return { eventId, events: [] };
    const normalized = toNormalizedEvent(event);
    return { eventId, events: normalized ? [normalized] : [] };
  },

  async fetchSession(providerSessionId, ctx): Promise<ProviderSessionState> {
    const invoice = parseInvoice((await call(ctx, "GET", `/invoices/${encodeURIComponent(providerSessionId)}`)).json);
    const mapped = mapInvoice(invoice.status, invoice.additionalStatus);
    const total = invoiceMinor(invoice);
    let amountPaidMinor: bigint | undefined;
    let transactions: ProviderSessionState["transactions"] = [];
    if (mapped.amount !== "none" && total !== undefined) {
      const paid = mapped.amount === "invoice" ? undefined : await readPaid(ctx, providerSessionId, total);
      transactions = paid?.transactions ?? [];
      switch (mapped.amount) {
        case "invoice":
          amountPaidMinor = total;
          break;
        case "at_least_invoice":
          amountPaidMinor = paid?.minor !== undefined && paid.minor > total ? paid.minor : total;
          break;
        case "paid":
          amountPaidMinor = paid?.minor;
          break;
        default: {
          const never: never = mapped.amount;
          throw new Error(`unhandled amount rule ${String(never)}`);
        }
      }
    }
    return {
      providerSessionId,
      status: mapped.status,
      ...(amountPaidMinor !== undefined ? { amountPaidMinor } : {}),
      currency: invoice.currency,
      transactions,
      providerStatus: invoice.additionalStatus === "None" ? invoice.status : `${invoice.status}/${invoice.additionalStatus}`,
    };
  },
};

/**
 * The paid amount from the payment-methods endpoint, when it can be read. A 4xx (older instance, key without
 * the permission) leaves the amount out and lets the status speak; a 5xx or network error is retried.
 */
async function readPaid(ctx: Ctx, invoiceId: string, total: bigint) {
  let json: unknown;
  try {
    json = (await call(ctx, "GET", `/invoices/${encodeURIComponent(invoiceId)}/payment-methods`)).json;
  } catch (err) {
    if (err instanceof ProviderRequestError && !err.retryable) return undefined;
    throw err;
  }
  const methods = paymentMethodsSchema.safeParse(json);
  if (!methods.success) return undefined;
  const method = methods.data.find((m) => m.activated !== false && m.amount && m.totalPaid && /[1-9]/.test(m.amount));
  const transactions = methods.data.flatMap((m) =>
    m.payments.map((p) => {
      const asset = m.paymentMethodId ?? m.paymentMethod ?? m.cryptoCode ?? m.currency;
      return { hash: p.id, ...(asset ? { asset } : {}) };
    }),
  );
  const minor = method ? paidInInvoiceMinor(total, method) : undefined;
  return { ...(minor !== undefined ? { minor } : {}), transactions };
}
