import type { Kysely } from "kysely";

/** The console lists rejected webhooks newest first, and pruning deletes by age: both read by time. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("webhook_rejections_time").on("webhook_rejections").column("received_at").execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("webhook_rejections_time").on("webhook_rejections").execute()
    .catch(() => db.schema.dropIndex("webhook_rejections_time").ifExists().execute());
}
