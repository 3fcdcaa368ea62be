import { sql, type Kysely } from "kysely";

/** Long text that may exceed MySQL's 64 KiB TEXT; SQLite reads the type name as TEXT affinity. */
const longText = sql`mediumtext`;
const id = "varchar(64)";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("stores")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("platform", "varchar(32)", (c) => c.notNull())
    .addColumn("default_provider", "varchar(64)")
    .addColumn("credentials_enc", longText)
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("store_id", id, (c) => c.notNull())
    .addColumn("key_hash", "char(64)", (c) => c.notNull().unique())
    .addColumn("key_prefix", "varchar(32)", (c) => c.notNull())
    .addColumn("livemode", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();
  await db.schema.createIndex("api_keys_store").on("api_keys").column("store_id").execute();

  await db.schema
    .createTable("provider_connections")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("store_id", id, (c) => c.notNull())
    .addColumn("provider", "varchar(64)", (c) => c.notNull())
    .addColumn("livemode", "integer", (c) => c.notNull())
    .addColumn("credentials_enc", longText, (c) => c.notNull())
    .addColumn("settings_json", longText, (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("disabled_at", "bigint")
    .execute();
  await db.schema
    .createIndex("provider_connections_store")
    .on("provider_connections")
    .columns(["store_id", "provider"])
    .execute();

  await db.schema
    .createTable("checkout_sessions")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("store_id", id, (c) => c.notNull())
    .addColumn("connection_id", id, (c) => c.notNull())
    .addColumn("provider", "varchar(64)", (c) => c.notNull())
    .addColumn("livemode", "integer", (c) => c.notNull())
    .addColumn("status", "varchar(32)", (c) => c.notNull())
    .addColumn("currency", "char(3)", (c) => c.notNull())
    .addColumn("amount_minor", "varchar(40)", (c) => c.notNull())
    .addColumn("amount_paid_minor", "varchar(40)", (c) => c.notNull())
    .addColumn("order_id", "varchar(191)", (c) => c.notNull())
    .addColumn("order_number", "varchar(191)")
    .addColumn("order_key", "varchar(191)")
    .addColumn("customer_email", "varchar(320)")
    .addColumn("cart_json", longText, (c) => c.notNull())
    .addColumn("metadata_json", longText, (c) => c.notNull())
    .addColumn("success_url", "varchar(2048)", (c) => c.notNull())
    .addColumn("cancel_url", "varchar(2048)", (c) => c.notNull())
    .addColumn("provider_session_id", "varchar(191)")
    .addColumn("provider_checkout_url", "varchar(2048)")
    .addColumn("provider_data_json", longText, (c) => c.notNull())
    .addColumn("review_reason", "varchar(500)")
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("provider_checked_at", "bigint")
    .execute();
  await db.schema
    .createIndex("checkout_sessions_order")
    .on("checkout_sessions")
    .columns(["store_id", "order_id"])
    .execute();
  await db.schema
    .createIndex("checkout_sessions_provider_ref")
    .on("checkout_sessions")
    .columns(["connection_id", "provider_session_id"])
    .execute();
  await db.schema
    .createIndex("checkout_sessions_status")
    .on("checkout_sessions")
    .columns(["status", "expires_at"])
    .execute();
  await db.schema
    .createIndex("checkout_sessions_created")
    .on("checkout_sessions")
    .column("created_at")
    .execute();

  await db.schema
    .createTable("payments")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("session_id", id, (c) => c.notNull())
    .addColumn("reference", "varchar(191)", (c) => c.notNull())
    .addColumn("status", "varchar(32)", (c) => c.notNull())
    .addColumn("amount_minor", "varchar(80)")
    .addColumn("currency", "varchar(16)")
    .addColumn("tx_hash", "varchar(191)")
    .addColumn("chain_id", "varchar(32)")
    .addColumn("explorer_url", "varchar(2048)")
    .addColumn("details_json", longText, (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("payments_session_reference", ["session_id", "reference"])
    .execute();
  await db.schema.createIndex("payments_tx").on("payments").column("tx_hash").execute();

  await db.schema
    .createTable("webhook_events")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("provider", "varchar(64)", (c) => c.notNull())
    .addColumn("connection_id", id, (c) => c.notNull())
    .addColumn("event_id", "varchar(191)", (c) => c.notNull())
    .addColumn("status", "varchar(32)", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
    .addColumn("claimed_until", "bigint")
    .addColumn("claim_owner", "varchar(32)")
    .addColumn("headers_json", longText, (c) => c.notNull())
    .addColumn("raw_body", longText, (c) => c.notNull())
    .addColumn("normalized_json", longText, (c) => c.notNull())
    .addColumn("result_note", "varchar(1000)")
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addColumn("processed_at", "bigint")
    .addUniqueConstraint("webhook_events_dedupe", ["provider", "connection_id", "event_id"])
    .execute();
  await db.schema
    .createIndex("webhook_events_pending")
    .on("webhook_events")
    .columns(["status", "next_attempt_at"])
    .execute();

  await db.schema
    .createTable("webhook_rejections")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("provider", "varchar(64)", (c) => c.notNull())
    .addColumn("connection_id", id)
    .addColumn("reason", "varchar(500)", (c) => c.notNull())
    .addColumn("headers_json", longText, (c) => c.notNull())
    .addColumn("raw_body_excerpt", longText, (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("session_events")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("session_id", id, (c) => c.notNull())
    .addColumn("kind", "varchar(64)", (c) => c.notNull())
    .addColumn("from_status", "varchar(32)")
    .addColumn("to_status", "varchar(32)")
    .addColumn("source", "varchar(255)", (c) => c.notNull())
    .addColumn("detail_json", longText, (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("session_events_session")
    .on("session_events")
    .column("session_id")
    .execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("store_id", id, (c) => c.notNull())
    .addColumn("idem_key", "varchar(255)", (c) => c.notNull())
    .addColumn("request_hash", "char(64)", (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("response_body", longText)
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("locked_until", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["store_id", "idem_key"])
    .execute();
  await db.schema
    .createIndex("idempotency_keys_created")
    .on("idempotency_keys")
    .column("created_at")
    .execute();

  await db.schema
    .createTable("store_updates")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("store_id", id, (c) => c.notNull())
    .addColumn("session_id", id, (c) => c.notNull())
    .addColumn("event_type", "varchar(64)", (c) => c.notNull())
    .addColumn("dedupe_key", "varchar(128)", (c) => c.notNull())
    .addColumn("payload_json", longText, (c) => c.notNull())
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
    .addColumn("lease_owner", "varchar(64)")
    .addColumn("lease_until", "bigint")
    .addColumn("last_error", "varchar(1000)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("delivered_at", "bigint")
    .addUniqueConstraint("store_updates_once", ["session_id", "dedupe_key"])
    .execute();
  await db.schema
    .createIndex("store_updates_due")
    .on("store_updates")
    .columns(["state", "next_attempt_at"])
    .execute();
  await db.schema
    .createIndex("store_updates_lease")
    .on("store_updates")
    .columns(["state", "lease_until"])
    .execute();

  await db.schema
    .createTable("store_update_attempts")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("update_id", id, (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("worker", "varchar(64)", (c) => c.notNull())
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("finished_at", "bigint", (c) => c.notNull())
    .addColumn("outcome", "varchar(32)", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("response_excerpt", "varchar(2000)")
    .addColumn("error", "varchar(1000)")
    .execute();
  await db.schema
    .createIndex("store_update_attempts_update")
    .on("store_update_attempts")
    .column("update_id")
    .execute();

  await db.schema
    .createTable("worker_leases")
    .addColumn("name", "varchar(128)", (c) => c.primaryKey())
    .addColumn("owner", "varchar(64)", (c) => c.notNull())
    .addColumn("lease_until", "bigint", (c) => c.notNull())
    .addColumn("cursor_json", longText, (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    "worker_leases",
    "store_update_attempts",
    "store_updates",
    "idempotency_keys",
    "session_events",
    "webhook_rejections",
    "webhook_events",
    "payments",
    "checkout_sessions",
    "provider_connections",
    "api_keys",
    "stores",
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
