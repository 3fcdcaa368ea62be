/**
 * The `shopify` store adapter: turns the bridge's session updates into Shopify actions, through the Admin
 * API (manual-payment route: mark paid, note, cancel with restock) or the Payments Apps API (resolve or
 * reject the payment session). Every delivery re-reads Shopify's state first and tags what it writes with
 * the update id, so a retried delivery changes nothing twice.
 */
import type { Session } from "@shopify/shopify-api";
import { z } from "zod";
import { parseCurrency, parseDecimalAmount } from "../domain/money.ts";
import { assertNever, type SessionStatus } from "../domain/session-status.ts";
import { adminGraphql, isShopDomain, paymentsAppsGraphql, ShopifyRequestError, withShopifyFetch } from "../shopify/api.ts";
import {
  orderCancelMutation,
  orderCaptureMutation,
  orderMarkAsPaidMutation,
  orderNoteMutation,
  paymentSessionRejectMutation,
  paymentSessionResolveMutation,
  tagsAddMutation,
  type PaymentSessionPayload,
  type ShopifyOrder,
  type UserErrors,
} from "../shopify/documents.ts";
import { fetchOrder } from "../shopify/orders.ts";
import { markPaymentPending } from "../shopify/payments-app.ts";
import { loadOfflineSession } from "../shopify/shops.ts";
import { shopifyDb } from "../shopify/tables.ts";
import type { DeliveryResult, StoreAdapter, StoreAdapterContext, StoreUpdate } from "./port.ts";

export { shopifyRoutes } from "../shopify/routes.ts";
export type { ShopifyOptions } from "../shopify/api.ts";

export const shopifyStoreCredentials = z.object({
  shop: z.string().refine(isShopDomain, "must be a <name>.myshopify.com domain"),
});
export type ShopifyStoreCredentials = z.infer<typeof shopifyStoreCredentials>;

type Ctx = StoreAdapterContext<ShopifyStoreCredentials>;

const failed = (error: string, retryable: boolean): DeliveryResult => ({ ok: false, retryable, error });

export const shopifyStoreAdapter: StoreAdapter<ShopifyStoreCredentials> = {
  platform: "shopify",
  credentialsSchema: shopifyStoreCredentials,
  async deliver(update, ctx): Promise<DeliveryResult> {
    if (!ctx.db || !ctx.secrets) return failed("the shopify adapter needs the bridge database", false);
    const route = update.session.metadata.shopify_route;
    try {
      return await withShopifyFetch(ctx.fetch, async () => {
        // Inside the fetch scope: loading may refresh an expired token with Shopify; if Shopify is down, retry.
        const session = await loadOfflineSession({ db: ctx.db!, secrets: ctx.secrets!, clock: ctx.now }, ctx.credentials.shop);
        if (!session) return failed(`${ctx.credentials.shop} has uninstalled the app (no access token)`, false);
        if (route === "payments_app") return await deliverPaymentsApp(update, ctx, session);
        if (route === "manual") return await deliverManual(update, session);
        return failed(`session ${update.session.id} was not made by the Shopify app`, false);
      });
    } catch (err) {
      if (err instanceof ShopifyRequestError) return failed(err.message, err.retryable);
      throw err;
    }
  },
};

// ---- manual-payment route (Admin API) ----------------------------------------------------------------

function money(amount: string, currency: string): bigint | undefined {
  const code = parseCurrency(currency);
  const parsed = code ? parseDecimalAmount(amount, code) : undefined;
  return parsed?.ok ? parsed.minor : undefined;
}

async function deliverManual(update: StoreUpdate, session: Session): Promise<DeliveryResult> {
  const order = await fetchOrder(session, update.session.order.id);
  if (!order) return failed(`order ${update.session.order.id} no longer exists`, false);
  const s = update.session;
  const status: SessionStatus = s.status;
  const amounts = `${s.amountPaid} of ${s.amount} ${s.currency} received`;
  switch (status) {
    case "open":
      return { ok: true };
    case "processing":
      await addNote(session, order, update, `crypto payment detected, waiting for confirmation (${s.id})`);
      return { ok: true };
    case "paid":
      return markPaid(session, order, update, `paid in crypto: ${amounts} (${s.id})`);
    case "paid_late":
      await addTags(session, order, ["cartbridge-paid-late"]);
      return markPaid(session, order, update, `paid in crypto AFTER the payment window closed: ${amounts}; check the rate (${s.id})`);
    case "overpaid":
      await addTags(session, order, ["cartbridge-overpaid"]);
      return markPaid(session, order, update, `OVERPAID in crypto: ${amounts}; refund the difference from the payment platform (${s.id})`);
    case "underpaid":
      await addTags(session, order, ["cartbridge-underpaid"]);
      await addNote(session, order, update, `UNDERPAID in crypto: ${amounts}; the order stays unpaid until the buyer tops up (${s.id})`);
      return { ok: true };
    case "expired":
    case "failed":
    case "canceled":
      return cancelIfUnpaid(session, order, update, `crypto payment ${status} (${s.id})`);
    default:
      return assertNever(status, "session status");
  }
}

