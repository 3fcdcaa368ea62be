/**
 * `GET /metrics` in the Prometheus text exposition format (0.0.4), computed from the database at scrape
 * time, so every bridge process reports the same numbers and nothing is lost on restart.
 *
 * The endpoint needs `Authorization: Bearer <metrics token>`: the bridge is public-facing (webhooks,
 * pay links) and its volumes are business data. The token is derived from the master key (HKDF), so
 * nothing extra is configured; `metricsToken(deps)` (CLI: `cartbridge console metrics-token`) prints it.
 */
import { hkdfSync } from "node:crypto";
import { Hono } from "hono";
import { sql } from "kysely";
import { base64url } from "jose";
import { parseMasterKeys, safeEqual } from "../crypto/secrets.ts";
import type { BridgeDeps } from "../deps.ts";
import { sessionStatuses } from "../domain/session-status.ts";
import type { AppEnv } from "../http/middleware.ts";

export function metricsToken(deps: BridgeDeps): string {
  const master = parseMasterKeys(deps.config.MASTER_KEYS ?? "")[0]!.key;
  return base64url.encode(new Uint8Array(hkdfSync("sha256", master, "cartbridge-metrics", "metrics-bearer-token-v1", 24)));
}

type Labels = Record<string, string>;

/** Writes families in the text format; label values and help text escaped as the format requires. */
export class MetricsText {
  private readonly lines: string[] = [];

