/**
 * Master-key rotation, the second half: after a new key is put first in MASTER_KEYS (it seals everything
 * new), every secret still sealed with an older key is re-sealed with the new one, so the old key can then
 * be dropped from MASTER_KEYS. Each value is rewritten with a compare-and-set on its old ciphertext, so a
 * secret changed meanwhile (a rotated store key, a refreshed Shopify token) is never overwritten.
 */
import { sql } from "kysely";
import type { BridgeDeps } from "../deps.ts";

/** A column that holds JWE-sealed secrets, and the key that names its rows. */
export interface SealedColumn {
  table: string;
  key: string;
  column: string;
}

/** The core's sealed columns; store integrations with tables of their own add theirs in `src/main.ts`. */
export const coreSealedColumns: SealedColumn[] = [
  { table: "stores", key: "id", column: "credentials_enc" },
  { table: "provider_connections", key: "id", column: "credentials_enc" },
];

export interface ResealResult {
  checked: number;
  resealed: number;
  /** Rows that changed between the read and the write: run again to pick them up. */
  skipped: number;
}

export async function resealSecrets(
  deps: BridgeDeps,
  columns: SealedColumn[],
  onProgress?: (done: number, total: number) => void,
): Promise<ResealResult> {
  const db = deps.db.kysely;
  const rows: { target: SealedColumn; id: string; sealed: string }[] = [];
  for (const target of columns) {
    const found = await sql<{ id: string; sealed: string }>`
      select ${sql.ref(target.key)} as id, ${sql.ref(target.column)} as sealed from ${sql.table(target.table)}
      where ${sql.ref(target.column)} is not null`.execute(db);
    for (const row of found.rows) rows.push({ target, ...row });
  }
  const result: ResealResult = { checked: rows.length, resealed: 0, skipped: 0 };
  let done = 0;
  for (const { target, id, sealed } of rows) {
    if (deps.secrets.isStale(sealed)) {
      const fresh = await deps.secrets.reseal(sealed);
      const updated = await sql`
        update ${sql.table(target.table)} set ${sql.ref(target.column)} = ${fresh}
        where ${sql.ref(target.key)} = ${id} and ${sql.ref(target.column)} = ${sealed}`.execute(db);
      if (Number(updated.numAffectedRows ?? 0n) === 1) result.resealed++;
      else result.skipped++;
    }
    onProgress?.(++done, rows.length);
  }
  return result;
}