async function markPaid(session: Session, order: ShopifyOrder, update: StoreUpdate, note: string): Promise<DeliveryResult> {
  const s = update.session;
  if (order.cancelledAt) {
    await addTags(session, order, ["cartbridge-review"]);
    await addNote(session, order, update, `${note}. The order was already CANCELLED: refund the buyer or re-create the order.`);
    return { ok: true };
  }
  const outstanding = order.totalOutstandingSet.presentmentMoney;
  const alreadyPaid = order.displayFinancialStatus === "PAID" || (money(outstanding.amount, outstanding.currencyCode) ?? 1n) <= 0n;
  if (alreadyPaid) {
    await addNote(session, order, update, note);
    return { ok: true };
  }
  // Never let crypto received in one currency, or for a smaller balance, pay off a different balance.
  const outstandingMinor = money(outstanding.amount, outstanding.currencyCode);
  const receivedMinor = money(s.amountPaid, s.currency);
  if (outstanding.currencyCode !== s.currency || outstandingMinor === undefined || receivedMinor === undefined || outstandingMinor > receivedMinor) {
    await addTags(session, order, ["cartbridge-review"]);
    await addNote(session, order, update, `${note}. NOT marked paid: the order's balance is ${outstanding.amount} ${outstanding.currencyCode}; review it.`);
    return { ok: true };
  }
  if (order.canMarkAsPaid) {
    const data = await adminGraphql<{ orderMarkAsPaid: UserErrors }>(session, orderMarkAsPaidMutation, { input: { id: order.id } });
    if (data.orderMarkAsPaid.userErrors.length) return failed(`orderMarkAsPaid: ${data.orderMarkAsPaid.userErrors.map((e) => e.message).join("; ")}`, false);
  } else {
    const pending = order.transactions.find((t) => t.manuallyCapturable && (t.kind === "SALE" || t.kind === "AUTHORIZATION"));
    if (!pending) return failed("the order can neither be marked as paid nor captured", false);
    const data = await adminGraphql<{ orderCapture: UserErrors }>(session, orderCaptureMutation, {
      input: { id: order.id, parentTransactionId: pending.id, amount: outstanding.amount, currency: outstanding.currencyCode },
    });
    if (data.orderCapture.userErrors.length) return failed(`orderCapture: ${data.orderCapture.userErrors.map((e) => e.message).join("; ")}`, false);
  }
  await addNote(session, order, update, note);
  return { ok: true };
}

async function cancelIfUnpaid(session: Session, order: ShopifyOrder, update: StoreUpdate, note: string): Promise<DeliveryResult> {
  if (order.cancelledAt) return { ok: true };
  const received = order.totalReceivedSet.presentmentMoney;
  const hasPayments = order.displayFinancialStatus !== "PENDING" || (money(received.amount, received.currencyCode) ?? 0n) > 0n;
  if (hasPayments) {
    await addNote(session, order, update, `${note}; the order has other payments, so it was left open`);
    return { ok: true };
  }
  const data = await adminGraphql<{ orderCancel: { orderCancelUserErrors: { message: string }[] } }>(session, orderCancelMutation, {
    orderId: order.id,
    staffNote: `Cartbridge: ${note}`.slice(0, 255),
  });
  if (data.orderCancel.orderCancelUserErrors.length) {
    return failed(`orderCancel: ${data.orderCancel.orderCancelUserErrors.map((e) => e.message).join("; ")}`, false);
  }
  await addNote(session, order, update, `${note}; order cancelled and restocked`);
  return { ok: true };
}

/** Appends one line to the order note, once per update id. */
async function addNote(session: Session, order: ShopifyOrder, update: StoreUpdate, text: string): Promise<void> {
  const marker = `[cartbridge ${update.id}]`;
  if (order.note?.includes(marker)) return;
  const note = [order.note?.trimEnd(), `${marker} ${text}`].filter(Boolean).join("\n").slice(-5000);
  const data = await adminGraphql<{ orderUpdate: UserErrors }>(session, orderNoteMutation, { input: { id: order.id, note } });
  if (data.orderUpdate.userErrors.length) throw new ShopifyRequestError(`orderUpdate: ${data.orderUpdate.userErrors.map((e) => e.message).join("; ")}`, false);
  order.note = note;
}

