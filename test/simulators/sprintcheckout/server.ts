/**
 * A local Sprintcheckout (providers.md §1, platform-guides/000) for tests: a real HTTP server on
 * 127.0.0.1 that takes `POST /api/checkout/v2/payment_session` with `X-SC-ApiKey`, validates it like the
 * platform (required JSON-number `amount` and 3-letter `currency`; its only documented error is
 * `500 Server error`), keeps the amount's literal text as received, serves the hosted page at
 * `/?uid=…`, and sends notifications with the static `X-Webhook-Api-Key`. CONFLICT variants and faults
 * are modes and options.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { parse as parseLossless } from "lossless-json";

export type SprintcheckoutSimStatus = "PENDING" | "SUCCESS" | "FAILED" | "EXPIRED";

export interface SprintcheckoutSimOptions {
  apiKey?: string;
  webhookApiKey?: string;
  /** CONFLICT: the quickstart's `FAILED` or the legacy fulfill page's `FAIL`. */
  failStatus?: "FAILED" | "FAIL";
  /** The quickstart/guide shape, or the legacy page's (no `event`, `timestamp`, `token`). */
  payloadShape?: "full" | "legacy";
  /** How the platform writes the amount back: the literal it received, or the shortest number form (`40`, `100.5`). */
  amountFormat?: "as-received" | "shortest";
  /**
   * What the notification's `paymentSessionId` carries. Open point: create answers a base64 `sessionId` [V],
   * the notification example shows a UUID [GUIDE], and the legacy page has no such field. `create-id`
   * (echo the create's `sessionId`) is ASSUMPTION [INF]; `uuid` follows the guide's example; `omitted`
   * leaves the field out.
   */
  paymentSessionId?: "create-id" | "uuid" | "omitted";
  now?: () => Date;
}

export interface SimRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface NotifyOptions {
  /** Override fields of the notification (a tampered or mismatched one): amount as a JSON literal. */
  amountLiteral?: string;
  currency?: string;
  orderId?: string | null;
  /** The payment's unix time, seconds. */
  timestamp?: number;
  apiKey?: string;
  omitApiKey?: boolean;
  times?: number;
  hold?: boolean;
}

interface Session {
  sessionId: string;
  /** The UUID the `uuid` mode reports as `paymentSessionId` (stable per session). */
  paymentUuid: string;
  orderType: string;
  amountLiteral: string;
  minAmountLiteral: string | undefined;
  editable: boolean | undefined;
  currency: string;
  orderId: string | undefined;
  successUrl: string | undefined;
  failUrl: string | undefined;
  cancelUrl: string | undefined;
  status: SprintcheckoutSimStatus;
  receipts: string[];
}

export class SprintcheckoutSimulator {
  readonly apiKey: string;
  readonly webhookApiKey: string;
  readonly options: Required<Omit<SprintcheckoutSimOptions, "apiKey" | "webhookApiKey" | "now">>;
  readonly sessions = new Map<string, Session>();
  readonly requests: SimRequest[] = [];
  readonly sentEvents: { status: string; body: string }[] = [];
  deliver: ((body: string, headers: Record<string, string>) => Promise<{ status: number }>) | undefined;
  url = "";
  private server: Server | undefined;
  private readonly now: () => Date;

