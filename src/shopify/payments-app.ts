/**
 * The Payments Apps route (Shopify payments partners): Shopify POSTs a payment session, the bridge creates
 * its checkout session and answers `redirect_url`; the outcome is reported back with
 * `paymentSessionResolve` / `paymentSessionReject` by the store adapter. Refund sessions are acknowledged
 * and resolved or rejected. Both are idempotent by Shopify's `id`, under a primary key.
 */
import type { Session } from "@shopify/shopify-api";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { BridgeDeps } from "../deps.ts";
import { formatDecimalAmount, parseCurrency, parseDecimalAmount } from "../domain/money.ts";
import { isSettledPaid, type SessionStatus } from "../domain/session-status.ts";
import { ApiError } from "../http/errors.ts";
import { createCheckoutSession } from "../usecases/create-checkout-session.ts";
import { isUniqueViolation } from "../usecases/webhooks.ts";
import { paymentsAppsGraphql, ShopifyRequestError, withShopifyFetch, type ShopifyOptions } from "./api.ts";
import {
  paymentSessionPendingMutation,
  refundSessionRejectMutation,
  refundSessionResolveMutation,
  type PaymentSessionPayload,
  type UserErrors,
} from "./documents.ts";
import { pickProvider } from "./orders.ts";
import { findInstalledShop, loadOfflineSession } from "./shops.ts";
import { shopifyDb, type ShopifyDatabase, type ShopifyPaymentSessionsTable } from "./tables.ts";

const decimal = z.string().regex(/^\d{1,15}(\.\d{1,6})?$/);
const address = z.object({}).passthrough();

/** https://shopify.dev/docs/apps/build/payments/request-reference (offsite). */
export const paymentSessionRequest = z.object({
  id: z.string().min(1).max(191),
  gid: z.string().startsWith("gid://shopify/PaymentSession/").max(255),
  group: z.string().max(255).optional(),
  session_id: z.string().max(255).optional(),
  amount: decimal,
  currency: z.string().length(3),
  test: z.boolean(),
  merchant_locale: z.string().max(32).optional(),
  payment_method: z.object({
    type: z.literal("offsite"),
    data: z.object({ cancel_url: z.url({ protocol: /^https$/ }) }).passthrough(),
  }),
  proposed_at: z.string().optional(),
  customer: z.object({
    email: z.email().optional(),
    phone_number: z.string().optional(),
    locale: z.string().optional(),
    billing_address: address.optional(),
    shipping_address: address.optional(),
  }).passthrough().optional(),
  kind: z.enum(["sale", "authorization"]),
}).passthrough();

export const refundSessionRequest = z.object({
  id: z.string().min(1).max(191),
  gid: z.string().startsWith("gid://shopify/RefundSession/").max(255),
  payment_id: z.string().min(1).max(191),
  amount: decimal,
  currency: z.string().length(3),
  test: z.boolean().optional(),
  merchant_locale: z.string().optional(),
  proposed_at: z.string().optional(),
}).passthrough();

export type PaymentSessionRequest = z.infer<typeof paymentSessionRequest>;

export async function startPaymentSession(
  deps: BridgeDeps,
  options: ShopifyOptions,
  appUrl: string,
  shop: string,
  request: PaymentSessionRequest,
): Promise<{ redirectUrl: string; replayed: boolean } | { busy: true }> {
  const installed = await findInstalledShop(deps, shop);
  if (!installed) throw new ApiError("not_found", "This shop has not installed the app.");
  const currency = parseCurrency(request.currency);
  const parsed = currency ? parseDecimalAmount(request.amount, currency) : undefined;
  if (!currency || !parsed?.ok || parsed.minor <= 0n) throw new ApiError("validation_failed", "The amount or currency is not valid.");
  if (request.kind !== "sale") throw new ApiError("validation_failed", "Only sale payment sessions are supported (crypto payments cannot be authorized and captured later).");

  const db = shopifyDb(deps.db.kysely);
  const nowMs = deps.clock().getTime();
  try {
    await db.insertInto("shopify_payment_sessions").values({
      id: request.id, shop, gid: request.gid, state: "creating", session_id: null, amount: request.amount, currency,
      test: request.test ? 1 : 0, cancel_url: request.payment_method.data.cancel_url, next_redirect_url: null, created_at: nowMs, updated_at: nowMs,
    }).execute();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const row = await db.selectFrom("shopify_payment_sessions").selectAll().where("id", "=", request.id).executeTakeFirstOrThrow();
    if (row.shop !== shop) throw new ApiError("validation_failed", "This payment session id belongs to another shop.");
    if (row.session_id) return { redirectUrl: `${deps.config.PUBLIC_URL}/pay/${row.session_id}`, replayed: true };
    return { busy: true };
  }

  const livemode = (options.livemode ?? true) && !request.test;
  const provider = await pickProvider(deps, installed.store_id, livemode);
  try {
    if (!provider) throw new ApiError("provider_not_connected", "The shop's store has no provider connection.");
    const session = await createCheckoutSession(deps, {
      store: { storeId: installed.store_id, livemode, defaultProvider: provider },
      input: {
        order: { id: request.id, ...(request.group ? { number: request.group.slice(0, 191) } : {}) },
        currency,
        lineItems: [{ name: "Shopify checkout", quantity: 1, unitAmount: request.amount }],
        amount: request.amount,
        ...(request.customer?.email ? { customer: { email: request.customer.email } } : {}),
        metadata: { shopify_shop: shop, shopify_route: "payments_app", shopify_payment_session_id: request.id },
        successUrl: `${appUrl}/shopify/payments/return/${encodeURIComponent(request.id)}`,
        cancelUrl: request.payment_method.data.cancel_url,
        provider,
      },
      // Shopify's payment session id is its own idempotency key: a retried create reaches the same platform session.
      idempotencyKey: `shopify:payments:${shop}:${request.id}`,
    });
    await db.updateTable("shopify_payment_sessions").set({ state: "open", session_id: session.id, updated_at: deps.clock().getTime() })
      .where("id", "=", request.id).execute();
    return { redirectUrl: `${deps.config.PUBLIC_URL}/pay/${session.id}`, replayed: false };
  } catch (err) {
    // Shopify retries a failed request with the same id: let that retry start afresh.
    await db.deleteFrom("shopify_payment_sessions").where("id", "=", request.id).where("session_id", "is", null).execute();
    throw err;
  }
}

