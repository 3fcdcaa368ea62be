/**
 * Shopify's doors into the bridge, mounted under `/shopify`:
 *
 *   GET  /shopify/auth?shop=…                 OAuth begin (offline token)
 *   GET  /shopify/auth/callback               OAuth callback: token stored sealed, shop bound to a bridge store
 *   GET  /shopify/app?shop=…&id_token=…       embedded admin page: token exchange on first load
 *   POST /shopify/webhooks                    every webhook topic (HMAC-checked, deduplicated by webhook id)
 *   GET  /shopify/extension/orders/:orderId   Thank-you / Order status extension (buyer's session token)
 *   POST /shopify/payments/sessions           Payments Apps: start a payment session → { redirect_url }
 *   POST /shopify/payments/refunds            Payments Apps: refund session → 201
 *   GET  /shopify/payments/return/:id         the buyer's way back to Shopify once the payment is resolved
 */
import { RequestedTokenType } from "@shopify/shopify-api";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { html } from "hono/html";
import type { BridgeDeps } from "../deps.ts";
import { safeEqual } from "../crypto/secrets.ts";
import { ApiError } from "../http/errors.ts";
import type { AppEnv } from "../http/middleware.ts";
import { isUniqueViolation } from "../usecases/webhooks.ts";
import { createShopifyApi, defaultPaymentMethodName, isShopDomain, withShopifyFetch, type ShopifyOptions } from "./api.ts";
import { closeOrderSession, ensureOrderSession, numericOrderId, orderPaymentView } from "./orders.ts";
import { handleRefundSession, paymentSessionRequest, pendingOnReturn, refundSessionRequest, startPaymentSession } from "./payments-app.ts";
import { SessionTokenError, verifySessionToken } from "./session-token.ts";
import { findInstalledShop, loadOfflineSession, recordInstall, recordUninstall, redactCustomer, redactShop } from "./shops.ts";
import { shopifyDb } from "./tables.ts";

export const shopifyMountPath = "/shopify";

/** Shopify waits 5 s for an answer; a `processing` mark much older than that is a crashed handler's. */
const staleWebhookMs = 5 * 60_000;

