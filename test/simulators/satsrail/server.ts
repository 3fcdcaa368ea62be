/**
 * A local SatsRail (providers.md §4, platform-guides/003) for tests: a real HTTP server on 127.0.0.1.
 * It creates checkout sessions from `{"checkout_session":{amount_cents,…}}` under Bearer keys, validates like
 * the platform (integer `amount_cents`, required URLs, ≤ 50 metadata keys) with the `{"error":{…}}` envelope,
 * serves the hosted page and `GET /api/v1/checkout_sessions/{id}`, and sends webhooks in each of the three
 * documented formats (CONFLICT), one selectable mode each:
 *   - `docs`      X-Webhook-Signature hex + X-Webhook-Event/Delivery-ID/Idempotency-Key/Timestamp [V docs page];
 *   - `privapaid` x-satsrail-signature hex + x-satsrail-timestamp, body `{id,type,payload}` [V SatsRail/privapaid];
 *   - `guide`     X-SatsRail-Signature: sha256=hex, body `checkout.completed {…}` [GUIDE].
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type Context } from "hono";

export type SatsrailMode = "docs" | "privapaid" | "guide";
export type SatsrailSimStatus = "pending" | "completed" | "expired" | "cancelled";

export interface SatsrailSimOptions {
  mode?: SatsrailMode;
  /**
   * Open point: idempotency on create is not stated in the public documents. `ignored` (default) treats
   * `Idempotency-Key` as any unknown header; `honoured` is ASSUMPTION [INF]: a Stripe-like replay of the
   * first answer for the same key.
   */
  idempotency?: "ignored" | "honoured";
  now?: () => Date;
}

export interface SimRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendOptions {
  mode?: SatsrailMode;
  /** Event name override (docs mode: `invoice.paid`, `payment.confirmed`, `payment.received`…). */
  event?: string;
  secret?: string;
  omitSignature?: boolean;
  /** Change the body before signing (a signed event that says something else). */
  rewrite?: (body: string) => string;
  /** Change the bytes after signing. */
  tamper?: (body: string) => string;
  /** Deliver JSON.parse→JSON.stringify of the signed body (what a body-parsing middleware does). */
  reserialize?: boolean;
  /** Shift the timestamp header (seconds; negative = in the past). */
  timestampOffsetSeconds?: number;
  times?: number;
  /** Record but do not deliver (deliver later with `resend`: out of order). */
  hold?: boolean;
}

export interface SatsrailRecord {
  object: "checkout_session";
  id: string;
  token: string;
  status: SatsrailSimStatus;
  amount_cents: number;
  currency: string;
  checkout_url: string;
  success_url: string;
  cancel_url: string;
  customer_email: string | null;
  metadata: Record<string, unknown>;
  expires_at: string;
  created_at: string;
  completed_at: string | null;
  payment_hash: string | null;
}

interface SentEvent {
  eventId: string;
  mode: SatsrailMode;
  body: string;
  headers: Record<string, string>;
}

/** Sats per US cent at the simulator's fixed BTC price of 100 000 USD. */
const satsPerCent = 10;

export class SatsrailSimulator {
  readonly secretKey = `sk_test_${randomBytes(12).toString("hex")}`;
  readonly publishableKey = `pk_test_${randomBytes(12).toString("hex")}`;
  readonly webhookSecret = `whsec_${randomBytes(20).toString("hex")}`;
  readonly sessions = new Map<string, SatsrailRecord>();
  readonly requests: SimRequest[] = [];
  readonly sent: SentEvent[] = [];
  mode: SatsrailMode;
  deliver: ((body: string, headers: Record<string, string>) => Promise<{ status: number }>) | undefined;
  /** GET of an expired session answers 410 Gone, as the integration guide's error table has it. */
  goneWhenExpired = false;
  /** The next API call answers this status with the error envelope (429 adds Retry-After). */
  failNext: number | undefined;
  /** The next create makes the session, then answers 502: the response is lost on the way. */
  dropNextCreateResponse = false;
  readonly idempotency: "ignored" | "honoured";
  private readonly replays = new Map<string, string>();
  url = "";
  private server: Server | undefined;
  private readonly now: () => Date;

