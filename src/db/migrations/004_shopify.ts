import { sql, type Kysely } from "kysely";

/**
 * Tables owned by the Shopify app and store adapter.
 *
 * - `shopify_shops`: one row per installed shop, bound to the bridge store created for it.
 * - `shopify_sessions`: the library's sessions (offline tokens), the whole session sealed as JWE.
 * - `shopify_webhooks`: Shopify webhook ids already handled (Shopify retries and may deliver twice).
 * - `shopify_order_links`: the per-order lock: at most one bridge session per Shopify order, by primary key.
 * - `shopify_payment_sessions` / `shopify_refund_sessions`: Payments Apps API requests, keyed by Shopify's id.
 */
const longText = sql`mediumtext`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("shopify_shops")
    .addColumn("shop", "varchar(191)", (c) => c.primaryKey())
    .addColumn("store_id", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("scope", "varchar(1024)")
    .addColumn("installed_at", "bigint", (c) => c.notNull())
    .addColumn("uninstalled_at", "bigint")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("shopify_sessions")
    .addColumn("id", "varchar(191)", (c) => c.primaryKey())
    .addColumn("shop", "varchar(191)", (c) => c.notNull())
    .addColumn("is_online", "integer", (c) => c.notNull())
    .addColumn("session_enc", longText, (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("shopify_sessions_shop").on("shopify_sessions").column("shop").execute();

  await db.schema
    .createTable("shopify_webhooks")
    .addColumn("webhook_id", "varchar(191)", (c) => c.primaryKey())
    .addColumn("shop", "varchar(191)", (c) => c.notNull())
    .addColumn("topic", "varchar(64)", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addColumn("processed_at", "bigint")
    .execute();

  await db.schema
    .createTable("shopify_order_links")
    .addColumn("shop", "varchar(191)", (c) => c.notNull())
    .addColumn("order_id", "varchar(64)", (c) => c.notNull())
    .addColumn("route", "varchar(16)", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("session_id", "varchar(64)")
    .addColumn("order_name", "varchar(191)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("shopify_order_links_pk", ["shop", "order_id"])
    .execute();
  await db.schema.createIndex("shopify_order_links_session").on("shopify_order_links").column("session_id").execute();

  await db.schema
    .createTable("shopify_payment_sessions")
    .addColumn("id", "varchar(191)", (c) => c.primaryKey())
    .addColumn("shop", "varchar(191)", (c) => c.notNull())
    .addColumn("gid", "varchar(255)", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("session_id", "varchar(64)")
    .addColumn("amount", "varchar(40)", (c) => c.notNull())
    .addColumn("currency", "char(3)", (c) => c.notNull())
    .addColumn("test", "integer", (c) => c.notNull())
    .addColumn("cancel_url", "varchar(2048)", (c) => c.notNull())
    .addColumn("next_redirect_url", "varchar(2048)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("shopify_payment_sessions_session").on("shopify_payment_sessions").column("session_id").execute();

  await db.schema
    .createTable("shopify_refund_sessions")
    .addColumn("id", "varchar(191)", (c) => c.primaryKey())
    .addColumn("shop", "varchar(191)", (c) => c.notNull())
    .addColumn("gid", "varchar(255)", (c) => c.notNull())
    .addColumn("payment_id", "varchar(191)", (c) => c.notNull())
    .addColumn("amount", "varchar(40)", (c) => c.notNull())
    .addColumn("currency", "char(3)", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("note", "varchar(500)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["shopify_refund_sessions", "shopify_payment_sessions", "shopify_order_links", "shopify_webhooks", "shopify_sessions", "shopify_shops"]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
