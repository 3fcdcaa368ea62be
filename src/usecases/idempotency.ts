/**
 * Idempotency-Key with Stripe's semantics: the first request's response is stored and replayed for the
 * same key and body; the same key with another body is refused; a request that arrives while the first
 * one is still running gets 409; requests that failed validation or reached no provider are not stored,
 * so they can be retried with any body. A request that reached the provider and then failed keeps its
 * claim, released: the retry (same body) takes it over with the claim's time, so it derives the same
 * platform idempotency key and reaches the platform session the first attempt may have made. Records are
 * kept at least 24 hours.
 */
import type { ExpressionBuilder } from "kysely";
import { sha256Hex } from "../crypto/secrets.ts";
import type { Database } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { ApiError } from "../http/errors.ts";
import { isUniqueViolation } from "./webhooks.ts";

const lockMs = 60_000;

export interface IdempotencyClaim {
  /** When the key was first claimed: a retry that takes the claim over keeps it (see outboundIdentity). */
  claimedAt: number;
  /** An earlier holder of this claim may have stored its result before it stopped answering. */
  tookOver: boolean;
}

export type IdempotencyStart =
  | (IdempotencyClaim & {
      kind: "proceed";
      /** Stores the response for replays; false when the claim was lost to a later holder (it answers instead). */
      complete: (status: number, body: unknown) => Promise<boolean>;
      /**
       * Gives the key back after a failure. `reachedProvider: false` forgets it (any retry starts afresh);
       * otherwise the claim stays, free, so the retry keeps its time.
       */
      abandon: (outcome: { reachedProvider: boolean }) => Promise<void>;
    })
  | { kind: "replay"; status: number; body: string };

export async function beginIdempotentRequest(
  deps: BridgeDeps,
  storeId: string,
  key: string,
  fingerprint: string,
): Promise<IdempotencyStart> {
  if (key.length > 255 || key.length === 0) {
    throw new ApiError("validation_failed", "The Idempotency-Key header must be 1 to 255 characters.", [
      { path: "Idempotency-Key", message: "1 to 255 characters" },
    ]);
  }
  const db = deps.db.kysely;
  const requestHash = sha256Hex(fingerprint);
  const nowMs = deps.clock().getTime();
  /**
   * The holder's `locked_until` is its fencing token: a takeover only happens after the lock ran out and
   * always writes a later time, so a request that lost its key (it stalled past the lock) can neither
   * complete nor delete what the new holder is doing. Both derive the same session id from the claim (see
   * outboundIdentity), so whichever stores its session first stores the only one, and both answer with it.
   */
  const handleFor = (lockedUntil: number, claimedAt: number, tookOver: boolean): IdempotencyStart => {
    const heldByMe = (eb: ExpressionBuilder<Database, "idempotency_keys">) =>
      eb.and({ store_id: storeId, idem_key: key, state: "in_progress", locked_until: lockedUntil });
    const mine = () => db.updateTable("idempotency_keys").where(heldByMe);
    return {
      kind: "proceed",
      claimedAt,
      tookOver,
      complete: async (status, body) => {
        const done = await mine().set({ state: "done", response_status: status, response_body: JSON.stringify(body) }).executeTakeFirst();
        return Number(done.numUpdatedRows) === 1;
      },
      abandon: async ({ reachedProvider }) => {
        if (reachedProvider) {
          await mine().set({ locked_until: 0 }).execute();
          return;
        }
        await db.deleteFrom("idempotency_keys").where(heldByMe).execute();
      },
    };
  };
  try {
    await db.insertInto("idempotency_keys").values({
      store_id: storeId, idem_key: key, request_hash: requestHash, state: "in_progress",
      response_status: null, response_body: null, created_at: nowMs, locked_until: nowMs + lockMs,
    }).execute();
    return handleFor(nowMs + lockMs, nowMs, false);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const existing = await db.selectFrom("idempotency_keys").selectAll()
    .where("store_id", "=", storeId).where("idem_key", "=", key).executeTakeFirst();
  if (!existing) {
    // Abandoned between our insert and read: the key is free again, but let the client retry cleanly.
    throw keyInUse();
  }
  if (existing.request_hash !== requestHash) {
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request body.",
      [{ path: "Idempotency-Key", message: "reuse a key only to retry the identical request" }],
    );
  }
  if (existing.state === "done" && existing.response_status !== null && existing.response_body !== null) {
    return { kind: "replay", status: existing.response_status, body: existing.response_body };
  }
  if (Number(existing.locked_until) < nowMs) {
    // The first request's process died mid-way, or it failed after reaching the provider: take the key over.
    const taken = await db.updateTable("idempotency_keys").set({ locked_until: nowMs + lockMs })
      .where("store_id", "=", storeId).where("idem_key", "=", key)
      .where("state", "=", "in_progress").where("locked_until", "<", nowMs).executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1) return handleFor(nowMs + lockMs, Number(existing.created_at), true);
  }
  throw keyInUse();
}

function keyInUse(): ApiError {
  return new ApiError("idempotency_key_in_use", "A request with this Idempotency-Key is in progress; retry shortly.", undefined, { "Retry-After": "1" });
}
