/**
 * A kysely dialect for a SQLite file that commits concurrent writes together (group commit), the way
 * InnoDB and PostgreSQL do, while every write is still durable (`synchronous = FULL`) before its promise
 * resolves.
 *
 * Why: better-sqlite3 runs on the event loop, and an autocommitted write is one fsync. On a cloud disk an
 * fsync takes 2–10 ms and sometimes hundreds; at a few hundred writes a second the process spends its time
 * blocked in fsync and every request queues behind it. Here the writes issued in one turn of the event loop
 * share one transaction and one fsync: under load a batch holds the requests that arrived during the
 * previous fsync, at low load it holds one write and costs what an autocommit did.
 *
 * How:
 * - Two connections to the file. The writer holds the open batch (`BEGIN IMMEDIATE`, committed from
 *   `setImmediate`); a query-only reader answers plain reads. The reader sees committed data only, so a read
 *   never returns a row that a failed commit could still take back, and it never waits for an fsync.
 * - A plain write runs at once in the batch and resolves when the batch's COMMIT has returned. If it fails
 *   (a unique key, say), it also waits for that commit first, so the row it collided with is readable when
 *   the caller looks for it.
 * - A kysely transaction is a SAVEPOINT in the batch and holds the writer alone until it ends (plain writes
 *   wait for it; plain reads do not). Its commit resolves when the batch is durable; a rollback undoes its own
 *   writes only.
 * - If SQLite rolls the whole batch back (I/O error, full disk, a RAISE(ROLLBACK)), every write of the batch
 *   is rejected: none of them is stored.
 *
 * `kysely.connection()` does not reserve the database here (nothing in the bridge relies on it; the
 * migrator's SQLite lock is a no-op either way): use a transaction for exclusive work.
 */
import type SQLite from "better-sqlite3";
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from "kysely";

export interface GroupCommitStats {
  /** COMMITs that succeeded. */
  commits: number;
  /** Plain writes and transactions those commits carried. */
  committedWrites: number;
  /** Batches SQLite rolled back as a whole (their writes were all rejected). */
  lostBatches: number;
}

interface Batch {
  writes: number;
  durable: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Two connections to one file, opened with the same pragmas; the reader is made query-only here. */
export class GroupCommitSqliteDialect implements Dialect {
  readonly #driver: GroupCommitSqliteDriver;
  constructor(options: { writer: SQLite.Database; reader: SQLite.Database; lockWaitMs?: number }) {
    this.#driver = new GroupCommitSqliteDriver(options.writer, options.reader, options.lockWaitMs ?? 10_000);
  }
  get stats(): Readonly<GroupCommitStats> {
    return this.#driver.stats;
  }
  createDriver(): Driver {
    return this.#driver;
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}

const transactionSavepoint = "cartbridge_tx";
/** Statements are prepared once per SQL text; a bound keeps ad-hoc raw SQL from growing the cache. */
const statementCacheLimit = 500;

export class GroupCommitSqliteDriver implements Driver {
  readonly stats: GroupCommitStats = { commits: 0, committedWrites: 0, lostBatches: 0 };
  #batch: Batch | undefined;
  #lockWait: Promise<Batch> | undefined;
  #flushScheduled = false;
  /** The connection whose transaction holds the writer, and who waits for it. */
  #transactionOwner: GroupCommitConnection | undefined;
  #transactionEnded: Promise<void> = Promise.resolve();
  #endTransaction: () => void = () => {};
  readonly #writerStatements = new Map<string, SQLite.Statement>();
  readonly #readerStatements = new Map<string, SQLite.Statement>();
  #closed = false;

