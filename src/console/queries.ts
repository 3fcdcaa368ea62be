/** What the console's pages read. Every list is bounded; times are epoch ms as stored. */
import { createdTimelineEntry } from "../usecases/session-records.ts";
import { sql } from "kysely";
import type { SessionRow, StoreUpdateRow } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { isSessionStatus, isSettledPaid, sessionStatuses } from "../domain/session-status.ts";

export const pageSize = 50;

export interface SessionSearch {
  q?: string;
  status?: string;
  /** Cursor: only sessions created before this time (epoch ms). */
  before?: number;
}

/** Matches a store order id or number, a session id, a payment's transaction hash, or a customer email. */
export async function searchSessions(deps: BridgeDeps, search: SessionSearch): Promise<SessionRow[]> {
  const db = deps.db.kysely;
  let query = db.selectFrom("checkout_sessions").selectAll();
  const q = search.q?.trim();
  if (q) {
    const lower = q.toLowerCase();
    query = query.where((eb) =>
      eb.or([
        eb("order_id", "=", q),
        eb("order_number", "=", q),
        eb("id", "=", q),
        // Emails compare case-insensitively however the store spelled them (SQLite's `=` and MariaDB's binary
        // collation are case-sensitive). lower() cannot use the plain email index, so only a query that can
        // be an email pays for that scan; order ids, session ids and hashes keep their index lookups.
        ...(q.includes("@") ? [eb(sql<string>`lower(customer_email)`, "=", lower)] : []),
        eb("id", "in", eb.selectFrom("payments").select("session_id").where((p) => p.or([p("tx_hash", "=", q), p("tx_hash", "=", lower)]))),
      ]),
    );
  }
  if (search.status && isSessionStatus(search.status)) query = query.where("status", "=", search.status);
  if (search.before) query = query.where("created_at", "<", search.before);
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(pageSize).execute();
}

export type TimelineEntry =
  | { kind: "session_event"; at: number; event: string; fromStatus: string | null; toStatus: string | null; source: string; detail: string }
  | { kind: "webhook"; at: number; id: string; provider: string; eventId: string; status: string; note: string | null; headers: string; rawBody: string; normalized: string };

export interface SessionDetail {
  session: SessionRow;
  storeName: string;
  payments: Awaited<ReturnType<typeof loadPaymentsFor>>;
  timeline: TimelineEntry[];
  updates: { update: StoreUpdateRow; attempts: Awaited<ReturnType<typeof loadAttempts>> }[];
}

function loadPaymentsFor(deps: BridgeDeps, sessionId: string) {
  return deps.db.kysely.selectFrom("payments").selectAll().where("session_id", "=", sessionId).orderBy("created_at").execute();
}

function loadAttempts(deps: BridgeDeps, updateIds: string[]) {
  if (updateIds.length === 0) return Promise.resolve([]);
  return deps.db.kysely.selectFrom("store_update_attempts").selectAll().where("update_id", "in", updateIds).orderBy("id").execute();
}

/** The platform events that name this session (by our id or the platform's), whatever their outcome. */
async function webhookEventsFor(deps: BridgeDeps, session: SessionRow) {
  // `_` in an id is a LIKE wildcard that also matches itself; ids never hold `%` or `\\`, but check.
  const needles = [session.id, session.provider_session_id].filter((v): v is string => Boolean(v) && !/[%\\]/.test(v!));
  const rows = await deps.db.kysely.selectFrom("webhook_events").selectAll()
    .where("connection_id", "=", session.connection_id)
    // Events naming a session come after it was created (a minute of slack for clock skew between processes).
    .where("received_at", ">=", Number(session.created_at) - 60_000)
    .where((eb) => eb.or(needles.map((n) => eb("normalized_json", "like", `%${n}%`))))
    .orderBy("received_at").limit(200).execute();
  // LIKE narrows; the parsed events decide.
  return rows.filter((row) => {
    try {
      const events = JSON.parse(row.normalized_json) as { bridgeSessionId?: string; providerSessionId?: string }[];
      return events.some((e) => e.bridgeSessionId === session.id || (session.provider_session_id && e.providerSessionId === session.provider_session_id));
    } catch {
      return false;
    }
  });
}

