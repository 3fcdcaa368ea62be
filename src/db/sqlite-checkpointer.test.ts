import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { openDatabase } from "./database.ts";

it("SQLite: checkpoints happen in the worker thread, so the WAL is folded into the database file without a commit doing it", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "cartbridge-ckpt-")), "db.sqlite");
  const db = openDatabase(`sqlite:${file}`);
  await sql`create table t (id integer primary key, body text not null)`.execute(db.kysely);
  const autocheckpoint = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db.kysely);
  expect(autocheckpoint.rows[0]!.wal_autocheckpoint).toBe(0);
  // ~2,000 pages of WAL: past the 1,000 at which SQLite would checkpoint inside a commit.
  const body = "x".repeat(4000);
  for (let i = 0; i < 2000; i++) await sql`insert into t (body) values (${body})`.execute(db.kysely);
  // No commit checkpoints (the pragma above), so only the worker can have moved the 8 MB into the file.
  const deadline = Date.now() + 10_000;
  while (statSync(file).size < 8_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(statSync(file).size).toBeGreaterThanOrEqual(8_000_000);
  await db.close();
  await db.close(); // a second close returns at once
});
