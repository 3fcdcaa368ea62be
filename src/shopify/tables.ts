/** The Shopify tables (src/db/migrations/004_shopify.ts), typed for Kysely. */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";

export interface ShopifyShopsTable {
  shop: string;
  store_id: string;
  scope: string | null;
  installed_at: number;
  uninstalled_at: number | null;
  updated_at: number;
}

export interface ShopifySessionsTable {
  id: string;
  shop: string;
  is_online: number;
  session_enc: string;
  updated_at: number;
}

export interface ShopifyWebhooksTable {
  webhook_id: string;
  shop: string;
  topic: string;
  /** `processing` while a handler runs, `done` once it succeeded. */
  state: string;
  received_at: number;
  processed_at: number | null;
}

export type OrderRoute = "manual" | "payments_app";

export interface ShopifyOrderLinksTable {
  shop: string;
  /** Numeric Shopify order id (the tail of the gid). */
  order_id: string;
  route: OrderRoute;
  /** `creating` while the session is being made, `open` once it exists, `skipped` for orders that are not ours. */
  state: string;
  session_id: string | null;
  order_name: string | null;
  created_at: number;
  updated_at: number;
}

export interface ShopifyPaymentSessionsTable {
  id: string;
  shop: string;
  gid: string;
  /** `creating`, `open`, `pending` (paid, confirming: paymentSessionPending sent), `resolved`, `rejected`. */
  state: string;
  session_id: string | null;
  amount: string;
  currency: string;
  test: number;
  cancel_url: string;
  next_redirect_url: string | null;
  created_at: number;
  updated_at: number;
}

export interface ShopifyRefundSessionsTable {
  id: string;
  shop: string;
  gid: string;
  payment_id: string;
  amount: string;
  currency: string;
  /** `pending` until Shopify has been told, then `resolved`, `rejected`, or `failed` (Shopify refused the answer). */
  state: string;
  note: string | null;
  created_at: number;
  updated_at: number;
}

export interface ShopifyDatabase extends Database {
  shopify_shops: ShopifyShopsTable;
  shopify_sessions: ShopifySessionsTable;
  shopify_webhooks: ShopifyWebhooksTable;
  shopify_order_links: ShopifyOrderLinksTable;
  shopify_payment_sessions: ShopifyPaymentSessionsTable;
  shopify_refund_sessions: ShopifyRefundSessionsTable;
}

export function shopifyDb(kysely: Kysely<Database>): Kysely<ShopifyDatabase> {
  return kysely as unknown as Kysely<ShopifyDatabase>;
}
