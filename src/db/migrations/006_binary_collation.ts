import { sql, type Kysely } from "kysely";

/**
 * MySQL and MariaDB compare strings case- and trailing-space-insensitively under their default collations,
 * so `Order-1` and `order-1` would be one Idempotency-Key, one event id, one transaction hash. SQLite
 * compares bytes. Every table is converted to `utf8mb4_bin` so both databases agree (byte comparison).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const isMysql = await sql<{ v: string }>`select version() as v`.execute(db).then(() => true, () => false);
  if (!isMysql) return;
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = database() and table_type = 'BASE TABLE' and table_name not like 'kysely_%'`.execute(db);
  for (const { name } of tables.rows) {
    await sql`alter table ${sql.table(name)} convert to character set utf8mb4 collate utf8mb4_bin`.execute(db);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars
export async function down(_db: Kysely<any>): Promise<void> {}
