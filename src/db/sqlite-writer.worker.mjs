// The writer connection of a group-commit SQLite file, in its own thread (see sqlite-group-commit.ts): every
// write, its COMMIT and the COMMIT's fsync (and SQLite's automatic checkpoints) run here, so the event loop
// of the bridge never stops for a disk. Plain JavaScript: a worker starts without a TypeScript loader, in the
// server, the CLI and the tests alike.
//
// Messages in: arrays of requests, in the order the driver issued them.
//   { op: "write", id, sql, parameters }  a plain write: joins the open batch, answered after its COMMIT
//   { op: "begin", id }                    a transaction: a SAVEPOINT in the batch, answered at once
//   { op: "query", id, sql, parameters }  a statement of that transaction, answered at once
//   { op: "commit", id }                   RELEASE; answered after the batch's COMMIT
//   { op: "rollback", id }                 ROLLBACK TO + RELEASE; answered at once
//   { op: "close", id }                    commits what is open and closes the connection
// Messages out: { replies: [{ id, result } | { id, error }], stats }.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, pragmas, lockWaitMs, statementCacheLimit } = workerData;
const savepoint = "cartbridge_tx";

const db = new Database(file);
for (const pragma of pragmas) db.pragma(pragma);
// Another connection's write lock (another process, a second Db on this file) is waited for here, in this
// thread: the event loop of the bridge goes on meanwhile.
db.pragma(`busy_timeout = ${lockWaitMs}`);

const stats = { commits: 0, committedWrites: 0, lostBatches: 0 };
const statements = new Map();
/** The open batch: `BEGIN IMMEDIATE` has run; its answers wait for its COMMIT. */
let batch;
let transactionOpen = false;
let flushScheduled = false;
let immediateReplies = [];

function prepare(sql) {
  let stmt = statements.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    if (statements.size >= statementCacheLimit) statements.delete(statements.keys().next().value);
    statements.set(sql, stmt);
  }
  return stmt;
}

/** Structured clone turns a Buffer parameter into a Uint8Array, which better-sqlite3 does not bind. */
function bindable(parameters) {
  return parameters.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
}

function run(sql, parameters) {
  const stmt = prepare(sql);
  if (stmt.reader) return { rows: stmt.all(bindable(parameters)) };
  const { changes, lastInsertRowid } = stmt.run(bindable(parameters));
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/** An error as plain data: structured clone would drop SQLite's `code`, which callers test (unique keys, busy). */
function describe(err, lostBatch = false) {
  const e = err ?? {};
  return { message: String(e.message ?? e), code: e.code, name: e.name, lostBatch };
}

function openBatch() {
  if (batch) return batch;
  db.exec("BEGIN IMMEDIATE");
  batch = { writes: 0, replies: [] };
  scheduleFlush();
  return batch;
}

/** SQLite rolled the batch back by itself: every write of it is answered with the error, none is stored. */
function loseBatch(err) {
  if (!batch) return;
  stats.lostBatches++;
  for (const reply of batch.replies) immediateReplies.push({ id: reply.id, error: describe(err, true) });
  batch = undefined;
}

function scheduleFlush() {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

function flush() {
  flushScheduled = false;
  if (!batch || transactionOpen) return send();
  const committing = batch;
  batch = undefined;
  try {
    db.exec("COMMIT");
    stats.commits++;
    stats.committedWrites += committing.writes;
    immediateReplies.push(...committing.replies);
  } catch (err) {
    if (db.inTransaction) db.exec("ROLLBACK");
    stats.lostBatches++;
    for (const reply of committing.replies) immediateReplies.push({ id: reply.id, error: describe(err) });
  }
  send();
}

function send() {
  if (!immediateReplies.length) return;
  parentPort.postMessage({ replies: immediateReplies, stats });
  immediateReplies = [];
}

function handle(request) {
  const { op, id } = request;
  switch (op) {
    case "write": {
      let current;
      try {
        current = openBatch();
      } catch (err) {
        immediateReplies.push({ id, error: describe(err) });
        return;
      }
      try {
        const result = run(request.sql, request.parameters);
        current.writes++;
        current.replies.push({ id, result });
      } catch (err) {
        if (!db.inTransaction) {
          loseBatch(err);
          immediateReplies.push({ id, error: describe(err) });
        } else {
          // Answered after the COMMIT: the row this write collided with is then readable on the reader.
          current.replies.push({ id, error: describe(err) });
        }
      }
      return;
    }
    case "begin": {
      try {
        const current = openBatch();
        db.exec(`SAVEPOINT ${savepoint}`);
        current.writes++;
        transactionOpen = true;
        immediateReplies.push({ id, result: null });
      } catch (err) {
        immediateReplies.push({ id, error: describe(err) });
      }
      return;
    }
    case "query": {
      if (!db.inTransaction) {
        immediateReplies.push({ id, error: describe(new Error("no batch"), true) });
        return;
      }
      try {
        immediateReplies.push({ id, result: run(request.sql, request.parameters) });
      } catch (err) {
        if (!db.inTransaction) loseBatch(err);
        immediateReplies.push({ id, error: describe(err) });
      }
      return;
    }
    case "commit": {
      transactionOpen = false;
      if (!batch || !db.inTransaction) {
        immediateReplies.push({ id, error: describe(new Error("no batch"), true) });
        return;
      }
      db.exec(`RELEASE ${savepoint}`);
      batch.replies.push({ id, result: null });
      scheduleFlush();
      return;
    }
    case "rollback": {
      transactionOpen = false;
      if (batch && db.inTransaction) {
        db.exec(`ROLLBACK TO ${savepoint}`);
        db.exec(`RELEASE ${savepoint}`);
        batch.writes--;
      }
      immediateReplies.push({ id, result: null });
      if (batch) scheduleFlush();
      return;
    }
    case "close": {
      transactionOpen = false;
      flush();
      statements.clear();
      db.close();
      parentPort.postMessage({ replies: [{ id, result: null }], stats });
      parentPort.close();
      return;
    }
    default:
      immediateReplies.push({ id, error: describe(new Error(`unknown op ${op}`)) });
  }
}

parentPort.on("message", (requests) => {
  for (const request of requests) handle(request);
  // Answers that do not wait for a COMMIT go out now; the batch's go out after it (flush, on setImmediate,
  // after every request that has already arrived has joined the batch).
  send();
});
