/**
 * A kysely dialect for a SQLite file that commits concurrent writes together (group commit), the way
 * InnoDB and PostgreSQL do, while every write is still durable (`synchronous = FULL`) before its promise
 * resolves, and whose writes never block the event loop.
 *
 * Why: better-sqlite3 is synchronous, and an autocommitted write is one fsync. On a cloud disk an fsync takes
 * 0.5–10 ms and sometimes hundreds; at a few hundred writes a second a process that commits on its event loop
 * spends a third of its time blocked in fsync (measured: 9.7 s of 26 s under the bench's load), and every
 * request, reads included, queues behind it. Here the writer connection lives in a worker thread
 * (sqlite-writer.worker.mjs) and the writes that reach it together share one transaction and one fsync: under
 * load a batch holds the writes that arrived during the previous fsync, at low load it holds one write and
 * costs what an autocommit did.
 *
 * How:
 * - Two connections to the file. The writer, in the worker, holds the open batch (`BEGIN IMMEDIATE`, committed
 *   from the worker's `setImmediate`); a query-only reader on the event loop answers plain reads. The reader
 *   sees committed data only, so a read never returns a row that a failed commit could still take back, and it
 *   never waits for an fsync.
 * - The writes issued in one turn of the event loop go to the worker in one message, in issue order.
 * - A plain write resolves when the batch's COMMIT has returned. If it fails (a unique key, say), it also
 *   waits for that commit first, so the row it collided with is readable when the caller looks for it.
 * - A kysely transaction is a SAVEPOINT in the batch and holds the writer alone until it ends (plain writes
 *   wait for it; plain reads do not); its statements, reads included, run on the writer. Its commit resolves
 *   when the batch is durable; a rollback undoes its own writes only.
 * - If SQLite rolls the whole batch back (I/O error, full disk, a RAISE(ROLLBACK)), every write of the batch
 *   is rejected: none of them is stored.
 * - Another connection's write lock (another process, a second Db on the file) is waited for in the worker, up
 *   to `lockWaitMs`, then the write fails with SQLITE_BUSY. If the worker itself fails, every write in flight
 *   and after is rejected (fail-stop: nothing is acknowledged that was not committed).
 *
 * `kysely.connection()` does not reserve the database here (nothing in the bridge relies on it; the
 * migrator's SQLite lock is a no-op either way): use a transaction for exclusive work.
 */
import { Worker } from "node:worker_threads";
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

export interface GroupCommitOptions {
  file: string;
  /** The query-only connection for plain reads, on the event loop. */
  reader: SQLite.Database;
  /** Run on the writer's connection when the worker opens it (the same as the reader's). */
  pragmas: readonly string[];
  /** How long a write waits for another connection's write lock before it fails with SQLITE_BUSY. */
  lockWaitMs?: number;
}

