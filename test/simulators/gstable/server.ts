/**
 * A local GStable (providers.md §2; SDK GStable/gstable-js) for tests: a real HTTP server on 127.0.0.1
 * that answers under both documented base paths (`/api/v1`, SDK; `/payment/v1`, hosted-checkout guide),
 * validates create like the platform (integer micro-USD `unitPrice`, ad-hoc `productData`, required
 * `accountId`/`settlementToken`, `expirationTime` ≥ 1800 s ahead) with its `{code, message, data}`
 * envelope (a business error is code ≠ 0 on HTTP 200), serves the hosted page and `GET /session/{id}`,
 * and sends webhooks signed HMAC-SHA256 over `timestamp + ":" + rawBody`. The undocumented signature
 * encoding and timestamp unit are modes.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { parse as parseLossless } from "lossless-json";

export type GstableSimStatus = "initialized" | "paid" | "settling" | "settlement_pending" | "completed" | "expired" | "cancelled";

export interface GstableSimOptions {
  apiKey?: string;
  webhookSecret?: string;
  accountId?: string;
  /** Open point: signature as hex or base64. */
  signatureEncoding?: "hex" | "base64";
  /** Open point: `x-gstable-timestamp` in seconds or milliseconds. */
  timestampUnit?: "s" | "ms";
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
  secret?: string;
  omitSignature?: boolean;
  omitTimestamp?: boolean;
  tamper?: (body: string) => string;
  times?: number;
  /** Record but do not deliver yet (deliver later with `resend`: out of order). */
  hold?: boolean;
}

/** A JSON number written exactly as `literal` (e.g. `40000000.0`, `4e7`), which a JS number cannot keep. */
export interface RawNumber {
  rawNumber: string;
}

type Session = Record<string, unknown> & { sessionId: string; status: GstableSimStatus; amount: number | RawNumber; metadata: Record<string, unknown> };

