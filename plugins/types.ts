/**
 * The provider plugin interface: what the bridge core needs from a payment platform, and nothing more.
 * Each platform lives in its own folder under `plugins/` and exports a `PaymentProvider`. The registry is
 * assembled in `src/main.ts`; core code never names a concrete provider.
 */
import type { Hono } from "hono";
import type { z } from "zod";
import type { CurrencyCode } from "../src/domain/money.ts";
import type { PaymentOutcome, SessionStatus } from "../src/domain/session-status.ts";
import type { Db } from "../src/db/database.ts";

/** One cart line, amounts already in integer minor units of the session currency. */
export interface CartLine {
  name: string;
  quantity: number;
  unitAmountMinor: bigint;
  sku?: string;
  imageUrl?: string;
}

/** The bridge's checkout session as a provider sees it when creating its own. */
export interface SessionForProvider {
  /** Derived from the same inputs as `idempotencyKey`, so a retried create is the same session. */
  id: string;
  /**
   * The key for the platform's own idempotency (header, or a marker to search for). Stable across the
   * bridge's and the store's retries of one create: a hash of connection, store, order, amount, currency,
   * the order's previous session on this connection and the store's Idempotency-Key when it sent one.
   * `cartbridge-` + 48 hex characters.
   */
  idempotencyKey: string;
  storeId: string;
  livemode: boolean;
  currency: CurrencyCode;
  /** The currency's minor-unit digits (USD 2, JPY 0). */
  currencyExponent: number;
  amountMinor: bigint;
  lineItems: CartLine[];
  shippingMinor: bigint;
  taxMinor: bigint;
  discountMinor: bigint;
  order: { id: string; number?: string; key?: string };
  customerEmail?: string;
  /** Metadata to carry to the platform: the merchant's plus `cartbridge_session_id`, `order_id`. */
  metadata: Record<string, string>;
  successUrl: string;
  cancelUrl: string;
  expiresAt: Date;
}

export interface ProviderContext<Credentials, Settings> {
  credentials: Credentials;
  settings: Settings;
  connectionId: string;
  /** The URL this connection's webhooks must be sent to (register it at the platform). */
  webhookUrl: string;
  /** The bridge's public base URL (for pages the plugin serves itself). */
  publicUrl: string;
  /** Outbound HTTP; tests point it at simulators. */
  fetch: typeof fetch;
  now: () => Date;
  /** Replay window for timestamp-signed webhooks, seconds. */
  webhookToleranceSeconds: number;
  /** The bridge database, for plugins that keep tables of their own (e.g. `evm`'s deposit addresses). */
  db?: Db;
}

export interface CreatedProviderSession {
  /** The platform's id for the session/invoice. */
  providerSessionId: string;
  /** Where the buyer pays. */
  checkoutUrl: string;
  /** Non-secret details worth keeping (wire amount, locked rate, deposit address…). */
  providerData?: Record<string, unknown>;
}

export interface RawWebhook {
  /** The exact bytes received: verify these, never a re-serialization. */
  rawBody: Uint8Array;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Extra path segment after the connection id (a secret path token for header-key platforms). */
  pathToken?: string;
}

export interface TransactionRef {
  hash?: string;
  chainId?: string;
  explorerUrl?: string;
  /** Token contract or asset name, as the platform reports it. */
  asset?: string;
}

/** A platform event in the bridge's terms. */
export interface NormalizedPaymentEvent {
  /** The bridge session id if the platform echoed our metadata. */
  bridgeSessionId?: string;
  /** The platform's own session/invoice id. */
  providerSessionId?: string;
  /** The store order id if the platform echoed it. */
  orderId?: string;
  outcome: PaymentOutcome;
  /** The total paid on the session so far, in minor units of `currency`, when the platform says. */
  amountPaidMinor?: bigint;
  currency?: string;
  /**
   * A stable id for the payment, used only when neither a transaction hash nor the platform's session id is
   * known (the core names payments by those, the same on every path); else the event id.
   */
  paymentReference?: string;
  transactions: TransactionRef[];
  occurredAt?: Date;
  /** Platform status string, kept for the timeline. */
  providerStatus?: string;
}

export interface VerifiedWebhook {
  /** Dedupe key: the platform's event or delivery id (unique per provider + connection). */
  eventId: string;
  /** Empty when the event is irrelevant (e.g. `session.created`): it is stored and acknowledged. */
  events: NormalizedPaymentEvent[];
}

