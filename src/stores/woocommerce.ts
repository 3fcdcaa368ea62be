/**
 * The `woocommerce` store adapter: writes session outcomes into WooCommerce orders through its REST API
 * (`wc/v3`), so no webhook ever has to reach WordPress.
 *
 * WooCommerce's `set_paid` only calls `payment_complete()` while the order still needs payment
 * (pending/failed); on an on-hold or auto-cancelled order it is silently ignored. So every write starts by
 * re-reading the order and picks the step that WooCommerce will really act on; a cancelled order that is
 * paid late is first put back to pending, then completed. Notes carry `[cartbridge:<update id>]`, and a
 * note whose tag is already on the order is not written again, so a retried job never double-notes, and
 * status writes are decided from the re-read order, so it never double-completes.
 */
import type { Agent as HttpsAgent } from "node:https";
import WooCommerceRestApiModule from "@woocommerce/woocommerce-rest-api";
import { z } from "zod";
import { assertNever, type SessionStatus } from "../domain/session-status.ts";
import { formatDecimalAmount, parseCurrency, parseDecimalAmount } from "../domain/money.ts";
import type { DeliveryResult, PublicCheckoutSession, StoreAdapter, StoreUpdate } from "./port.ts";

export const woocommerceCredentials = z.object({
  /** The shop's home URL, e.g. https://shop.example (as WordPress' "Site Address"). */
  url: z.url({ protocol: /^https?$/ }),
  /** Missing until the merchant connects (wc-auth) or pastes keys; updates wait and retry meanwhile. */
  consumerKey: z.string().startsWith("ck_").optional(),
  consumerSecret: z.string().startsWith("cs_").optional(),
  keyId: z.number().int().optional(),
  keyPermissions: z.enum(["read", "write", "read_write"]).optional(),
  /** Over HTTPS, send the keys as query parameters: for servers that strip the Authorization header. */
  queryStringAuth: z.boolean().optional(),
  connectedVia: z.enum(["wc-auth", "pasted"]).optional(),
  /** The last check of pasted keys against the shop (one authenticated `GET orders?per_page=1`). */
  lastCheck: z.object({ ok: z.boolean(), at: z.string(), error: z.string().optional() }).optional(),
});
export type WooCommerceCredentials = z.infer<typeof woocommerceCredentials>;

/** Order meta written by the plugin (session of the current attempt) and by this adapter. */
export const orderMeta = {
  sessionId: "_cartbridge_session_id",
  status: "_cartbridge_status",
  amountPaid: "_cartbridge_amount_paid",
  payments: "_cartbridge_payments",
  /** The session whose payment completed the order; a later payment from another session is a second payment. */
  paidSession: "_cartbridge_paid_session",
} as const;

export interface WooOrder {
  id: number;
  number?: string;
  order_key?: string;
  status: string;
  currency: string;
  total: string;
  transaction_id?: string;
  /** The gateway id the buyer chose (the plugin's is `gatewayId`). */
  payment_method?: string;
  meta_data?: { id?: number; key: string; value: unknown }[];
}

export interface WooNote {
  id: number;
  note: string;
}

/** The four calls the adapter makes; backed by @woocommerce/woocommerce-rest-api. */
export interface WooOrdersApi {
  getOrder(id: string): Promise<WooOrder>;
  updateOrder(id: string, body: Record<string, unknown>): Promise<WooOrder>;
  listNotes(id: string): Promise<WooNote[]>;
  addNote(id: string, note: string): Promise<void>;
}

export class WooApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly excerpt: string,
  ) {
    super(message);
  }
}

// The package's CJS build exports `{ default: Class }`; under ESM the default import is that object (issue #66).
type WooClientCtor = new (opts: Record<string, unknown>) => {
  get(endpoint: string, params?: Record<string, unknown>): Promise<{ data: unknown }>;
  put(endpoint: string, data: unknown): Promise<{ data: unknown }>;
  post(endpoint: string, data: unknown): Promise<{ data: unknown }>;
};
const WooCommerceRestApi = ((WooCommerceRestApiModule as unknown as { default?: WooClientCtor }).default ??
  WooCommerceRestApiModule) as unknown as WooClientCtor;

export interface WooClientOptions {
  timeoutMs: number;
  /** Trust settings for HTTPS stores (tests: a self-signed certificate's CA). */
  httpsAgent?: HttpsAgent;
}

