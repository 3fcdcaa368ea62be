import type { Kysely } from "kysely";

/**
 * At most one store update per session may be in flight. Two updates of one session delivered at once (a
 * batch holding both `expired` and `paid_late`, or two processes each claiming one) reach the store in any
 * order, and the store could cancel an order that was just paid. `inflight_session_id` holds the session id
 * while a job is `delivering` and is NULL otherwise; its unique index makes a second claim on the same
 * session fail in the database itself, on both dialects and across processes (several NULLs are allowed).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("store_updates").addColumn("inflight_session_id", "varchar(64)").execute();
  await db.schema.createIndex("store_updates_one_inflight").on("store_updates").column("inflight_session_id").unique().execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("store_updates_one_inflight").on("store_updates").execute()
    .catch(() => db.schema.dropIndex("store_updates_one_inflight").ifExists().execute());
  await db.schema.alterTable("store_updates").dropColumn("inflight_session_id").execute();
}
