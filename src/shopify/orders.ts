/**
 * The manual-payment route. An order paid with the crypto manual method gets its checkout session as soon
 * as Shopify announces it (`orders/create`), server-side; the Thank-you / Order status extension only shows
 * it. One session per order: the `(shop, order_id)` primary key of `shopify_order_links` is the lock, so
 * duplicate webhooks, retries and a buyer's clicks racing each other all land on the same session.
 */
import type { Session } from "@shopify/shopify-api";
import type { BridgeDeps } from "../deps.ts";
import { formatDecimalAmount, parseCurrency, parseDecimalAmount, type CurrencyCode } from "../domain/money.ts";
import { isSettledPaid, type SessionStatus } from "../domain/session-status.ts";
import { ApiError } from "../http/errors.ts";
import { applyPaymentObservation } from "../usecases/apply-payment.ts";
import { createCheckoutSession } from "../usecases/create-checkout-session.ts";
import { isUniqueViolation } from "../usecases/webhooks.ts";
import { adminGraphql, defaultPaymentMethodName, withShopifyFetch } from "./api.ts";
import { metafieldsSetMutation, orderQuery, type ShopifyOrder, type UserErrors } from "./documents.ts";
import { findInstalledShop, loadOfflineSession } from "./shops.ts";
import { shopifyDb, type ShopifyShopsTable } from "./tables.ts";

/** A `creating` lock older than this belongs to a process that died mid-way and may be taken over. */
const staleLockMs = 2 * 60_000;

/**
 * The extension's "wait, then ask again" answer: the order or its session does not exist yet. Right after
 * checkout the Thank-you page can ask before Shopify's Admin API knows the order.
 */
export const preparingReason = "being prepared";
const noSuchOrder = "no such order";
const cancelledReason = "the order is cancelled";

export function orderGid(orderId: string): string {
  return `gid://shopify/Order/${orderId}`;
}

/** The numeric id from a gid (`gid://shopify/Order/1`, `gid://shopify/OrderIdentity/1`) or a bare number. */
export function numericOrderId(value: string): string | undefined {
  const tail = value.split("/").pop() ?? "";
  return /^\d{1,20}$/.test(tail) ? tail : undefined;
}

export interface OrderRouteSettings {
  manualPaymentMethodName?: string;
  livemode?: boolean;
}

export type EnsureResult =
  | { kind: "session"; sessionId: string; created: boolean }
  | { kind: "skipped"; reason: string }
  | { kind: "busy" };

export async function fetchOrder(session: Session, orderId: string): Promise<ShopifyOrder | undefined> {
  const data = await adminGraphql<{ order: ShopifyOrder | null }>(session, orderQuery, { id: orderGid(orderId) });
  return data.order ?? undefined;
}

function usesCryptoMethod(order: ShopifyOrder, methodName: string): boolean {
  const wanted = methodName.trim().toLowerCase();
  return order.paymentGatewayNames.some((g) => g.trim().toLowerCase() === wanted);
}

/** Why an order must not get a (new) session, or undefined when it may. */
export function orderIneligibility(order: ShopifyOrder, methodName: string): string | undefined {
  if (!usesCryptoMethod(order, methodName)) return `payment method is ${order.paymentGatewayNames.join(", ") || "none"}, not ${methodName}`;
  if (order.cancelledAt) return "the order is cancelled";
  if (order.displayFinancialStatus === "PAID" || order.displayFinancialStatus === "REFUNDED") return `the order is ${order.displayFinancialStatus}`;
  const currency = parseCurrency(order.totalOutstandingSet.presentmentMoney.currencyCode);
  if (!currency) return "unknown presentment currency";
  const outstanding = parseDecimalAmount(order.totalOutstandingSet.presentmentMoney.amount, currency);
  if (!outstanding.ok || outstanding.minor <= 0n) return "nothing is outstanding";
  return undefined;
}

/** The store's default provider, else its newest enabled connection of that mode. */
export async function pickProvider(deps: BridgeDeps, storeId: string, livemode: boolean): Promise<string | undefined> {
  const store = await deps.db.kysely.selectFrom("stores").select("default_provider").where("id", "=", storeId).executeTakeFirst();
  if (store?.default_provider) return store.default_provider;
  const conn = await deps.db.kysely.selectFrom("provider_connections").select("provider")
    .where("store_id", "=", storeId).where("livemode", "=", livemode ? 1 : 0).where("disabled_at", "is", null)
    .orderBy("created_at", "desc").limit(1).executeTakeFirst();
  return conn?.provider;
}