export function shopifyRoutes(deps: BridgeDeps, options: ShopifyOptions): Hono<AppEnv> {
  const shopify = createShopifyApi(options, deps.config.PUBLIC_URL);
  const appUrl = (options.appUrl ?? deps.config.PUBLIC_URL).replace(/\/+$/, "");
  const settings = { manualPaymentMethodName: options.manualPaymentMethodName ?? defaultPaymentMethodName, livemode: options.livemode ?? true };
  const app = new Hono<AppEnv>();
  const viaStoreFetch = <T>(fn: () => Promise<T>) => withShopifyFetch(deps.storeFetch, fn);

  // ---- install -------------------------------------------------------------------------------------

  app.get("/auth", async (c) => {
    const shop = c.req.query("shop");
    if (!isShopDomain(shop)) throw new ApiError("validation_failed", "shop must be a <name>.myshopify.com domain.");
    return shopify.auth.begin({ shop, callbackPath: `${shopifyMountPath}/auth/callback`, isOnline: false, rawRequest: c.req.raw }) as Promise<Response>;
  });

  app.get("/auth/callback", async (c) => {
    if (!isShopDomain(c.req.query("shop"))) throw new ApiError("validation_failed", "shop must be a <name>.myshopify.com domain.");
    let result;
    try {
      result = await viaStoreFetch(() => shopify.auth.callback<Headers>({ rawRequest: c.req.raw, expiring: true }));
    } catch (err) {
      deps.logger.warn("shopify oauth callback refused", { err });
      throw new ApiError("unauthenticated", "The OAuth callback could not be verified; start the installation again.");
    }
    await recordInstall(deps, result.session);
    const headers = new Headers(result.headers);
    headers.set("location", `https://${result.session.shop}/admin/apps/${encodeURIComponent(options.apiKey)}`);
    return new Response(null, { status: 302, headers });
  });

  app.get("/app", async (c) => {
    const token = c.req.query("id_token") ?? bearer(c);
    const verified = await sessionToken(token);
    const queryShop = c.req.query("shop");
    if (queryShop !== undefined && queryShop !== verified.shop) throw new ApiError("unauthenticated", "The session token is for another shop.");
    let installed = await findInstalledShop(deps, verified.shop);
    if (!installed || !(await loadOfflineSession(deps, verified.shop))) {
      const { session } = await viaStoreFetch(() =>
        // Expiring offline tokens (refreshed by loadOfflineSession): a leaked token is only good for an hour.
        shopify.auth.tokenExchange({ shop: verified.shop, sessionToken: token!, requestedTokenType: RequestedTokenType.OfflineAccessToken, expiring: true }),
      );
      installed = { ...(await recordInstall(deps, session)) };
    }
    const connections = await deps.db.kysely.selectFrom("provider_connections").select(["provider", "livemode"])
      .where("store_id", "=", installed.store_id).where("disabled_at", "is", null).execute();
    // Shopify's embedded-app rule: only this shop's admin may frame the page (clickjacking).
    c.header("content-security-policy", `frame-ancestors https://${installed.shop} https://admin.shopify.com;`);
    return c.html(adminPage(installed.shop, installed.store_id, settings.manualPaymentMethodName, connections.map((x) => `${x.provider} (${x.livemode ? "live" : "test"})`)));
  });

  // ---- webhooks ------------------------------------------------------------------------------------

  app.post("/webhooks", bodyLimit({ maxSize: deps.config.WEBHOOK_BODY_LIMIT_BYTES }), async (c) => {
    const rawBody = await c.req.text();
    const check = await shopify.webhooks.validate({ rawBody, rawRequest: c.req.raw });
    // Shopify's compliance review requires 401 for a bad HMAC.
    if (!check.valid) return c.json({ error: { code: "unauthenticated", message: "invalid webhook" } }, 401);
    if (!isShopDomain(check.domain)) return c.json({ error: { code: "unauthenticated", message: "not a myshopify.com shop" } }, 401);
    const webhookId = check.webhookId;
    const db = shopifyDb(deps.db.kysely);
    const nowMs = deps.clock().getTime();
    try {
      await db.insertInto("shopify_webhooks").values({ webhook_id: webhookId, shop: check.domain, topic: check.topic, state: "processing", received_at: nowMs, processed_at: null }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const seen = await db.selectFrom("shopify_webhooks").selectAll().where("webhook_id", "=", webhookId).executeTakeFirst();
      if (seen?.state === "done") return c.json({ received: true, duplicate: true });
      // A delivery stuck in `processing` belonged to a process that died; Shopify's retry takes it over.
      const takeover = seen
        ? await db.updateTable("shopify_webhooks").set({ received_at: nowMs }).where("webhook_id", "=", webhookId)
          .where("state", "=", "processing").where("received_at", "<", nowMs - staleWebhookMs).executeTakeFirst()
        : undefined;
      if (Number(takeover?.numUpdatedRows ?? 0) !== 1) return c.json({ error: { code: "in_progress", message: "this webhook is being handled" } }, 409);
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      payload = {};
    }
    try {
      const outcome = await handleWebhook(check.topic, check.domain, payload);
      await db.updateTable("shopify_webhooks").set({ state: "done", processed_at: deps.clock().getTime() }).where("webhook_id", "=", webhookId).execute();
      return c.json({ received: true, outcome });
    } catch (err) {
      // Forget the delivery so Shopify's retry is handled afresh.
      await db.deleteFrom("shopify_webhooks").where("webhook_id", "=", webhookId).execute();
      deps.logger.warn("shopify webhook failed; Shopify will retry", { topic: check.topic, shop: check.domain, err });
      return c.json({ error: { code: "retry", message: "not handled yet" } }, 503);
    }
  });

  /** The payload is signed, so it may be trusted to rule an order out without asking Shopify. */
  function paidWithOurMethod(payload: Record<string, unknown>): boolean {
    const gateways = payload.payment_gateway_names;
    const wanted = settings.manualPaymentMethodName.trim().toLowerCase();
    return !Array.isArray(gateways) || gateways.some((g) => String(g).trim().toLowerCase() === wanted);
  }

  async function handleWebhook(topic: string, shop: string, payload: Record<string, unknown>): Promise<string> {
    const orderId = numericOrderId(String(payload.id ?? payload.admin_graphql_api_id ?? ""));
    switch (topic) {
      case "ORDERS_CREATE": {
        if (!orderId) return "no order id";
        if (!paidWithOurMethod(payload)) return `skipped: not paid with ${settings.manualPaymentMethodName}`;
        const result = await ensureOrderSession(deps, settings, shop, orderId);
        if (result.kind === "busy") throw new Error("the order's session is being created elsewhere");
        return result.kind === "session" ? (result.created ? "session created" : "session exists") : `skipped: ${result.reason}`;
      }
      case "ORDERS_CANCELLED":
        if (!orderId) return "no order id";
        if (!paidWithOurMethod(payload)) return `skipped: not paid with ${settings.manualPaymentMethodName}`;
        return `session ${await closeOrderSession(deps, shop, orderId)}`;
      case "APP_UNINSTALLED":
        await recordUninstall(deps, shop);
        return "uninstalled";
      case "CUSTOMERS_DATA_REQUEST":
        // The bridge holds only the buyer's e-mail on the sessions of their orders; the merchant's own export covers it.
        deps.logger.info("shopify customers/data_request", { shop, orders: payload.orders_requested });
        return "noted";
      case "CUSTOMERS_REDACT": {
        const ids = Array.isArray(payload.orders_to_redact) ? payload.orders_to_redact.map(String).filter((x) => /^\d+$/.test(x)) : [];
        const email = (payload.customer as { email?: unknown } | undefined)?.email;
        return `redacted ${await redactCustomer(deps, shop, { orderIds: ids, ...(typeof email === "string" && email ? { email } : {}) })}`;
      }
      case "SHOP_REDACT":
        await redactShop(deps, shop);
        return "redacted";
      default:
        return "ignored";
    }
  }

  // ---- the Thank-you / Order status extension --------------------------------------------------------

  app.use("/extension/*", cors({ origin: "*", allowHeaders: ["Authorization", "Content-Type"], allowMethods: ["GET", "OPTIONS"], maxAge: 600 }));
  app.get("/extension/orders/:orderId", async (c) => {
    const verified = await sessionToken(bearer(c));
    const orderId = numericOrderId(c.req.param("orderId"));
    if (!orderId) throw new ApiError("validation_failed", "orderId must be an order gid or number.");
    // The buyer's token names the shop; the order is looked up in that shop only.
    return c.json(await orderPaymentView(deps, settings, verified.shop, orderId));
  });

  // ---- Payments Apps API (partners) --------------------------------------------------------------------

  const paymentsAuth = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const header = options.paymentsMtlsHeader;
    if (!header) throw new ApiError("not_found", "The Payments Apps route is not enabled on this bridge.");
    if (!safeEqual(c.req.header(header.name) ?? "", header.value)) throw new ApiError("unauthenticated", "The client certificate was not verified.");
    const shop = c.req.header("shopify-shop-domain");
    if (!isShopDomain(shop)) throw new ApiError("unauthenticated", "Shopify-Shop-Domain must be a myshopify.com shop.");
    await next();
  };

  app.post("/payments/sessions", paymentsAuth, async (c) => {
    const shop = c.req.header("shopify-shop-domain")!;
    const parsed = paymentSessionRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ApiError("validation_failed", "Not a payment session request.", parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
    }
    const result = await startPaymentSession(deps, options, appUrl, shop, parsed.data);
    if ("busy" in result) return c.json({ error: { code: "in_progress", message: "this payment session is being created" } }, 409);
    return c.json({ redirect_url: result.redirectUrl }, 201);
  });

  app.post("/payments/refunds", paymentsAuth, async (c) => {
    const shop = c.req.header("shopify-shop-domain")!;
    const parsed = refundSessionRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) throw new ApiError("validation_failed", "Not a refund session request.");
    const outcome = await handleRefundSession(deps, options, shop, parsed.data);
    // Not yet answered in GraphQL (Shopify unreachable): a 5xx makes Shopify send the request again.
    if (outcome === "pending") return c.json({ error: { code: "retry", message: "the refund could not be answered yet" } }, 503);
    return c.body(null, 201);
  });

  app.get("/payments/return/:id", async (c) => {
    const load = () => shopifyDb(deps.db.kysely).selectFrom("shopify_payment_sessions").selectAll().where("id", "=", c.req.param("id")).executeTakeFirst();
    let row = await load();
    if (!row) throw new ApiError("not_found", "No such payment.");
    if (!row.next_redirect_url) {
      // Paid but not yet reported: mark it pending now rather than keep the buyer on a reloading page.
      const next = await pendingOnReturn(deps, row).catch((err: unknown) => {
        deps.logger.warn("paymentSessionPending on return failed", { id: row!.id, err });
        return undefined;
      });
      if (next) return c.redirect(next, 303);
      row = (await load()) ?? row; // a concurrent delivery may have resolved it meanwhile
    }
    if (row.next_redirect_url) return c.redirect(row.next_redirect_url, 303);
    return c.html(html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Confirming your payment</title></head><body style="font-family:system-ui;max-width:32rem;margin:4rem auto">
<h1>Confirming your payment…</h1><p>This page returns you to the shop as soon as Shopify has recorded it.</p></body></html>`, 202);
  });

  return app;

  async function sessionToken(token: string | undefined) {
    if (!token) throw new ApiError("unauthenticated", "A Shopify session token is required.");
    try {
      return await verifySessionToken(token, options, deps.clock());
    } catch (err) {
      if (err instanceof SessionTokenError) throw new ApiError("unauthenticated", "The Shopify session token is not valid.");
      throw err;
    }
  }
}

function bearer(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization") ?? "";
  return header.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
}

function adminPage(shop: string, storeId: string, methodName: string, connections: string[]) {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cartbridge</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1f2937}code{background:#f3f4f6;padding:.1rem .3rem}</style></head>
<body><h1>Cartbridge is installed</h1>
<p>Shop <code>${shop}</code> is bound to bridge store <code>${storeId}</code>.</p>
<p>Payment platforms connected: ${connections.length ? connections.join(", ") : html`<strong>none yet</strong> — connect one with <code>npx cartbridge connection add --store ${storeId} --provider …</code>`}.</p>
<p>In Settings → Payments → Manual payment methods, add a method named exactly <code>${methodName}</code>, and add the
"Pay with crypto" block to the Thank-you and Order status pages in the checkout editor.</p></body></html>`;
}

