/**
 * The webhook pipeline. Ingestion verifies the raw bytes, stores the event under a unique
 * (provider, connection, event id) key and answers at once; processing (re-fetch, decide, apply) runs
 * after, with retries, so a slow platform API never makes the platform's delivery time out.
 */
import { randomBytes } from "node:crypto";
import type { ExpressionBuilder } from "kysely";
import { WebhookVerificationError, type NormalizedPaymentEvent, type WebhookTrust } from "../../plugins/types.ts";
import { safeEqual, sha256Hex } from "../crypto/secrets.ts";
import { insertRow } from "../db/insert-row.ts";
import type { Database, WebhookEventRow } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { newId } from "../domain/ids.ts";
import { assertNever, payingOutcomes } from "../domain/session-status.ts";
import { applyPaymentObservation, paymentReferenceFor, type PaymentObservation } from "./apply-payment.ts";
import { resolveConnection } from "./connections.ts";
import { MinuteWindows } from "./minute-windows.ts";
import { bigintReplacer, recordSessionEvent } from "./session-records.ts";

export type IngestResult =
  | { kind: "accepted"; eventRowId: string }
  | { kind: "duplicate" }
  | { kind: "unknown_connection" }
  | { kind: "rejected"; reason: string };

/** Headers worth keeping for the operator (never secrets such as API-key headers). */
const redactedHeaders = new Set(["authorization", "x-webhook-api-key", "cookie"]);

/** Rejections recorded per (provider, connection) and minute, per bridge process. */
export const rejectionsRecordedPerMinute = 60;
const rejectionBudgets = new WeakMap<BridgeDeps, MinuteWindows>();

function takeRejectionSlot(deps: BridgeDeps, endpoint: string, nowMs: number): boolean {
  let budgets = rejectionBudgets.get(deps);
  if (!budgets) rejectionBudgets.set(deps, (budgets = new MinuteWindows()));
  return budgets.hit(endpoint, nowMs).count <= rejectionsRecordedPerMinute;
}

