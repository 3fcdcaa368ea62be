/**
 * The outbox worker: delivers queued store updates to the store adapters, with exponential backoff and
 * full jitter, records every attempt, and dead-letters after the last one. An update older than one the store
 * already accepted for the same session is never sent (`superseded`), so a retry cannot move an order back.
 *
 * Claiming: on MySQL/MariaDB, `SELECT … FOR UPDATE SKIP LOCKED` inside a transaction lets several bridge
 * processes take disjoint jobs; on SQLite (one writer at a time) a single UPDATE takes the job with a lease.
 * Either way a job is only delivered by the holder of an unexpired lease, and a lease that runs out
 * (a crashed worker) makes the job due again.
 */
import { sql } from "kysely";
import type { StoreUpdateRow } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import type { DeliveryResult, StoreUpdate } from "../stores/port.ts";
import { recordSessionEvent } from "./session-records.ts";
import { isUniqueViolation } from "./webhooks.ts";

export async function claimStoreUpdates(deps: BridgeDeps, workerId: string, limit: number): Promise<StoreUpdateRow[]> {
  const nowMs = deps.clock().getTime();
  const leaseUntil = nowMs + deps.config.OUTBOX_LEASE_MS;
  const db = deps.db.kysely;
  const dueFilter = sql<boolean>`((state = 'pending' and next_attempt_at <= ${nowMs}) or (state = 'delivering' and lease_until < ${nowMs}))`;

  /**
   * Takes one job if it is still due. Setting `inflight_session_id` fails on its unique index when another
   * update of the same session is in flight (here or in another process): that job waits for the next pass.
   */
  const claimOne = async (executor: typeof db, id: string): Promise<boolean> => {
    try {
      const result = await executor.updateTable("store_updates")
        .set((eb) => ({ state: "delivering", lease_owner: workerId, lease_until: leaseUntil, inflight_session_id: eb.ref("session_id") }))
        .where("id", "=", id).where(dueFilter).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  };

  if (deps.db.dialect === "mysql") {
    return db.transaction().execute(async (trx) => {
      // Two index range scans rather than one OR: InnoDB locks every row a locking read examines, so an
      // OR that scans the table would lock all jobs and leave other processes' SKIP LOCKED with nothing.
      const pending = await trx.selectFrom("store_updates").select("id")
        .where("state", "=", "pending").where("next_attempt_at", "<=", nowMs)
        .orderBy("next_attempt_at").orderBy("created_at").orderBy("id").limit(limit).forUpdate().skipLocked().execute();
      const abandoned = pending.length < limit
        ? await trx.selectFrom("store_updates").select("id")
            .where("state", "=", "delivering").where("lease_until", "<", nowMs)
            .orderBy("lease_until").limit(limit - pending.length).forUpdate().skipLocked().execute()
        : [];
      // A failed statement (the unique index refusing a second job of one session) rolls back only itself
      // in InnoDB; the transaction and the claims before it stand.
      const ids: string[] = [];
      for (const { id } of [...abandoned, ...pending]) if (await claimOne(trx, id)) ids.push(id);
      if (ids.length === 0) return [];
      return trx.selectFrom("store_updates").selectAll().where("id", "in", ids).execute();
    });
  }
  // Processes polling together would all pick the same oldest rows and all but one would come away
  // empty-handed; taking a wider window in random order lets each claim a share. The order is shuffled by
  // session, not by job, so that of two due updates of one session the older is tried first.
  const candidates = await db.selectFrom("store_updates").select(["id", "session_id"]).where(dueFilter)
    .orderBy("next_attempt_at").orderBy("created_at").orderBy("id").limit(limit * 3).execute();
  const groups = new Map<string, string[]>();
  for (const c of candidates) groups.set(c.session_id, [...(groups.get(c.session_id) ?? []), c.id]);
  const bySession = [...groups.values()];
  for (let i = bySession.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [bySession[i], bySession[j]] = [bySession[j]!, bySession[i]!];
  }
  const claimed: StoreUpdateRow[] = [];
  for (const id of bySession.flat()) {
    if (claimed.length >= limit) break;
    // The due-check is repeated in the UPDATE, so two processes racing for one job cannot both win.
    if (await claimOne(db, id)) {
      claimed.push(await db.selectFrom("store_updates").selectAll().where("id", "=", id).executeTakeFirstOrThrow());
    }
  }
  return claimed;
}

/** Exponential backoff with full jitter: a random delay in [base, min(max, base·2^attempt)]. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(baseMs + random() * Math.max(0, ceiling - baseMs));
}

/** Not sent: the store already accepted a newer update of the same session. */
interface Superseded {
  ok: false;
  retryable: false;
  superseded: true;
  error: string;
  responseStatus?: undefined;
  responseExcerpt?: undefined;
}

export async function deliverStoreUpdate(deps: BridgeDeps, workerId: string, job: StoreUpdateRow): Promise<DeliveryResult> {
  const startedAt = deps.clock().getTime();
  const attempt = job.attempts + 1;
  let result: DeliveryResult | Superseded;
  const store = await deps.db.kysely.selectFrom("stores").selectAll().where("id", "=", job.store_id).executeTakeFirst();
  const adapter = store ? deps.storeAdapters.get(store.platform) : undefined;
  const newer = await newerDeliveredUpdate(deps, job);
  if (newer) {
    // A retried `expired` must not reach the store after the `paid_late` that followed it: the store would
    // cancel a paid order. The store already has a newer view of this session, so this one is not sent.
    result = { ok: false, retryable: false, superseded: true, error: `superseded by ${newer.event_type} (${newer.id}), already delivered` };
  } else if (!store || !adapter || !store.credentials_enc) {
    result = { ok: false, retryable: false, error: store ? `no adapter for ${store.platform}` : "store deleted" };
  } else {
    // A WooCommerce or Shopify delivery makes several calls, each with its own timeout, so it can outlast the
    // lease; the holder keeps renewing it so that no other worker takes the job over while it is in flight.
    const heartbeat = setInterval(() => void renewLease(deps, workerId, job.id), Math.max(20, Math.floor(deps.config.OUTBOX_LEASE_MS / 3)));
    try {
      const credentials = adapter.credentialsSchema.parse(await deps.secrets.open(store.credentials_enc));
      result = await adapter.deliver(JSON.parse(job.payload_json) as StoreUpdate, {
        storeId: store.id,
        credentials,
        fetch: deps.storeFetch,
        timeoutMs: deps.config.STORE_REQUEST_TIMEOUT_MS,
        now: deps.clock,
        db: deps.db,
        secrets: deps.secrets,
      });
    } catch (err) {
      result = { ok: false, retryable: true, error: `adapter failed: ${(err as Error).message}` };
    } finally {
      clearInterval(heartbeat);
    }
  }
  const finishedAt = deps.clock().getTime();
  const outcome = result.ok
    ? "delivered"
    : "superseded" in result
      ? "superseded"
      : !result.retryable || attempt >= deps.config.OUTBOX_MAX_ATTEMPTS ? "dead" : "retry";

  await deps.db.kysely.transaction().execute(async (trx) => {
    await trx.insertInto("store_update_attempts").values({
      update_id: job.id,
      attempt,
      worker: workerId,
      started_at: startedAt,
      finished_at: finishedAt,
      outcome,
      response_status: result.responseStatus ?? null,
      response_excerpt: result.responseExcerpt?.slice(0, 2000) ?? null,
      error: result.ok ? null : result.error.slice(0, 1000),
    }).execute();
    // Only the lease holder may settle the job; a worker whose lease ran out loses its write.
    await trx.updateTable("store_updates")
      .set({
        attempts: attempt,
        state: outcome === "retry" ? "pending" : outcome,
        next_attempt_at: outcome === "retry"
          ? finishedAt + backoffDelayMs(attempt, deps.config.OUTBOX_BASE_DELAY_MS, deps.config.OUTBOX_MAX_DELAY_MS)
          : job.next_attempt_at,
        lease_owner: null,
        lease_until: null,
        inflight_session_id: null,
        last_error: result.ok ? null : result.error.slice(0, 1000),
        delivered_at: result.ok ? finishedAt : null,
      })
      .where("id", "=", job.id)
      .where("lease_owner", "=", workerId)
      .execute();
    await recordSessionEvent(trx, {
      sessionId: job.session_id,
      kind: `store_update_${outcome}`,
      source: `worker:${workerId}`,
      detail: { updateId: job.id, type: job.event_type, attempt, responseStatus: result.responseStatus, error: result.ok ? undefined : result.error },
      at: finishedAt,
    });
  });
  if (!result.ok && "superseded" in result) deps.logger.info("store update superseded", { updateId: job.id, reason: result.error });
  else if (!result.ok) deps.logger.warn("store update failed", { updateId: job.id, attempt, outcome, error: result.error });
  return result;
}

/** An update of the same session, created after `job`, that the store has already accepted. */
async function newerDeliveredUpdate(deps: BridgeDeps, job: StoreUpdateRow) {
  return deps.db.kysely.selectFrom("store_updates").select(["id", "event_type"])
    .where("session_id", "=", job.session_id)
    .where("state", "=", "delivered")
    .where((eb) => eb.or([
      eb("created_at", ">", job.created_at),
      eb.and([eb("created_at", "=", job.created_at), eb("id", ">", job.id)]),
    ]))
    .limit(1)
    .executeTakeFirst();
}

async function renewLease(deps: BridgeDeps, workerId: string, updateId: string): Promise<void> {
  try {
    await deps.db.kysely.updateTable("store_updates")
      .set({ lease_until: deps.clock().getTime() + deps.config.OUTBOX_LEASE_MS })
      .where("id", "=", updateId).where("lease_owner", "=", workerId).where("state", "=", "delivering")
      .execute();
  } catch (err) {
    // A missed renewal only risks a second delivery, which adapters tolerate (they are idempotent).
    deps.logger.warn("could not renew a store update's lease", { updateId, err });
  }
}

/** One pass of the outbox: claim due jobs and deliver them (concurrently, bounded by `limit`). */
export async function runStoreUpdatesOnce(deps: BridgeDeps, workerId: string, limit = 20): Promise<number> {
  const jobs = await claimStoreUpdates(deps, workerId, limit);
  if (jobs.length) deps.logger.debug("claimed store updates", { workerId, ids: jobs.map((j) => j.id) });
  await Promise.all(jobs.map((job) => deliverStoreUpdate(deps, workerId, job)));
  return jobs.length;
}

/**
 * Makes a dead-lettered, waiting or abandoned update due now: the operator's "retry now". Abandoned means
 * `delivering` with its lease run out (its worker died or hung); a live lease is left alone. Clearing the
 * lease fences the old worker: its late result no longer matches `lease_owner` and is dropped.
 */
export async function retryStoreUpdateNow(deps: BridgeDeps, updateId: string): Promise<boolean> {
  const nowMs = deps.clock().getTime();
  const result = await deps.db.kysely.updateTable("store_updates")
    .set({ state: "pending", next_attempt_at: nowMs, lease_owner: null, lease_until: null, inflight_session_id: null })
    .where("id", "=", updateId)
    .where((eb) => eb.or([
      eb("state", "in", ["dead", "pending"]),
      eb.and([eb("state", "=", "delivering"), eb("lease_until", "<", nowMs)]),
    ]))
    .executeTakeFirst();
  const changed = Number(result.numUpdatedRows) === 1;
  if (changed) deps.signals.storeUpdateQueued();
  return changed;
}
