import type { Kysely } from "kysely";

/**
 * Tables owned by the merchant console (dashboard). Times are epoch ms.
 * `session_epoch` is part of every console session token: bumping it (a new password) signs everyone out.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("console_operators")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("username", "varchar(100)", (c) => c.notNull().unique())
    // `scrypt$N$r$p$salt$hash`, base64url parts.
    .addColumn("password_hash", "varchar(255)", (c) => c.notNull())
    .addColumn("session_epoch", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("last_login_at", "bigint")
    .execute();

  // The console's session search looks sessions up by order id/number and email across stores.
  await db.schema.createIndex("checkout_sessions_order_id").on("checkout_sessions").column("order_id").execute();
  await db.schema.createIndex("checkout_sessions_order_number").on("checkout_sessions").column("order_number").execute();
  await db.schema.createIndex("checkout_sessions_email").on("checkout_sessions").column("customer_email").execute();
  // A session's timeline reads its connection's webhook events from the session's creation on.
  await db.schema.createIndex("webhook_events_connection_time").on("webhook_events").columns(["connection_id", "received_at"]).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  const indexes = [
    ["webhook_events_connection_time", "webhook_events"],
    ["checkout_sessions_email", "checkout_sessions"],
    ["checkout_sessions_order_number", "checkout_sessions"],
    ["checkout_sessions_order_id", "checkout_sessions"],
  ] as const;
  for (const [index, table] of indexes) {
    // MySQL/MariaDB need the table; SQLite refuses it.
    await db.schema.dropIndex(index).on(table).execute().catch(() => db.schema.dropIndex(index).ifExists().execute());
  }
  await db.schema.dropTable("console_operators").ifExists().execute();
}