/** The platform's current view of a session, from a re-fetch. */
export interface ProviderSessionState {
  providerSessionId: string;
  /** `open` when nothing has happened yet. */
  status: SessionStatus;
  amountPaidMinor?: bigint;
  currency?: string;
  transactions: TransactionRef[];
  providerStatus?: string;
}

/** Thrown by `verifyWebhook` with a reason for the operator's log (never echoed in detail to the sender). */
export class WebhookVerificationError extends Error {
  constructor(
    readonly reason:
      | "missing_signature"
      | "bad_signature"
      | "stale_timestamp"
      | "bad_timestamp"
      | "malformed_body"
      | "wrong_path_token",
    message?: string,
  ) {
    super(message ?? reason);
    this.name = "WebhookVerificationError";
  }
}

/** Thrown by outbound calls; `retryable` tells whether trying again later may help. */
export class ProviderRequestError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ProviderRequestError";
  }
}

/**
 * How far a verified webhook can be trusted on its own:
 * - `signed`: timestamped signature; the event may be applied as it is (a re-fetch still runs if offered);
 * - `refetch`: no timestamped signature; only the re-fetched state counts;
 * - `cross_check`: nothing to re-fetch; amount, currency and order must match the session exactly.
 */
export type WebhookTrust = "signed" | "refetch" | "cross_check";

/** Services the core offers to plugins that serve pages or need to talk back to the pipeline. */
export interface PluginHost {
  publicUrl: string;
  /** Reads a session by the provider's id for that connection (for hosted pages). */
  findSessionByProviderRef(connectionId: string, providerSessionId: string): Promise<HostedSessionView | undefined>;
  /** Credentials and settings of a connection, decrypted. */
  loadConnection(
    connectionId: string,
  ): Promise<{ credentials: unknown; settings: unknown; provider: string; webhookUrl: string } | undefined>;
  /** Delivers a webhook to the bridge's own endpoint through the full HTTP pipeline. */
  postWebhook(path: string, init: { body: string; headers: Record<string, string> }): Promise<Response>;
  now: () => Date;
}

export interface HostedSessionView {
  id: string;
  connectionId: string;
  providerSessionId: string;
  status: SessionStatus;
  amountMinor: bigint;
  currency: CurrencyCode;
  currencyExponent: number;
  lineItems: CartLine[];
  orderId: string;
  orderNumber?: string;
  successUrl: string;
  cancelUrl: string;
  expiresAt: Date;
  livemode: boolean;
  providerData: Record<string, unknown>;
}

export interface PaymentProvider<Credentials = unknown, Settings = unknown> {
  /** Stable name used in URLs, the database and the API (`sandbox`, `btcpay`…). */
  readonly name: string;
  readonly displayName: string;
  readonly credentialsSchema: z.ZodType<Credentials>;
  readonly settingsSchema: z.ZodType<Settings>;
  readonly webhookTrust: WebhookTrust;
  /** Whether this provider is always test mode (the sandbox). */
  readonly testOnly?: boolean;

  createSession(
    session: SessionForProvider,
    ctx: ProviderContext<Credentials, Settings>,
  ): Promise<CreatedProviderSession>;

  verifyWebhook(
    webhook: RawWebhook,
    ctx: ProviderContext<Credentials, Settings>,
  ): Promise<VerifiedWebhook>;

  /** The platform's current state of one session, if it offers a read endpoint. */
  fetchSession?(
    providerSessionId: string,
    ctx: ProviderContext<Credentials, Settings>,
  ): Promise<ProviderSessionState>;

  /** Pages or endpoints the plugin serves under `/p/{name}` (hosted checkout, simulators' callbacks). */
  routes?(host: PluginHost): Hono;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPaymentProvider = PaymentProvider<any, any>;

export class ProviderRegistry {
  private readonly providers = new Map<string, AnyPaymentProvider>();

  constructor(providers: AnyPaymentProvider[] = []) {
    for (const p of providers) this.register(p);
  }

  register(provider: AnyPaymentProvider): void {
    if (this.providers.has(provider.name)) throw new Error(`provider ${provider.name} registered twice`);
    this.providers.set(provider.name, provider);
  }

  get(name: string): AnyPaymentProvider | undefined {
    return this.providers.get(name);
  }

  list(): AnyPaymentProvider[] {
    return [...this.providers.values()];
  }
}