/**
 * Makes sure an eligible order has its one checkout session: re-reads the order from Shopify (the webhook
 * payload may be stale, and is never trusted for amounts), takes the per-order lock, creates the session for
 * the outstanding balance in the presentment currency, and writes its link into the order's metafields.
 */
export async function ensureOrderSession(deps: BridgeDeps, settings: OrderRouteSettings, shop: string, orderId: string): Promise<EnsureResult> {
  const db = shopifyDb(deps.db.kysely);
  const existing = await db.selectFrom("shopify_order_links").selectAll().where("shop", "=", shop).where("order_id", "=", orderId).executeTakeFirst();
  if (existing?.session_id) return { kind: "session", sessionId: existing.session_id, created: false };
  if (existing?.state === "cancelled") return { kind: "skipped", reason: cancelledReason };

  const installed = await findInstalledShop(deps, shop);
  const session = installed ? await loadOfflineSession(deps, shop) : undefined;
  if (!installed || !session) return { kind: "skipped", reason: "the shop is not installed" };

  return withShopifyFetch(deps.storeFetch, async () => {
    const order = await fetchOrder(session, orderId);
    if (!order) return { kind: "skipped", reason: noSuchOrder };
    const methodName = settings.manualPaymentMethodName ?? defaultPaymentMethodName;
    const why = orderIneligibility(order, methodName);
    if (why) return { kind: "skipped", reason: why };

    const nowMs = deps.clock().getTime();
    const lock = { shop, order_id: orderId, route: "manual" as const, state: "creating", session_id: null, order_name: order.name, created_at: nowMs, updated_at: nowMs };
    try {
      await db.insertInto("shopify_order_links").values(lock).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const held = await db.selectFrom("shopify_order_links").selectAll().where("shop", "=", shop).where("order_id", "=", orderId).executeTakeFirstOrThrow();
      if (held.session_id) return { kind: "session", sessionId: held.session_id, created: false };
      if (held.state === "cancelled") return { kind: "skipped", reason: cancelledReason };
      const takeover = await db.updateTable("shopify_order_links").set({ updated_at: nowMs })
        .where("shop", "=", shop).where("order_id", "=", orderId).where("state", "=", "creating").where("updated_at", "<", nowMs - staleLockMs)
        .executeTakeFirst();
      if (Number(takeover.numUpdatedRows) !== 1) return { kind: "busy" };
    }

    let sessionId: string;
    try {
      sessionId = await createForOrder(deps, settings, installed, order);
    } catch (err) {
      // Release the lock so the next delivery (Shopify retries) or the buyer's page can try again.
      // (A cancelled marker stays: it must outlive this attempt.)
      await db.deleteFrom("shopify_order_links").where("shop", "=", shop).where("order_id", "=", orderId)
        .where("state", "=", "creating").where("session_id", "is", null).execute();
      throw err;
    }
    const opened = await db.updateTable("shopify_order_links").set({ state: "open", session_id: sessionId, updated_at: deps.clock().getTime() })
      .where("shop", "=", shop).where("order_id", "=", orderId).where("state", "=", "creating").executeTakeFirst();
    if (Number(opened.numUpdatedRows) !== 1) {
      // orders/cancelled arrived while the session was being made and left its marker: the new session is
      // recorded on the link (so later looks find it) and closed at once, so nothing can be paid into it.
      await db.updateTable("shopify_order_links").set({ session_id: sessionId, updated_at: deps.clock().getTime() })
        .where("shop", "=", shop).where("order_id", "=", orderId).where("session_id", "is", null).execute();
      await applyPaymentObservation(deps, sessionId, { outcome: "canceled", transactions: [], source: "shopify:orders/cancelled" });
      return { kind: "skipped", reason: cancelledReason };
    }

    try {
      const result = await adminGraphql<{ metafieldsSet: UserErrors }>(session, metafieldsSetMutation, {
        metafields: [
          { ownerId: order.id, namespace: "cartbridge", key: "session_id", type: "single_line_text_field", value: sessionId },
          { ownerId: order.id, namespace: "cartbridge", key: "payment_url", type: "url", value: `${deps.config.PUBLIC_URL}/pay/${sessionId}` },
        ],
      });
      if (result.metafieldsSet.userErrors.length) deps.logger.warn("shopify metafieldsSet refused", { shop, orderId, errors: result.metafieldsSet.userErrors });
    } catch (err) {
      // The link is a convenience for staff; the session exists and the extension finds it without it.
      deps.logger.warn("shopify metafieldsSet failed", { shop, orderId, err });
    }
    return { kind: "session", sessionId, created: true };
  });
}

