import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { createPool } from "mysql2";
import { Kysely, Migrator, MysqlDialect, SqliteDialect, type Migration, type MigrationProvider } from "kysely";
import type { Database } from "./schema.ts";
import { GroupCommitSqliteDialect } from "./sqlite-group-commit.ts";
import * as m001 from "./migrations/001_initial.ts";
import * as m002 from "./migrations/002_evm.ts";
import * as m003 from "./migrations/003_woocommerce.ts";
import * as m004 from "./migrations/004_shopify.ts";
import * as m005 from "./migrations/005_console.ts";
import * as m006 from "./migrations/006_binary_collation.ts";
import * as m007 from "./migrations/007_drop_redundant_order_index.ts";
import * as m008 from "./migrations/008_one_delivery_per_session.ts";
import * as m009 from "./migrations/009_webhook_rejections_time.ts";
import * as m010 from "./migrations/010_order_sessions_newest_first.ts";
import * as m011 from "./migrations/011_credited_transactions.ts";
import * as m012 from "./migrations/012_idempotency_session.ts";

export type Dialect = "sqlite" | "mysql";

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

/**
 * The bridge's pragmas for every connection to a SQLite file. WAL lets readers run beside the single writer;
 * FULL makes every commit durable across power loss.
 */
export const sqlitePragmas = ["journal_mode = WAL", "synchronous = FULL", "busy_timeout = 10000", "foreign_keys = ON"] as const;

/** One connection to a SQLite file, with the bridge's pragmas. */
export function openSqliteConnection(file: string): SQLite.Database {
  const sqlite = new SQLite(file);
  for (const pragma of sqlitePragmas) sqlite.pragma(pragma);
  return sqlite;
}

/**
 * Opens the database named by a `DATABASE_URL`: `sqlite:<file>` (`sqlite::memory:` for a throwaway)
 * or `mysql://user:pass@host:port/db`.
 */
export function openDatabase(url: string, options: { poolSize?: number } = {}): Db {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    if (file === ":memory:") {
      const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: openSqliteConnection(file) }) });
      return { kysely, dialect: "sqlite", close: () => kysely.destroy() };
    }
    // A file gets group commit: concurrent writes share one fsync (see sqlite-group-commit.ts).
    const dialect = new GroupCommitSqliteDialect({ file, reader: openSqliteConnection(file), pragmas: sqlitePragmas });
    const kysely = new Kysely<Database>({ dialect });
    return { kysely, dialect: "sqlite", close: () => kysely.destroy() };
  }
  if (url.startsWith("mysql://")) {
    const pool = createPool({
      uri: url,
      connectionLimit: options.poolSize ?? 10,
      // BIGINT columns hold epoch milliseconds, always below 2^53: read them as numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      timezone: "Z",
    });
    const kysely = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
    return { kysely, dialect: "mysql", close: () => kysely.destroy() };
  }
  throw new Error(`Unsupported DATABASE_URL: ${url}`);
}

const migrations: Record<string, Migration> = {
  "001_initial": m001,
  "002_evm": m002,
  "003_woocommerce": m003,
  "004_shopify": m004,
  "005_console": m005,
  "006_binary_collation": m006,
  "007_drop_redundant_order_index": m007,
  "008_one_delivery_per_session": m008,
  "009_webhook_rejections_time": m009,
  "010_order_sessions_newest_first": m010,
  "011_credited_transactions": m011,
  "012_idempotency_session": m012,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export interface MigrationReport {
  applied: string[];
}

/**
 * Brings the schema to the newest version; safe to run on every start and from several processes.
 * Pending migrations run one step at a time so `onProgress` reports each as it finishes (a long one shows
 * where the work is); it may return a promise, awaited before the next step.
 */
export async function migrateToLatest(
  db: Db,
  onProgress?: (name: string, index: number, total: number) => void | Promise<void>,
): Promise<MigrationReport> {
  const migrator = new Migrator({ db: db.kysely, provider: new StaticMigrationProvider() });
  const total = (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).length;
  const applied: string[] = [];
  while (applied.length < total) {
    const { error, results } = await migrator.migrateUp();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    const done = (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
    // Another process applied the rest between our count and this step: nothing is left to do.
    if (done.length === 0) break;
    for (const name of done) {
      applied.push(name);
      await onProgress?.(name, applied.length, total);
    }
  }
  return { applied };
}