export async function loadSessionDetail(deps: BridgeDeps, sessionId: string): Promise<SessionDetail | undefined> {
  const db = deps.db.kysely;
  const session = await db.selectFrom("checkout_sessions").selectAll().where("id", "=", sessionId).executeTakeFirst();
  if (!session) return undefined;
  const [store, payments, events, webhooks, updates] = await Promise.all([
    db.selectFrom("stores").select("name").where("id", "=", session.store_id).executeTakeFirst(),
    loadPaymentsFor(deps, sessionId),
    db.selectFrom("session_events").selectAll().where("session_id", "=", sessionId).orderBy("id").limit(500).execute(),
    webhookEventsFor(deps, session),
    db.selectFrom("store_updates").selectAll().where("session_id", "=", sessionId).orderBy("created_at").execute(),
  ]);
  const attempts = await loadAttempts(deps, updates.map((u) => u.id));
  const timeline: TimelineEntry[] = [
    ...[createdTimelineEntry(session), ...events].map((e): TimelineEntry => ({
      kind: "session_event", at: Number(e.created_at), event: e.kind, fromStatus: e.from_status, toStatus: e.to_status, source: e.source, detail: e.detail_json,
    })),
    ...webhooks.map((w): TimelineEntry => ({
      kind: "webhook", at: Number(w.received_at), id: w.id, provider: w.provider, eventId: w.event_id, status: w.status,
      note: w.result_note, headers: w.headers_json, rawBody: w.raw_body, normalized: w.normalized_json,
    })),
  ].sort((a, b) => a.at - b.at);
  return {
    session,
    storeName: store?.name ?? "(deleted store)",
    payments,
    timeline,
    updates: updates.map((update) => ({ update, attempts: attempts.filter((a) => a.update_id === update.id) })),
  };
}

/** A job is stuck when it has failed at least once and is still waiting, or its worker's lease ran out. */
export async function loadStoreUpdateProblems(deps: BridgeDeps) {
  const db = deps.db.kysely;
  const nowMs = deps.clock().getTime();
  const [dead, stuck, rejections] = await Promise.all([
    db.selectFrom("store_updates").selectAll().where("state", "=", "dead").orderBy("created_at", "desc").limit(pageSize).execute(),
    db.selectFrom("store_updates").selectAll()
      .where((eb) => eb.or([
        eb.and([eb("state", "=", "pending"), eb("attempts", ">", 0)]),
        eb.and([eb("state", "=", "delivering"), eb("lease_until", "<", nowMs)]),
      ]))
      .orderBy("next_attempt_at").limit(pageSize).execute(),
    db.selectFrom("webhook_rejections").selectAll().orderBy("received_at", "desc").limit(pageSize).execute(),
  ]);
  return { dead, stuck, rejections };
}

export async function loadStores(deps: BridgeDeps) {
  const db = deps.db.kysely;
  const stores = await db.selectFrom("stores").selectAll().orderBy("created_at", "desc").limit(200).execute();
  return stores;
}

export async function loadStore(deps: BridgeDeps, storeId: string) {
  const db = deps.db.kysely;
  const store = await db.selectFrom("stores").selectAll().where("id", "=", storeId).executeTakeFirst();
  if (!store) return undefined;
  const keys = await db.selectFrom("api_keys").select(["id", "key_prefix", "livemode", "created_at", "revoked_at"])
    .where("store_id", "=", storeId).orderBy("created_at", "desc").limit(50).execute();
  return { store, keys };
}

export interface HourlyPoint {
  hourStart: number;
  created: number;
  paid: number;
}

/**
 * Sessions created per hour over the last `days`, and how many of them are paid now (paid, paid late or
 * overpaid). Bucketed in SQL with integer arithmetic that SQLite and MySQL evaluate alike.
 */
export async function hourlySessions(deps: BridgeDeps, days: number): Promise<HourlyPoint[]> {
  const hourMs = 3_600_000;
  const nowMs = deps.clock().getTime();
  const endHour = nowMs - (nowMs % hourMs);
  const startHour = endHour - (days * 24 - 1) * hourMs;
  const rows = await deps.db.kysely.selectFrom("checkout_sessions")
    .select([
      sql<number>`created_at - (created_at % ${sql.lit(hourMs)})`.as("hour"),
      "status",
      sql<number>`count(*)`.as("n"),
    ])
    .where("created_at", ">=", startHour)
    .groupBy([sql`created_at - (created_at % ${sql.lit(hourMs)})`, "status"])
    .execute();
  const points = new Map<number, HourlyPoint>();
  for (let h = startHour; h <= endHour; h += hourMs) points.set(h, { hourStart: h, created: 0, paid: 0 });
  for (const row of rows) {
    const point = points.get(Number(row.hour));
    if (!point) continue;
    point.created += Number(row.n);
    if (isSessionStatus(row.status) && isSettledPaid(row.status)) point.paid += Number(row.n);
  }
  return [...points.values()];
}

export async function overviewCounts(deps: BridgeDeps) {
  const db = deps.db.kysely;
  const [byStatus, byState, rejections] = await Promise.all([
    db.selectFrom("checkout_sessions").select(["status", sql<number>`count(*)`.as("n")]).groupBy("status").execute(),
    db.selectFrom("store_updates").select(["state", sql<number>`count(*)`.as("n")]).groupBy("state").execute(),
    db.selectFrom("webhook_rejections").select(sql<number>`count(*)`.as("n")).executeTakeFirst(),
  ]);
  const sessions = Object.fromEntries(sessionStatuses.map((s) => [s, 0])) as Record<string, number>;
  for (const r of byStatus) sessions[r.status] = Number(r.n);
  const updates: Record<string, number> = { pending: 0, delivering: 0, delivered: 0, dead: 0 };
  for (const r of byState) updates[r.state] = Number(r.n);
  return { sessions, updates, rejections: Number(rejections?.n ?? 0) };
}