async function addTags(session: Session, order: ShopifyOrder, tags: string[]): Promise<void> {
  const missing = tags.filter((t) => !order.tags.includes(t));
  if (!missing.length) return;
  const data = await adminGraphql<{ tagsAdd: UserErrors }>(session, tagsAddMutation, { id: order.id, tags: missing });
  if (data.tagsAdd.userErrors.length) throw new ShopifyRequestError(`tagsAdd: ${data.tagsAdd.userErrors.map((e) => e.message).join("; ")}`, false);
  order.tags = [...order.tags, ...missing];
}

// ---- Payments Apps route ---------------------------------------------------------------------------

type RejectCode = "CANCELLED_PAYMENT" | "PROCESSING_ERROR" | "INSUFFICIENT_FUNDS";

async function deliverPaymentsApp(update: StoreUpdate, ctx: Ctx, session: Session): Promise<DeliveryResult> {
  const db = shopifyDb(ctx.db!.kysely);
  const id = update.session.metadata.shopify_payment_session_id;
  const row = id ? await db.selectFrom("shopify_payment_sessions").selectAll().where("id", "=", id).executeTakeFirst() : undefined;
  if (!row || row.shop !== ctx.credentials.shop) return failed("no Shopify payment session for this checkout session", false);
  const s = update.session;
  const status: SessionStatus = s.status;
  switch (status) {
    case "open":
      return { ok: true };
    case "processing":
      // Paid, not yet confirmed: Shopify is told it is pending, so the buyer can go on to the order page.
      await markPaymentPending(db, session, row, ctx.now());
      return { ok: true };
    case "paid":
    case "paid_late":
    case "overpaid":
      return resolvePayment(ctx, session, row.id, row.gid, row.state);
    case "underpaid":
      return rejectPayment(ctx, session, row.id, row.gid, row.state, "INSUFFICIENT_FUNDS", `Only ${s.amountPaid} of ${s.amount} ${s.currency} was paid in crypto; refund it from the payment platform.`);
    case "expired":
      return rejectPayment(ctx, session, row.id, row.gid, row.state, "CANCELLED_PAYMENT", "The crypto payment window expired.");
    case "canceled":
      return rejectPayment(ctx, session, row.id, row.gid, row.state, "CANCELLED_PAYMENT", "The crypto payment was cancelled.");
    case "failed":
      return rejectPayment(ctx, session, row.id, row.gid, row.state, "PROCESSING_ERROR", "The crypto payment failed.");
    default:
      return assertNever(status, "session status");
  }
}

async function resolvePayment(ctx: Ctx, session: Session, id: string, gid: string, state: string): Promise<DeliveryResult> {
  if (state === "resolved") return { ok: true };
  if (state === "rejected") {
    await noteOnSession(ctx, id, "paid after Shopify's payment session was rejected: refund the buyer from the platform");
    return { ok: true };
  }
  const data = await paymentsAppsGraphql<{ paymentSessionResolve: PaymentSessionPayload }>(session, paymentSessionResolveMutation, { id: gid });
  const result = data.paymentSessionResolve;
  if (result.userErrors.length) return failed(`paymentSessionResolve: ${result.userErrors.map((e) => e.message).join("; ")}`, false);
  await shopifyDb(ctx.db!.kysely).updateTable("shopify_payment_sessions")
    .set({ state: "resolved", next_redirect_url: result.paymentSession?.nextAction?.context.redirectUrl ?? null, updated_at: ctx.now().getTime() })
    .where("id", "=", id).execute();
  return { ok: true };
}

async function rejectPayment(ctx: Ctx, session: Session, id: string, gid: string, state: string, code: RejectCode, message: string): Promise<DeliveryResult> {
  if (state === "resolved" || state === "rejected") return { ok: true };
  const data = await paymentsAppsGraphql<{ paymentSessionReject: PaymentSessionPayload }>(session, paymentSessionRejectMutation, {
    id: gid,
    reason: { code, merchantMessage: message },
  });
  const result = data.paymentSessionReject;
  if (result.userErrors.length) return failed(`paymentSessionReject: ${result.userErrors.map((e) => e.message).join("; ")}`, false);
  await shopifyDb(ctx.db!.kysely).updateTable("shopify_payment_sessions")
    .set({ state: "rejected", next_redirect_url: result.paymentSession?.nextAction?.context.redirectUrl ?? null, updated_at: ctx.now().getTime() })
    .where("id", "=", id).execute();
  return { ok: true };
}

async function noteOnSession(ctx: Ctx, paymentSessionId: string, reason: string): Promise<void> {
  const row = await shopifyDb(ctx.db!.kysely).selectFrom("shopify_payment_sessions").select("session_id").where("id", "=", paymentSessionId).executeTakeFirst();
  if (!row?.session_id) return;
  await ctx.db!.kysely.updateTable("checkout_sessions").set({ review_reason: reason, updated_at: ctx.now().getTime() }).where("id", "=", row.session_id).execute();
}

