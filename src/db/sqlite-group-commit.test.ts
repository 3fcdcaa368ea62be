import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteConnection, sqlitePragmas } from "./database.ts";
import { GroupCommitSqliteDialect } from "./sqlite-group-commit.ts";

interface Tables {
  items: { id: string; note: string | null };
  parents: { id: string };
  children: { id: string; parent_id: string };
}

// The driver is SQLite's own (MariaDB commits in groups by itself); every data-layer test of the bridge
// also runs through it, on SQLite, via openDatabase.
describe("group-commit SQLite driver", () => {
  let dir: string;
  let file: string;
  let dialect: GroupCommitSqliteDialect;
  let db: Kysely<Tables>;
  /** A third connection, outside the driver: what another process (or the disk after a crash) would see. */
  let outside: SQLite.Database;

  const open = () => openSqliteConnection(file);
  const storedIds = () => (outside.prepare("select id from items order by id").all() as { id: string }[]).map((r) => r.id);
  const insert = (id: string) => db.insertInto("items").values({ id, note: null }).execute();
  /** A promise the test resolves by hand, to hold a transaction open. */
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    return { opened, open };
  };
  const settled = async <T>(p: Promise<T>) => {
    const marker = Symbol("pending");
    return Promise.race([p.then(() => "resolved", () => "rejected"), new Promise((r) => setTimeout(() => r(marker), 30))]).then((v) =>
      v === marker ? "pending" : v,
    );
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "cartbridge-group-commit-"));
    file = join(dir, "db.sqlite");
    dialect = new GroupCommitSqliteDialect({ file, reader: open(), pragmas: sqlitePragmas });
    db = new Kysely<Tables>({ dialect });
    await sql`create table items (id text primary key, note text)`.execute(db);
    await sql`create table parents (id text primary key)`.execute(db);
    await sql`create table children (id text primary key, parent_id text not null references parents(id) deferrable initially deferred)`.execute(db);
    outside = open();
  });

  afterEach(async () => {
    outside.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes issued together share one commit, and each resolves only when another connection can read it", async () => {
    const before = { ...dialect.stats };
    const ids = Array.from({ length: 20 }, (_, i) => `w${String(i).padStart(2, "0")}`);
    const seenAtResolve = await Promise.all(ids.map((id) => insert(id).then(() => storedIds().includes(id))));
    expect(seenAtResolve).toEqual(ids.map(() => true));
    expect(dialect.stats.commits - before.commits).toBe(1);
    expect(dialect.stats.committedWrites - before.committedWrites).toBe(20);
  });

  it("a write issued alone is one commit, as an autocommit was", async () => {
    const before = dialect.stats.commits;
    await insert("a");
    await insert("b");
    expect(dialect.stats.commits - before).toBe(2);
    expect(storedIds()).toEqual(["a", "b"]);
  });

  it("a transaction's commit resolves only once it is durable, and the transaction holds the writer alone", async () => {
    const hold = gate();
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto("items").values({ id: "in-tx", note: null }).execute();
      // Inside the transaction its own write is visible.
      expect(await trx.selectFrom("items").select("id").where("id", "=", "in-tx").executeTakeFirst()).toEqual({ id: "in-tx" });
      await hold.opened;
    });
    await new Promise((r) => setTimeout(r, 10));
    // A plain read outside answers at once, from committed data: not the transaction's row.
    expect(await db.selectFrom("items").selectAll().execute()).toEqual([]);
    // A plain write waits for the transaction to end.
    const plain = insert("plain");
    expect(await settled(plain)).toBe("pending");
    expect(storedIds()).toEqual([]);
    hold.open();
    const committedWhenResolved = await tx.then(() => storedIds().includes("in-tx"));
    expect(committedWhenResolved).toBe(true);
    await plain;
    expect(storedIds()).toEqual(["in-tx", "plain"]);
  });

  it("a rolled-back transaction undoes its own writes only, not the batch's other writes", async () => {
    const [plainBefore, tx, plainAfter] = await Promise.allSettled([
      insert("plain-1"),
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: "tx-row", note: null }).execute();
        throw new Error("changed my mind");
      }),
      insert("plain-2"),
    ]);
    expect(plainBefore.status).toBe("fulfilled");
    expect(tx).toMatchObject({ status: "rejected", reason: { message: "changed my mind" } });
    expect(plainAfter.status).toBe("fulfilled");
    expect(storedIds()).toEqual(["plain-1", "plain-2"]);
  });

  it("a unique-key failure fails that write alone, and the row it collided with is readable when it rejects", async () => {
    const first = insert("dup");
    const second = insert("dup").then(
      () => "inserted twice",
      async (err: Error) => ({ code: (err as { code?: string }).code, existing: await db.selectFrom("items").select("id").execute() }),
    );
    await first;
    expect(await second).toEqual({ code: "SQLITE_CONSTRAINT_PRIMARYKEY", existing: [{ id: "dup" }] });
    expect(storedIds()).toEqual(["dup"]);
  });

  it("when SQLite rolls the whole batch back, every write of that batch is rejected and none is stored", async () => {
    await sql`create trigger refuse_boom before insert on items when new.id = 'boom' begin select raise(rollback, 'boom refused'); end`.execute(db);
    const lostBefore = dialect.stats.lostBatches;
    const [a, boom] = await Promise.allSettled([insert("a"), insert("boom")]);
    expect(a).toMatchObject({ status: "rejected", reason: { message: expect.stringContaining("not stored") } });
    expect(boom).toMatchObject({ status: "rejected", reason: { message: "boom refused" } });
    expect(dialect.stats.lostBatches - lostBefore).toBe(1);
    expect(storedIds()).toEqual([]);
    // The next write starts a new batch.
    await insert("after");
    expect(storedIds()).toEqual(["after"]);
  });

  it("a COMMIT that fails (a deferred foreign key) rejects every write of the batch and stores none", async () => {
    const results = await Promise.allSettled([
      insert("innocent"),
      db.insertInto("children").values({ id: "orphan", parent_id: "nobody" }).execute(),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(results[0]).toMatchObject({ reason: { code: "SQLITE_CONSTRAINT_FOREIGNKEY" } });
    expect(storedIds()).toEqual([]);
    expect(outside.prepare("select count(*) as n from children").get()).toEqual({ n: 0 });
    // The writer is usable again.
    await db.insertInto("parents").values({ id: "p" }).execute();
    await db.insertInto("children").values({ id: "c", parent_id: "p" }).execute();
    expect(outside.prepare("select id from children").all()).toEqual([{ id: "c" }]);
  });

  it("a write with RETURNING goes to the writer and returns its rows", async () => {
    const rows = await db.insertInto("items").values({ id: "r", note: "x" }).returning(["id", "note"]).execute();
    expect(rows).toEqual([{ id: "r", note: "x" }]);
    const updated = await db.updateTable("items").set({ note: "y" }).where("id", "=", "r").executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
    expect(outside.prepare("select note from items").get()).toEqual({ note: "y" });
  });

  it("savepoints inside a transaction roll back to where they were taken", async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto("items").values({ id: "kept", note: null }).execute();
    const sp = await trx.savepoint("inner").execute();
    await sp.insertInto("items").values({ id: "dropped", note: null }).execute();
    await sp.rollbackToSavepoint("inner").execute();
    await trx.commit().execute();
    expect(storedIds()).toEqual(["kept"]);
  });

  it("a second Db on the same file waits for the first one's write lock without blocking the event loop", async () => {
    const second = new GroupCommitSqliteDialect({ file, reader: open(), pragmas: sqlitePragmas, lockWaitMs: 2_000 });
    const other = new Kysely<Tables>({ dialect: second });
    try {
      const hold = gate();
      const tx = db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: "first", note: null }).execute();
        await hold.opened;
      });
      await new Promise((r) => setTimeout(r, 10));
      const waiting = other.insertInto("items").values({ id: "second", note: null }).execute();
      // Timers still fire while the second Db waits (SQLite's busy handler would have frozen the process).
      const ticks: number[] = [];
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => ticks.push(Date.now()) >= 5 && (clearInterval(timer), resolve()), 5);
      });
      expect(await settled(waiting)).toBe("pending");
      hold.open();
      await tx;
      await waiting;
      expect(storedIds()).toEqual(["first", "second"]);
    } finally {
      await other.destroy();
    }
  });

  it("a write lock held longer than the wait fails the write with SQLITE_BUSY", async () => {
    const second = new GroupCommitSqliteDialect({ file, reader: open(), pragmas: sqlitePragmas, lockWaitMs: 50 });
    const other = new Kysely<Tables>({ dialect: second });
    outside.exec("BEGIN IMMEDIATE");
    try {
      await expect(other.insertInto("items").values({ id: "x", note: null }).execute()).rejects.toMatchObject({ code: "SQLITE_BUSY" });
    } finally {
      outside.exec("ROLLBACK");
      await other.destroy();
    }
    expect(storedIds()).toEqual([]);
  });

  it("closing waits for an open transaction and commits it; writes after closing are refused", async () => {
    const hold = gate();
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto("items").values({ id: "last", note: null }).execute();
      await hold.opened;
    });
    await new Promise((r) => setTimeout(r, 10));
    const closing = db.destroy();
    expect(await settled(closing)).toBe("pending");
    hold.open();
    await tx;
    await closing;
    expect(storedIds()).toEqual(["last"]);
    await expect(insert("late")).rejects.toThrow();
    // afterEach destroys again: that must be harmless.
  });

  it("a writer thread that stops refuses every write from then on (nothing is acknowledged that was not committed); reads go on", async () => {
    await insert("before");
    // The worker cannot open its file: it stops at once, as it would on a crash.
    const broken = new GroupCommitSqliteDialect({ file: join(dir, "missing", "db.sqlite"), reader: open(), pragmas: sqlitePragmas });
    const other = new Kysely<Tables>({ dialect: broken });
    try {
      await expect(other.insertInto("items").values({ id: "lost", note: null }).execute()).rejects.toThrow(/writer thread stopped/);
      await expect(other.insertInto("items").values({ id: "later", note: null }).execute()).rejects.toThrow(/writer thread stopped/);
      expect(await other.selectFrom("items").select("id").execute()).toEqual([{ id: "before" }]);
    } finally {
      await other.destroy();
    }
    expect(storedIds()).toEqual(["before"]);
  });

  it("a slow write runs beside the event loop: timers fire and reads are answered while it runs", async () => {
    await insert("seed");
    // About a quarter of a second of SQLite's own work inside one INSERT (on the event loop it would freeze it).
    const slow = sql`insert into items (id, note) select 'slow', count(*) from (with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000000) select x from c)`.execute(db);
    const started = performance.now();
    let ticks = 0;
    const reads: string[][] = [];
    const timer = setInterval(() => {
      ticks++;
      void db.selectFrom("items").select("id").execute().then((rows) => reads.push(rows.map((r) => r.id)));
    }, 5);
    await slow;
    clearInterval(timer);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(60);
    expect(ticks).toBeGreaterThan(elapsed / 5 / 4);
    // The reads meanwhile saw the committed rows only.
    expect(reads.slice(0, 3)).toEqual([["seed"], ["seed"], ["seed"]]);
    expect(storedIds()).toEqual(["seed", "slow"]);
  });
});