function wooClient(credentials: WooCommerceCredentials, options: WooClientOptions) {
  if (!credentials.consumerKey || !credentials.consumerSecret) throw new Error("store is not connected: no REST API keys yet");
  return new WooCommerceRestApi({
    url: credentials.url,
    consumerKey: credentials.consumerKey,
    consumerSecret: credentials.consumerSecret,
    version: "wc/v3",
    queryStringAuth: credentials.queryStringAuth ?? false,
    timeout: options.timeoutMs,
    // Spread last over the library's request options: must not carry headers or params (they would drop auth).
    axiosConfig: { maxRedirects: 0, ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}) },
  });
}

async function call<T>(what: string, run: () => Promise<{ data: unknown }>): Promise<T> {
  try {
    return (await run()).data as T;
  } catch (err) {
    const e = err as { response?: { status?: number; data?: unknown }; message?: string; code?: string };
    const status = e.response?.status;
    const excerpt = e.response?.data === undefined ? "" : JSON.stringify(e.response.data).slice(0, 500);
    throw new WooApiError(`${what}: ${status ? `store answered ${status}` : `request failed (${e.code ?? e.message})`}`, status, excerpt);
  }
}

/**
 * Checks keys before they are stored: one authenticated read (`GET orders?per_page=1`) proves the URL, the
 * keys and the auth mode; then a write that cannot change anything (`PUT orders/0` with an empty body) proves
 * the key may write. WooCommerce checks a key's permission before it routes a request
 * (WC_REST_Authentication: 401 "does not have write permissions" for a Read key), so a Read/Write key gets
 * past it to the order lookup, which answers "Invalid ID." (400 from the orders controller, 404 in some
 * versions and in our simulator: both mean the write was allowed). Without the probe a read-only key passed
 * the check and failed on the first paid order.
 */
export async function checkWooCredentials(
  credentials: WooCommerceCredentials,
  options: WooClientOptions,
): Promise<{ ok: true } | { ok: false; failed: "read" | "write"; error: WooApiError }> {
  const asWooError = (err: unknown) => (err instanceof WooApiError ? err : new WooApiError((err as Error).message, undefined, ""));
  let client;
  try {
    client = wooClient(credentials, options);
    await call("list orders", () => client!.get("orders", { per_page: 1 }));
  } catch (err) {
    return { ok: false, failed: "read", error: asWooError(err) };
  }
  try {
    await call("update order 0 (write check)", () => client!.put("orders/0", {}));
  } catch (err) {
    const error = asWooError(err);
    // 401/403: the key (or something in front of the shop) refused the write. Anything else got past it.
    if (error.status === 401 || error.status === 403) return { ok: false, failed: "write", error };
  }
  return { ok: true };
}

export function createWooOrdersApi(credentials: WooCommerceCredentials, options: WooClientOptions): WooOrdersApi {
  const client = wooClient(credentials, options);
  const path = (id: string) => `orders/${encodeURIComponent(id)}`;
  return {
    getOrder: (id) => call("read order", () => client.get(path(id))),
    updateOrder: (id, body) => call("update order", () => client.put(path(id), body)),
    listNotes: (id) => call("read notes", () => client.get(`${path(id)}/notes`)),
    addNote: async (id, note) => {
      await call("add note", () => client.post(`${path(id)}/notes`, { note, customer_note: false }));
    },
  };
}

/** The plugin's gateway id (`Cartbridge_Plugin::GATEWAY_ID` in wordpress-plugin/). */
export const gatewayId = "cartbridge";

const paidOrderStatuses = new Set(["processing", "completed"]);
const unpaidOrderStatuses = new Set(["pending", "failed"]);

export function noteTag(updateId: string): string {
  return `[cartbridge:${updateId}]`;
}

