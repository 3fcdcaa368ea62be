/**
 * Cartbridge SDK for custom stores: a typed client for the store API and a verifier for the signed
 * store updates the bridge POSTs to the store.
 *
 *   import { CartbridgeClient, verifyWebhook } from "cartbridge/sdk";
 *
 * The types are inferred from the zod schemas that validate the API's requests (src/api/schemas.ts);
 * only types are imported from there, so the SDK adds no runtime dependency beyond `standardwebhooks`.
 */
import { timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { z } from "zod";
import type { checkoutSessionSchema, createCheckoutSessionSchema, errorEnvelopeSchema, storeUpdateSchema } from "../api/schemas.ts";

export type CreateCheckoutSessionParams = z.input<typeof createCheckoutSessionSchema>;
export type CheckoutSession = z.output<typeof checkoutSessionSchema>;
export type CheckoutSessionStatus = CheckoutSession["status"];
export type ErrorEnvelope = z.output<typeof errorEnvelopeSchema>;
export type StoreUpdate = z.output<typeof storeUpdateSchema>;

export interface CartbridgeClientOptions {
  /** The bridge's public URL, e.g. `https://pay.example.com`. */
  baseUrl: string;
  /** `sk_test_…` or `sk_live_…`. Server side only: never ship it to a browser. */
  secretKey: string;
  fetch?: typeof fetch;
  /** Retries after the first attempt on network errors, 5xx, 429 and 409 `idempotency_key_in_use`. Default 3. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, with jitter, capped at 30 s. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Per-attempt timeout. Default 30 s. */
  timeoutMs?: number;
  /** For tests: how to wait between retries. */
  sleep?: (ms: number) => Promise<void>;
}

/** The API answered with an error envelope (or something that was not one). */
export class CartbridgeError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly fields: { path: string; message: string }[] | undefined;
  readonly envelope: ErrorEnvelope | undefined;
  constructor(status: number, envelope: ErrorEnvelope | undefined, fallbackMessage: string) {
    super(envelope?.error.message ?? fallbackMessage);
    this.name = "CartbridgeError";
    this.status = status;
    this.envelope = envelope;
    this.type = envelope?.error.type ?? "api_error";
    this.code = envelope?.error.code ?? "unexpected_response";
    this.requestId = envelope?.error.requestId;
    this.fields = envelope?.error.fields;
  }
}

/** The bridge could not be reached (after the retries). Safe to retry with the same idempotency key. */
export class CartbridgeConnectionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "CartbridgeConnectionError";
  }
}

const maxBackoffMs = 30_000;

export class CartbridgeClient {
  private readonly baseUrl: string;
  private readonly secretKey: string;
  private readonly fetchFn: typeof fetch;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: CartbridgeClientOptions) {
    if (!/^sk_(test|live)_/.test(options.secretKey)) throw new Error("secretKey must be a Cartbridge secret key (sk_test_… or sk_live_…)");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.secretKey = options.secretKey;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.maxRetries = options.maxRetries ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Creates a checkout session. Every retry reuses one idempotency key (yours, or one generated here),
   * so a retried request never creates a second session.
   */
  async createCheckoutSession(params: CreateCheckoutSessionParams, options: { idempotencyKey?: string } = {}): Promise<CheckoutSession> {
    const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    return this.request<CheckoutSession>("POST", "/v1/checkout_sessions", { body: JSON.stringify(params), idempotencyKey });
  }

  async getCheckoutSession(id: string): Promise<CheckoutSession> {
    return this.request<CheckoutSession>("GET", `/v1/checkout_sessions/${encodeURIComponent(id)}`, {});
  }

  private async request<T>(method: "GET" | "POST", path: string, options: { body?: string; idempotencyKey?: string }): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.secretKey}`, accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;

    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchFn(`${this.baseUrl}${path}`, {
          method,
          headers,
          ...(options.body !== undefined ? { body: options.body } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        if (attempt < this.maxRetries) {
          await this.sleep(this.backoff(attempt, undefined));
          continue;
        }
        throw new CartbridgeConnectionError(`could not reach ${this.baseUrl}: ${(err as Error).message}`, err);
      }
      const text = await response.text();
      if (response.ok) return JSON.parse(text) as T;
      const envelope = parseEnvelope(text);
      const retryable = response.status >= 500 || response.status === 429 || envelope?.error.code === "idempotency_key_in_use";
      if (retryable && attempt < this.maxRetries) {
        await this.sleep(this.backoff(attempt, response.headers.get("retry-after")));
        continue;
      }
      throw new CartbridgeError(response.status, envelope, `HTTP ${response.status} from ${method} ${path}`);
    }
  }

  /** Retry-After (seconds or an HTTP date) when the server sent one, else exponential backoff with jitter. */
  private backoff(attempt: number, retryAfter: string | null | undefined): number {
    if (retryAfter) {
      const seconds = Number(retryAfter);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(ms)) return Math.min(maxBackoffMs, Math.max(0, ms));
    }
    const ceiling = Math.min(maxBackoffMs, this.retryBaseDelayMs * 2 ** attempt);
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}

function parseEnvelope(text: string): ErrorEnvelope | undefined {
  try {
    const parsed = JSON.parse(text) as ErrorEnvelope;
    return parsed && typeof parsed.error?.code === "string" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export type WebhookVerificationFailure = "missing_headers" | "stale_timestamp" | "bad_signature" | "malformed_body";

export class WebhookSignatureError extends Error {
  constructor(readonly reason: WebhookVerificationFailure) {
    super(`store update rejected: ${reason.replace(/_/g, " ")}`);
    this.name = "WebhookSignatureError";
  }
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Verifies a store update from the bridge (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) against the store's signing secret (`whsec_…`) and returns it typed.
 * Pass the raw request body exactly as received: a re-serialized JSON object will not verify.
 * Throws `WebhookSignatureError`. Dedupe on `update.id` (the same as `webhook-id`): retries resend it.
 */
export function verifyWebhook(
  rawBody: string | Uint8Array,
  headers: HeaderBag,
  secret: string,
  options: { toleranceSeconds?: number; now?: () => Date } = {},
): StoreUpdate {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) throw new WebhookSignatureError("missing_headers");
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookSignatureError("bad_signature");
  const seconds = Number(timestamp);
  const nowSeconds = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - seconds) > (options.toleranceSeconds ?? 300)) throw new WebhookSignatureError("stale_timestamp");

  const body = typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8");
  // The library computes the signature; the window above is ours so it can be configured.
  const expected = Buffer.from(new Webhook(secret).sign(id, new Date(seconds * 1000), body).split(",")[1] ?? "", "base64");
  const matches = signatures.split(" ").some((entry) => {
    const [version, value] = entry.split(",", 2);
    if (version !== "v1" || !value) return false;
    const candidate = Buffer.from(value, "base64");
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
  if (!matches) throw new WebhookSignatureError("bad_signature");

  let update: StoreUpdate;
  try {
    update = JSON.parse(body) as StoreUpdate;
  } catch {
    throw new WebhookSignatureError("malformed_body");
  }
  if (!update || typeof update.id !== "string" || typeof update.type !== "string" || typeof update.session !== "object") {
    throw new WebhookSignatureError("malformed_body");
  }
  return update;
}