async function createForOrder(deps: BridgeDeps, settings: OrderRouteSettings, installed: ShopifyShopsTable, order: ShopifyOrder): Promise<string> {
  const livemode = (settings.livemode ?? true) && !order.test;
  const provider = await pickProvider(deps, installed.store_id, livemode);
  if (!provider) throw new ApiError("provider_not_connected", `The store of ${installed.shop} has no ${livemode ? "live" : "test"} provider connection.`);
  const outstanding = order.totalOutstandingSet.presentmentMoney;
  const session = await createCheckoutSession(deps, {
    store: { storeId: installed.store_id, livemode, defaultProvider: provider },
    input: {
      order: { id: order.legacyResourceId, number: order.name },
      currency: outstanding.currencyCode,
      // The outstanding balance already accounts for discounts, gift cards and earlier payments: one line.
      lineItems: [{ name: `Order ${order.name}`, quantity: 1, unitAmount: outstanding.amount }],
      amount: outstanding.amount,
      ...(order.email ? { customer: { email: order.email } } : {}),
      metadata: { shopify_shop: installed.shop, shopify_route: "manual", shopify_order_gid: order.id },
      successUrl: order.statusPageUrl,
      cancelUrl: order.statusPageUrl,
      provider,
    },
    // A retry after a lost platform response then reaches the platform session it created (see outboundIdentity).
    idempotencyKey: `shopify:manual:${installed.shop}:${order.id}`,
  });
  return session.id;
}

/**
 * `orders/cancelled`: the order's session is closed, so nothing can be paid into it any more. With no session
 * yet (none made, or one being made right now) a `cancelled` marker is left on the per-order lock row instead:
 * `ensureOrderSession` makes no session for a marked order and closes one that it finished after the marker.
 */
export async function closeOrderSession(deps: BridgeDeps, shop: string, orderId: string): Promise<"closed" | "marked" | "already_ended"> {
  const db = shopifyDb(deps.db.kysely);
  const nowMs = deps.clock().getTime();
  const marked = await db.updateTable("shopify_order_links").set({ state: "cancelled", updated_at: nowMs })
    .where("shop", "=", shop).where("order_id", "=", orderId).where("session_id", "is", null).executeTakeFirst();
  if (Number(marked.numUpdatedRows) === 1) return "marked";
  let link = await db.selectFrom("shopify_order_links").selectAll().where("shop", "=", shop).where("order_id", "=", orderId).executeTakeFirst();
  if (!link) {
    try {
      await db.insertInto("shopify_order_links").values({ shop, order_id: orderId, route: "manual", state: "cancelled", session_id: null, order_name: null, created_at: nowMs, updated_at: nowMs }).execute();
      return "marked";
    } catch (err) {
      // A session's lock was taken in between: mark it, or close what it has made.
      if (!isUniqueViolation(err)) throw err;
      return closeOrderSession(deps, shop, orderId);
    }
  }
  if (!link.session_id) return "marked";
  const result = await applyPaymentObservation(deps, link.session_id, { outcome: "canceled", transactions: [], source: "shopify:orders/cancelled" });
  return result.changed ? "closed" : "already_ended";
}

export interface OrderPaymentView {
  status: SessionStatus | "none";
  paid: boolean;
  payUrl?: string;
  amount?: string;
  amountPaid?: string;
  currency?: string;
  expiresAt?: string;
  reason?: string;
}

/** What the Thank-you / Order status extension shows; creates the session if the webhook has not yet. */
export async function orderPaymentView(deps: BridgeDeps, settings: OrderRouteSettings, shop: string, orderId: string): Promise<OrderPaymentView> {
  const ensured = await ensureOrderSession(deps, settings, shop, orderId);
  if (ensured.kind === "busy") return { status: "none", paid: false, reason: preparingReason };
  // Not yet known to the Admin API (the Thank-you page can be faster): worth asking again, not the end.
  if (ensured.kind === "skipped") return { status: "none", paid: false, reason: ensured.reason === noSuchOrder ? preparingReason : ensured.reason };
  const row = await deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", ensured.sessionId).executeTakeFirstOrThrow();
  const status = row.status as SessionStatus;
  const currency = row.currency as CurrencyCode;
  // A payment being confirmed (`processing`) must not be offered to the buyer again.
  const open = status === "open" || status === "underpaid";
  return {
    status,
    paid: isSettledPaid(status),
    ...(open && Number(row.expires_at) > deps.clock().getTime() ? { payUrl: `${deps.config.PUBLIC_URL}/pay/${row.id}` } : {}),
    amount: formatDecimalAmount(BigInt(row.amount_minor), currency),
    amountPaid: formatDecimalAmount(BigInt(row.amount_paid_minor), currency),
    currency: row.currency,
    expiresAt: new Date(Number(row.expires_at)).toISOString(),
  };
}
