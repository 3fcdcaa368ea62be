import type { Kysely } from "kysely";

/**
 * Tables owned by the WooCommerce store adapter.
 *
 * `woocommerce_connect_requests`: one row per "Connect to bridge" click. Its random token is the `user_id`
 * WooCommerce's `/wc-auth/v1/authorize` echoes back in the key callback; only its SHA-256 is stored, it
 * expires, and it is spent by the first callback, so nobody else can attach keys to a store.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("woocommerce_connect_requests")
    .addColumn("token_hash", "char(64)", (c) => c.primaryKey())
    .addColumn("store_id", "varchar(64)", (c) => c.notNull())
    .addColumn("store_url", "varchar(2048)", (c) => c.notNull())
    .addColumn("return_url", "varchar(2048)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("used_at", "bigint")
    .addColumn("outcome", "varchar(32)")
    .execute();
  await db.schema.createIndex("woocommerce_connect_requests_store").on("woocommerce_connect_requests").column("store_id").execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("woocommerce_connect_requests").ifExists().execute();
}
