/**
 * A WooCommerce REST API simulator: a real HTTP(S) server on 127.0.0.1 that serves the order endpoints of
 * `wc/v3` with WooCommerce's own rules, so the bridge's adapter is tested against the behaviour it must
 * survive rather than against our assumptions:
 *
 * - Authentication as `class-wc-rest-authentication.php` does it: over HTTPS, Basic auth (or
 *   `consumer_key`/`consumer_secret` query parameters); over plain HTTP only one-legged OAuth 1.0a
 *   (HMAC-SHA1/SHA256, 15-minute timestamp window, nonces single-use, body not signed).
 * - `PUT /orders/{id}` in the controller's order: apply fields, `set_status`, save, and only then
 *   `payment_complete()` when `set_paid` is true and the order still needs payment (pending/failed).
 * - `payment_complete()` acts on on-hold/pending/failed/cancelled; stock is reduced on payment and on
 *   processing/completed/on-hold, restored on cancelled/pending; `date_paid` is set on paid statuses.
 * - Hold-stock: `cancelUnpaidOrders()` cancels pending checkout orders not modified within the hold window,
 *   as `wc_cancel_unpaid_orders()` does from WP-cron: only with stock management on and a window of at
 *   least a minute, and counted from `date_modified` (`get_unpaid_orders()` compares `date_updated_gmt`,
 *   which every save of the order moves).
 * - The app-authorization endpoint (`/wc-auth/v1/authorize`) as "admin pressed Approve" and "admin pressed
 *   Deny" helpers, with `WC_Auth`'s rules: the callback must be https (no exception, not even for
 *   localhost), and when the callback does not answer 200 the key is deleted and an error page is shown:
 *   the admin's browser is not sent back to `return_url`.
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";

export const orderStatuses = ["pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash"] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export interface SimMeta {
  id: number;
  key: string;
  value: unknown;
}

export interface SimNote {
  id: number;
  author: string;
  date_created: string;
  note: string;
  customer_note: boolean;
}

export interface SimOrder {
  id: number;
  number: string;
  order_key: string;
  status: OrderStatus;
  currency: string;
  total: string;
  payment_method: string;
  transaction_id: string;
  created_via: string;
  date_created_ms: number;
  /** `date_modified`: moved by every save of the order (REST PUT, status changes), not by notes. */
  date_modified_ms: number;
  date_paid_ms: number | null;
  customer_note: string;
  meta_data: SimMeta[];
  line_items: { product_id: number; name: string; quantity: number; total: string }[];
  notes: SimNote[];
  /** `_order_stock_reduced`: whether stock is currently held by this order. */
  stockReduced: boolean;
  /** How many times `woocommerce_payment_complete` fired (emails, fulfilment hooks hang off it). */
  paymentCompleteCount: number;
}

export interface SimRequest {
  method: string;
  path: string;
  /** Path and query as received (OAuth parameters included). */
  rawUrl: string;
  auth: "basic" | "query" | "oauth" | "none";
  status: number;
  body?: unknown;
}

export interface WooSimulatorOptions {
  /** Serve HTTPS with this key/cert (PEM). Without it the simulator is plain HTTP (OAuth 1.0a only). */
  tls?: { key: string; cert: string };
  /** `woocommerce_hold_stock_minutes`; 0 (or empty) turns the auto-cancel off. */
  holdStockMinutes?: number;
  /** `woocommerce_manage_stock` (on by default); off, WooCommerce never auto-cancels unpaid orders. */
  manageStock?: boolean;
  now?: () => Date;
}

export interface AuthorizationApproval {
  ok: boolean;
  /** Where WooCommerce sends the admin's browser afterwards; absent when it shows an error page instead. */
  redirect?: string;
  keyId?: number;
  /** The error page's text (`wp_die`), e.g. "Error: The callback_url needs to be over SSL." */
  error?: string;
}

type FaultMode = "up" | "503" | "reset";

