/**
 * WAL checkpoints off the event loop. better-sqlite3 runs on the main thread, and SQLite's automatic
 * checkpoint (every 1,000 WAL pages) is done by whichever commit crosses the line: it copies pages into
 * the database file and, with `synchronous=FULL`, fsyncs it, stalling every request in the process
 * meanwhile. The main connection turns the automatic checkpoint off and this worker thread, on a
 * connection of its own, runs a PASSIVE checkpoint on a timer: it never waits for the writer, and the
 * writer never waits for it.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** The worker's code: plain CommonJS, so it runs the same under tsx, vitest and plain Node. */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file);
db.pragma("busy_timeout = 0");
const tick = () => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch { /* busy: the next tick tries again */ }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  clearInterval(timer);
  tick();
  db.close();
  parentPort.postMessage("stopped");
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(file: string, intervalMs = 1_000): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(workerSource, { eval: true, workerData: { file, driver, intervalMs } });
  worker.unref(); // never what keeps a process alive
  let stopped: Promise<void> | undefined;
  return {
    // Idempotent: a database closed twice must not wait for a worker that is already gone.
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once("message", () => void worker.terminate().then(done, done));
        worker.once("error", done);
        worker.once("exit", done);
        worker.postMessage("stop");
      })),
  };
}
