/** Reading and presenting checkout sessions: shared by the API, the pipeline and the store updates. */
import type { Kysely } from "kysely";
import type { CartLine, HostedSessionView } from "../../plugins/types.ts";
import type { Database, SessionRow } from "../db/schema.ts";
import { currencyExponent, formatDecimalAmount, type CurrencyCode } from "../domain/money.ts";
import type { SessionStatus } from "../domain/session-status.ts";
import type { PublicCheckoutSession, PublicPayment } from "../stores/port.ts";

export interface StoredCart {
  lineItems: { name: string; quantity: number; unitAmountMinor: string; sku?: string; imageUrl?: string }[];
  shippingMinor: string;
  taxMinor: string;
  discountMinor: string;
}

export function cartLines(row: Pick<SessionRow, "cart_json">): CartLine[] {
  const cart = JSON.parse(row.cart_json) as StoredCart;
  return cart.lineItems.map((l) => ({
    name: l.name,
    quantity: l.quantity,
    unitAmountMinor: BigInt(l.unitAmountMinor),
    ...(l.sku ? { sku: l.sku } : {}),
    ...(l.imageUrl ? { imageUrl: l.imageUrl } : {}),
  }));
}

export async function loadPayments(db: Kysely<Database>, sessionId: string) {
  return db.selectFrom("payments").selectAll().where("session_id", "=", sessionId).orderBy("created_at").execute();
}

type PaymentRow = Awaited<ReturnType<typeof loadPayments>>[number];

/** A store's session as its API shows it, payments included; undefined when the store (in this mode) has none by that id. */
export async function loadPublicSession(
  db: Kysely<Database>,
  publicUrl: string,
  id: string,
  owner: { storeId: string; livemode: boolean },
): Promise<PublicCheckoutSession | undefined> {
  const row = await findStoreSessionRow(db, id, owner);
  return row ? toPublicSession(row, await loadPayments(db, row.id), publicUrl) : undefined;
}

/** A session of this store (in this mode) by id. */
export async function findStoreSessionRow(db: Kysely<Database>, id: string, owner: { storeId: string; livemode: boolean }) {
  return db.selectFrom("checkout_sessions").selectAll()
    .where("id", "=", id).where("store_id", "=", owner.storeId).where("livemode", "=", owner.livemode ? 1 : 0)
    .executeTakeFirst();
}

/**
 * The create's response, as it was when the session was created (open, nothing paid, no review): what an
 * Idempotency-Key replay answers, whatever happened to the session since (Stripe replays the first response
 * too; the current state is `GET /v1/checkout_sessions/{id}`).
 */
export function toCreatedResponse(row: SessionRow, publicUrl: string): PublicCheckoutSession {
  return toPublicSession({ ...row, status: "open", amount_paid_minor: "0", review_reason: null }, [], publicUrl);
}

export function toPublicPayment(p: PaymentRow): PublicPayment {
  const currency = p.currency ?? undefined;
  return {
    reference: p.reference,
    status: p.status,
    ...(p.amount_minor !== null && currency && currency.length === 3
      ? { amount: formatDecimalAmount(BigInt(p.amount_minor), currency as CurrencyCode) }
      : p.amount_minor !== null
        ? { amount: p.amount_minor }
        : {}),
    ...(currency ? { currency } : {}),
    ...(p.tx_hash ? { txHash: p.tx_hash } : {}),
    ...(p.chain_id ? { chainId: p.chain_id } : {}),
    ...(p.explorer_url ? { explorerUrl: p.explorer_url } : {}),
  };
}

export function toPublicSession(
  row: SessionRow,
  payments: PaymentRow[],
  publicUrl: string,
): PublicCheckoutSession {
  const currency = row.currency as CurrencyCode;
  return {
    id: row.id,
    object: "checkout_session",
    status: row.status as SessionStatus,
    checkoutUrl: `${publicUrl}/pay/${row.id}`,
    amount: formatDecimalAmount(BigInt(row.amount_minor), currency),
    amountPaid: formatDecimalAmount(BigInt(row.amount_paid_minor), currency),
    currency,
    order: {
      id: row.order_id,
      ...(row.order_number ? { number: row.order_number } : {}),
      ...(row.order_key ? { key: row.order_key } : {}),
    },
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    provider: row.provider,
    expiresAt: new Date(Number(row.expires_at)).toISOString(),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    livemode: row.livemode === 1,
    successUrl: row.success_url,
    cancelUrl: row.cancel_url,
    ...(row.customer_email ? { customer: { email: row.customer_email } } : {}),
    ...(row.review_reason ? { review: { reason: row.review_reason } } : {}),
    payments: payments.map(toPublicPayment),
  };
}

export function toHostedView(row: SessionRow): HostedSessionView {
  const currency = row.currency as CurrencyCode;
  return {
    id: row.id,
    connectionId: row.connection_id,
    providerSessionId: row.provider_session_id ?? "",
    status: row.status as SessionStatus,
    amountMinor: BigInt(row.amount_minor),
    currency,
    currencyExponent: currencyExponent(currency),
    lineItems: cartLines(row),
    orderId: row.order_id,
    ...(row.order_number ? { orderNumber: row.order_number } : {}),
    successUrl: row.success_url,
    cancelUrl: row.cancel_url,
    expiresAt: new Date(Number(row.expires_at)),
    livemode: row.livemode === 1,
    providerData: JSON.parse(row.provider_data_json) as Record<string, unknown>,
  };
}

/** Appends one line to a session's timeline. */
export async function recordSessionEvent(
  db: Kysely<Database>,
  entry: {
    sessionId: string;
    kind: string;
    source: string;
    fromStatus?: string | null;
    toStatus?: string | null;
    detail?: Record<string, unknown>;
    at: number;
  },
): Promise<void> {
  await db
    .insertInto("session_events")
    .values({
      session_id: entry.sessionId,
      kind: entry.kind,
      source: entry.source.slice(0, 255),
      from_status: entry.fromStatus ?? null,
      to_status: entry.toStatus ?? null,
      detail_json: JSON.stringify(entry.detail ?? {}, bigintReplacer),
      created_at: entry.at,
    })
    .execute();
}

export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** The timeline's first entry, derived from the session row itself (no separate write on creation). */
export function createdTimelineEntry(row: SessionRow) {
  return {
    kind: "created",
    source: "api",
    from_status: null,
    to_status: "open",
    created_at: Number(row.created_at),
    detail_json: JSON.stringify({
      providerSessionId: row.provider_session_id,
      amount: formatDecimalAmount(BigInt(row.amount_minor), row.currency as CurrencyCode),
      currency: row.currency,
    }),
  };
}