/** Two connections to one file: the reader is made query-only here, the writer is opened by the worker. */
export class GroupCommitSqliteDialect implements Dialect {
  readonly #driver: GroupCommitSqliteDriver;
  constructor(options: GroupCommitOptions) {
    this.#driver = new GroupCommitSqliteDriver(options);
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

/** Statements are prepared once per SQL text; a bound keeps ad-hoc raw SQL from growing the cache. */
const statementCacheLimit = 500;

type WriterRequest =
  | { op: "write" | "query"; id: number; sql: string; parameters: readonly unknown[] }
  | { op: "begin" | "commit" | "rollback" | "close"; id: number };

interface WriterError { message: string; code?: string; name?: string; lostBatch: boolean }
type WriterReply = { id: number; result: QueryResult<unknown> | null } | { id: number; error: WriterError };

export class GroupCommitSqliteDriver implements Driver {
  readonly stats: GroupCommitStats = { commits: 0, committedWrites: 0, lostBatches: 0 };
  readonly reader: SQLite.Database;
  readonly #worker: Worker;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (result: QueryResult<unknown> | null) => void; reject: (err: Error) => void }>();
  /** Requests of this turn of the event loop, sent together from setImmediate (or before a transaction's). */
  #outbox: WriterRequest[] = [];
  #sendScheduled = false;
  /** Why the writer stopped, once it has: every request after that is refused. */
  #failure: Error | undefined;
  /** The connection whose transaction holds the writer, and who waits for it. */
  #transactionOwner: GroupCommitConnection | undefined;
  #transactionEnded: Promise<void> = Promise.resolve();
  #endTransaction: () => void = () => {};
  readonly #readerStatements = new Map<string, SQLite.Statement>();
  #closed = false;

  constructor(options: GroupCommitOptions) {
    this.reader = options.reader;
    this.reader.pragma("query_only = ON");
    this.#worker = new Worker(new URL("./sqlite-writer.worker.mjs", import.meta.url), {
      workerData: { file: options.file, pragmas: options.pragmas, lockWaitMs: options.lockWaitMs ?? 10_000, statementCacheLimit },
      // Plain JavaScript: no loader (tsx, vitest) is needed in the worker, and none is started there.
      execArgv: [],
    });
    // The worker keeps the process alive only while a request waits for it (see #request, #settle).
    this.#worker.unref();
    this.#worker.on("message", (message: { replies: WriterReply[]; stats: GroupCommitStats }) => {
      Object.assign(this.stats, message.stats);
      for (const reply of message.replies) this.#settle(reply);
    });
    const stopped = (reason: unknown) => this.#fail(new Error("The SQLite writer thread stopped; nothing after this was stored.", { cause: reason }));
    this.#worker.on("error", stopped);
    this.#worker.on("exit", (code) => stopped(`exit code ${code}`));
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
      await this.#request({ op: "begin" }, { now: true });
    } catch (err) {
      this.#releaseTransaction();
      throw err;
    }
  }

  async commitTransaction(): Promise<void> {
    // The writer runs requests in order: plain writes issued after this one run after the RELEASE.
    const durable = this.#request({ op: "commit" }, { now: true });
    this.#releaseTransaction();
    await durable;
  }

  async rollbackTransaction(): Promise<void> {
    const done = this.#request({ op: "rollback" }, { now: true });
    this.#releaseTransaction();
    await done;
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
    this.#closed = true;
    if (!this.#failure) {
      const closed = this.#request({ op: "close" }, { now: true, evenWhenClosed: true });
      await closed.catch(() => {});
      await this.#worker.terminate();
    }
    this.#readerStatements.clear();
    this.reader.close();
  }

  /** A statement outside any transaction: reads go to the reader, writes to the writer's batch. */
  async executePlain(query: CompiledQuery): Promise<QueryResult<unknown>> {
    const probe = this.#probe(query.sql);
    if (probe) return run(probe, query);
    while (this.#transactionOwner) await this.#transactionEnded;
    return (await this.#request({ op: "write", sql: query.sql, parameters: query.parameters }))!;
  }

  /** A statement inside the owner's transaction: on the writer, inside the savepoint. */
  async executeInTransaction(query: CompiledQuery): Promise<QueryResult<unknown>> {
    return (await this.#request({ op: "query", sql: query.sql, parameters: query.parameters }, { now: true }))!;
  }

  isTransactionOwner(connection: GroupCommitConnection): boolean {
    return this.#transactionOwner === connection;
  }

  #request(
    request: { op: "write" | "query"; sql: string; parameters: readonly unknown[] } | { op: "begin" | "commit" | "rollback" | "close" },
    { now = false, evenWhenClosed = false } = {},
  ): Promise<QueryResult<unknown> | null> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed && !evenWhenClosed) return Promise.reject(new Error("The database is closed."));
    const id = this.#nextId++;
    const answered = new Promise<QueryResult<unknown> | null>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#pending.size === 1) this.#worker.ref();
    this.#outbox.push({ ...request, id } as WriterRequest);
    // A transaction's statements are awaited one by one: they go at once, after what is queued before them.
    if (now) this.#send();
    else if (!this.#sendScheduled) {
      this.#sendScheduled = true;
      setImmediate(() => this.#send());
    }
    return answered;
  }

  #send(): void {
    this.#sendScheduled = false;
    if (!this.#outbox.length) return;
    const requests = this.#outbox;
    this.#outbox = [];
    this.#worker.postMessage(requests);
  }

  #settle(reply: WriterReply): void {
    const waiter = this.#pending.get(reply.id);
    if (!waiter) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if ("error" in reply) waiter.reject(reviveError(reply.error));
    else waiter.resolve(reply.result);
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const waiter of this.#pending.values()) waiter.reject(err);
    this.#pending.clear();
    this.#outbox = [];
  }

  #releaseTransaction(): void {
    this.#transactionOwner = undefined;
    this.#endTransaction();
  }

  /** The reader's statement when the SQL only reads; undefined for a write (or SQL the reader cannot compile). */
  #probe(sql: string): SQLite.Statement | undefined {
    let stmt = this.#readerStatements.get(sql);
    if (!stmt) {
      try {
        stmt = this.reader.prepare(sql);
      } catch {
        return undefined;
      }
      if (this.#readerStatements.size >= statementCacheLimit) this.#readerStatements.delete(this.#readerStatements.keys().next().value!);
      this.#readerStatements.set(sql, stmt);
    }
    return stmt.readonly ? stmt : undefined;
  }
}

class GroupCommitConnection implements DatabaseConnection {
  constructor(private readonly driver: GroupCommitSqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.driver.isTransactionOwner(this)) return (await this.driver.executeInTransaction(query)) as QueryResult<R>;
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

/** The writer's error as callers test it: SQLite's `code` (unique keys, SQLITE_BUSY) survives the thread hop. */
function reviveError(error: WriterError): Error {
  const sqliteError = Object.assign(new Error(error.message), error.code ? { code: error.code } : {}, error.name ? { name: error.name } : {});
  return error.lostBatch ? batchLostError(sqliteError) : sqliteError;
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function batchLostError(cause?: unknown): Error {
  return new Error("SQLite rolled back the batch this write belonged to; it was not stored.", { cause });
}