  constructor(options: SatsrailSimOptions = {}) {
    this.mode = options.mode ?? "docs";
    this.idempotency = options.idempotency ?? "ignored";
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<this> {
    this.server = createAdaptorServer({ fetch: this.app().fetch }) as Server;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The create requests' `checkout_session` objects as received (raw text kept in `requests`). */
  creates(): SimRequest[] {
    return this.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/checkout_sessions");
  }

  private app(): Hono {
    const app = new Hono();
    const fail = (c: Context, status: number, message: string, code: string, details: unknown = null) =>
      c.json({ error: { message, code, details, request_id: `req_${randomBytes(6).toString("hex")}` } }, status as 400);
    app.use("*", async (c, next) => {
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((v, k) => (headers[k] = v));
      this.requests.push({ method: c.req.method, path: new URL(c.req.url).pathname, headers, body: c.req.method === "GET" ? "" : await c.req.raw.clone().text() });
      await next();
    });
    app.use("/api/v1/*", async (c, next) => {
      if (this.failNext !== undefined) {
        const status = this.failNext;
        this.failNext = undefined;
        if (status === 429) c.header("retry-after", "30");
        return fail(c, status, status === 429 ? "Rate limit exceeded" : "Internal server error", status === 429 ? "rate_limited" : "internal_error");
      }
      const key = /^Bearer (\S+)$/.exec(c.req.header("authorization") ?? "")?.[1];
      if (key !== this.secretKey && key !== this.publishableKey) return fail(c, 401, "Invalid API key", "authentication_error");
      // Publishable keys can only create checkout sessions [V].
      if (key === this.publishableKey && !(c.req.method === "POST" && new URL(c.req.url).pathname === "/api/v1/checkout_sessions")) {
        return fail(c, 403, "Publishable keys can only create checkout sessions", "forbidden");
      }
      await next();
    });
    app.post("/api/v1/checkout_sessions", async (c) => {
      const raw = await c.req.text();
      const idempotencyKey = this.idempotency === "honoured" ? c.req.header("idempotency-key") : undefined;
      const replayed = idempotencyKey ? this.replays.get(idempotencyKey) : undefined;
      if (replayed) return c.json(this.record(replayed), 201);
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return fail(c, 422, "Malformed JSON", "validation_error");
      }
      const input = (parsed as { checkout_session?: Record<string, unknown> }).checkout_session;
      const errors: Record<string, string[]> = {};
      if (!input || typeof input !== "object") {
        return fail(c, 422, "checkout_session is required", "validation_error", { checkout_session: ["is required"] });
      }
      // An integer, written as one: `40.0` or `"4000"` is not an integer amount_cents.
      if (typeof input.amount_cents !== "number" || !/"amount_cents"\s*:\s*\d+\s*[,}]/.test(raw) || input.amount_cents <= 0) {
        errors.amount_cents = ["must be a positive integer"];
      }
      for (const field of ["success_url", "cancel_url"] as const) {
        if (typeof input[field] !== "string" || !/^https?:\/\//.test(input[field] as string)) errors[field] = ["is required"];
      }
      const currency = input.currency === undefined ? "usd" : input.currency;
      if (typeof currency !== "string" || !/^[a-z]{3}$/.test(currency)) errors.currency = ["must be a lowercase ISO 4217 code"];
      const metadata = input.metadata ?? {};
      if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) errors.metadata = ["must be an object"];
      else if (Object.keys(metadata).length > 50) errors.metadata = ["must have at most 50 keys"];
      if (Object.keys(errors).length) return fail(c, 422, "Validation failed", "validation_error", errors);

      const token = `cs_${randomBytes(10).toString("hex")}`;
      const now = this.now();
      const record: SatsrailRecord = {
        object: "checkout_session",
        id: token,
        token,
        status: "pending",
        amount_cents: input.amount_cents as number,
        currency: currency as string,
        checkout_url: `${this.url}/checkout/${token}`,
        success_url: input.success_url as string,
        cancel_url: input.cancel_url as string,
        customer_email: typeof input.customer_email === "string" ? input.customer_email : null,
        metadata: metadata as Record<string, unknown>,
        expires_at: new Date(now.getTime() + 15 * 60_000).toISOString(),
        created_at: now.toISOString(),
        completed_at: null,
        payment_hash: null,
      };
      this.sessions.set(token, record);
      if (idempotencyKey) this.replays.set(idempotencyKey, token);
      if (this.dropNextCreateResponse) {
        this.dropNextCreateResponse = false;
        return c.text("Bad Gateway", 502);
      }
      return c.json(record, 201);
    });
    app.get("/api/v1/checkout_sessions/:id", (c) => {
      const record = this.sessions.get(c.req.param("id"));
      if (record?.status === "expired" && this.goneWhenExpired) return fail(c, 410, "Checkout session expired", "gone");
      return record ? c.json(record) : fail(c, 404, "Checkout session not found", "not_found");
    });
    app.get("/checkout/:token", (c) => {
      const record = this.sessions.get(c.req.param("token"));
      if (!record) return c.html("<!doctype html><title>Not found</title><p>No such checkout.</p>", 404);
      if (record.status === "expired") return c.html("<!doctype html><title>Expired</title><p>This checkout has expired.</p>", 410);
      const major = `${Math.floor(record.amount_cents / 100)}.${String(record.amount_cents % 100).padStart(2, "0")}`;
      return c.html(
        `<!doctype html><html><head><meta charset="utf-8"><title>SatsRail checkout</title></head><body>` +
          `<h1>Pay ${major} ${record.currency.toUpperCase()}</h1><p>${record.amount_cents * satsPerCent} sats</p>` +
          `<p>Status: <span data-testid="status">${record.status}</span></p><p>lnbc_simulated_${record.token}</p></body></html>`,
      );
    });
    return app;
  }

