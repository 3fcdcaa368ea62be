/**
 * Periodic work: the expiry sweeper, the reconciler that asks providers about sessions whose webhooks
 * never came, and the pruning of old idempotency records.
 */
import type { BridgeDeps } from "../deps.ts";
import { applyPaymentObservation, paymentReferenceFor } from "./apply-payment.ts";
import { resolveConnection } from "./connections.ts";

/**
 * Open sessions past their expiry become `expired` (one store update each). A `processing` session (a
 * payment was seen but never confirmed) is given the late-payment grace window on top before it expires:
 * otherwise, with a platform that offers no re-fetch, it would hold its order open forever. A confirmation
 * that still comes later makes it `paid_late` or holds it for review, as for any payment after expiry.
 */
export async function expireSessions(deps: BridgeDeps, limit = 200): Promise<number> {
  const nowMs = deps.clock().getTime();
  const graceMs = deps.config.LATE_PAYMENT_GRACE_MINUTES * 60_000;
  const due = await deps.db.kysely
    .selectFrom("checkout_sessions")
    .select(["id", "connection_id", "provider_session_id"])
    .where((eb) => eb.or([
      eb.and([eb("status", "=", "open"), eb("expires_at", "<=", nowMs)]),
      eb.and([eb("status", "=", "processing"), eb("expires_at", "<=", nowMs - graceMs)]),
    ]))
    .limit(limit)
    .execute();
  let expired = 0;
  for (const session of due) {
    // Before expiring, ask the platform (where it can be asked): a payment may have landed unannounced.
    const connection = await resolveConnection(deps, session.connection_id);
    if (connection?.provider.fetchSession && session.provider_session_id) {
      try {
        const state = await connection.provider.fetchSession(session.provider_session_id, connection.ctx);
        if (state.status !== "open" && state.status !== "expired") {
          await applyPaymentObservation(deps, session.id, {
            outcome: state.status,
            ...(state.amountPaidMinor !== undefined ? { amountPaidMinor: state.amountPaidMinor } : {}),
            ...(state.currency ? { currency: state.currency } : {}),
            transactions: state.transactions,
            paymentReference: paymentReferenceFor(connection.provider.name, session.provider_session_id, state.transactions),
            source: "sweeper+refetch",
          });
          continue;
        }
      } catch (err) {
        deps.logger.warn("re-fetch before expiry failed; expiring on our clock", { sessionId: session.id, err });
      }
    }
    const result = await applyPaymentObservation(deps, session.id, { outcome: "expired", transactions: [], source: "sweeper" });
    if (result.changed) expired++;
  }
  return expired;
}

/**
 * Sessions still open or processing with no word from the platform for a while are re-fetched, and
 * whatever the platform's own record says is applied as if a webhook had come.
 */
export async function reconcileSessions(
  deps: BridgeDeps,
  options: { limit?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ checked: number; changed: number; failed: number }> {
  const nowMs = deps.clock().getTime();
  const quietSince = nowMs - deps.config.RECONCILE_AFTER_MINUTES * 60_000;
  const candidates = await deps.db.kysely
    .selectFrom("checkout_sessions")
    .select(["id", "connection_id", "provider_session_id"])
    .where("status", "in", ["open", "processing", "underpaid"])
    .where("provider_session_id", "is not", null)
    .where((eb) => eb.or([eb("provider_checked_at", "is", null), eb("provider_checked_at", "<", quietSince)]))
    .where("created_at", "<", quietSince)
    // Not forever: a week past expiry and grace, a still-unsettled session is left to the operator.
    .where("expires_at", ">", nowMs - deps.config.LATE_PAYMENT_GRACE_MINUTES * 60_000 - 7 * 24 * 60 * 60_000)
    .orderBy("created_at")
    .limit(options.limit ?? 100)
    .execute();
  let changed = 0;
  let failed = 0;
  let done = 0;
  for (const session of candidates) {
    const connection = await resolveConnection(deps, session.connection_id);
    if (connection?.provider.fetchSession && session.provider_session_id) {
      try {
        const state = await connection.provider.fetchSession(session.provider_session_id, connection.ctx);
        if (state.status !== "open") {
          const result = await applyPaymentObservation(deps, session.id, {
            outcome: state.status,
            ...(state.amountPaidMinor !== undefined ? { amountPaidMinor: state.amountPaidMinor } : {}),
            ...(state.currency ? { currency: state.currency } : {}),
            transactions: state.transactions,
            paymentReference: paymentReferenceFor(connection.provider.name, session.provider_session_id, state.transactions),
            source: "reconcile",
          });
          if (result.changed) changed++;
        }
      } catch (err) {
        failed++;
        deps.logger.warn("reconcile fetch failed", { sessionId: session.id, err });
      }
    }
    await deps.db.kysely.updateTable("checkout_sessions").set({ provider_checked_at: nowMs }).where("id", "=", session.id).execute();
    options.onProgress?.(++done, candidates.length);
  }
  return { checked: candidates.length, changed, failed };
}

/** Idempotency records are kept at least 24 hours (Stripe's promise); older ones are pruned. */
export async function pruneIdempotencyKeys(deps: BridgeDeps): Promise<number> {
  const cutoff = deps.clock().getTime() - 48 * 60 * 60 * 1000;
  const result = await deps.db.kysely.deleteFrom("idempotency_keys").where("created_at", "<", cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Rejected webhooks are kept 30 days for the operator, then pruned (they carry raw bodies). */
export async function pruneWebhookRejections(deps: BridgeDeps): Promise<number> {
  const cutoff = deps.clock().getTime() - 30 * 24 * 60 * 60 * 1000;
  const result = await deps.db.kysely.deleteFrom("webhook_rejections").where("received_at", "<", cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