/** Shopify recommends a pending payment session expire within three days; confirmations take minutes to hours. */
export const pendingWindowMs = 3 * 24 * 3600_000;

type PaymentRow = Pick<ShopifyPaymentSessionsTable, "id" | "gid" | "state" | "next_redirect_url">;

/**
 * The buyer has paid and the payment is confirming: `paymentSessionPending` lets Shopify place the order as
 * payment-pending and gives the URL to send the buyer to (instead of keeping them on a page that reloads until
 * the chain confirms). The payment session is later resolved or rejected as usual. Returns that URL.
 */
export async function markPaymentPending(db: Kysely<ShopifyDatabase>, session: Session, row: PaymentRow, now: Date): Promise<string | undefined> {
  if (row.state !== "open") return row.next_redirect_url ?? undefined;
  const data = await paymentsAppsGraphql<{ paymentSessionPending: PaymentSessionPayload }>(session, paymentSessionPendingMutation, {
    id: row.gid,
    pendingExpiresAt: new Date(now.getTime() + pendingWindowMs).toISOString(),
    // Waiting for the network's confirmations.
    reason: "NETWORK_ACTION_REQUIRED",
  });
  const result = data.paymentSessionPending;
  if (result.userErrors.length) throw new ShopifyRequestError(`paymentSessionPending: ${result.userErrors.map((e) => e.message).join("; ")}`, false);
  const redirect = result.paymentSession?.nextAction?.context.redirectUrl ?? null;
  await db.updateTable("shopify_payment_sessions").set({ state: "pending", next_redirect_url: redirect, updated_at: now.getTime() })
    .where("id", "=", row.id).where("state", "=", "open").execute();
  return redirect ?? undefined;
}

/**
 * The buyer is back from the pay page before the bridge told Shopify anything: if the payment is already seen
 * (confirming or settled), mark the session pending now and return Shopify's next URL; otherwise undefined.
 */
export async function pendingOnReturn(deps: BridgeDeps, row: ShopifyPaymentSessionsTable): Promise<string | undefined> {
  if (row.state !== "open" || !row.session_id) return undefined;
  const checkout = await deps.db.kysely.selectFrom("checkout_sessions").select("status").where("id", "=", row.session_id).executeTakeFirst();
  const status = checkout?.status as SessionStatus | undefined;
  if (!status || !(status === "processing" || isSettledPaid(status))) return undefined;
  return withShopifyFetch(deps.storeFetch, async () => {
    const session = await loadOfflineSession(deps, row.shop);
    return session ? markPaymentPending(shopifyDb(deps.db.kysely), session, row, deps.clock()) : undefined;
  });
}

/** `pending`: Shopify could not be told yet; the route answers 5xx so that Shopify retries the request. */
export type RefundOutcome = "resolved" | "rejected" | "failed" | "pending";

/**
 * A refund request is checked against the payment it names (same shop, resolved, same currency, and with the
 * earlier refunds of that payment not more than was paid). Crypto refunds are paid out from the payment
 * platform, not by the bridge, so by default the request is rejected with a message telling the merchant so;
 * `paymentsRefunds: "resolve"` records it as an obligation and resolves it.
 */
