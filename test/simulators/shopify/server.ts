/**
 * A fake Shopify on 127.0.0.1 over HTTPS: OAuth (authorization code and token exchange), the Admin GraphQL
 * API and the Payments Apps GraphQL API for the operations the bridge uses, each incoming document first
 * validated against Shopify's published schema. It also signs webhooks as Shopify does and mints session
 * tokens as the checkout extensions get them. `fetch` is what the bridge's `storeFetch` is set to in tests:
 * it sends `https://<shop>.myshopify.com/…` here, checking the certificate for that host name.
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer, request as httpsRequest, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { jwtVerify, SignJWT } from "jose";
import { parse, valueFromASTUntyped, type FieldNode, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import { shopifyApiVersion } from "../../../src/shopify/api.ts";
import { validateDocument, variableErrors, type ShopifySchemas } from "./schemas.ts";
import { testCertificate } from "./tls.ts";

export interface FakeShopifyApp {
  apiKey: string;
  apiSecret: string;
}

export interface SimOrder {
  id: string;
  name: string;
  email: string | null;
  test: boolean;
  currency: string;
  /** Minor units (exponent 2). */
  totalMinor: bigint;
  receivedMinor: bigint;
  gateways: string[];
  cancelledAt: string | null;
  cancel?: { restock: boolean; refund: boolean; reason: string };
  note: string | null;
  tags: string[];
  metafields: Record<string, string>;
  transactions: { id: string; kind: string; status: string; gateway: string; manuallyCapturable: boolean; amountMinor: bigint }[];
}

export interface GraphqlCall {
  api: "admin" | "payments_apps";
  shop: string;
  operation: string;
  variables: Record<string, unknown>;
}

const fmt = (minor: bigint) => `${minor / 100n}.${(minor % 100n).toString().padStart(2, "0")}`;

export class FakeShopify {
  readonly calls: GraphqlCall[] = [];
  readonly schemaViolations: string[] = [];
  readonly orders = new Map<string, SimOrder>();
  readonly paymentSessions = new Map<string, { state: "pending" | "resolved" | "rejected"; reason?: string; pendingExpiresAt?: string }>();
  /** Set to make the next refundSessionResolve answer with this user error (e.g. the refund was cancelled). */
  refundResolveError: string | undefined;
  readonly refundSessions = new Map<string, { state: "resolved" | "rejected"; message?: string }>();
  /** Access tokens issued, by token → shop. */
  readonly tokens = new Map<string, string>();
  /** When each expiring access token stops working (ms); non-expiring tokens have no entry. */
  readonly tokenExpiry = new Map<string, number>();
  /** Refresh tokens not yet spent, by token → { shop, expires at (ms) }. */
  readonly refreshTokens = new Map<string, { shop: string; expiresAt: number }>();
  /** Every POST to /admin/oauth/access_token, by grant (`authorization_code`, token exchange, `refresh_token`). */
  readonly tokenRequests: { grant: string; expiring: boolean }[] = [];
  /** Lifetime of expiring access tokens and of their refresh tokens, as Shopify sends them (`expires_in`…). */
  accessTokenTtlSeconds = 3600;
  refreshTokenTtlSeconds = 90 * 24 * 3600;
  private readonly codes = new Map<string, string>();
  private server?: Server;
  private port = 0;
  private down = false;
  private nextId = 5_000_000_000;

  constructor(readonly app: FakeShopifyApp, private readonly schemas: ShopifySchemas, readonly scope = "read_orders,write_orders") {}

