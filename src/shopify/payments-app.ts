/**
 * The Payments Apps route (Shopify payments partners): Shopify POSTs a payment session, the bridge creates
 * its checkout session and answers `redirect_url`; the outcome is reported back with
 * `paymentSessionResolve` / `paymentSessionReject` by the store adapter. Refund sessions are acknowledged
 * and resolved or rejected. Both are idempotent by Shopify's `id`, under a primary key.
 */
import { z } from "zod";
import type { BridgeDeps } from "../deps.ts";
import { parseCurrency, parseDecimalAmount } from "../domain/money.ts";
import { ApiError } from "../http/errors.ts";
import { createCheckoutSession } from "../usecases/create-checkout-session.ts";
import { isUniqueViolation } from "../usecases/webhooks.ts";
import { paymentsAppsGraphql, withShopifyFetch, type ShopifyOptions } from "./api.ts";
import { refundSessionRejectMutation, refundSessionResolveMutation, type UserErrors } from "./documents.ts";
import { pickProvider } from "./orders.ts";
import { findInstalledShop, loadOfflineSession } from "./shops.ts";
import { shopifyDb } from "./tables.ts";

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

export type RefundOutcome = "resolved" | "rejected" | "pending";

/**
 * A refund request is checked against the payment it names (same shop, resolved, same currency, not more than
 * was paid). Crypto refunds are paid out from the payment platform, not by the bridge, so by default the
 * request is rejected with a message telling the merchant so; `paymentsRefunds: "resolve"` records it as
 * an obligation and resolves it.
 */
export async function handleRefundSession(
  deps: BridgeDeps,
  options: ShopifyOptions,
  shop: string,
  request: z.infer<typeof refundSessionRequest>,
): Promise<RefundOutcome> {
  const db = shopifyDb(deps.db.kysely);
  const nowMs = deps.clock().getTime();
  let row = await db.selectFrom("shopify_refund_sessions").selectAll().where("id", "=", request.id).executeTakeFirst();
  if (row && row.shop !== shop) throw new ApiError("validation_failed", "This refund session id belongs to another shop.");
  if (row && row.state !== "pending") return row.state as RefundOutcome;

  const payment = await db.selectFrom("shopify_payment_sessions").selectAll().where("id", "=", request.payment_id).where("shop", "=", shop).executeTakeFirst();
  const currency = parseCurrency(request.currency);
  const refundMinor = currency ? parseDecimalAmount(request.amount, currency) : undefined;
  const paidMinor = currency && payment ? parseDecimalAmount(payment.amount, currency) : undefined;
  let problem: string | undefined;
  if (!payment || payment.state !== "resolved") problem = "No resolved crypto payment with this id.";
  else if (payment.currency !== request.currency.toUpperCase()) problem = `The payment was in ${payment.currency}.`;
  else if (!refundMinor?.ok || !paidMinor?.ok || refundMinor.minor <= 0n || refundMinor.minor > paidMinor.minor) problem = "The refund amount exceeds the payment.";
  const resolve = !problem && options.paymentsRefunds === "resolve";
  const note = problem ?? (resolve
    ? "Refund accepted: pay it out to the buyer from the payment platform."
    : "Crypto payments are refunded from the payment platform's dashboard; Shopify's record was not changed.");

  if (!row) {
    try {
      await db.insertInto("shopify_refund_sessions").values({
        id: request.id, shop, gid: request.gid, payment_id: request.payment_id, amount: request.amount,
        currency: request.currency.toUpperCase(), state: "pending", note, created_at: nowMs, updated_at: nowMs,
      }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    row = await db.selectFrom("shopify_refund_sessions").selectAll().where("id", "=", request.id).executeTakeFirstOrThrow();
  }

  const session = await loadOfflineSession(deps, shop);
  if (!session) return "pending";
  const outcome = await withShopifyFetch(deps.storeFetch, async () => {
    if (resolve) {
      const data = await paymentsAppsGraphql<{ refundSessionResolve: UserErrors }>(session, refundSessionResolveMutation, { id: request.gid });
      if (data.refundSessionResolve.userErrors.length) deps.logger.warn("refundSessionResolve refused", { errors: data.refundSessionResolve.userErrors });
      return "resolved" as const;
    }
    const data = await paymentsAppsGraphql<{ refundSessionReject: UserErrors }>(session, refundSessionRejectMutation, {
      id: request.gid,
      reason: { code: "PROCESSING_ERROR", merchantMessage: note },
    });
    if (data.refundSessionReject.userErrors.length) deps.logger.warn("refundSessionReject refused", { errors: data.refundSessionReject.userErrors });
    return "rejected" as const;
  }).catch((err: unknown) => {
    deps.logger.warn("refund session answer failed; Shopify's retry will try again", { id: request.id, err });
    return "pending" as const;
  });
  if (outcome !== "pending") {
    await db.updateTable("shopify_refund_sessions").set({ state: outcome, updated_at: deps.clock().getTime() }).where("id", "=", request.id).execute();
  }
  return outcome;
}