/** JSON.stringify, with every `RawNumber` written as its literal. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === "object" && "rawNumber" in v ? `__raw_number__${(v as RawNumber).rawNumber}__` : v))
    .replace(/"__raw_number__([-+.0-9eE]+)__"/g, "$1");
}

export const supportedSettlementTokens = ["polygon::usdc", "polygon::usdt", "base::usdc", "ethereum::usdc"];

export class GstableSimulator {
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly accountId: string;
  readonly options: { signatureEncoding: "hex" | "base64"; timestampUnit: "s" | "ms" };
  readonly sessions = new Map<string, Session>();
  readonly transactions = new Map<string, Record<string, unknown>>();
  readonly requests: SimRequest[] = [];
  readonly sentEvents: { eventType: string; body: string }[] = [];
  deliver: ((body: string, headers: Record<string, string>) => Promise<{ status: number }>) | undefined;
  /** The next create records this amount instead of the line items' total (a fault: a rewritten body). */
  nextAmount: number | RawNumber | undefined;
  url = "";
  private server: Server | undefined;
  private readonly now: () => Date;

  constructor(options: GstableSimOptions = {}) {
    this.apiKey = options.apiKey ?? `gs_${randomBytes(16).toString("hex")}`;
    this.webhookSecret = options.webhookSecret ?? `wkk_${randomBytes(20).toString("hex")}`;
    this.accountId = options.accountId ?? `acc_${randomBytes(6).toString("hex")}`;
    this.now = options.now ?? (() => new Date());
    this.options = { signatureEncoding: options.signatureEncoding ?? "hex", timestampUnit: options.timestampUnit ?? "s" };
  }

  /** The SDK's base path (default) or the hosted-checkout guide's. */
  baseUrl(variant: "sdk" | "guide" = "sdk"): string {
    return `${this.url}${variant === "sdk" ? "/api/v1" : "/payment/v1"}`;
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
    const envelope = (c: Context, code: number, message: string, data: unknown = null, status = 200) =>
      c.body(toJson({ code, message, data }), status as 200, { "content-type": "application/json" });
    app.use("*", async (c, next) => {
      const body = c.req.method === "GET" ? "" : await c.req.raw.clone().text();
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((v, k) => (headers[k] = v));
      this.requests.push({ method: c.req.method, path: new URL(c.req.url).pathname, headers, body });
      await next();
    });
    for (const prefix of ["/api/v1", "/payment/v1"]) {
      app.use(`${prefix}/*`, async (c, next) => {
        // ASSUMPTION [INF]: the auth failure's body; the SDK only documents that 401 may not be JSON.
        if (c.req.header("authorization") !== `Bearer ${this.apiKey}`) return envelope(c, 401, "Unauthorized", null, 401);
        await next();
      });
      app.post(`${prefix}/session/checkout/create`, async (c) => {
        const result = this.create(await c.req.text());
        return "error" in result ? envelope(c, result.error[0], result.error[1]) : envelope(c, 0, "success", result.session);
      });
      app.get(`${prefix}/session/:id`, (c) => {
        const session = this.sessions.get(c.req.param("id"));
        if (!session) return envelope(c, 900203, "query record failed");
        const transaction = this.transactions.get(session.sessionId);
        return envelope(c, 0, "success", { session, ...(transaction ? { transaction } : {}) });
      });
    }
    app.get("/checkout/:id", (c) => {
      const s = this.sessions.get(c.req.param("id"));
      if (!s) return c.html("<h1>Not found</h1>", 404);
      const micro = typeof s.amount === "number" ? s.amount : Number(s.amount.rawNumber);
      const usd = `${Math.floor(micro / 1e6)}.${String(micro % 1e6).padStart(6, "0").slice(0, 2)}`;
      return c.html(`<!doctype html><title>GStable checkout</title><h1>Pay ${usd} USD</h1><p id="status">${s.status}</p>`);
    });
    return app;
  }

  private create(raw: string): { session: Session } | { error: [number, string] } {
    const invalid = (message: string): { error: [number, string] } => ({ error: [400101, `invalid field format: ${message}`] });
    let input: Record<string, unknown>;
    try {
      // Numbers kept as literal text, so a decimal unitPrice ("19.9") is seen for what it is.
      input = parseLossless(raw, null, (literal: string) => ({ literal })) as Record<string, unknown>;
    } catch {
      return invalid("body is not JSON");
    }
    const int = (v: unknown): number | undefined => {
      const literal = (v as { literal?: string } | undefined)?.literal;
      return literal !== undefined && /^\d+$/.test(literal) && Number.isSafeInteger(Number(literal)) ? Number(literal) : undefined;
    };
    if (input.accountId !== this.accountId) return invalid("accountId");
    if (typeof input.settlementToken !== "string") return invalid("settlementToken");
    if (!supportedSettlementTokens.includes(input.settlementToken)) return { error: [400203, "settlement capabilities not found"] };
    if (!Array.isArray(input.lineItems) || input.lineItems.length === 0) return invalid("lineItems");
    const items: Record<string, unknown>[] = [];
    let total = 0n;
    for (const [i, item] of (input.lineItems as Record<string, unknown>[]).entries()) {
      const quantity = int(item.quantity);
      const unitPrice = int(item.unitPrice);
      if (item.itemType !== "one_time") return invalid(`lineItems[${i}].itemType (only one_time in this simulator)`);
      if (!quantity || quantity < 1) return invalid(`lineItems[${i}].quantity`);
      if (unitPrice === undefined || unitPrice < 1) return invalid(`lineItems[${i}].unitPrice must be a positive integer (micro-USD)`);
      const productData = item.productData as Record<string, unknown> | undefined;
      if (!productData || typeof productData.productName !== "string" || !productData.productName) return invalid(`lineItems[${i}].productData.productName`);
      total += BigInt(unitPrice) * BigInt(quantity);
      items.push({ lineItemId: `li_${randomBytes(6).toString("hex")}`, itemType: "one_time", productId: "", quantity, unitPrice, productData });
    }
    if (total > BigInt(Number.MAX_SAFE_INTEGER)) return invalid("amount too large");
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    let expirationTime = nowSeconds + 1800;
    if (input.expirationTime !== undefined) {
      const e = int(input.expirationTime);
      if (e === undefined || e < nowSeconds + 1800) return invalid("expirationTime must be at least 1800 s ahead");
      expirationTime = e;
    }
    const feeModel = input.feeModel === undefined ? 1 : int(input.feeModel);
    if (feeModel !== 1 && feeModel !== 2) return invalid("feeModel");
    if (input.metadata !== undefined && (typeof input.metadata !== "object" || input.metadata === null || Array.isArray(input.metadata))) return invalid("metadata");
    const sessionId = `cs_${randomBytes(12).toString("hex")}`;
    const session: Session = {
      sessionId,
      sessionType: "checkout",
      businessId: sessionId,
      businessType: "session",
      clientCode: "",
      payer: "",
      payerEmail: "",
      payerEmailRequired: int(input.payerEmailRequired) ?? 0,
      paidToken: "",
      receiptId: "",
      recipient: `0x${randomBytes(20).toString("hex")}`,
      settlementToken: input.settlementToken,
      feeModel,
      amount: this.nextAmount ?? Number(total),
      lineItems: { items },
      expirationTime,
      ...(typeof input.successUrl === "string" ? { successUrl: input.successUrl } : {}),
      paymentUrl: `${this.url}/checkout/${sessionId}`,
      signedOnce: 0,
      initiateTx: "",
      completeTx: "",
      paymentSucceededTime: null,
      settlementSucceededTime: null,
      createAt: formatOccurrence(this.now()),
      status: "initialized",
      metadata: plainMetadata(input.metadata),
    };
    this.nextAmount = undefined;
    this.sessions.set(sessionId, session);
    return { session };
  }

  /**
   * The platform moves a session and sends `session.<status>`. `paidAt` sets the payment time (a payment
   * after the store's expiry is a late one); `committedMicroUsd` makes the platform's record show another
   * committed amount (a fault injection: GStable's contract takes exact amounts); a string is written as
   * that exact JSON number literal (`"40000000.0"`: the SDK types `amount` only as a number).
   */
  async transition(id: string, status: GstableSimStatus, send: SendOptions & { paidAt?: Date; committedMicroUsd?: number | string } = {}): Promise<{ status: number }> {
    const session = this.mustGet(id);
    this.applyStatus(session, status, send.paidAt);
    if (send.committedMicroUsd !== undefined) {
      session.amount = typeof send.committedMicroUsd === "string" ? { rawNumber: send.committedMicroUsd } : send.committedMicroUsd;
    }
    return this.sendSessionEvent(`session.${status}`, session, send);
  }

  /** A validly signed `session.<status>` whose claim the platform's own record does not share. */
  async forge(id: string, status: GstableSimStatus, send: SendOptions = {}): Promise<{ status: number }> {
    const copy = structuredClone(this.mustGet(id));
    this.applyStatus(copy, status);
    return this.sendSessionEvent(`session.${status}`, copy, send);
  }

  async sendCreatedEvent(id: string): Promise<{ status: number }> {
    return this.sendSessionEvent("session.created", this.mustGet(id));
  }

  /** An event about something other than a session (products, links, accounts). */
  async sendOtherEvent(eventType: string, businessType: string): Promise<{ status: number }> {
    return this.sendEnvelope(eventType, businessType, { productData: { productId: "prod_1" } });
  }

  async resend(index: number, send: SendOptions = {}): Promise<{ status: number }> {
    const event = this.sentEvents[index];
    if (!event) throw new Error(`no sent event #${index}`);
    return this.deliverSigned(event.body, send);
  }

  private applyStatus(session: Session, status: GstableSimStatus, paidAt?: Date): void {
    session.status = status;
    if (status === "paid" && !session.initiateTx) {
      const tx = `0x${randomBytes(32).toString("hex")}`;
      session.initiateTx = tx;
      session.signedOnce = 1;
      session.payer = `0x${randomBytes(20).toString("hex")}`;
      session.paidToken = String(session.settlementToken);
      session.paymentSucceededTime = formatOccurrence(paidAt ?? this.now());
      this.transactions.set(session.sessionId, {
        orderId: `ord_${randomBytes(6).toString("hex")}`,
        channelId: "polygon",
        orderType: 1,
        from: session.payer,
        to: session.recipient,
        metaData: "",
        totalValue: session.amount,
        paymentValue: session.amount,
        feeValue: 0,
        netValue: session.amount,
        sourceTx: tx,
        targetTx: "",
        executeTime: session.paymentSucceededTime,
        finalizeTime: "",
      });
    }
    if (status === "completed") {
      session.completeTx = `0x${randomBytes(32).toString("hex")}`;
      session.settlementSucceededTime = formatOccurrence(this.now());
    }
  }

  private mustGet(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`simulator has no session ${id}`);
    return s;
  }

  private sendSessionEvent(eventType: string, session: Session, send: SendOptions = {}): Promise<{ status: number }> {
    return this.sendEnvelope(eventType, "session", { sessionData: session, transaction: this.transactions.get(session.sessionId) ?? null }, send);
  }

  private async sendEnvelope(eventType: string, businessType: string, payload: unknown, send: SendOptions = {}): Promise<{ status: number }> {
    const body = toJson({
      eventId: `evt_${randomBytes(12).toString("hex")}`,
      eventType,
      businessType,
      occurrence: formatOccurrence(this.now()),
      isSubscribable: true,
      payload,
    });
    this.sentEvents.push({ eventType, body });
    if (send.hold) return { status: 0 };
    return this.deliverSigned(body, send);
  }

  signatureHeaders(body: string, send: SendOptions = {}): Record<string, string> {
    const ms = this.now().getTime() + (send.timestampOffsetSeconds ?? 0) * 1000;
    const timestamp = this.options.timestampUnit === "ms" ? String(ms) : String(Math.floor(ms / 1000));
    const mac = createHmac("sha256", send.secret ?? this.webhookSecret).update(`${timestamp}:${body}`).digest();
    return {
      "content-type": "application/json",
      ...(send.omitTimestamp ? {} : { "x-gstable-timestamp": timestamp }),
      ...(send.omitSignature ? {} : { "x-gstable-signature": mac.toString(this.options.signatureEncoding) }),
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

/** `YYYY-MM-DD HH:mm:ss`, no zone, as the platform's `occurrence` [V]; written in UTC. */
function formatOccurrence(d: Date): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}

function plainMetadata(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== "object") return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, typeof v === "object" && v !== null && "literal" in v ? Number((v as { literal: string }).literal) : v]),
  );
}
