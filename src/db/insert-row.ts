/**
 * One row inserted with SQL compiled once per row shape. kysely's builder parses, freezes and visits every
 * column of every insert: 9 µs for a 15-column row in a tight loop on this project's machine (0.7 µs to
 * reuse the SQL), two to three times that inside a busy server, which made it one of the larger costs of
 * webhook ingestion and session creation (bench/run.ts measures both). The SQL of an insert depends only on
 * the table and its columns, so the first row of a shape is compiled by kysely and the next ones reuse that
 * text with their own values, in the same order.
 */
import { CompiledQuery, type Insertable, type Kysely } from "kysely";
import type { Database } from "./schema.ts";

type Row<T extends keyof Database> = Insertable<Database[T]>;

const compiledByDatabase = new WeakMap<Kysely<Database>, Map<string, string>>();

export async function insertRow<T extends keyof Database & string>(db: Kysely<Database>, table: T, row: Row<T>): Promise<void> {
  // kysely leaves out columns whose value is undefined: so does the shape.
  const record = row as Record<string, unknown>;
  const columns = Object.keys(record).filter((column) => record[column] !== undefined);
  const values = columns.map((column) => record[column]);
  const shape = `${table}\u0000${columns.join("\u0000")}`;
  let compiled = compiledByDatabase.get(db);
  if (!compiled) compiledByDatabase.set(db, (compiled = new Map()));
  const sql = compiled.get(shape);
  if (sql !== undefined) {
    await db.executeQuery(CompiledQuery.raw(sql, values));
    return;
  }
  const query = db.insertInto(table).values(row as never).compile();
  // Reused only when kysely passed every value through as a parameter, in column order (a value that is an
  // expression would be part of the SQL text instead).
  if (query.parameters.length === values.length && query.parameters.every((p, i) => p === values[i])) compiled.set(shape, query.sql);
  await db.executeQuery(query);
}
