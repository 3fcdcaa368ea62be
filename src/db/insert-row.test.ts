import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { isUniqueViolation } from "../usecases/webhooks.ts";
import { migrateToLatest, openDatabase, type Db } from "./database.ts";
import { insertRow } from "./insert-row.ts";

describeEachDatabase("insertRow", (makeDb) => {
  let testDb: TestDatabase;
  let db: Db;
  beforeEach(async () => {
    testDb = await makeDb();
    db = openDatabase(testDb.url);
    await migrateToLatest(db);
  });
  afterEach(async () => {
    await db.close();
    await testDb.drop();
  });

  const rejection = (id: string, overrides: Record<string, unknown> = {}) => ({
    id, provider: "sandbox", connection_id: null, reason: "bad_signature", headers_json: "{}",
    raw_body_excerpt: "{\"é\":1}", received_at: 1_700_000_000_000, ...overrides,
  });
  const stored = () => db.kysely.selectFrom("webhook_rejections").selectAll().orderBy("id").execute();

  it("compiles a row shape once and stores every row of it with its own values", async () => {
    const compile = vi.spyOn(db.kysely, "insertInto");
    await insertRow(db.kysely, "webhook_rejections", rejection("whr_1"));
    await insertRow(db.kysely, "webhook_rejections", rejection("whr_2", { connection_id: "conn_2", reason: "stale_timestamp", received_at: 2 }));
    await insertRow(db.kysely, "webhook_rejections", rejection("whr_3", { raw_body_excerpt: "" }));
    expect(compile).toHaveBeenCalledTimes(1);
    const rows = await stored();
    expect(rows.map((r) => [r.id, r.connection_id, r.reason, r.raw_body_excerpt, Number(r.received_at)])).toEqual([
      ["whr_1", null, "bad_signature", "{\"é\":1}", 1_700_000_000_000],
      ["whr_2", "conn_2", "stale_timestamp", "{\"é\":1}", 2],
      ["whr_3", null, "bad_signature", "", 1_700_000_000_000],
    ]);
  });

  it("leaves out undefined columns as kysely does, as another shape", async () => {
    const compile = vi.spyOn(db.kysely, "insertInto");
    await insertRow(db.kysely, "webhook_rejections", rejection("whr_1"));
    await insertRow(db.kysely, "webhook_rejections", rejection("whr_2", { connection_id: undefined }));
    expect(compile).toHaveBeenCalledTimes(2);
    expect((await stored()).map((r) => r.connection_id)).toEqual([null, null]);
  });

  it("reports a duplicate key as the database's unique violation", async () => {
    await insertRow(db.kysely, "webhook_rejections", rejection("whr_1"));
    const duplicate = await insertRow(db.kysely, "webhook_rejections", rejection("whr_1")).catch((err: unknown) => err);
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(await stored()).toHaveLength(1);
  });
});