export async function ingestWebhook(
  deps: BridgeDeps,
  input: { provider: string; connectionId: string; pathToken?: string; rawBody: Uint8Array; headers: Record<string, string> },
): Promise<IngestResult> {
  const connection = await resolveConnection(deps, input.connectionId);
  const nowMs = deps.clock().getTime();
  const keptHeaders = JSON.stringify(
    Object.fromEntries(Object.entries(input.headers).map(([k, v]) => [k, redactedHeaders.has(k) ? "[redacted]" : v])),
  );
  const reject = async (reason: string): Promise<IngestResult> => {
    if (!takeRejectionSlot(deps, `${input.provider}/${input.connectionId}`, nowMs)) {
      // A flood of forged requests is answered the same way but not written down row by row: it would
      // fill the disk (1 MiB bodies) and bury the rejections an operator needs to see.
      deps.logger.warn("webhook rejected (not recorded: over the per-minute budget)", { provider: input.provider, connectionId: input.connectionId, reason });
      return { kind: "rejected", reason };
    }
    await deps.db.kysely
      .insertInto("webhook_rejections")
      .values({
        id: newId("whr"),
        provider: input.provider.slice(0, 64),
        connection_id: connection ? input.connectionId : null,
        reason,
        headers_json: keptHeaders,
        raw_body_excerpt: Buffer.from(input.rawBody.subarray(0, 4096)).toString("utf8"),
        received_at: nowMs,
      })
      .execute();
    deps.logger.warn("webhook rejected", { provider: input.provider, connectionId: input.connectionId, reason });
    return { kind: "rejected", reason };
  };

  if (!connection || connection.row.provider !== input.provider) return { kind: "unknown_connection" };
  if (!input.pathToken || !safeEqual(input.pathToken, connection.webhookPathToken)) {
    return reject("wrong_path_token");
  }

  let verified;
  try {
    verified = await connection.provider.verifyWebhook(
      { rawBody: input.rawBody, headers: input.headers, ...(input.pathToken ? { pathToken: input.pathToken } : {}) },
      connection.ctx,
    );
  } catch (err) {
    if (err instanceof WebhookVerificationError) return reject(err.reason);
    deps.logger.error("webhook verifier crashed", { provider: input.provider, err });
    return reject("malformed_body");
  }

  const id = newId("wh");
  try {
    await insertRow(deps.db.kysely, "webhook_events", {
      id,
      provider: input.provider,
      connection_id: input.connectionId,
      event_id: dedupeKeyOfEventId(verified.eventId),
      status: "received",
      attempts: 0,
      next_attempt_at: nowMs,
      claimed_until: null,
      claim_owner: null,
      headers_json: keptHeaders,
      raw_body: Buffer.from(input.rawBody).toString("utf8"),
      normalized_json: JSON.stringify(verified.events, bigintReplacer),
      result_note: null,
      received_at: nowMs,
      processed_at: null,
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { kind: "duplicate" };
    throw err;
  }
  deps.signals.webhookReceived(id);
  return { kind: "accepted", eventRowId: id };
}

/**
 * The key an event is deduplicated by, within the 191 characters an indexed utf8mb4 column holds. Longer
 * ids are hashed whole: cutting them would make two events that share a long prefix one event.
 */
export function dedupeKeyOfEventId(eventId: string): string {
  return eventId.length <= 191 ? eventId : `sha256:${sha256Hex(eventId)}`;
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY" || e?.code === "ER_DUP_ENTRY" || e?.errno === 1062;
}

function reviveEvents(json: string): NormalizedPaymentEvent[] {
  return (JSON.parse(json) as Record<string, unknown>[]).map((e) => ({
    ...(e as unknown as NormalizedPaymentEvent),
    ...(e.amountPaidMinor !== undefined ? { amountPaidMinor: BigInt(e.amountPaidMinor as string) } : {}),
    ...(e.occurredAt !== undefined ? { occurredAt: new Date(e.occurredAt as string) } : {}),
  }));
}

const claimMs = 60_000;

function dueEvents(nowMs: number) {
  return (eb: ExpressionBuilder<Database, "webhook_events">) =>
    eb.or([
      eb.and([eb("status", "=", "received"), eb("next_attempt_at", "<=", nowMs)]),
      eb.and([eb("status", "=", "processing"), eb("claimed_until", "<", nowMs)]),
    ]);
}

/**
 * Processes due webhook events (new ones, ones waiting for a retry, ones whose claimer died) in the
 * order received. A batch is claimed with one UPDATE and settled in one transaction, so a burst costs
 * one commit per event (its own state change) plus two per batch.
 */
export async function processDueWebhookEvents(deps: BridgeDeps, limit = 50): Promise<number> {
  const db = deps.db.kysely;
  const nowMs = deps.clock().getTime();
  const due = await db.selectFrom("webhook_events").select("id").where(dueEvents(nowMs)).orderBy("received_at").limit(limit).execute();
  if (due.length === 0) return 0;
  const owner = randomBytes(8).toString("hex");
  await db.updateTable("webhook_events")
    .set({ status: "processing", claim_owner: owner, claimed_until: nowMs + claimMs })
    .where("id", "in", due.map((d) => d.id))
    .where(dueEvents(nowMs))
    .execute();
  const claimed = await db.selectFrom("webhook_events").selectAll()
    .where("claim_owner", "=", owner).where("status", "=", "processing").orderBy("received_at").execute();

  const results: { row: WebhookEventRow; notes?: string[]; error?: unknown }[] = [];
  for (const row of claimed) {
    try {
      results.push({ row, notes: await applyWebhookEvents(deps, row) });
    } catch (error) {
      results.push({ row, error });
    }
  }

  const doneMs = deps.clock().getTime();
  await db.transaction().execute(async (trx) => {
    for (const { row, notes, error } of results) {
      if (!error) {
        await trx.updateTable("webhook_events")
          .set({ status: "processed", processed_at: doneMs, claimed_until: null, result_note: notes!.join("; ").slice(0, 1000) || null })
          .where("id", "=", row.id).where("claim_owner", "=", owner).execute();
        continue;
      }
      const attempts = row.attempts + 1;
      deps.logger.warn("webhook processing failed", { id: row.id, attempts, err: error });
      await trx.updateTable("webhook_events")
        .set({
          status: attempts >= 10 ? "failed" : "received",
          attempts,
          next_attempt_at: doneMs + Math.min(2 ** attempts * 1000, 30 * 60_000),
          claimed_until: null,
          result_note: String((error as Error)?.message ?? error).slice(0, 1000),
        })
        .where("id", "=", row.id).where("claim_owner", "=", owner).execute();
    }
  });
  return claimed.length;
}

async function applyWebhookEvents(deps: BridgeDeps, row: WebhookEventRow): Promise<string[]> {
  const connection = await resolveConnection(deps, row.connection_id);
  if (!connection) return ["connection gone"];
  const notes: string[] = [];
  for (const event of reviveEvents(row.normalized_json)) {
    const session = await findSessionForEvent(deps, row.connection_id, event, connection.provider.webhookTrust);
    if (!session) {
      notes.push(`no session for ${event.bridgeSessionId ?? event.providerSessionId ?? "?"}`);
      continue;
    }
    // Ownership: an event arriving through one connection never touches another connection's session.
    if (session.connection_id !== row.connection_id) {
      notes.push(`session ${session.id} belongs to another connection`);
      await recordSessionEvent(deps.db.kysely, {
        sessionId: session.id, kind: "webhook_ignored", source: `webhook:${row.event_id}`,
        detail: { reason: "event arrived through another connection" }, at: deps.clock().getTime(),
      });
      continue;
    }
    const observation = await observe(deps, connection, session.provider_session_id, event, row.event_id);
    if (observation) await checkOnChain(deps, session, observation);
    if (!observation) {
      notes.push(`${session.id}: re-fetch shows nothing to apply`);
      await recordSessionEvent(deps.db.kysely, {
        sessionId: session.id, kind: "webhook_ignored", source: `webhook:${row.event_id}`,
        detail: { reason: "the platform's own record shows no change", claimed: event.outcome }, at: deps.clock().getTime(),
      });
      continue;
    }
    const result = await applyPaymentObservation(deps, session.id, observation);
    notes.push(`${session.id}: ${result.decision.kind}${result.decision.kind === "transition" ? ` → ${result.decision.to}` : ` (${result.decision.reason})`}`);
  }
  return notes;
}

async function findSessionForEvent(deps: BridgeDeps, connectionId: string, event: NormalizedPaymentEvent, trust: WebhookTrust) {
  const q = deps.db.kysely.selectFrom("checkout_sessions").selectAll();
  if (event.bridgeSessionId) {
    const byId = await q.where("id", "=", event.bridgeSessionId).executeTakeFirst();
    if (byId) return byId;
  }
  if (event.providerSessionId) {
    const byRef = await q.where("connection_id", "=", connectionId).where("provider_session_id", "=", event.providerSessionId).executeTakeFirst();
    if (byRef) return byRef;
  }
  // A platform that echoes neither id reliably (Sprintcheckout's `paymentSessionId` is a UUID unlike the
  // `sessionId` create returns, and may be missing) still names the order. Only for cross-checked events:
  // the match then has to agree on order, currency and amount before anything is credited. The newest
  // session still waiting for money is the one the buyer was sent to. A closing event (expired, failed)
  // found this way may be about an earlier attempt, so it never closes the newest one.
  if (trust === "cross_check" && event.orderId && !["expired", "failed", "canceled"].includes(event.outcome)) {
    return q.where("connection_id", "=", connectionId).where("order_id", "=", event.orderId)
      .where("status", "in", ["open", "processing"])
      .orderBy("created_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
  }
  return undefined;
}

/**
 * What to believe. With a read endpoint, the platform's own current record wins over the webhook body
 * (a forged "paid" for an unpaid session credits nothing). Without one, a webhook that carries no
 * timestamped signature is credited only when amount, currency and order match exactly.
 */
async function observe(
  deps: BridgeDeps,
  connection: NonNullable<Awaited<ReturnType<typeof resolveConnection>>>,
  providerSessionId: string | null,
  event: NormalizedPaymentEvent,
  eventId: string,
): Promise<PaymentObservation | undefined> {
  const source = `webhook:${eventId}`;
  if (connection.provider.fetchSession && providerSessionId) {
    const state = await connection.provider.fetchSession(providerSessionId, connection.ctx);
    if (state.status === "open") return undefined;
    return {
      outcome: state.status,
      ...(state.amountPaidMinor !== undefined ? { amountPaidMinor: state.amountPaidMinor } : {}),
      ...(state.currency ? { currency: state.currency } : {}),
      ...(event.orderId ? { orderId: event.orderId } : {}),
      transactions: state.transactions.length ? state.transactions : event.transactions,
      paymentReference: paymentReferenceFor(connection.provider.name, providerSessionId, state.transactions.length ? state.transactions : event.transactions),
      ...(event.occurredAt ? { occurredAt: event.occurredAt } : {}),
      ...(state.providerStatus ? { providerStatus: state.providerStatus } : {}),
      source: `${source}+refetch`,
    };
  }
  if (connection.provider.webhookTrust === "refetch") {
    throw new Error(`${connection.provider.name} requires a re-fetch but has no read endpoint`);
  }
  return {
    outcome: event.outcome,
    ...(event.amountPaidMinor !== undefined ? { amountPaidMinor: event.amountPaidMinor } : {}),
    ...(event.currency ? { currency: event.currency } : {}),
    ...(event.orderId ? { orderId: event.orderId } : {}),
    transactions: event.transactions,
    paymentReference: paymentReferenceFor(connection.provider.name, providerSessionId, event.transactions) ?? event.paymentReference ?? eventId,
    ...(event.occurredAt ? { occurredAt: event.occurredAt } : {}),
    ...(event.providerStatus ? { providerStatus: event.providerStatus } : {}),
    source,
    requireExactMatch: connection.provider.webhookTrust === "cross_check",
  };
}

/**
 * Where a paying observation names a transaction on a chain the bridge can read, the chain must agree
 * before anything is credited; a contradiction, or nothing to check against, holds the session for
 * review. An answer that may still change (not mined, too few confirmations, RPC down) throws, so the
 * webhook loop retries the event with backoff instead of holding a payment that is merely early.
 */
async function checkOnChain(
  deps: BridgeDeps,
  session: { id: string; currency: string; amount_minor: string; provider_data_json: string },
  observation: PaymentObservation,
): Promise<void> {
  // One transaction paying two sessions is refused where payments are credited (applyPaymentObservation's
  // credited_transactions), for every path, not here.
  if (!payingOutcomes.has(observation.outcome)) return;
  if (!deps.chainVerifier) return;
  for (const tx of observation.transactions) {
    if (!tx.hash || !tx.chainId) continue;
    const result = await deps.chainVerifier.verify(tx, {
      id: session.id,
      currency: session.currency,
      amountMinor: BigInt(session.amount_minor),
      providerData: JSON.parse(session.provider_data_json) as Record<string, unknown>,
    });
    switch (result.status) {
      case "verified":
      case "unsupported":
        continue;
      case "mismatch":
        observation.chainMismatch = result.reason;
        return;
      case "unverifiable":
        observation.chainMismatch = `cannot verify: ${result.reason}`;
        return;
      case "pending":
        throw new Error(`on-chain check pending, retried later: ${result.reason}`);
      default:
        assertNever(result, "chain verification");
    }
  }
}

/**
 * Makes a stored event due again. Safe at any time: processing is idempotent (the state machine and the
 * outbox's unique key make a replay of an applied event a no-op).
 */
export async function replayWebhookEvent(deps: BridgeDeps, id: string): Promise<boolean> {
  const result = await deps.db.kysely.updateTable("webhook_events")
    .set({ status: "received", next_attempt_at: deps.clock().getTime(), claimed_until: null, claim_owner: null })
    .where("id", "=", id).where("status", "!=", "processing").executeTakeFirst();
  const ok = Number(result.numUpdatedRows) === 1;
  if (ok) deps.signals.webhookReceived(id);
  return ok;
}