function metaValue(order: WooOrder, key: string): unknown {
  return order.meta_data?.find((m) => m.key === key)?.value;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "Tx 0xabc… (explorer link)" for each payment, as HTML that WooCommerce keeps in order notes. */
function describePayments(session: PublicCheckoutSession): string {
  const lines = session.payments.map((p) => {
    const amount = p.amount ? `${p.amount} ${p.currency ?? session.currency}` : "";
    const hash = p.txHash ?? p.reference;
    const tx = p.explorerUrl ? `<a href="${escapeHtml(p.explorerUrl)}" target="_blank" rel="noopener">${escapeHtml(hash)}</a>` : escapeHtml(hash);
    return `${amount ? `${escapeHtml(amount)} — ` : ""}tx ${tx}${p.chainId ? ` (chain ${escapeHtml(p.chainId)})` : ""}`;
  });
  return lines.length ? `\n${lines.join("\n")}` : "";
}

function transactionIdOf(session: PublicCheckoutSession): string {
  const last = session.payments.at(-1);
  return last?.txHash ?? last?.reference ?? session.id;
}

/** amount − paid, in the session currency; undefined when the amounts cannot be parsed. */
function missingAmount(session: PublicCheckoutSession): string | undefined {
  const currency = parseCurrency(session.currency);
  if (!currency) return undefined;
  const expected = parseDecimalAmount(session.amount, currency);
  const paid = parseDecimalAmount(session.amountPaid, currency);
  if (!expected.ok || !paid.ok) return undefined;
  return formatDecimalAmount(expected.minor > paid.minor ? expected.minor - paid.minor : 0n, currency);
}

/** Whether the order total (maybe edited since) is more than the session asked for. */
function orderTotalExceedsSession(order: WooOrder, session: PublicCheckoutSession): boolean {
  const currency = parseCurrency(session.currency);
  if (!currency || order.currency.toUpperCase() !== session.currency.toUpperCase()) return true;
  const total = parseDecimalAmount(String(order.total), currency);
  const paid = parseDecimalAmount(session.amountPaid, currency);
  return !total.ok || !paid.ok || total.minor > paid.minor;
}

/**
 * The order meta the admin screen shows: status, amount paid, transactions with explorer links; with
 * `paid`, also this session as the one that paid the order.
 */
function paymentMeta(session: PublicCheckoutSession, paid = false): { key: string; value: string }[] {
  return [
    ...(paid ? [{ key: orderMeta.paidSession, value: session.id }] : []),
    { key: orderMeta.status, value: session.status },
    { key: orderMeta.amountPaid, value: `${session.amountPaid} ${session.currency}` },
    {
      key: orderMeta.payments,
      value: JSON.stringify(session.payments.map((p) => ({
        reference: p.reference,
        status: p.status,
        amount: p.amount,
        currency: p.currency,
        txHash: p.txHash,
        chainId: p.chainId,
        explorerUrl: p.explorerUrl,
      }))),
    },
  ];
}

type Plan = { kind: "paid"; headline: string } | { kind: "underpaid" } | { kind: "unpaid_end"; targetStatus: "cancelled" | "failed"; headline: string } | { kind: "note_only"; headline: string } | { kind: "nothing" };

function planFor(status: SessionStatus, session: PublicCheckoutSession): Plan {
  const money = `${session.amountPaid} ${session.currency}`;
  switch (status) {
    case "paid":
      return { kind: "paid", headline: `Crypto payment of ${money} received` };
    case "paid_late":
      return { kind: "paid", headline: `Crypto payment of ${money} received after the checkout session had expired (paid late)` };
    case "overpaid":
      return { kind: "paid", headline: `Crypto payment of ${money} received: overpaid (${session.amount} ${session.currency} was due); the excess may need refunding` };
    case "underpaid":
      return { kind: "underpaid" };
    case "expired":
      return { kind: "unpaid_end", targetStatus: "cancelled", headline: "Crypto checkout session expired without payment" };
    case "canceled":
      return { kind: "unpaid_end", targetStatus: "cancelled", headline: "Crypto checkout session was canceled" };
    case "failed":
      return { kind: "unpaid_end", targetStatus: "failed", headline: "Crypto payment failed" };
    case "processing":
      return { kind: "note_only", headline: `Crypto payment detected, waiting for confirmation (${session.provider})` };
    case "open":
      return { kind: "nothing" };
    default:
      return assertNever(status, "session status");
  }
}

export interface ApplyResult {
  /** What was done, for the delivery log. */
  actions: string[];
}

/** Applies one update to its order. Idempotent: decides from the re-read order and the notes already there. */
export async function applyUpdateToOrder(api: WooOrdersApi, update: StoreUpdate): Promise<ApplyResult> {
  const session = update.session;
  const orderId = session.order.id;
  const actions: string[] = [];
  const order = await api.getOrder(orderId);
  if (session.order.key && order.order_key && order.order_key !== session.order.key) {
    throw new OrderMismatchError(`order ${orderId} has another order key than session ${session.id}: not this store's order`);
  }
  const tag = noteTag(update.id);
  const notes = await api.listNotes(orderId);
  const alreadyNoted = notes.some((n) => n.note.includes(tag));
  const footer = `\nSession ${session.id} via ${session.provider}${session.livemode ? "" : " (test mode)"}. ${tag}`;
  const note = async (text: string) => {
    if (alreadyNoted) return;
    await api.addNote(orderId, `Cartbridge: ${text}${footer}`);
    actions.push("note");
  };
  const currentSession = metaValue(order, orderMeta.sessionId);
  const plan = planFor(session.status, session);

  switch (plan.kind) {
    case "nothing":
      return { actions };
    case "note_only":
      await note(plan.headline + describePayments(session));
      return { actions };
    case "paid": {
      const transactionId = transactionIdOf(session);
      const paidSession = metaValue(order, orderMeta.paidSession);
      const paidBy = typeof paidSession === "string" && paidSession ? paidSession : undefined;
      // Orders paid before the paid-session meta existed: a paid order with another transaction, from a
      // session that is not the order's current one, was paid by someone else.
      const secondPayment = paidBy !== undefined
        ? paidBy !== session.id
        : paidOrderStatuses.has(order.status) && !!order.transaction_id && order.transaction_id !== transactionId && currentSession !== session.id;
      if (secondPayment) {
        // The first payment's record (meta, transaction id) stays: it is what the order was paid with.
        // This money arrived on top of it, so a person must decide whether to refund it.
        await note(`second payment — refund review. ${plan.headline}, but the order was already paid${paidBy ? ` by session ${paidBy}` : ""}${order.transaction_id ? ` (transaction ${order.transaction_id})` : ""}. The order was left ${order.status}; check whether this payment must be refunded.${describePayments(session)}`);
        return { actions };
      }
      if (orderTotalExceedsSession(order, session) && !paidOrderStatuses.has(order.status)) {
        // The order was edited (or is in another currency) after the session: the money does not cover it.
        if (order.status !== "on-hold") {
          await api.updateOrder(orderId, { status: "on-hold", transaction_id: transactionId, meta_data: paymentMeta(session) });
          actions.push("on-hold");
        }
        await note(`${plan.headline}, but the order total is now ${order.total} ${order.currency}; left on hold for review.${describePayments(session)}`);
        return { actions };
      }
      let extra = "";
      if (paidOrderStatuses.has(order.status)) {
        // Already paid by this session (an earlier delivery, or paid then overpaid): record, never complete twice.
        if (!order.transaction_id) await api.updateOrder(orderId, { transaction_id: transactionId, meta_data: paymentMeta(session, true) });
        else await api.updateOrder(orderId, { meta_data: paymentMeta(session, true) });
      } else if (unpaidOrderStatuses.has(order.status)) {
        await api.updateOrder(orderId, { set_paid: true, transaction_id: transactionId, meta_data: paymentMeta(session, true) });
        actions.push("payment_complete");
      } else if (order.status === "cancelled" || order.status === "on-hold") {
        // set_paid is ignored here; bring the order back to pending so payment_complete() really runs
        // (status, date_paid, stock, the "payment complete" emails and hooks).
        await api.updateOrder(orderId, { status: "pending" });
        await api.updateOrder(orderId, { set_paid: true, transaction_id: transactionId, meta_data: paymentMeta(session, true) });
        actions.push(`reopened_${order.status}`, "payment_complete");
        extra = order.status === "cancelled"
          ? " The order had been cancelled (e.g. by WooCommerce's hold-stock timer) and was reopened and marked paid; check stock."
          : "";
      } else {
        // refunded, trash, or a custom status: a person must decide.
        await api.updateOrder(orderId, { meta_data: paymentMeta(session) });
        extra = ` The order is ${order.status}, so its status was not changed; please review.`;
      }
      const verify = await api.getOrder(orderId);
      if (!paidOrderStatuses.has(verify.status) && (unpaidOrderStatuses.has(order.status) || order.status === "cancelled" || order.status === "on-hold")) {
        throw new WooApiError(`order ${orderId} is still ${verify.status} after marking it paid`, undefined, "");
      }
      await note(`${plan.headline}.${extra}${describePayments(session)}`);
      return { actions };
    }
    case "underpaid": {
      const missing = missingAmount(session);
      // Without a parseable amount say so in words: never "part USD is missing".
      const shortfall = `Crypto payment of ${session.amountPaid} ${session.currency} received, but ${session.amount} ${session.currency} was due: ${missing ? `${missing} ${session.currency} is missing` : "part of the amount is missing"}.`;
      if (paidOrderStatuses.has(order.status)) {
        await note(`${shortfall} The order is already ${order.status} and was left as is.${describePayments(session)}`);
        return { actions };
      }
      let outcome = "The order is on hold; ask the buyer to pay the rest or refund.";
      if (order.status !== "on-hold" && (unpaidOrderStatuses.has(order.status) || order.status === "cancelled")) {
        await api.updateOrder(orderId, { status: "on-hold", meta_data: paymentMeta(session) });
        if (order.status === "cancelled") {
          actions.push("reopened_cancelled");
          outcome = "The order had been cancelled (e.g. by WooCommerce's hold-stock timer) and was reopened and put on hold; check stock, then ask the buyer to pay the rest or refund.";
        }
        actions.push("on-hold");
      } else {
        await api.updateOrder(orderId, { meta_data: paymentMeta(session) });
      }
      await note(`${shortfall} ${outcome}${describePayments(session)}`);
      return { actions };
    }
    case "unpaid_end": {
      if (order.payment_method !== gatewayId) {
        // The buyer switched to another gateway (maybe mid-payment there): ending our session must not cancel it.
        await note(`${plan.headline}; the order's payment method is now ${order.payment_method ? `"${order.payment_method}"` : "another one"}, so it was left ${order.status}.`);
        return { actions };
      }
      if (currentSession !== session.id) {
        await note(`${plan.headline}; the order's current session is ${typeof currentSession === "string" && currentSession ? currentSession : "another one"}, so the order was left ${order.status}.`);
        return { actions };
      }
      if (!unpaidOrderStatuses.has(order.status)) {
        await note(`${plan.headline}; the order is ${order.status}, so it was left as is.`);
        return { actions };
      }
      if (order.status !== plan.targetStatus) {
        await api.updateOrder(orderId, { status: plan.targetStatus, meta_data: [{ key: orderMeta.status, value: session.status }] });
        actions.push(plan.targetStatus);
      }
      await note(`${plan.headline}; the order was ${plan.targetStatus === "cancelled" ? "cancelled" : "marked failed"}.`);
      return { actions };
    }
    default:
      return assertNever(plan, "plan");
  }
}

export class OrderMismatchError extends Error {}

export function createWooCommerceStoreAdapter(options: { httpsAgent?: HttpsAgent } = {}): StoreAdapter<WooCommerceCredentials> {
  return {
    platform: "woocommerce",
    credentialsSchema: woocommerceCredentials,
    async deliver(update, ctx): Promise<DeliveryResult> {
      if (!ctx.credentials.consumerKey || !ctx.credentials.consumerSecret) {
        return { ok: false, retryable: true, error: "store not connected yet: no WooCommerce REST API keys (connect it from the plugin)" };
      }
      const api = createWooOrdersApi(ctx.credentials, { timeoutMs: ctx.timeoutMs, ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}) });
      try {
        const result = await applyUpdateToOrder(api, update);
        return { ok: true, responseStatus: 200, responseExcerpt: `order ${update.session.order.id}: ${result.actions.join(", ") || "no change"}` };
      } catch (err) {
        if (err instanceof OrderMismatchError) return { ok: false, retryable: false, error: err.message };
        if (err instanceof WooApiError) {
          // A deleted order will not come back; keys, rate limits, outages and timeouts may.
          const retryable = err.status !== 404 && err.status !== 400;
          return {
            ok: false,
            retryable,
            error: err.message,
            ...(err.status ? { responseStatus: err.status } : {}),
            ...(err.excerpt ? { responseExcerpt: err.excerpt } : {}),
          };
        }
        return { ok: false, retryable: true, error: `woocommerce update failed: ${(err as Error).message}` };
      }
    },
  };
}

export const woocommerceStoreAdapter = createWooCommerceStoreAdapter();