  /** The buyer pays the Lightning invoice: the session completes and `checkout.completed`/`invoice.paid` is sent. */
  async complete(token: string, options: SendOptions & { recordAmountCents?: number; at?: Date } = {}) {
    const record = this.record(token);
    record.status = "completed";
    record.completed_at = (options.at ?? this.now()).toISOString();
    record.payment_hash = randomBytes(32).toString("hex");
    // Not a documented SatsRail behaviour: the platform's record settling another amount than the cart asked.
    if (options.recordAmountCents !== undefined) record.amount_cents = options.recordAmountCents;
    return this.send(record, "paid", options);
  }

  async expire(token: string, options: SendOptions = {}) {
    const record = this.record(token);
    record.status = "expired";
    return this.send(record, "expired", options);
  }

  async cancel(token: string, options: SendOptions = {}) {
    const record = this.record(token);
    record.status = "cancelled";
    return this.send(record, "cancelled", options);
  }

  /** A correctly signed "paid" event for a session the platform still has as pending. */
  async forge(token: string, options: SendOptions = {}) {
    const record = { ...this.record(token), payment_hash: randomBytes(32).toString("hex"), completed_at: this.now().toISOString() };
    return this.send(record, "paid", options);
  }

  /** A platform event with no payment news (PrivaPaid receives `merchant.plan_changed` etc.). */
  async sendPlatformEvent(type: string, options: SendOptions = {}) {
    const eventId = `evt_${randomBytes(8).toString("hex")}`;
    const body = JSON.stringify({ id: eventId, type, payload: { merchant_id: "mer_sim", plan: "pro" } });
    return this.dispatch({ eventId, mode: options.mode ?? this.mode, body, headers: {} }, options);
  }

  /** Delivers an earlier event again (same idempotency key, new delivery id and timestamp). */
  async resend(index: number, options: SendOptions = {}) {
    const event = this.sent[index];
    if (!event) throw new Error(`no event ${index}`);
    return this.dispatch(event, { ...options, mode: event.mode });
  }

  private record(token: string): SatsrailRecord {
    const record = this.sessions.get(token);
    if (!record) throw new Error(`no session ${token}`);
    return record;
  }