const paidStatuses: OrderStatus[] = ["processing", "completed"];
const validForPaymentComplete: OrderStatus[] = ["on-hold", "pending", "failed", "cancelled"];
const validForPayment: OrderStatus[] = ["pending", "failed"];

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class WooCommerceSimulator {
  readonly orders = new Map<number, SimOrder>();
  readonly stock = new Map<number, number>();
  readonly requests: SimRequest[] = [];
  readonly keys = new Map<string, { keyId: number; secret: string; permissions: "read" | "write" | "read_write" }>();
  private readonly usedNonces = new Set<string>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private nextOrderId = 100;
  private nextNoteId = 1;
  private nextMetaId = 1;
  private nextKeyId = 1;
  private fault: FaultMode = "up";
  readonly holdStockMinutes: number;
  readonly manageStock: boolean;
  private readonly now: () => Date;
  url = "";

  constructor(private readonly options: WooSimulatorOptions = {}) {
    this.holdStockMinutes = options.holdStockMinutes ?? 60;
    this.manageStock = options.manageStock ?? true;
    this.now = options.now ?? (() => new Date());
  }

  get isHttps(): boolean {
    return !!this.options.tls;
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res).catch((err: Error) => this.send(res, 500, { code: "internal", message: err.message, data: { status: 500 } }));
    };
    this.server = this.options.tls ? createHttpsServer(this.options.tls, handler) : createHttpServer(handler);
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `${this.isHttps ? "https" : "http"}://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** "503": every API request answers 503; "reset": connections are dropped; "up": normal. */
  setFault(mode: FaultMode): void {
    this.fault = mode;
  }

  /** A REST key as WooCommerce > Settings > Advanced > REST API issues it. */
  createKey(permissions: "read" | "write" | "read_write" = "read_write"): { keyId: number; consumerKey: string; consumerSecret: string } {
    const consumerKey = `ck_${randomBytes(20).toString("hex")}`;
    const consumerSecret = `cs_${randomBytes(20).toString("hex")}`;
    const keyId = this.nextKeyId++;
    this.keys.set(consumerKey, { keyId, secret: consumerSecret, permissions });
    return { keyId, consumerKey, consumerSecret };
  }

  /** An order as the checkout creates it: pending, unpaid, stock not yet reduced. */
  createOrder(input: Partial<Pick<SimOrder, "total" | "currency" | "payment_method" | "created_via" | "status">> & {
    meta?: Record<string, string>;
    quantity?: number;
    ageMinutes?: number;
  } = {}): SimOrder {
    const id = this.nextOrderId++;
    const productId = 1;
    const createdMs = this.now().getTime() - (input.ageMinutes ?? 0) * 60_000;
    if (!this.stock.has(productId)) this.stock.set(productId, 100);
    const order: SimOrder = {
      id,
      number: String(id),
      order_key: `wc_order_${randomBytes(6).toString("hex")}`,
      status: input.status ?? "pending",
      currency: input.currency ?? "USD",
      total: input.total ?? "40.00",
      payment_method: input.payment_method ?? "cartbridge",
      transaction_id: "",
      created_via: input.created_via ?? "checkout",
      date_created_ms: createdMs,
      date_modified_ms: createdMs,
      date_paid_ms: null,
      customer_note: "",
      meta_data: Object.entries(input.meta ?? {}).map(([key, value]) => ({ id: this.nextMetaId++, key, value })),
      line_items: [{ product_id: productId, name: "T-shirt", quantity: input.quantity ?? 2, total: input.total ?? "40.00" }],
      notes: [],
      stockReduced: false,
      paymentCompleteCount: 0,
    };
    this.orders.set(id, order);
    return order;
  }

  order(id: number): SimOrder {
    const order = this.orders.get(id);
    if (!order) throw new Error(`no order ${id}`);
    return order;
  }

  meta(order: SimOrder, key: string): unknown {
    return order.meta_data.find((m) => m.key === key)?.value;
  }

  setMeta(order: SimOrder, key: string, value: unknown): void {
    const existing = order.meta_data.find((m) => m.key === key);
    if (existing) existing.value = value;
    else order.meta_data.push({ id: this.nextMetaId++, key, value });
  }

  /** `wc_cancel_unpaid_orders()`: pending checkout orders not modified within the hold-stock window are cancelled. */
  cancelUnpaidOrders(): number[] {
    if (this.holdStockMinutes < 1 || !this.manageStock) return [];
    const cutoff = this.now().getTime() - this.holdStockMinutes * 60_000;
    const cancelled: number[] = [];
    for (const order of this.orders.values()) {
      if (order.status === "pending" && order.created_via === "checkout" && order.date_modified_ms < cutoff) {
        this.setStatus(order, "cancelled", "Unpaid order cancelled - time limit reached.");
        cancelled.push(order.id);
      }
    }
    return cancelled;
  }

  /**
   * `WC_Auth::make_validation()`: the five parameters, the scope, and an https `callback_url` (a URL
   * without a scheme is taken as https; `http://` is refused whatever the host).
   */
  private validateAuthorize(authorizeUrl: string): { params: URLSearchParams; scope: "read" | "write" | "read_write"; callbackUrl: string } | { error: string } {
    const url = new URL(authorizeUrl);
    if (url.origin !== new URL(this.url).origin || url.pathname !== "/wc-auth/v1/authorize") {
      return { error: "not this store's authorize endpoint" };
    }
    const p = url.searchParams;
    for (const required of ["app_name", "scope", "user_id", "return_url", "callback_url"]) {
      if (!p.get(required)) return { error: `Error: Missing parameter ${required}.` };
    }
    const scope = p.get("scope")!;
    if (scope !== "read" && scope !== "write" && scope !== "read_write") return { error: `Error: Invalid scope ${scope}.` };
    const raw = p.get("callback_url")!;
    const callbackUrl = raw.includes("://") ? raw : `https://${raw}`;
    if (!callbackUrl.toLowerCase().startsWith("https://")) return { error: "Error: The callback_url needs to be over SSL." };
    return { params: p, scope, callbackUrl };
  }

  /** The admin presses Deny: WooCommerce's link back to `return_url` with `success=0`. */
  denyAuthorization(authorizeUrl: string): AuthorizationApproval {
    const checked = this.validateAuthorize(authorizeUrl);
    if ("error" in checked) return { ok: false, error: checked.error };
    const returnUrl = new URL(checked.params.get("return_url")!);
    returnUrl.searchParams.set("success", "0");
    returnUrl.searchParams.set("user_id", checked.params.get("user_id")!);
    return { ok: false, redirect: returnUrl.toString() };
  }

  /**
   * The admin approves the app on `/wc-auth/v1/authorize`: WooCommerce creates a key for the user and POSTs
   * it to `callback_url` (`WC_Auth::post_consumer_data`); when the callback does not answer 200 the key is
   * deleted again and `wp_die` shows an error page — there is no redirect back.
   */
  async approveAuthorization(
    authorizeUrl: string,
    post: (url: string, init: RequestInit) => Promise<Response>,
  ): Promise<AuthorizationApproval> {
    const checked = this.validateAuthorize(authorizeUrl);
    if ("error" in checked) return { ok: false, error: checked.error };
    const { params: p, scope, callbackUrl } = checked;
    const key = this.createKey(scope);
    const body = JSON.stringify({
      key_id: key.keyId,
      user_id: p.get("user_id"),
      consumer_key: key.consumerKey,
      consumer_secret: key.consumerSecret,
      key_permissions: scope,
    });
    const returnUrl = new URL(p.get("return_url")!);
    let status = 0;
    try {
      status = (await post(callbackUrl, { method: "POST", headers: { "content-type": "application/json" }, body })).status;
    } catch {
      status = 0;
    }
    if (status !== 200) {
      this.keys.delete(key.consumerKey);
      return { ok: false, error: `Error: An error occurred in the request and at the time were unable to send the consumer data (callback answered ${status}).` };
    }
    returnUrl.searchParams.set("success", "1");
    returnUrl.searchParams.set("user_id", p.get("user_id")!);
    return { ok: true, redirect: returnUrl.toString(), keyId: key.keyId };
  }

  // ---- WooCommerce's order rules ----

  private addNote(order: SimOrder, note: string, customerNote = false, author = "system"): SimNote {
    const n: SimNote = { id: this.nextNoteId++, author, date_created: this.now().toISOString(), note, customer_note: customerNote };
    order.notes.push(n);
    return n;
  }

  private needsPayment(order: SimOrder): boolean {
    return validForPayment.includes(order.status) && Number(order.total) > 0;
  }

  private reduceStock(order: SimOrder): void {
    if (order.stockReduced) return;
    for (const item of order.line_items) this.stock.set(item.product_id, (this.stock.get(item.product_id) ?? 0) - item.quantity);
    order.stockReduced = true;
  }

  private increaseStock(order: SimOrder): void {
    if (!order.stockReduced) return;
    for (const item of order.line_items) this.stock.set(item.product_id, (this.stock.get(item.product_id) ?? 0) + item.quantity);
    order.stockReduced = false;
  }

  /** `WC_Order::set_status` + save: transition note, date_paid, stock hooks. */
  private setStatus(order: SimOrder, to: OrderStatus, reason = ""): void {
    const from = order.status;
    if (from === to) return;
    order.status = to;
    order.date_modified_ms = this.now().getTime();
    if (paidStatuses.includes(to) && order.date_paid_ms === null) order.date_paid_ms = this.now().getTime();
    if (to === "processing" || to === "completed" || to === "on-hold") this.reduceStock(order);
    if (to === "cancelled" || to === "pending") this.increaseStock(order);
    this.addNote(order, `${reason ? `${reason} ` : ""}Order status changed from ${label(from)} to ${label(to)}.`);
  }

  /** `WC_Order::payment_complete()`. */
  private paymentComplete(order: SimOrder, transactionId: string): boolean {
    if (!validForPaymentComplete.includes(order.status)) return false;
    if (transactionId) order.transaction_id = transactionId;
    if (order.date_paid_ms === null) order.date_paid_ms = this.now().getTime();
    this.setStatus(order, "processing");
    this.reduceStock(order);
    order.paymentCompleteCount += 1;
    return true;
  }

  private toJson(order: SimOrder) {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 19));
    return {
      id: order.id,
      number: order.number,
      order_key: order.order_key,
      created_via: order.created_via,
      status: order.status,
      currency: order.currency,
      total: order.total,
      payment_method: order.payment_method,
      transaction_id: order.transaction_id,
      date_created_gmt: iso(order.date_created_ms),
      date_modified_gmt: iso(order.date_modified_ms),
      date_paid_gmt: iso(order.date_paid_ms),
      customer_note: order.customer_note,
      needs_payment: this.needsPayment(order),
      meta_data: order.meta_data.map((m) => ({ ...m })),
      line_items: order.line_items.map((l, i) => ({ id: i + 1, ...l })),
    };
  }

  // ---- HTTP ----

  private send(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    this.send(res, status, { code, message, data: { status } });
  }

  private authenticate(req: IncomingMessage, url: URL): { mode: SimRequest["auth"]; ok: boolean; message?: string; permissions?: string } {
    if (this.isHttps) {
      const header = req.headers.authorization ?? "";
      let ck = "";
      let cs = "";
      let mode: SimRequest["auth"] = "none";
      if (header.startsWith("Basic ")) {
        const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
        const i = decoded.indexOf(":");
        ck = decoded.slice(0, i);
        cs = decoded.slice(i + 1);
        mode = "basic";
      } else if (url.searchParams.get("consumer_key")) {
        ck = url.searchParams.get("consumer_key")!;
        cs = url.searchParams.get("consumer_secret") ?? "";
        mode = "query";
      }
      if (mode !== "none") {
        const key = this.keys.get(ck);
        if (!key) return { mode, ok: false, message: "Consumer key is invalid." };
        if (key.secret !== cs) return { mode, ok: false, message: "Consumer secret is invalid." };
        return { mode, ok: true, permissions: key.permissions };
      }
      // WooCommerce falls through to OAuth when Basic did not authenticate, even over HTTPS.
    }
    return this.authenticateOAuth(req, url);
  }

  private authenticateOAuth(req: IncomingMessage, url: URL): { mode: SimRequest["auth"]; ok: boolean; message?: string; permissions?: string } {
    const params = new Map<string, string>();
    for (const [k, v] of url.searchParams) params.set(k, v);
    if (!params.get("oauth_consumer_key")) return { mode: "none", ok: false, message: "Consumer key is missing." };
    for (const required of ["oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method"]) {
      if (!params.get(required)) return { mode: "oauth", ok: false, message: `Missing OAuth parameter ${required}` };
    }
    const key = this.keys.get(params.get("oauth_consumer_key")!);
    if (!key) return { mode: "oauth", ok: false, message: "Consumer key is invalid." };
    const method = params.get("oauth_signature_method")!;
    const algorithm = method === "HMAC-SHA1" ? "sha1" : method === "HMAC-SHA256" ? "sha256" : undefined;
    if (!algorithm) return { mode: "oauth", ok: false, message: "Invalid signature - signature method is invalid." };
    const signature = params.get("oauth_signature")!;
    params.delete("oauth_signature");
    const normalized = [...params.entries()]
      .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
      .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join("&");
    // The base-string URL is the store URL (scheme, host, port) plus the path, without the query.
    const baseUrl = `${url.protocol}//${url.host}${url.pathname}`;
    const base = `${req.method!.toUpperCase()}&${rfc3986(baseUrl)}&${rfc3986(normalized)}`;
    const expected = createHmac(algorithm, `${key.secret}&`).update(base).digest("base64");
    if (expected !== signature) return { mode: "oauth", ok: false, message: "Invalid signature - provided signature does not match." };
    const timestamp = Number(params.get("oauth_timestamp"));
    if (!Number.isFinite(timestamp) || Math.abs(this.now().getTime() / 1000 - timestamp) > 15 * 60) {
      return { mode: "oauth", ok: false, message: "Invalid timestamp." };
    }
    const nonceKey = `${params.get("oauth_consumer_key")}:${params.get("oauth_nonce")}`;
    if (this.usedNonces.has(nonceKey)) return { mode: "oauth", ok: false, message: "Invalid nonce - nonce has already been used." };
    this.usedNonces.add(nonceKey);
    return { mode: "oauth", ok: true, permissions: key.permissions };
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.fault === "reset") {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? "/", this.url);
    const rawBody = await this.readBody(req);
    const record: SimRequest = { method: req.method ?? "GET", path: url.pathname, rawUrl: req.url ?? "/", auth: "none", status: 0 };
    this.requests.push(record);
    const reply = (status: number, body: unknown) => {
      record.status = status;
      this.send(res, status, body);
    };
    if (this.fault === "503") {
      record.status = 503;
      return this.error(res, 503, "service_unavailable", "Service Unavailable");
    }
    const match = /^\/wp-json\/wc\/v3\/orders\/(\d+)(\/notes)?\/?$/.exec(url.pathname);
    const list = req.method === "GET" && /^\/wp-json\/wc\/v3\/orders\/?$/.test(url.pathname);
    if (!match && !list) {
      record.status = 404;
      return this.error(res, 404, "rest_no_route", "No route was found matching the URL and request method.");
    }
    const auth = this.authenticate(req, url);
    record.auth = auth.mode;
    if (!auth.ok) {
      record.status = 401;
      return this.error(res, 401, "woocommerce_rest_authentication_error", auth.message ?? "Sorry, you cannot list resources.");
    }
    // WC_REST_Authentication::check_permissions, before routing: a Read key may not write, a Write key may not read.
    if ((req.method === "GET" || req.method === "HEAD") && auth.permissions === "write") {
      record.status = 401;
      return this.error(res, 401, "woocommerce_rest_authentication_error", "The API key provided does not have read permissions.");
    }
    if (!match) {
      // `GET orders`: newest first, `per_page` (1–100, default 10).
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? 10) || 10));
      const newest = [...this.orders.values()].sort((x, y) => y.date_created_ms - x.date_created_ms || y.id - x.id);
      return reply(200, newest.slice(0, perPage).map((o) => this.toJson(o)));
    }
    const writes = req.method !== "GET";
    if (writes && auth.permissions === "read") {
      record.status = 401;
      return this.error(res, 401, "woocommerce_rest_authentication_error", "The API key provided does not have write permissions.");
    }
    const order = this.orders.get(Number(match[1]));
    if (!order) {
      record.status = 404;
      return this.error(res, 404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
    }
    let body: Record<string, unknown> = {};
    if (rawBody) {
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        record.status = 400;
        return this.error(res, 400, "rest_invalid_json", "Invalid JSON body passed.");
      }
    }
    record.body = rawBody ? body : undefined;

    if (match[2]) {
      if (req.method === "GET") return reply(200, [...order.notes].reverse().map((n) => ({ ...n })));
      if (req.method === "POST") {
        if (typeof body.note !== "string" || !body.note) {
          record.status = 400;
          return this.error(res, 400, "rest_missing_callback_param", "Missing parameter(s): note");
        }
        const note = this.addNote(order, body.note, body.customer_note === true, body.added_by_user === true ? "admin" : "WooCommerce");
        return reply(201, note);
      }
      record.status = 404;
      return this.error(res, 404, "rest_no_route", "No route was found matching the URL and request method.");
    }

    if (req.method === "GET") return reply(200, this.toJson(order));
    if (req.method !== "PUT" && req.method !== "POST") {
      record.status = 404;
      return this.error(res, 404, "rest_no_route", "No route was found matching the URL and request method.");
    }
    if (body.status !== undefined && !orderStatuses.includes(body.status as OrderStatus)) {
      record.status = 400;
      return this.error(res, 400, "rest_invalid_param", "Invalid parameter(s): status");
    }
    // 1. Apply the fields.
    if (typeof body.transaction_id === "string") order.transaction_id = body.transaction_id;
    if (Array.isArray(body.meta_data)) {
      for (const m of body.meta_data as { id?: number; key?: string; value?: unknown }[]) {
        if (m.id) {
          const existing = order.meta_data.find((x) => x.id === m.id);
          if (existing) existing.value = m.value;
        } else if (m.key) {
          this.setMeta(order, m.key, m.value);
        }
      }
    }
    // 2. set_status, 3. save (which moves date_modified, even when nothing changed).
    if (typeof body.status === "string") this.setStatus(order, body.status as OrderStatus);
    order.date_modified_ms = this.now().getTime();
    // 4. Only then, and only if the order still needs payment: payment_complete().
    if (body.set_paid === true && this.needsPayment(order)) {
      this.paymentComplete(order, typeof body.transaction_id === "string" ? body.transaction_id : "");
    }
    return reply(200, this.toJson(order));
  }
}

function label(status: OrderStatus): string {
  switch (status) {
    case "pending":
      return "Pending payment";
    case "on-hold":
      return "On hold";
    default:
      return status.charAt(0).toUpperCase() + status.slice(1);
  }
}
