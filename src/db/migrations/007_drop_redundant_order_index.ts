import type { Kysely } from "kysely";

/**
 * `checkout_sessions_order` (store_id, order_id) duplicates what `checkout_sessions_order_id` (order_id)
 * serves: every lookup by order names the order id, and an order id has a handful of sessions at most.
 * Each index is a write on the session-creation hot path, so the redundant one goes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // MySQL/MariaDB need the table; SQLite refuses it.
  await db.schema.dropIndex("checkout_sessions_order").on("checkout_sessions").execute()
    .catch(() => db.schema.dropIndex("checkout_sessions_order").ifExists().execute());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("checkout_sessions_order").on("checkout_sessions").columns(["store_id", "order_id"]).execute();
}
