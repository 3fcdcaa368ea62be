/**
 * Idempotency-Key with Stripe's semantics: the first request's response is replayed for the same key and
 * body; the same key with another body is refused; a request that arrives while the first one is still
 * running gets 409; requests that failed validation or reached no provider are not stored, so they can be
 * retried with any body. Records are kept at least 24 hours.
 *
 * A claim names the session it creates, and the stored session row is its completion: a keyed create is two
 * writes (the claim, the session) and never a third to store the response, because the first response is a
 * function of the row as it was created (see `toCreatedResponse`). A request that claimed the key and then
 * failed (it may have reached the platform) releases its claim: the retry (same body) takes it over with
 * the claim's time, so it derives the same platform idempotency key and reaches the platform session the
 * first attempt may have made.
 */
import type { ExpressionBuilder } from "kysely";
import { sha256Hex } from "../crypto/secrets.ts";
import { insertRow } from "../db/insert-row.ts";
import type { Database } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { ApiError } from "../http/errors.ts";
import { isUniqueViolation } from "./webhooks.ts";

const lockMs = 60_000;

export interface IdempotentRequest {
  storeId: string;
  key: string;
  /** Everything that makes two requests "the same": method, path, mode and the raw body. */
  fingerprint: string;
  /** The id of the session a claim made at this time creates (derived, see outboundIdentity). */
  sessionIdAt: (claimedAt: number) => string;
  /** The first response for a claim whose session was stored; undefined while it is not. */
  createdResponse: (sessionId: string) => Promise<string | undefined>;
}

export type IdempotencyStart =
  | {
      kind: "proceed";
      /** When the key was first claimed: a retry that takes the claim over keeps it (see outboundIdentity). */
      claimedAt: number;
      /** The session this claim creates. */
      sessionId: string;
      /**
       * Gives the key back after a failure that may have reached the platform: the claim stays, free, so the
       * retry keeps its time. Fenced: a holder that lost the claim to a later one changes nothing.
       */
      release: () => Promise<void>;
    }
  | { kind: "replay"; status: number; body: string };

export async function beginIdempotentRequest(deps: BridgeDeps, request: IdempotentRequest): Promise<IdempotencyStart> {
  const { storeId, key } = request;
  if (key.length > 255 || key.length === 0) {
    throw new ApiError("validation_failed", "The Idempotency-Key header must be 1 to 255 characters.", [
      { path: "Idempotency-Key", message: "1 to 255 characters" },
    ]);
  }
  const db = deps.db.kysely;
  const requestHash = sha256Hex(request.fingerprint);
  const nowMs = deps.clock().getTime();
  /**
   * The holder's `locked_until` is its fencing token: a takeover only happens after the lock ran out and
   * always writes a later time, so a request that lost its key (it stalled past the lock) cannot release
   * what the new holder is doing. Both derive the same session id from the claim, so whichever stores its
   * session first stores the only one, and both answer with it.
   */
  const proceed = (lockedUntil: number, claimedAt: number, sessionId: string): IdempotencyStart => ({
    kind: "proceed",
    claimedAt,
    sessionId,
    release: async () => {
      await db.updateTable("idempotency_keys").set({ locked_until: 0 })
        .where((eb: ExpressionBuilder<Database, "idempotency_keys">) =>
          eb.and({ store_id: storeId, idem_key: key, state: "in_progress", locked_until: lockedUntil }))
        .execute();
    },
  });
  const sessionId = request.sessionIdAt(nowMs);
  try {
    await insertRow(db, "idempotency_keys", {
      store_id: storeId, idem_key: key, request_hash: requestHash, state: "in_progress",
      response_status: null, response_body: null, created_at: nowMs, locked_until: nowMs + lockMs, session_id: sessionId,
    });
    return proceed(nowMs + lockMs, nowMs, sessionId);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const existing = await db.selectFrom("idempotency_keys").selectAll()
    .where("store_id", "=", storeId).where("idem_key", "=", key).executeTakeFirst();
  if (!existing) {
    // Pruned between our insert and read: the key is free again, but let the client retry cleanly.
    throw keyInUse();
  }
  if (existing.request_hash !== requestHash) {
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request body.",
      [{ path: "Idempotency-Key", message: "reuse a key only to retry the identical request" }],
    );
  }
  // Records written before migration 012 stored their response.
  if (existing.state === "done" && existing.response_status !== null && existing.response_body !== null) {
    return { kind: "replay", status: existing.response_status, body: existing.response_body };
  }
  const created = existing.session_id === null ? undefined : await request.createdResponse(existing.session_id);
  if (created !== undefined) return { kind: "replay", status: 201, body: created };
  if (Number(existing.locked_until) < nowMs) {
    // The first request's process died mid-way, or it failed after reaching the provider: take the key over,
    // with the claim's time (the session id it derives can differ only if the store's connection changed).
    const claimedAt = Number(existing.created_at);
    const takenOverId = request.sessionIdAt(claimedAt);
    const taken = await db.updateTable("idempotency_keys").set({ locked_until: nowMs + lockMs, session_id: takenOverId })
      .where("store_id", "=", storeId).where("idem_key", "=", key)
      .where("state", "=", "in_progress").where("locked_until", "<", nowMs).executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1) return proceed(nowMs + lockMs, claimedAt, takenOverId);
  }
  throw keyInUse();
}

function keyInUse(): ApiError {
  return new ApiError("idempotency_key_in_use", "A request with this Idempotency-Key is in progress; retry shortly.", undefined, { "Retry-After": "1" });
}
