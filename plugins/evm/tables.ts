/** The EVM provider's own tables (src/db/migrations/002_evm.ts), typed for Kysely. */
import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.ts";

export interface EvmDepositsTable {
  session_id: string;
  connection_id: string;
  xpub_id: string;
  derivation_index: number;
  chain_id: string;
  /** Lower-case hex. */
  address: string;
  asset_kind: string;
  token_address: string | null;
  symbol: string;
  decimals: number;
  amount_due_units: string;
  fiat_currency: string;
  fiat_amount_minor: string;
  rate_json: string;
  confirmations: number;
  from_block: number | null;
  expires_at: number;
  watch_until: number;
  created_at: number;
}

export interface EvmTransfersTable {
  id: string;
  chain_id: string;
  tx_hash: string;
  /** -1 for a native transfer (one per transaction). */
  log_index: number;
  session_id: string;
  to_address: string;
  token_address: string | null;
  amount_units: string;
  block_number: number;
  block_hash: string;
  block_time: number;
  state: "seen" | "confirmed" | "credited" | "dropped";
  seen_at: number;
  confirmed_at: number | null;
}

export interface EvmDatabase extends Database {
  evm_deposits: EvmDepositsTable;
  evm_transfers: EvmTransfersTable;
}

export function evmDb(kysely: Kysely<Database>): Kysely<EvmDatabase> {
  return kysely as unknown as Kysely<EvmDatabase>;
}

/** Unique-key violations on SQLite and MariaDB (the caller treats them as "already there"). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === "ER_DUP_ENTRY" || e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY" || /UNIQUE constraint failed|Duplicate entry/i.test(e?.message ?? "");
}