export async function handleRefundSession(
  deps: BridgeDeps,
  options: ShopifyOptions,
  shop: string,
  request: z.infer<typeof refundSessionRequest>,
): Promise<RefundOutcome> {
  const db = shopifyDb(deps.db.kysely);
  const nowMs = deps.clock().getTime();
  const existing = await db.selectFrom("shopify_refund_sessions").selectAll().where("id", "=", request.id).executeTakeFirst();
  if (existing && existing.shop !== shop) throw new ApiError("validation_failed", "This refund session id belongs to another shop.");
  if (existing && existing.state !== "pending") return existing.state as RefundOutcome;
  if (!existing) {
    // Recorded before the check, so two refunds of one payment arriving together each count the other.
    try {
      await db.insertInto("shopify_refund_sessions").values({
        id: request.id, shop, gid: request.gid, payment_id: request.payment_id, amount: request.amount,
        currency: request.currency.toUpperCase(), state: "pending", note: null, created_at: nowMs, updated_at: nowMs,
      }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  const problem = await refundProblem(deps, shop, request);
  const resolve = !problem && options.paymentsRefunds === "resolve";
  const note = problem ?? (resolve
    ? "Refund accepted: pay it out to the buyer from the payment platform."
    : "Crypto payments are refunded from the payment platform's dashboard; Shopify's record was not changed.");

  const session = await loadOfflineSession(deps, shop);
  if (!session) return "pending";
  const answer = await withShopifyFetch(deps.storeFetch, async (): Promise<{ outcome: RefundOutcome; errors?: string }> => {
    const data = resolve
      ? (await paymentsAppsGraphql<{ refundSessionResolve: UserErrors }>(session, refundSessionResolveMutation, { id: request.gid })).refundSessionResolve
      : (await paymentsAppsGraphql<{ refundSessionReject: UserErrors }>(session, refundSessionRejectMutation, {
        id: request.gid,
        reason: { code: "PROCESSING_ERROR", merchantMessage: note },
      })).refundSessionReject;
    // Shopify refused the answer: the refund is not on record as resolved (nor counted against the payment).
    if (data.userErrors.length) return { outcome: "failed", errors: data.userErrors.map((e) => e.message).join("; ") };
    return { outcome: resolve ? "resolved" : "rejected" };
  }).catch((err: unknown): { outcome: RefundOutcome; errors?: string } => {
    deps.logger.warn("refund session answer failed; Shopify's retry will try again", { id: request.id, err });
    return { outcome: "pending" };
  });
  if (answer.errors) deps.logger.warn("Shopify refused the refund session answer", { id: request.id, errors: answer.errors });
  if (answer.outcome !== "pending") {
    await db.updateTable("shopify_refund_sessions")
      .set({ state: answer.outcome, note: answer.errors ? `${note} Shopify refused the answer: ${answer.errors}` : note, updated_at: deps.clock().getTime() })
      .where("id", "=", request.id).where("state", "=", "pending").execute();
  }
  return answer.outcome;
}

/** Why this refund must be rejected, or undefined when it may be resolved. */
async function refundProblem(deps: BridgeDeps, shop: string, request: z.infer<typeof refundSessionRequest>): Promise<string | undefined> {
  const db = shopifyDb(deps.db.kysely);
  const payment = await db.selectFrom("shopify_payment_sessions").selectAll().where("id", "=", request.payment_id).where("shop", "=", shop).executeTakeFirst();
  if (!payment || payment.state !== "resolved") return "No resolved crypto payment with this id.";
  if (payment.currency !== request.currency.toUpperCase()) return `The payment was in ${payment.currency}.`;
  const currency = parseCurrency(payment.currency);
  const minor = (amount: string) => {
    const parsed = currency ? parseDecimalAmount(amount, currency) : undefined;
    return parsed?.ok ? parsed.minor : undefined;
  };
  const refundMinor = minor(request.amount);
  const paidMinor = minor(payment.amount);
  if (refundMinor === undefined || paidMinor === undefined || refundMinor <= 0n) return "The refund amount is not valid.";
  // Refunds of this payment already resolved, or still being answered (they may yet be resolved).
  const others = await db.selectFrom("shopify_refund_sessions").select("amount").where("shop", "=", shop).where("payment_id", "=", request.payment_id)
    .where("id", "!=", request.id).where("state", "in", ["resolved", "pending"]).execute();
  let earlierMinor = 0n;
  for (const o of others) earlierMinor += minor(o.amount) ?? 0n;
  if (refundMinor + earlierMinor > paidMinor) {
    return `The refund amount exceeds the payment: ${request.amount} ${payment.currency} asked, ${payment.amount} paid, earlier refunds ${formatDecimalAmount(earlierMinor, currency!)}.`;
  }
  return undefined;
}
