import type { Kysely } from "kysely";

/**
 * A keyed create reads the newest session of (order, connection) to derive its identity (see
 * outboundIdentity). With only the `order_id` index that read visits every session the order ever had and
 * sorts them: an order retried many times, or a shop that sends one order id for everything, made each create
 * slower than the last (measured: 656 → 106 sessions/s on SQLite). This index answers it with one seek, and
 * its `order_id` prefix serves every lookup by order id the single-column index served, which therefore goes
 * (one index fewer to write on the hot path).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("checkout_sessions_order_newest")
    .on("checkout_sessions").columns(["order_id", "connection_id", "created_at", "id"]).execute();
  await db.schema.dropIndex("checkout_sessions_order_id").on("checkout_sessions").execute()
    .catch(() => db.schema.dropIndex("checkout_sessions_order_id").ifExists().execute());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("checkout_sessions_order_id").on("checkout_sessions").column("order_id").execute();
  await db.schema.dropIndex("checkout_sessions_order_newest").on("checkout_sessions").execute()
    .catch(() => db.schema.dropIndex("checkout_sessions_order_newest").ifExists().execute());
}
