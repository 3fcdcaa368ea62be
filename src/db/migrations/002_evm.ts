import { sql, type Kysely } from "kysely";

/** Tables owned by the EVM provider (plugins/evm). Times are epoch ms; token amounts decimal strings. */
const longText = sql`mediumtext`;
const id = "varchar(64)";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // One deposit address per session, derived from the merchant's xpub at `derivation_index`.
  await db.schema
    .createTable("evm_deposits")
    .addColumn("session_id", id, (c) => c.primaryKey())
    .addColumn("connection_id", id, (c) => c.notNull())
    .addColumn("xpub_id", "char(16)", (c) => c.notNull())
    .addColumn("derivation_index", "integer", (c) => c.notNull())
    .addColumn("chain_id", "varchar(32)", (c) => c.notNull())
    .addColumn("address", "varchar(42)", (c) => c.notNull())
    .addColumn("asset_kind", "varchar(16)", (c) => c.notNull())
    .addColumn("token_address", "varchar(42)")
    .addColumn("symbol", "varchar(32)", (c) => c.notNull())
    .addColumn("decimals", "integer", (c) => c.notNull())
    .addColumn("amount_due_units", "varchar(80)", (c) => c.notNull())
    .addColumn("fiat_currency", "char(3)", (c) => c.notNull())
    .addColumn("fiat_amount_minor", "varchar(40)", (c) => c.notNull())
    .addColumn("rate_json", longText, (c) => c.notNull())
    .addColumn("confirmations", "integer", (c) => c.notNull())
    .addColumn("from_block", "bigint")
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("watch_until", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("evm_deposits_index", ["xpub_id", "derivation_index"])
    .execute();
  await db.schema.createIndex("evm_deposits_watch").on("evm_deposits").columns(["chain_id", "watch_until"]).execute();
  await db.schema.createIndex("evm_deposits_address").on("evm_deposits").columns(["chain_id", "address"]).execute();

  // Every transfer to a deposit address, unique per (chain, tx, log index); native transfers use log index -1.
  await db.schema
    .createTable("evm_transfers")
    .addColumn("id", id, (c) => c.primaryKey())
    .addColumn("chain_id", "varchar(32)", (c) => c.notNull())
    .addColumn("tx_hash", "char(66)", (c) => c.notNull())
    .addColumn("log_index", "integer", (c) => c.notNull())
    .addColumn("session_id", id, (c) => c.notNull())
    .addColumn("to_address", "varchar(42)", (c) => c.notNull())
    .addColumn("token_address", "varchar(42)")
    .addColumn("amount_units", "varchar(80)", (c) => c.notNull())
    .addColumn("block_number", "bigint", (c) => c.notNull())
    .addColumn("block_hash", "char(66)", (c) => c.notNull())
    .addColumn("block_time", "bigint", (c) => c.notNull())
    // `seen` (counting confirmations) → `confirmed` (deep enough, block re-checked) → `credited` (applied
    // to the session); or `dropped` (reorged out)
    .addColumn("state", "varchar(16)", (c) => c.notNull())
    .addColumn("seen_at", "bigint", (c) => c.notNull())
    .addColumn("confirmed_at", "bigint")
    .addUniqueConstraint("evm_transfers_once", ["chain_id", "tx_hash", "log_index"])
    .execute();
  await db.schema.createIndex("evm_transfers_state").on("evm_transfers").columns(["chain_id", "state"]).execute();
  await db.schema.createIndex("evm_transfers_session").on("evm_transfers").column("session_id").execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("evm_transfers").ifExists().execute();
  await db.schema.dropTable("evm_deposits").ifExists().execute();
}
