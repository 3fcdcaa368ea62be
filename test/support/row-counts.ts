import type { Bridge } from "../../src/bridge.ts";

const tables = ["stores", "api_keys", "provider_connections", "checkout_sessions", "payments", "webhook_events", "session_events", "idempotency_keys", "store_updates", "store_update_attempts"] as const;

/** Row counts of every state-holding table: equal before and after means a request wrote nothing. */
export async function rowCounts(bridge: Bridge): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const row = await bridge.deps.db.kysely.selectFrom(t).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    out[t] = Number(row.n);
  }
  return out;
}