  private async send(record: SatsrailRecord, what: "paid" | "expired" | "cancelled", options: SendOptions) {
    const mode = options.mode ?? this.mode;
    const eventId = `evt_${randomBytes(8).toString("hex")}`;
    const at = record.completed_at ?? this.now().toISOString();
    let body: string;
    switch (mode) {
      case "docs": {
        // ASSUMPTION [INF]: the docs page names events and headers but shows no body; `{id,event,created_at,data:{object}}`.
        const event = options.event ?? (what === "paid" ? "invoice.paid" : what === "expired" ? "invoice.expired" : "order.updated");
        body = JSON.stringify({
          id: eventId,
          event,
          created_at: at,
          data: {
            object: {
              id: `inv_${record.token.slice(3)}`,
              object: "invoice",
              status: what,
              checkout_session_id: record.token,
              amount_cents: record.amount_cents,
              currency: record.currency,
              payment_hash: record.payment_hash,
              metadata: record.metadata,
            },
          },
        });
        break;
      }
      case "privapaid":
        // ASSUMPTION [INF]: a payment event in PrivaPaid's `{id,type,payload}` envelope.
        body = JSON.stringify({
          id: eventId,
          type: options.event ?? `checkout.${what === "paid" ? "completed" : what}`,
          payload: { checkout_id: record.token, status: record.status, amount_cents: record.amount_cents, currency: record.currency, payment_hash: record.payment_hash, metadata: record.metadata, created_at: at },
        });
        break;
      case "guide":
        body = JSON.stringify({
          event: options.event ?? `checkout.${what === "paid" ? "completed" : what}`,
          checkout_id: record.token,
          payment_hash: record.payment_hash,
          amount_sats: record.amount_cents * satsPerCent,
          amount_usd: `${Math.floor(record.amount_cents / 100)}.${String(record.amount_cents % 100).padStart(2, "0")}`,
          metadata: record.metadata,
          timestamp: at,
        });
        break;
      default: {
        const never: never = mode;
        throw new Error(`mode ${String(never)}`);
      }
    }
    if (options.rewrite) body = options.rewrite(body);
    return this.dispatch({ eventId, mode, body, headers: {} }, options);
  }

  private async dispatch(event: SentEvent, options: SendOptions): Promise<{ status: number }> {
    if (!this.sent.includes(event)) this.sent.push(event);
    if (options.hold) return { status: 0 };
    if (!this.deliver) throw new Error("set deliver first");
    let last = { status: 0 };
    for (let i = 0; i < (options.times ?? 1); i++) {
      const signature = createHmac("sha256", options.secret ?? this.webhookSecret).update(event.body).digest("hex");
      const timestamp = String(Math.floor(this.now().getTime() / 1000) + (options.timestampOffsetSeconds ?? 0));
      const headers: Record<string, string> = { "content-type": "application/json" };
      switch (event.mode) {
        case "docs":
          headers["User-Agent"] = "SatsRail-Webhook/1.0";
          if (!options.omitSignature) headers["X-Webhook-Signature"] = signature;
          headers["X-Webhook-Event"] = String((JSON.parse(event.body) as { event?: string; type?: string }).event ?? (JSON.parse(event.body) as { type?: string }).type);
          headers["X-Webhook-Delivery-ID"] = `whd_${randomBytes(8).toString("hex")}`;
          headers["X-Idempotency-Key"] = event.eventId;
          headers["X-Webhook-Timestamp"] = timestamp;
          break;
        case "privapaid":
          if (!options.omitSignature) headers["x-satsrail-signature"] = signature;
          headers["x-satsrail-timestamp"] = timestamp;
          break;
        case "guide":
          if (!options.omitSignature) headers["X-SatsRail-Signature"] = `sha256=${signature}`;
          break;
      }
      let body = event.body;
      if (options.reserialize) body = JSON.stringify(JSON.parse(body), null, 2);
      if (options.tamper) body = options.tamper(body);
      last = await this.deliver(body, headers);
    }
    return last;
  }
}
