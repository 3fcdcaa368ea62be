/**
 * Migration 005 (console tables and search indexes) goes up and down on both databases, and
 * migrateToLatest reports each migration as it finishes, not after all of them.
 */
import { afterEach, expect, it } from "vitest";
import { sql } from "kysely";
import { migrateToLatest, openDatabase, type Db } from "../../src/db/database.ts";
import * as m005 from "../../src/db/migrations/005_console.ts";
import * as m010 from "../../src/db/migrations/010_order_sessions_newest_first.ts";
import { describeEachDatabase, type TestDatabase } from "../support/databases.ts";

describeEachDatabase("migration 005_console", (makeDb) => {
  let db: Db | undefined;
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it("creates console_operators and can be rolled back and reapplied", async () => {
    testDb = await makeDb();
    db = openDatabase(testDb.url);
    await migrateToLatest(db);
    const count = async () => Number((await sql<{ n: number }>`select count(*) as n from console_operators`.execute(db!.kysely)).rows[0]!.n);
    expect(await count()).toBe(0);
    // 010 replaced 005's order index: roll back in order, as the migrator would.
    await m010.down(db.kysely);
    await m005.down(db.kysely);
    await expect(count()).rejects.toThrow();
    await m005.up(db.kysely);
    await m010.up(db.kysely);
    expect(await count()).toBe(0);
  });

  it("reports progress between migrations, each while only the ones before it are applied", async () => {
    testDb = await makeDb();
    db = openDatabase(testDb.url);
    const applied = async () => Number((await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(db!.kysely)).rows[0]!.n);
    const seen: Array<[string, number, number, number]> = [];
    const report = await migrateToLatest(db, async (name, index, total) => {
      seen.push([name, index, total, await applied()]);
    });
    expect(report.applied.length).toBeGreaterThan(1);
    expect(seen.map(([name]) => name)).toEqual(report.applied);
    // Replaying after the work would see every migration already applied at the first event.
    expect(seen.map(([, index, total, inDb]) => [index, total, inDb])).toEqual(
      report.applied.map((_, i) => [i + 1, report.applied.length, i + 1]),
    );
    expect((await migrateToLatest(db)).applied).toEqual([]);
  });
});
