/**
 * A local Crypto Checkout instance (docs.mycryptoserver.com; providers.md §3) for tests: a real HTTP
 * server on 127.0.0.1 that creates checkout sessions in the platform's shape (decimal-string fiat in,
 * `amount{wei,eth}` out), honours `Idempotency-Key` (replay, 409 on a different body), serves the hosted
 * page and the re-fetch, and sends webhooks signed `t=…,v1=…` over `${t}.${rawBody}` to a `deliver`
 * callback. Each documented CONFLICT variant is a mode; faults are available on demand.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { formatUnits, parseCurrency, parseDecimalAmount, currencyExponent } from "../../../src/domain/money.ts";

export type CryptoCheckoutSimStatus = "pending" | "detected" | "underpaid" | "overpaid" | "paid" | "paid_late" | "expired" | "failed";

export interface CryptoCheckoutSimOptions {
  apiKey?: string;
  webhookSecret?: string;
  /** CONFLICT: `X-Webhook-Signature` (/webhooks/signature-verification) or `X-Signature` (/api-reference/webhook-endpoints). */
  signatureHeader?: "X-Webhook-Signature" | "X-Signature";
  /** `t=` inside the signature header, or only in `X-Webhook-Timestamp` (the SDK's fallback). */
  timestampPlacement?: "in-signature" | "separate-header-only";
  /** CONFLICT: the first event is `session.created` (/webhooks/event-types) or `session.pending` (/api-reference). */
  createdEventName?: "session.created" | "session.pending";
  /** Open point: the `whsec_` secret used literally, or base64-decoded after the prefix. */
  keyDerivation?: "literal" | "base64";
  /** Include the (undocumented) received-wei field in under/overpaid sessions. */
  reportReceivedWei?: boolean;
  now?: () => Date;
}

export interface SimRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendOptions {
  /** Shift the signed timestamp (seconds; negative = in the past). */
  timestampOffsetSeconds?: number;
  /** Sign with another secret. */
  secret?: string;
  omitSignature?: boolean;
  /** Change the body after signing (a tampered delivery). */
  tamper?: (body: string) => string;
  /** Deliver the same signed bytes this many times. */
  times?: number;
  /** Record the event but do not deliver it yet (deliver later with `resend`: out of order). */
  hold?: boolean;
}

type Session = Record<string, unknown> & {
  id: string;
  status: CryptoCheckoutSimStatus;
  amount: { wei: string; eth: string };
  fiat: { amount: string; currency: string };
  metadata: Record<string, unknown>;
};

/** Locked rate for every session, as the platform would fix `ethPriceUsd` at creation. */
const ethPriceCents = 250_000n;

export class CryptoCheckoutSimulator {
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly options: Required<Omit<CryptoCheckoutSimOptions, "apiKey" | "webhookSecret" | "now">>;
  readonly sessions = new Map<string, Session>();
  readonly requests: SimRequest[] = [];
  /** Every signed event body sent, in order (for replays and out-of-order deliveries). */
  readonly sentEvents: { type: string; body: string }[] = [];
  deliver: ((body: string, headers: Record<string, string>) => Promise<{ status: number }>) | undefined;
  /** The next create makes (and caches) the session, then answers 502: the response is lost on the way. */
  dropNextCreateResponse = false;
  /** The next create records this fiat amount instead of the one asked for (a fault: a rewritten body). */
  nextFiatAmount: string | undefined;
  url = "";
  private server: Server | undefined;
  private readonly idempotency = new Map<string, { bodyHash: string; status: number; body: string }>();
  private readonly now: () => Date;