  constructor(options: SprintcheckoutSimOptions = {}) {
    this.apiKey = options.apiKey ?? `sc_${randomBytes(16).toString("hex")}`;
    this.webhookApiKey = options.webhookApiKey ?? `whk_${randomBytes(16).toString("hex")}`;
    this.now = options.now ?? (() => new Date());
    this.options = {
      failStatus: options.failStatus ?? "FAILED",
      payloadShape: options.payloadShape ?? "full",
      amountFormat: options.amountFormat ?? "as-received",
      paymentSessionId: options.paymentSessionId ?? "create-id",
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
    app.use("*", async (c, next) => {
      const body = c.req.method === "GET" ? "" : await c.req.raw.clone().text();
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((v, k) => (headers[k] = v));
      this.requests.push({ method: c.req.method, path: new URL(c.req.url).pathname, headers, body });
      await next();
    });
    app.post("/api/checkout/v2/payment_session", async (c) => {
      // ASSUMPTION [INF]: the status for a wrong key is not documented.
      if (c.req.header("x-sc-apikey") !== this.apiKey) return c.json({ message: "Unauthorized" }, 401);
      const session = this.create(await c.req.text());
      // The only documented error response is `500 Server error` [V].
      if (!session) return c.json({ message: "Server error" }, 500);
      return c.json({ sessionId: session.sessionId, redirectUrl: `${this.url}/?uid=${session.sessionId}` }, 201);
    });
    app.get("/", (c) => {
      const s = this.sessions.get(c.req.query("uid") ?? "");
      if (!s) return c.html("<h1>Not found</h1>", 404);
      return c.html(`<!doctype html><title>Sprintcheckout</title><h1>Pay ${s.amountLiteral} ${s.currency}</h1><p>Order ${s.orderId ?? ""}</p>`);
    });
    return app;
  }

  private create(raw: string): Session | undefined {
    let input: Record<string, unknown>;
    try {
      input = parseLossless(raw, null, (literal: string) => ({ literal })) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const number = (v: unknown) => (v && typeof v === "object" && "literal" in v ? (v as { literal: string }).literal : undefined);
    const amount = number(input.amount);
    if (!amount || Number(amount) <= 0) return undefined; // `amount` is a required JSON number [V]
    if (typeof input.currency !== "string" || !/^[A-Z]{3}$/.test(input.currency)) return undefined;
    const minAmount = input.minAmount === undefined || input.minAmount === null ? undefined : number(input.minAmount);
    if (input.minAmount != null && !minAmount) return undefined;
    if (input.editable != null && typeof input.editable !== "boolean") return undefined;
    if (input.orderType != null && input.orderType !== "STATIC" && input.orderType !== "TRANSIENT") return undefined;
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    // ASSUMPTION [INF]: ids look like base64 of 24 hex characters, like the documented example.
    const sessionId = Buffer.from(randomBytes(12).toString("hex")).toString("base64");
    const session: Session = {
      sessionId,
      paymentUuid: randomUUID(),
      orderType: str(input.orderType) ?? "TRANSIENT",
      amountLiteral: amount,
      minAmountLiteral: minAmount,
      editable: input.editable as boolean | undefined,
      currency: input.currency,
      orderId: str(input.orderId),
      successUrl: str(input.successUrl),
      failUrl: str(input.failUrl),
      cancelUrl: str(input.cancelUrl),
      status: "PENDING",
      receipts: [],
    };
    this.sessions.set(sessionId, session);
    return session;
  }

  /** The platform reports a status change on a session (with a receipt for SUCCESS). */
  async notify(sessionId: string, status: SprintcheckoutSimStatus, options: NotifyOptions = {}): Promise<{ status: number }> {
    const s = this.sessions.get(sessionId);
    if (!s) throw new Error(`simulator has no session ${sessionId}`);
    s.status = status;
    if (status === "SUCCESS" && s.receipts.length === 0) s.receipts.push(`https://polygonscan.com/tx/0x${randomBytes(32).toString("hex")}`);
    const wireStatus = status === "FAILED" ? this.options.failStatus : status;
    const amountLiteral = options.amountLiteral ?? (this.options.amountFormat === "shortest" ? shortest(s.amountLiteral) : s.amountLiteral);
    const full = this.options.payloadShape === "full";
    const fields: Record<string, unknown> = {
      // Only `payment.succeeded` is documented; the other event names are ASSUMPTION [INF] (the adapter reads `status`).
      ...(full ? { event: status === "SUCCESS" ? "payment.succeeded" : `payment.${status.toLowerCase()}`, timestamp: options.timestamp ?? Math.floor(this.now().getTime() / 1000) } : {}),
      orderId: options.orderId === undefined ? (s.orderId ?? null) : options.orderId,
      amount: "__AMOUNT__",
      currency: options.currency ?? s.currency,
      ...(full ? { token: "USDC" } : {}),
      successUrl: s.successUrl ?? null,
      failUrl: s.failUrl ?? null,
      cancelUrl: s.cancelUrl ?? null,
      ...paymentSessionIdField(this.options.paymentSessionId, s),
      status: wireStatus,
      chain: "polygon",
      receipts: status === "SUCCESS" ? s.receipts : [],
    };
    // The amount goes out as the JSON number literal, exactly as the platform writes it.
    const body = JSON.stringify(fields).replace('"__AMOUNT__"', amountLiteral);
    this.sentEvents.push({ status: wireStatus, body });
    if (options.hold) return { status: 0 };
    return this.send(body, options);
  }

  async resend(index: number, options: NotifyOptions = {}): Promise<{ status: number }> {
    const event = this.sentEvents[index];
    if (!event) throw new Error(`no sent event #${index}`);
    return this.send(event.body, options);
  }

  private async send(body: string, options: NotifyOptions): Promise<{ status: number }> {
    if (!this.deliver) throw new Error("simulator.deliver is not set");
    const headers: Record<string, string> = {
      "content-type": "application/json",
      ...(options.omitApiKey ? {} : { "X-Webhook-Api-Key": options.apiKey ?? this.webhookApiKey }),
    };
    let last = { status: 0 };
    for (let i = 0; i < (options.times ?? 1); i++) last = await this.deliver(body, headers);
    return last;
  }
}

function paymentSessionIdField(mode: "create-id" | "uuid" | "omitted", s: Session): { paymentSessionId?: string } {
  switch (mode) {
    case "create-id":
      return { paymentSessionId: s.sessionId };
    case "uuid":
      return { paymentSessionId: s.paymentUuid };
    case "omitted":
      return {};
    default: {
      const never: never = mode;
      throw new Error(`unknown paymentSessionId mode ${String(never)}`);
    }
  }
}

/** "40.00" → "40", "100.50" → "100.5": how a JS or Java number would be printed back. */
function shortest(literal: string): string {
  return literal.includes(".") ? literal.replace(/0+$/, "").replace(/\.$/, "") : literal;
}
