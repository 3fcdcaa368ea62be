/**
 * Every data-layer test runs on SQLite and on MariaDB. MariaDB is the machine's service at
 * 127.0.0.1:3306 (root, no password); each test gets a database of its own, dropped afterwards.
 * When MariaDB is unreachable the MariaDB half is skipped with the reason printed — except under
 * CI=true, where that is a failure.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { describe, it } from "vitest";

export const mariadbAdmin = { host: "127.0.0.1", port: 3306, user: "root", password: "" };

export interface TestDatabase {
  url: string;
  dialect: "sqlite" | "mysql";
  drop(): Promise<void>;
}

let mariadbProbe: Promise<string | undefined> | undefined;

/** undefined when reachable, else the reason. */
export function mariadbUnavailableReason(): Promise<string | undefined> {
  mariadbProbe ??= createConnection({ ...mariadbAdmin, connectTimeout: 3000 })
    .then(async (conn) => {
      await conn.end();
      return undefined;
    })
    .catch((err: Error) => `MariaDB not reachable at 127.0.0.1:3306 (${err.message}); start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`);
  return mariadbProbe;
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "cartbridge-test-"));
  return {
    url: `sqlite:${join(dir, "bridge.db")}`,
    dialect: "sqlite",
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createMariadbDatabase(): Promise<TestDatabase> {
  const name = `cb_${randomBytes(6).toString("hex")}`;
  const conn = await createConnection(mariadbAdmin);
  // The server's default collation, as an operator's database would have: the migrations must cope.
  await conn.query(`CREATE DATABASE \`${name}\``);
  await conn.end();
  return {
    url: `mysql://root@127.0.0.1:3306/${name}`,
    dialect: "mysql",
    async drop() {
      const c = await createConnection(mariadbAdmin);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

const reason = await mariadbUnavailableReason();
if (reason) {
  console.warn(`\n*** ${reason}\n*** ${process.env.CI === "true" ? "CI=true: MariaDB tests FAIL" : "MariaDB halves of the data-layer tests are SKIPPED"}\n`);
}

/**
 * `describe` once per database. The callback gets a factory for a fresh empty database of that kind.
 */
export function describeEachDatabase(name: string, body: (makeDb: () => Promise<TestDatabase>, dialect: "sqlite" | "mysql") => void): void {
  describe(`${name} [sqlite]`, () => body(createSqliteDatabase, "sqlite"));
  if (!reason) {
    describe(`${name} [mariadb]`, () => body(createMariadbDatabase, "mysql"));
  } else if (process.env.CI === "true") {
    describe(`${name} [mariadb]`, () => {
      it("needs MariaDB under CI", () => {
        throw new Error(reason);
      });
    });
  } else {
    describe.skip(`${name} [mariadb] — skipped: ${reason}`, () => body(createMariadbDatabase, "mysql"));
  }
}