  constructor(
    readonly writer: SQLite.Database,
    readonly reader: SQLite.Database,
    /** How long a batch waits for another connection's write lock before the write fails with SQLITE_BUSY. */
    readonly lockWaitMs: number,
  ) {
    reader.pragma("query_only = ON");
    // The writer never sleeps in SQLite's busy handler: see #joinBatch.
    writer.pragma("busy_timeout = 0");
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new GroupCommitConnection(this);
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const owner = connection as GroupCommitConnection;
    while (this.#transactionOwner) await this.#transactionEnded;
    this.#transactionOwner = owner;
    this.#transactionEnded = new Promise((resolve) => (this.#endTransaction = resolve));
    try {
      const joined = this.#joinBatch();
      const batch = joined instanceof Promise ? await joined : joined;
      this.writer.exec(`SAVEPOINT ${transactionSavepoint}`);
      batch.writes++;
    } catch (err) {
      this.#releaseTransaction();
      throw err;
    }
  }

  async commitTransaction(): Promise<void> {
    const batch = this.#batch;
    try {
      if (!batch || !this.writer.inTransaction) throw batchLostError();
      this.writer.exec(`RELEASE ${transactionSavepoint}`);
    } finally {
      this.#releaseTransaction();
    }
    await batch.durable;
  }

  async rollbackTransaction(): Promise<void> {
    try {
      if (this.writer.inTransaction) {
        this.writer.exec(`ROLLBACK TO ${transactionSavepoint}`);
        this.writer.exec(`RELEASE ${transactionSavepoint}`);
        if (this.#batch) this.#batch.writes--;
      }
    } finally {
      this.#releaseTransaction();
    }
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteName(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to ${quoteName(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release ${quoteName(name)}`));
  }

  async destroy(): Promise<void> {
    if (this.#closed) return;
    while (this.#transactionOwner) await this.#transactionEnded;
    this.#flush();
    this.#closed = true;
    this.#writerStatements.clear();
    this.#readerStatements.clear();
    this.reader.close();
    this.writer.close();
  }

  /** A statement outside any transaction: reads go to the reader, writes join the batch. */
  async executePlain(query: CompiledQuery): Promise<QueryResult<unknown>> {
    const probe = this.#probe(query.sql);
    if (probe) return run(probe, query);
    let batch: Batch | undefined;
    // Statements run synchronously once the writer is free and a batch is open; waiting for either can let the
    // other change, so both are checked again after every wait.
    while (this.#transactionOwner || !batch || batch !== this.#batch) {
      if (this.#transactionOwner) await this.#transactionEnded;
      else {
        const joined = this.#joinBatch();
        batch = joined instanceof Promise ? await joined : joined;
      }
    }
    let result: QueryResult<unknown>;
    try {
      result = run(this.#prepare(this.writer, this.#writerStatements, query.sql), query);
    } catch (err) {
      if (!this.writer.inTransaction) this.#loseBatch(err);
      // Let the rows this write collided with become readable before the caller goes looking for them.
      await batch.durable.catch(() => {});
      throw err;
    }
    batch.writes++;
    await batch.durable;
    return result;
  }

  /** A statement inside the owner's transaction: on the writer, inside the savepoint. */
  executeInTransaction(query: CompiledQuery): QueryResult<unknown> {
    if (!this.writer.inTransaction) throw batchLostError();
    try {
      return run(this.#prepare(this.writer, this.#writerStatements, query.sql), query);
    } catch (err) {
      if (!this.writer.inTransaction) this.#loseBatch(err);
      throw err;
    }
  }

  isTransactionOwner(connection: GroupCommitConnection): boolean {
    return this.#transactionOwner === connection;
  }

  /**
   * The batch to join: the open one, or a new one (BEGIN IMMEDIATE). Synchronous when the lock is free, so
   * statements keep the order they were issued in. Another connection's write lock (another process, or a
   * second Db on the same file in this one) is waited for with timers, never in SQLite's busy handler: that
   * would block the event loop, and with it the flush that lets a second Db of this process release the lock.
   * Whoever arrives while a wait is on queues behind it.
   */
  #joinBatch(): Batch | Promise<Batch> {
    if (this.#closed) throw new Error("The database is closed.");
    if (this.#batch) return this.#batch;
    if (this.#lockWait) return this.#lockWait;
    const begun = this.#begin();
    if (begun instanceof Error) {
      this.#lockWait = this.#waitForLock(begun).finally(() => (this.#lockWait = undefined));
      return this.#lockWait;
    }
    return begun;
  }

  async #waitForLock(busy: Error): Promise<Batch> {
    const deadline = Date.now() + this.lockWaitMs;
    for (let delayMs = 1; Date.now() < deadline; delayMs = Math.min(delayMs * 2, 50)) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (this.#closed) throw new Error("The database is closed.");
      const begun = this.#begin();
      if (!(begun instanceof Error)) return begun;
      busy = begun;
    }
    throw busy;
  }

  /** BEGIN IMMEDIATE and a new batch, or the SQLITE_BUSY error when another connection holds the lock. */
  #begin(): Batch | Error {
    try {
      this.writer.exec("BEGIN IMMEDIATE");
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_BUSY") return err as Error;
      throw err;
    }
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const durable = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    // A batch nobody waits on (its only transaction rolled back) must not be an unhandled rejection.
    durable.catch(() => {});
    this.#batch = { writes: 0, durable, resolve, reject };
    this.#scheduleFlush();
    return this.#batch;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Commits the open batch, unless a transaction still holds it (its end schedules the flush again). */
  #flush(): void {
    const batch = this.#batch;
    if (!batch || this.#transactionOwner) return;
    this.#batch = undefined;
    try {
      this.writer.exec("COMMIT");
    } catch (err) {
      if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
      this.stats.lostBatches++;
      batch.reject(err);
      return;
    }
    this.stats.commits++;
    this.stats.committedWrites += batch.writes;
    batch.resolve();
  }

  /** SQLite rolled the batch back by itself: nothing of it is stored, and every write of it must say so. */
  #loseBatch(cause: unknown): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = undefined;
    this.stats.lostBatches++;
    batch.reject(batchLostError(cause));
  }

  #releaseTransaction(): void {
    this.#transactionOwner = undefined;
    this.#endTransaction();
    if (this.#batch) this.#scheduleFlush();
  }

  /** The reader's statement when the SQL only reads; undefined for a write (or SQL the reader cannot compile). */
  #probe(sql: string): SQLite.Statement | undefined {
    let stmt: SQLite.Statement;
    try {
      stmt = this.#prepare(this.reader, this.#readerStatements, sql);
    } catch {
      return undefined;
    }
    return stmt.readonly ? stmt : undefined;
  }

  #prepare(db: SQLite.Database, cache: Map<string, SQLite.Statement>, sql: string): SQLite.Statement {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (cache.size >= statementCacheLimit) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  }
}

class GroupCommitConnection implements DatabaseConnection {
  constructor(private readonly driver: GroupCommitSqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.driver.isTransactionOwner(this)) return this.driver.executeInTransaction(query) as QueryResult<R>;
    return (await this.driver.executePlain(query)) as QueryResult<R>;
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming is not supported by the group-commit SQLite driver.");
  }
}

function run(stmt: SQLite.Statement, query: CompiledQuery): QueryResult<unknown> {
  const parameters = query.parameters as unknown[];
  if (stmt.reader) return { rows: stmt.all(parameters) };
  const { changes, lastInsertRowid } = stmt.run(parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function batchLostError(cause?: unknown): Error {
  return new Error("SQLite rolled back the batch this write belonged to; it was not stored.", { cause });
}