  constructor(options: CryptoCheckoutSimOptions = {}) {
    this.apiKey = options.apiKey ?? `ck_test_${randomBytes(12).toString("hex")}`;
    this.webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString("base64")}`;
    this.now = options.now ?? (() => new Date());
    this.options = {
      signatureHeader: options.signatureHeader ?? "X-Webhook-Signature",
      timestampPlacement: options.timestampPlacement ?? "in-signature",
      createdEventName: options.createdEventName ?? "session.created",
      keyDerivation: options.keyDerivation ?? "literal",
      reportReceivedWei: options.reportReceivedWei ?? true,
    };
  }

  async start(): Promise<this> {
    const app = this.app();
    this.server = createAdaptorServer({ fetch: app.fetch }) as Server;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private app(): Hono {
    const app = new Hono();
    // ASSUMPTION [INF]: only `{"error":{…}}` is documented [V /guides/idempotency]; its `type`/`message`
    // fields, and the 400/401/404 statuses below, are this simulator's guesses (only the 409 is [V]).
    const error = (type: string, message: string) => ({ error: { type, message } });
    app.use("*", async (c, next) => {
      const body = c.req.method === "GET" ? "" : await c.req.raw.clone().text();
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((v, k) => (headers[k] = v));
      this.requests.push({ method: c.req.method, path: new URL(c.req.url).pathname, headers, body });
      await next();
    });
    app.use("/api/*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${this.apiKey}`) return c.json(error("authentication_error", "Invalid API key"), 401);
      await next();
    });
    app.post("/api/v1/checkout_sessions", async (c) => {
      const raw = await c.req.text();
      const key = c.req.header("idempotency-key");
      const bodyHash = createHash("sha256").update(raw).digest("hex");
      if (key) {
        const cached = this.idempotency.get(key);
        if (cached && cached.bodyHash !== bodyHash) {
          return c.json(error("idempotency_error", "Idempotency-Key reused with a different request body"), 409);
        }
        if (cached) return c.body(cached.body, cached.status as 201, { "content-type": "application/json" });
      }
      const result = this.create(raw);
      const text = JSON.stringify(result.body);
      if (key && result.status < 500) this.idempotency.set(key, { bodyHash, status: result.status, body: text });
      if (this.dropNextCreateResponse) {
        this.dropNextCreateResponse = false;
        return c.text("Bad Gateway", 502);
      }
      return c.body(text, result.status as 201, { "content-type": "application/json" });
    });
    app.get("/api/v1/checkout_sessions/:id", (c) => {
      const s = this.sessions.get(c.req.param("id"));
      return s ? c.json(s) : c.json(error("not_found", "No such checkout session"), 404);
    });
    app.get("/checkout/:id", (c) => {
      const s = this.sessions.get(c.req.param("id"));
      if (!s) return c.html("<h1>Not found</h1>", 404);
      return c.html(
        `<!doctype html><title>Pay ${s.fiat.amount} ${s.fiat.currency}</title><h1>Send ${s.amount.eth} ETH</h1>` +
          `<p>to <code>${String(s.address)}</code> (${s.fiat.amount} ${s.fiat.currency}); status <span id="status">${s.status}</span></p>`,
      );
    });
    return app;
  }

  private create(raw: string): { status: number; body: unknown } {
    // ASSUMPTION [INF]: a validation failure as 400 with the guessed envelope (see `error` above).
    const invalid = (message: string) => ({ status: 400, body: { error: { type: "invalid_request_error", message } } });
    let input: { amount?: { value?: unknown; currency?: unknown }; metadata?: unknown; successUrl?: unknown; cancelUrl?: unknown; linkId?: unknown };
    try {
      input = JSON.parse(raw) as typeof input;
    } catch {
      return invalid("Body must be JSON");
    }
    if (typeof input.amount?.value !== "string" || !/^\d+(\.\d+)?$/.test(input.amount.value)) {
      return invalid("amount.value must be a decimal string such as \"50.00\"");
    }
    const currency = typeof input.amount.currency === "string" ? parseCurrency(input.amount.currency) : undefined;
    if (!currency) return invalid("amount.currency must be an ISO 4217 code");
    const minor = parseDecimalAmount(input.amount.value, currency);
    if (!minor.ok || minor.minor <= 0n) return invalid(`amount.value ${input.amount.value} is not a valid ${currency} amount`);
    if (input.metadata !== undefined && (typeof input.metadata !== "object" || input.metadata === null)) return invalid("metadata must be an object");
    const exponent = currencyExponent(currency);
    const wei = (minor.minor * 10n ** 18n * 100n) / (ethPriceCents * 10n ** BigInt(exponent));
    const id = `cs_${randomBytes(13).toString("hex").toUpperCase()}`;
    const now = this.now();
    const session: Session = {
      id,
      object: "checkout_session",
      linkId: null,
      status: "pending",
      checkoutUrl: `${this.url}/checkout/${id}`,
      address: `0x${randomBytes(20).toString("hex")}`,
      amount: { wei: wei.toString(), eth: formatUnits(wei, 18) },
      fiat: { amount: this.nextFiatAmount ?? input.amount.value, currency },
      ethPriceUsd: formatUnits(ethPriceCents, 2),
      expiresAt: new Date(now.getTime() + 5 * 60_000).toISOString(),
      paidAt: null,
      txHash: null,
      chainId: null,
      metadata: (input.metadata as Record<string, unknown>) ?? {},
      successUrl: input.successUrl ?? null,
      cancelUrl: input.cancelUrl ?? null,
      returnUrl: null,
      livemode: this.apiKey.startsWith("ck_live_"),
      createdAt: now.toISOString(),
    };
    this.nextFiatAmount = undefined;
    this.sessions.set(id, session);
    return { status: 201, body: session };
  }

  /** The platform moves a session and tells the bridge, as it would after on-chain activity. */
  async transition(id: string, status: CryptoCheckoutSimStatus, send: SendOptions = {}): Promise<{ status: number }> {
    const s = this.mustGet(id);
    this.applyStatus(s, status);
    return this.sendEvent(`session.${status}`, s, send);
  }

  /** A validly signed event that claims `status`, while the platform's own record stays as it is. */
  async forge(id: string, status: CryptoCheckoutSimStatus, send: SendOptions = {}): Promise<{ status: number }> {
    const copy = structuredClone(this.mustGet(id));
    this.applyStatus(copy, status);
    return this.sendEvent(`session.${status}`, copy, send);
  }

  async sendCreatedEvent(id: string): Promise<{ status: number }> {
    return this.sendEvent(this.options.createdEventName, this.mustGet(id));
  }

  /** Sends an earlier event again, freshly signed (a retry, or a delivery that arrives out of order). */
  async resend(index: number, send: SendOptions = {}): Promise<{ status: number }> {
    const event = this.sentEvents[index];
    if (!event) throw new Error(`no sent event #${index}`);
    return this.deliverSigned(event.body, send);
  }

  private applyStatus(s: Session, status: CryptoCheckoutSimStatus): void {
    s.status = status;
    const expected = BigInt(s.amount.wei);
    const paying = status === "paid" || status === "paid_late" || status === "underpaid" || status === "overpaid" || status === "detected";
    if (paying && !s.txHash) {
      s.txHash = `0x${randomBytes(32).toString("hex")}`;
      s.chainId = 1;
    }
    if (status === "paid" || status === "paid_late" || status === "underpaid" || status === "overpaid") {
      const paidAt = status === "paid_late" ? new Date(Date.parse(String(s.expiresAt)) + 3 * 60_000) : this.now();
      s.paidAt = paidAt.toISOString();
    }
    if (this.options.reportReceivedWei && (status === "underpaid" || status === "overpaid")) {
      s.amountReceived = { wei: (status === "underpaid" ? expected / 2n : expected + expected / 10n).toString() };
    }
  }

  private mustGet(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`simulator has no session ${id}`);
    return s;
  }

  private async sendEvent(type: string, session: Session, send: SendOptions = {}): Promise<{ status: number }> {
    const body = JSON.stringify({
      id: `evt_${randomBytes(12).toString("hex")}`,
      type,
      livemode: session.livemode,
      createdAt: this.now().toISOString(),
      data: session,
    });
    this.sentEvents.push({ type, body });
    if (send.hold) return { status: 0 };
    return this.deliverSigned(body, send);
  }

  /** Headers exactly as the platform signs them in the current mode. */
  signatureHeaders(body: string, send: SendOptions = {}): Record<string, string> {
    const t = Math.floor(this.now().getTime() / 1000) + (send.timestampOffsetSeconds ?? 0);
    const secret = send.secret ?? this.webhookSecret;
    const key = this.options.keyDerivation === "base64" ? Buffer.from(secret.replace(/^whsec_/, ""), "base64") : Buffer.from(secret, "utf8");
    const v1 = createHmac("sha256", key).update(`${t}.${body}`).digest("hex");
    const value = this.options.timestampPlacement === "in-signature" ? `t=${t},v1=${v1}` : `v1=${v1}`;
    return {
      "content-type": "application/json",
      ...(send.omitSignature ? {} : { [this.options.signatureHeader]: value }),
      "X-Webhook-Timestamp": String(t),
    };
  }

  async deliverSigned(body: string, send: SendOptions = {}): Promise<{ status: number }> {
    if (!this.deliver) throw new Error("simulator.deliver is not set");
    const headers = this.signatureHeaders(body, send);
    const sent = send.tamper ? send.tamper(body) : body;
    let last = { status: 0 };
    for (let i = 0; i < (send.times ?? 1); i++) last = await this.deliver(sent, headers);
    return last;
  }
}