  async start(): Promise<this> {
    const { key, cert } = testCertificate();
    this.server = createServer({ key, cert }, (req, res) => {
      this.handle(req, res).catch((err: Error) => {
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ errors: err.message }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Shopify answers 503 to everything until `up()`. */
  setDown(down: boolean): void {
    this.down = down;
  }

  /** What the library gets as its fetch: Shopify hosts go to this server, anything else is refused. */
  readonly fetch: typeof fetch = async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const url = new URL(req.url);
    if (url.protocol !== "https:" || !url.hostname.endsWith(".myshopify.com")) throw new TypeError(`fake Shopify fetch: no network for ${url.href}`);
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    const { cert } = testCertificate();
    return new Promise<Response>((resolve, reject) => {
      const out = httpsRequest({
        host: "127.0.0.1", port: this.port, servername: url.hostname, ca: cert, method: req.method,
        path: `${url.pathname}${url.search}`, headers: { ...Object.fromEntries(req.headers), host: url.host },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
          resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
        });
        res.on("error", reject);
      });
      out.on("error", reject);
      out.end(body);
    });
  };

  // ---- test-side helpers ---------------------------------------------------------------------------

  addOrder(shop: string, init: Partial<SimOrder> & { totalMinor: bigint }): SimOrder {
    const id = String(this.nextId++);
    const order: SimOrder = {
      id, name: `#${1000 + this.orders.size + 1}`, email: "buyer@example.com", test: false, currency: "USD",
      receivedMinor: 0n, gateways: ["Pay with crypto"], cancelledAt: null, note: null, tags: [], metafields: {},
      transactions: [], ...init,
    };
    order.transactions = init.transactions ?? [{ id: `gid://shopify/OrderTransaction/${id}1`, kind: "SALE", status: "PENDING", gateway: order.gateways[0] ?? "manual", manuallyCapturable: true, amountMinor: order.totalMinor }];
    this.orders.set(`${shop}/${id}`, order);
    return order;
  }

  order(shop: string, id: string): SimOrder {
    const o = this.orders.get(`${shop}/${id}`);
    if (!o) throw new Error(`no order ${id}`);
    return o;
  }

  callsOf(operation: string): GraphqlCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  /** Merchant approved the install: the redirect Shopify sends the browser to, with code and HMAC. */
  authorize(authorizeLocation: string): string {
    const url = new URL(authorizeLocation);
    const shop = url.hostname;
    const redirect = new URL(url.searchParams.get("redirect_uri")!);
    const code = randomBytes(12).toString("hex");
    this.codes.set(code, shop);
    const query: Record<string, string> = { code, host: Buffer.from(`${shop}/admin`).toString("base64"), shop, state: url.searchParams.get("state")!, timestamp: String(Math.floor(Date.now() / 1000)) };
    // Shopify signs the remaining query string, keys sorted, form-encoded.
    const message = new URLSearchParams(Object.keys(query).sort().map((k) => [k, query[k]!])).toString();
    const hmac = createHmac("sha256", this.app.apiSecret).update(message).digest("hex");
    for (const [k, v] of Object.entries(query)) redirect.searchParams.set(k, v);
    redirect.searchParams.set("hmac", hmac);
    return `${redirect.pathname}${redirect.search}`;
  }

  /** A checkout / customer-account extension's session token. */
  async sessionToken(
    shop: string,
    overrides: { secret?: string; aud?: string; dest?: string; expSeconds?: number; iss?: string; nbfSeconds?: number | null } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ dest: overrides.dest ?? `https://${shop}`, ...(overrides.iss ? { iss: overrides.iss } : {}) })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setAudience(overrides.aud ?? this.app.apiKey)
      .setIssuedAt(now).setExpirationTime(now + (overrides.expSeconds ?? 300));
    // null: no nbf at all (Shopify always sends one).
    if (overrides.nbfSeconds !== null) jwt.setNotBefore(now + (overrides.nbfSeconds ?? 0));
    return jwt
      .setJti(randomBytes(8).toString("hex"))
      .sign(new TextEncoder().encode(overrides.secret ?? this.app.apiSecret));
  }

  /** A webhook as Shopify signs it: base64 HMAC-SHA256 of the raw body with the app secret. */
  webhook(topic: string, shop: string, payload: unknown, options: { webhookId?: string; secret?: string } = {}): { body: string; headers: Record<string, string> } {
    const body = JSON.stringify(payload);
    return {
      body,
      headers: {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": createHmac("sha256", options.secret ?? this.app.apiSecret).update(body, "utf8").digest("base64"),
        "x-shopify-shop-domain": shop,
        "x-shopify-api-version": shopifyApiVersion,
        "x-shopify-webhook-id": options.webhookId ?? crypto.randomUUID(),
        "x-shopify-triggered-at": new Date().toISOString(),
      },
    };
  }

  /** The REST-shaped order webhook payload Shopify sends for `orders/*`. */
  orderPayload(order: SimOrder): Record<string, unknown> {
    return {
      id: Number(order.id), admin_graphql_api_id: `gid://shopify/Order/${order.id}`, name: order.name, email: order.email,
      currency: order.currency, presentment_currency: order.currency, total_price: fmt(order.totalMinor),
      financial_status: "pending", payment_gateway_names: order.gateways, cancelled_at: order.cancelledAt, test: order.test,
    };
  }

  // ---- the server ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const json = (status: number, body: unknown): void => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (this.down) return json(503, { errors: "Service Unavailable" });
    const shop = (req.headers.host ?? "").split(":")[0]!;
    const path = (req.url ?? "").split("?")[0]!;

    if (req.method === "POST" && path === "/admin/oauth/access_token") return json(...(await this.accessToken(shop, JSON.parse(raw) as Record<string, string>)));

    const graphql = /^\/(admin|payments_apps)\/api\/([^/]+)\/graphql\.json$/.exec(path);
    if (req.method === "POST" && graphql) {
      const token = req.headers["x-shopify-access-token"];
      const expired = typeof token === "string" && (this.tokenExpiry.get(token) ?? Infinity) <= Date.now();
      if (typeof token !== "string" || this.tokens.get(token) !== shop || expired) return json(401, { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" });
      if (graphql[2] !== shopifyApiVersion) return json(404, { errors: `unexpected API version ${graphql[2]}` });
      const api = graphql[1] === "admin" ? "admin" : "payments_apps";
      const { query, variables = {} } = JSON.parse(raw) as { query: string; variables?: Record<string, unknown> };
      const schema: GraphQLSchema = api === "admin" ? this.schemas.admin : this.schemas.paymentsApps;
      const errors = validateDocument(schema, query);
      if (!errors.length) errors.push(...variableErrors(schema, query, variables));
      if (errors.length) {
        this.schemaViolations.push(...errors);
        return json(200, { errors: errors.map((message) => ({ message })) });
      }
      const op = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
      const operation = op?.name?.value ?? "(anonymous)";
      // The root field's arguments as the server sees them: literals in the document and variables alike.
      const root = op?.selectionSet.selections[0] as FieldNode | undefined;
      const args = Object.fromEntries((root?.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, variables)]));
      this.calls.push({ api, shop, operation, variables });
      return json(200, { data: api === "admin" ? this.admin(shop, operation, args) : this.paymentsApps(operation, args) });
    }
    return json(404, { errors: "Not Found" });
  }

  private async accessToken(shop: string, body: Record<string, string>): Promise<[number, unknown]> {
    if (body.client_id !== this.app.apiKey || body.client_secret !== this.app.apiSecret) return [400, { error: "invalid_client" }];
    this.tokenRequests.push({ grant: body.grant_type ?? "authorization_code", expiring: body.expiring === "1" });
    if (body.grant_type === "refresh_token") {
      const held = this.refreshTokens.get(body.refresh_token ?? "");
      if (!held || held.shop !== shop || held.expiresAt <= Date.now()) return [400, { error: "invalid_grant" }];
      // A refresh token is spent on use; the access token it replaces stops working too.
      this.refreshTokens.delete(body.refresh_token!);
      for (const [t, s] of this.tokens) if (s === shop && this.tokenExpiry.has(t)) this.tokenExpiry.set(t, 0);
      return [200, this.issueToken(shop, true)];
    }
    if (body.grant_type === "urn:ietf:params:oauth:grant-type:token-exchange") {
      try {
        const { payload } = await jwtVerify(body.subject_token ?? "", new TextEncoder().encode(this.app.apiSecret), { audience: this.app.apiKey });
        if (payload.dest !== `https://${shop}`) return [400, { error: "invalid_subject_token" }];
      } catch {
        return [400, { error: "invalid_subject_token" }];
      }
    } else if (this.codes.get(body.code ?? "") !== shop) {
      return [400, { error: "invalid_request", error_description: "authorization code was not found or was already used" }];
    } else {
      this.codes.delete(body.code!);
    }
    return [200, this.issueToken(shop, body.expiring === "1")];
  }

  private issueToken(shop: string, expiring: boolean): Record<string, unknown> {
    const token = `shpat_${randomBytes(16).toString("hex")}`;
    this.tokens.set(token, shop);
    if (!expiring) return { access_token: token, scope: this.scope };
    const refresh = `shprt_${randomBytes(16).toString("hex")}`;
    this.tokenExpiry.set(token, Date.now() + this.accessTokenTtlSeconds * 1000);
    this.refreshTokens.set(refresh, { shop, expiresAt: Date.now() + this.refreshTokenTtlSeconds * 1000 });
    return {
      access_token: token, scope: this.scope, expires_in: this.accessTokenTtlSeconds,
      refresh_token: refresh, refresh_token_expires_in: this.refreshTokenTtlSeconds,
    };
  }

  private admin(shop: string, operation: string, v: Record<string, unknown>): unknown {
    const byGid = (gid: unknown) => this.orders.get(`${shop}/${String(gid).split("/").pop()}`);
    const errors = (message: string) => [{ field: null, message }];
    switch (operation) {
      case "CartbridgeOrder": {
        const o = byGid(v.id);
        return { order: o ? this.orderView(shop, o) : null };
      }
      case "CartbridgeOrderMarkAsPaid": {
        const o = byGid((v.input as { id: string }).id)!;
        if (o.cancelledAt) return { orderMarkAsPaid: { order: null, userErrors: errors("Order is cancelled") } };
        if (o.receivedMinor >= o.totalMinor) return { orderMarkAsPaid: { order: null, userErrors: errors("Order is already paid") } };
        o.receivedMinor = o.totalMinor;
        for (const t of o.transactions) if (t.manuallyCapturable) { t.manuallyCapturable = false; t.status = "SUCCESS"; }
        return { orderMarkAsPaid: { order: { id: `gid://shopify/Order/${o.id}`, displayFinancialStatus: "PAID" }, userErrors: [] } };
      }
      case "CartbridgeOrderCapture": {
        const input = v.input as { id: string; amount: string };
        const o = byGid(input.id)!;
        o.receivedMinor += BigInt(input.amount.replace(".", ""));
        return { orderCapture: { transaction: { id: `gid://shopify/OrderTransaction/${this.nextId++}`, status: "SUCCESS" }, userErrors: [] } };
      }
      case "CartbridgeOrderCancel": {
        const o = byGid(v.orderId)!;
        if (o.cancelledAt) return { orderCancel: { job: null, orderCancelUserErrors: [{ code: "INVALID", field: null, message: "Order has already been cancelled" }] } };
        o.cancelledAt = new Date().toISOString();
        const refundMethod = v.refundMethod as { originalPaymentMethodsRefund?: boolean } | undefined;
        o.cancel = { restock: v.restock === true, refund: refundMethod?.originalPaymentMethodsRefund === true, reason: String(v.reason) };
        return { orderCancel: { job: { id: `gid://shopify/Job/${this.nextId++}`, done: false }, orderCancelUserErrors: [] } };
      }
      case "CartbridgeOrderNote": {
        const input = v.input as { id: string; note: string };
        byGid(input.id)!.note = input.note;
        return { orderUpdate: { order: { id: input.id }, userErrors: [] } };
      }
      case "CartbridgeTagsAdd": {
        const o = byGid(v.id)!;
        for (const t of v.tags as string[]) if (!o.tags.includes(t)) o.tags.push(t);
        return { tagsAdd: { userErrors: [] } };
      }
      case "CartbridgeMetafieldsSet": {
        const list = v.metafields as { ownerId: string; namespace: string; key: string; value: string }[];
        for (const m of list) byGid(m.ownerId)!.metafields[`${m.namespace}.${m.key}`] = m.value;
        return { metafieldsSet: { metafields: list.map((m) => ({ key: m.key })), userErrors: [] } };
      }
      default:
        throw new Error(`fake Shopify has no handler for ${operation}`);
    }
  }

  private orderView(shop: string, o: SimOrder) {
    const outstanding = o.cancelledAt ? 0n : o.totalMinor - o.receivedMinor > 0n ? o.totalMinor - o.receivedMinor : 0n;
    const status = o.receivedMinor >= o.totalMinor ? "PAID" : o.receivedMinor > 0n ? "PARTIALLY_PAID" : "PENDING";
    const money = (minor: bigint) => ({ presentmentMoney: { amount: fmt(minor), currencyCode: o.currency } });
    return {
      id: `gid://shopify/Order/${o.id}`, legacyResourceId: o.id, name: o.name, email: o.email, test: o.test,
      cancelledAt: o.cancelledAt, closed: false, canMarkAsPaid: !o.cancelledAt && outstanding > 0n,
      displayFinancialStatus: status, paymentGatewayNames: o.gateways, presentmentCurrencyCode: o.currency,
      statusPageUrl: `https://${shop}/1234/orders/${o.id}/authenticate?key=abc`, note: o.note, tags: o.tags,
      totalOutstandingSet: money(outstanding), totalReceivedSet: money(o.receivedMinor),
      transactions: o.transactions.map((t) => ({ id: t.id, kind: t.kind, status: t.status, gateway: t.gateway, manuallyCapturable: t.manuallyCapturable, amountSet: money(t.amountMinor) })),
    };
  }

  private paymentsApps(operation: string, v: Record<string, unknown>): unknown {
    const gid = String(v.id);
    const errors = (message: string) => [{ field: ["id"], message }];
    const session = this.paymentSessions.get(gid) ?? { state: "pending" as const };
    const view = (state: string) => ({
      id: gid,
      state: state === "resolved" ? { code: "RESOLVED" }
        : state === "pending" ? { code: "PENDING", reason: session.reason ?? "NETWORK_ACTION_REQUIRED" }
        : { code: "REJECTED", reason: session.reason ?? "PROCESSING_ERROR", merchantMessage: null },
      nextAction: { action: "REDIRECT", context: { redirectUrl: `https://shopify.test/checkouts/${gid.split("/").pop()}/${state}` } },
    });
    switch (operation) {
      case "CartbridgePaymentSessionResolve":
        if (session.state === "rejected") return { paymentSessionResolve: { paymentSession: null, userErrors: errors("Payment session already rejected") } };
        this.paymentSessions.set(gid, { state: "resolved" });
        return { paymentSessionResolve: { paymentSession: view("resolved"), userErrors: [] } };
      case "CartbridgePaymentSessionPending": {
        if (session.state !== "pending" || session.pendingExpiresAt) {
          return { paymentSessionPending: { paymentSession: null, userErrors: errors(`Payment session is already ${session.pendingExpiresAt ? "pending" : session.state}`) } };
        }
        const marked = { state: "pending" as const, reason: String(v.reason), pendingExpiresAt: String(v.pendingExpiresAt) };
        this.paymentSessions.set(gid, marked);
        return { paymentSessionPending: { paymentSession: { ...view("pending"), state: { code: "PENDING", reason: marked.reason } }, userErrors: [] } };
      }
      case "CartbridgePaymentSessionReject": {
        if (session.state === "resolved") return { paymentSessionReject: { paymentSession: null, userErrors: errors("Payment session already resolved") } };
        const reason = (v.reason as { code: string }).code;
        this.paymentSessions.set(gid, { state: "rejected", reason });
        return { paymentSessionReject: { paymentSession: view("rejected"), userErrors: [] } };
      }
      case "CartbridgeRefundSessionResolve":
        if (this.refundResolveError) {
          const message = this.refundResolveError;
          this.refundResolveError = undefined;
          return { refundSessionResolve: { refundSession: null, userErrors: errors(message) } };
        }
        this.refundSessions.set(gid, { state: "resolved" });
        return { refundSessionResolve: { refundSession: { id: gid }, userErrors: [] } };
      case "CartbridgeRefundSessionReject":
        this.refundSessions.set(gid, { state: "rejected", message: (v.reason as { merchantMessage?: string }).merchantMessage });
        return { refundSessionReject: { refundSession: { id: gid }, userErrors: [] } };
      default:
        throw new Error(`fake Shopify has no Payments Apps handler for ${operation}`);
    }
  }
}
