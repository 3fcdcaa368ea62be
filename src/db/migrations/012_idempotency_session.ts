import type { Kysely } from "kysely";

/**
 * An Idempotency-Key claim names the session it creates (its id is derived from the claim, see
 * outboundIdentity), so the stored session row is the claim's completion: a keyed create writes the claim
 * and the session, and no third write to store the response. A replay renders the session as it was created.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("idempotency_keys").addColumn("session_id", "varchar(64)").execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("idempotency_keys").dropColumn("session_id").execute();
}