  family(name: string, type: "gauge" | "counter" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
    const formatted = Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
    this.lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatted}`);
    return this;
  }

  /** A histogram from cumulative bucket counts (`le` in seconds). */
  histogram(name: string, labels: Labels, buckets: { le: number; count: number }[], count: number, sumSeconds: number): this {
    for (const b of buckets) this.sample(`${name}_bucket`, { ...labels, le: String(b.le) }, b.count);
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, count);
    this.sample(`${name}_sum`, labels, sumSeconds);
    this.sample(`${name}_count`, labels, count);
    return this;
  }

  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

const latencyBucketsSeconds = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400];

/** Bucket counts, count and sum of `expr` (milliseconds) over `table` rows matching `where`, in one query. */
async function histogramOf(deps: BridgeDeps, table: "store_updates" | "store_update_attempts", expr: string, where: string) {
  const columns = latencyBucketsSeconds.map((le, i) => `sum(case when ${expr} <= ${le * 1000} then 1 else 0 end) as b${i}`).join(", ");
  const result = await sql<Record<string, unknown>>`select ${sql.raw(columns)}, count(*) as n, sum(${sql.raw(expr)}) as total from ${sql.table(table)} where ${sql.raw(where)}`
    .execute(deps.db.kysely);
  const row = result.rows[0] ?? {};
  return {
    buckets: latencyBucketsSeconds.map((le, i) => ({ le, count: Number(row[`b${i}`] ?? 0) })),
    count: Number(row.n ?? 0),
    sumSeconds: Number(row.total ?? 0) / 1000,
  };
}

export async function collectMetrics(deps: BridgeDeps): Promise<string> {
  const db = deps.db.kysely;
  const nowMs = deps.clock().getTime();
  const out = new MetricsText();

  const [sessions, rejections, events, updates, oldestPending, leases] = await Promise.all([
    db.selectFrom("checkout_sessions").select(["status", "provider", sql<number>`count(*)`.as("n")]).groupBy(["status", "provider"]).execute(),
    db.selectFrom("webhook_rejections").select(["provider", "reason", sql<number>`count(*)`.as("n")]).groupBy(["provider", "reason"]).execute(),
    db.selectFrom("webhook_events").select(["status", sql<number>`count(*)`.as("n")]).groupBy("status").execute(),
    db.selectFrom("store_updates").select(["state", sql<number>`count(*)`.as("n")]).groupBy("state").execute(),
    db.selectFrom("store_updates").select(sql<number | null>`min(created_at)`.as("t")).where("state", "in", ["pending", "delivering"]).executeTakeFirst(),
    db.selectFrom("worker_leases").selectAll().where("name", "like", "evm:%").execute(),
  ]);

  out.family("cartbridge_checkout_sessions", "gauge", "Checkout sessions by current status and provider.");
  const providers = new Set([...deps.providers.list().map((p) => p.name), ...sessions.map((s) => s.provider)]);
  const count = new Map(sessions.map((s) => [`${s.status}\u0000${s.provider}`, Number(s.n)]));
  for (const provider of [...providers].sort()) {
    for (const status of sessionStatuses) out.sample("cartbridge_checkout_sessions", { status, provider }, count.get(`${status}\u0000${provider}`) ?? 0);
  }

  out.family("cartbridge_webhook_verification_failures_total", "counter", "Webhook deliveries rejected before storage (bad or missing signature, stale timestamp, malformed body), by provider and reason.");
  for (const r of rejections) out.sample("cartbridge_webhook_verification_failures_total", { provider: r.provider, reason: r.reason }, Number(r.n));

  out.family("cartbridge_webhook_events", "gauge", "Verified webhook events by processing status.");
  const eventCounts = new Map(events.map((e) => [e.status, Number(e.n)]));
  for (const status of new Set(["received", "processing", "processed", "ignored", "failed", ...eventCounts.keys()])) {
    out.sample("cartbridge_webhook_events", { status }, eventCounts.get(status) ?? 0);
  }

  out.family("cartbridge_store_updates", "gauge", "Store updates by outbox state: pending and delivering are the backlog, dead needs an operator.");
  const updateCounts = new Map(updates.map((u) => [u.state, Number(u.n)]));
  for (const state of new Set(["pending", "delivering", "delivered", "dead", ...updateCounts.keys()])) {
    out.sample("cartbridge_store_updates", { state }, updateCounts.get(state) ?? 0);
  }

  out.family("cartbridge_store_update_oldest_pending_age_seconds", "gauge", "Age of the oldest undelivered (pending or delivering) store update; 0 when none.");
  const oldest = oldestPending?.t === null || oldestPending?.t === undefined ? undefined : Number(oldestPending.t);
  out.sample("cartbridge_store_update_oldest_pending_age_seconds", {}, oldest === undefined ? 0 : Math.max(0, (nowMs - oldest) / 1000));

  const delivery = await histogramOf(deps, "store_updates", "(delivered_at - created_at)", "state = 'delivered' and delivered_at is not null");
  out.family("cartbridge_store_update_delivery_seconds", "histogram", "From the store update being queued to the store accepting it (delivered updates).");
  out.histogram("cartbridge_store_update_delivery_seconds", {}, delivery.buckets, delivery.count, delivery.sumSeconds);

  const attempts = await histogramOf(deps, "store_update_attempts", "(finished_at - started_at)", "1 = 1");
  out.family("cartbridge_store_update_attempt_seconds", "histogram", "Duration of each delivery attempt to a store (request and answer).");
  out.histogram("cartbridge_store_update_attempt_seconds", {}, attempts.buckets, attempts.count, attempts.sumSeconds);

  // Chain watchers (the EVM provider) keep a lease row per chain; no row, no series.
  out.family("cartbridge_watcher_lease_remaining_seconds", "gauge", "Seconds left on a chain watcher's lease; negative means no process is watching (stalled).");
  for (const lease of leases) out.sample("cartbridge_watcher_lease_remaining_seconds", { watcher: lease.name }, (Number(lease.lease_until) - nowMs) / 1000);
  const cursors = leases.map((lease) => ({ watcher: lease.name, ...parseCursor(lease.cursor_json) }));
  out.family("cartbridge_watcher_next_block", "gauge", "The next block a chain watcher will read.");
  for (const c of cursors) if (c.next !== undefined) out.sample("cartbridge_watcher_next_block", { watcher: c.watcher }, c.next);
  out.family("cartbridge_watcher_lag_blocks", "gauge", "Blocks between the chain head the watcher last saw and the next block it will read (when the watcher records the head).");
  for (const c of cursors) {
    if (c.next !== undefined && c.head !== undefined) out.sample("cartbridge_watcher_lag_blocks", { watcher: c.watcher }, Math.max(0, c.head + 1 - c.next));
  }

  out.family("cartbridge_metrics_scrape_timestamp_seconds", "gauge", "When these figures were read from the database.");
  out.sample("cartbridge_metrics_scrape_timestamp_seconds", {}, nowMs / 1000);
  return out.toString();
}

function parseCursor(json: string): { next?: number; head?: number } {
  try {
    const parsed = JSON.parse(json) as Record<string, unknown>;
    return {
      ...(typeof parsed.next === "number" ? { next: parsed.next } : {}),
      ...(typeof parsed.head === "number" ? { head: parsed.head } : {}),
    };
  } catch {
    return {};
  }
}

export function metricsRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const token = metricsToken(deps);
  app.get("/", async (c) => {
    const header = c.req.header("authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    if (!given || !safeEqual(given, token)) {
      return c.text("metrics need Authorization: Bearer <token> (cartbridge console metrics-token)\n", 401, { "WWW-Authenticate": 'Bearer realm="cartbridge-metrics"' });
    }
    return c.body(await collectMetrics(deps), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
  });
  return app;
}
