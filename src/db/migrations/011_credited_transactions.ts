import type { Kysely } from "kysely";

/**
 * One transaction on an account-based chain pays one session. The on-chain step refuses a hash that already
 * paid another session, but that is a read: two webhooks naming one transaction, processed at the same moment
 * by two bridge processes, could both pass it. This table, written in the crediting transaction, makes the
 * second credit fail on its primary key instead. (Bitcoin transactions, which may pay several invoices at
 * once, and the EVM watcher's own credits, unique per log, are not entered.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("credited_transactions")
    .addColumn("chain_id", "varchar(32)", (c) => c.notNull())
    .addColumn("tx_hash", "varchar(191)", (c) => c.notNull())
    .addColumn("session_id", "varchar(64)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("credited_transactions_pk", ["chain_id", "tx_hash"])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("credited_transactions").execute();
}
