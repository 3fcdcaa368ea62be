/**
 * Applies what a provider (or the chain, or the expiry sweeper) says about a session: decides the next
 * status from the amounts, moves the session forward only, records the payment, and queues exactly one
 * store update per distinct outcome, all in one transaction (the outbox). See
 * docs/decisions/0002-outbox.md and 0003-state-machine.md.
 */
import type { Kysely } from "kysely";
import type { TransactionRef } from "../../plugins/types.ts";
import type { Database, SessionRow } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { newId } from "../domain/ids.ts";
import { canTransition, payingOutcomes, type PaymentOutcome, type SessionStatus } from "../domain/session-status.ts";
import { loadPayments, recordSessionEvent, toPublicSession } from "./session-records.ts";
import type { StoreUpdate } from "../stores/port.ts";
import { isUniqueViolation } from "./webhooks.ts";

export interface PaymentObservation {
  outcome: PaymentOutcome;
  /** Total paid on the session so far, minor units of `currency`. */
  amountPaidMinor?: bigint;
  currency?: string;
  orderId?: string;
  transactions: TransactionRef[];
  paymentReference?: string;
  occurredAt?: Date;
  providerStatus?: string;
  /** Where the observation came from: `webhook:<event id>`, `refetch`, `reconcile`, `sweeper`, `chain`. */
  source: string;
  /** Set when an on-chain check contradicted the platform: the session is held for review. */
  chainMismatch?: string;
  /** Without a re-fetch or signature, an observation is only credited when amount, currency and order match. */
  requireExactMatch?: boolean;
  /** A provider's own late-payment grace (ms), overriding LATE_PAYMENT_GRACE_MINUTES for this observation. */
  graceMs?: number;
}

/**
 * The one name a session's payment goes by, whoever observes it (webhook re-fetch, sweeper, reconciler,
 * webhook alone), so that each path updates the same payment record instead of adding its own: the first
 * transaction's hash when the platform names one, else the platform's session.
 */
export function paymentReferenceFor(providerName: string, providerSessionId: string, transactions: TransactionRef[]): string;
export function paymentReferenceFor(providerName: string, providerSessionId: string | null, transactions: TransactionRef[]): string | undefined;
export function paymentReferenceFor(providerName: string, providerSessionId: string | null, transactions: TransactionRef[]): string | undefined {
  const hash = transactions[0]?.hash;
  if (hash) return hash;
  return providerSessionId ? `${providerName}:${providerSessionId}` : undefined;
}

export type Decision =
  | { kind: "transition"; to: SessionStatus; amountPaidMinor: bigint; reviewReason?: string }
  | { kind: "review"; reason: string; amountPaidMinor?: bigint }
  | { kind: "noop"; reason: string };


/** Pure: what should happen to `session` given `obs`. */
export function decide(session: SessionRow, obs: PaymentObservation, now: Date, graceMs: number): Decision {
  const current = session.status as SessionStatus;
  const expected = BigInt(session.amount_minor);
  const alreadyPaid = BigInt(session.amount_paid_minor);

  if (obs.chainMismatch) return { kind: "review", reason: `on-chain check failed: ${obs.chainMismatch}` };
  if (obs.orderId !== undefined && obs.orderId !== session.order_id) {
    return { kind: "review", reason: `event names order ${obs.orderId}, session belongs to ${session.order_id}` };
  }
  if (obs.currency !== undefined && obs.currency.toUpperCase() !== session.currency) {
    return { kind: "review", reason: `paid in ${obs.currency}, session is in ${session.currency}` };
  }

  if (obs.requireExactMatch && payingOutcomes.has(obs.outcome)) {
    // Nothing can be re-checked: credit only an event that names this order, in this currency, for the
    // exact amount; anything else waits for a person.
    if (obs.orderId === undefined || obs.currency === undefined || obs.amountPaidMinor === undefined) {
      return { kind: "review", reason: "the event cannot be re-checked and does not name order, currency and amount" };
    }
    if (obs.amountPaidMinor !== expected) {
      return { kind: "review", reason: `platform reports ${obs.amountPaidMinor}, session expects ${expected}`, amountPaidMinor: obs.amountPaidMinor };
    }
  }

  let target: SessionStatus = obs.outcome;
  let paid = alreadyPaid;
  if (payingOutcomes.has(obs.outcome)) {
    if (obs.amountPaidMinor === undefined) {
      if (obs.requireExactMatch) {
        return { kind: "review", reason: "the platform did not say how much was paid, and it cannot be re-checked" };
      }
      // A signed or re-fetched "paid" without an amount means the platform's own check passed.
      paid = obs.outcome === "underpaid" ? alreadyPaid : expected;
    } else {
      paid = obs.amountPaidMinor;
    }
    if (paid < alreadyPaid) paid = alreadyPaid; // totals only grow; an older event reports less
    target = paid < expected ? "underpaid" : paid > expected ? "overpaid" : "paid";
    if (obs.requireExactMatch && target !== "paid" && obs.outcome === "paid") {
      return { kind: "review", reason: `platform says paid, amount ${paid} ≠ ${expected}`, amountPaidMinor: paid };
    }
    let reviewReason: string | undefined;
    if (obs.outcome === "overpaid" && target !== "overpaid") {
      // The platform saw more money than it asked for but did not say how much (or its amount is the total):
      // the order is paid, and the surplus still needs a refund decision, so the overpayment is kept.
      if (target === "underpaid") {
        return { kind: "review", reason: `platform says overpaid, but reports ${paid} of ${expected}`, amountPaidMinor: paid };
      }
      target = "overpaid";
      reviewReason = "the platform reports an overpayment without the amount above the total: check it for a refund";
    }
    const occurred = obs.occurredAt ?? now;
    const expiresAt = Number(session.expires_at);
    // Lateness comes from the platform's word or its event time, or from our having closed the session;
    // a re-fetch that finds a payment without a time does not make it late by our clock alone.
    const late =
      obs.outcome === "paid_late" ||
      (obs.occurredAt !== undefined && obs.occurredAt.getTime() > expiresAt) ||
      current === "expired" || current === "failed" || current === "canceled";
    if (late && target === "paid") target = "paid_late";
    // Past the grace window only when the platform said when it was paid: a payment found later, with no
    // time attached, may well have been made in time.
    if (late && obs.occurredAt !== undefined && occurred.getTime() > expiresAt + graceMs) {
      const reason = `paid ${Math.round((occurred.getTime() - expiresAt) / 60000)} min after expiry, past the grace window`;
      // A partial payment does not complete the order, so it is recorded (the store hears "underpaid") and
      // flagged; a full one waits for the merchant, who may no longer honour the price.
      if (target !== "underpaid") return { kind: "review", reason, amountPaidMinor: paid };
      reviewReason = reason;
    }
    if (target === current && paid === alreadyPaid) return { kind: "noop", reason: "already in this state" };
    // More money on a session already underpaid or overpaid: same status, a larger amount the store must hear.
    if (target === current && paid > alreadyPaid && (target === "underpaid" || target === "overpaid")) {
      return { kind: "transition", to: target, amountPaidMinor: paid, ...(reviewReason ? { reviewReason } : {}) };
    }
    if (!canTransition(current, target)) return { kind: "noop", reason: `${current} does not move to ${target}` };
    return { kind: "transition", to: target, amountPaidMinor: paid, ...(reviewReason ? { reviewReason } : {}) };
  }

  if (target === current) return { kind: "noop", reason: "already in this state" };
  if (!canTransition(current, target)) {
    return { kind: "noop", reason: `${current} does not move to ${target}` };
  }
  return { kind: "transition", to: target, amountPaidMinor: paid };
}

export interface ApplyResult {
  decision: Decision;
  changed: boolean;
}

/**
 * Applies one observation. Safe under concurrency: the status change is a compare-and-set on the
 * session's current status and paid amount, and the store update is unique per (session, outcome).
 */
export async function applyPaymentObservation(
  deps: BridgeDeps,
  sessionId: string,
  observation: PaymentObservation,
): Promise<ApplyResult> {
  let obs = observation;
  const graceMs = obs.graceMs ?? deps.config.LATE_PAYMENT_GRACE_MINUTES * 60_000;
  for (let attempt = 0; attempt < 5; attempt++) {
    const session = await deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", sessionId).executeTakeFirstOrThrow();
    const now = deps.clock();
    const decision = decide(session, obs, now, graceMs);
    const nowMs = now.getTime();

    const outcome = await deps.db.kysely.transaction().execute(async (trx) => {
      if (decision.kind === "transition" && payingOutcomes.has(decision.to)) {
        const taken = await claimTransactions(trx, sessionId, obs, nowMs);
        if (taken) return { conflict: taken } as const;
      }
      if (decision.kind !== "noop") await recordPayment(trx, session, obs, decision, nowMs);
      if (decision.kind === "noop") {
        await recordSessionEvent(trx, {
          sessionId, kind: "observation_ignored", source: obs.source, fromStatus: session.status,
          detail: { reason: decision.reason, outcome: obs.outcome, providerStatus: obs.providerStatus }, at: nowMs,
        });
        return "done" as const;
      }
      if (decision.kind === "review") {
        await trx.updateTable("checkout_sessions").set({ review_reason: decision.reason.slice(0, 500), updated_at: nowMs })
          .where("id", "=", sessionId).execute();
        await recordSessionEvent(trx, {
          sessionId, kind: "review", source: obs.source, fromStatus: session.status,
          detail: { reason: decision.reason, outcome: obs.outcome, amountPaidMinor: decision.amountPaidMinor }, at: nowMs,
        });
        return "done" as const;
      }
      const result = await trx
        .updateTable("checkout_sessions")
        .set({
          status: decision.to,
          amount_paid_minor: decision.amountPaidMinor.toString(),
          updated_at: nowMs,
          provider_checked_at: nowMs,
          ...(decision.reviewReason ? { review_reason: decision.reviewReason } : {}),
        })
        .where("id", "=", sessionId)
        .where("status", "=", session.status)
        .where("amount_paid_minor", "=", session.amount_paid_minor)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return "raced" as const;
      await recordSessionEvent(trx, {
        sessionId, kind: "status_changed", source: obs.source, fromStatus: session.status, toStatus: decision.to,
        detail: { amountPaidMinor: decision.amountPaidMinor, providerStatus: obs.providerStatus, transactions: obs.transactions },
        at: nowMs,
      });
      await queueStoreUpdate(deps, trx, sessionId, decision.to, decision.amountPaidMinor, nowMs);
      return "changed" as const;
    });
    if (outcome === "raced") continue;
    if (typeof outcome === "object") {
      // Another session was credited with this transaction first (perhaps in another process a moment ago):
      // decide again, as a mismatch, so this session is held for review and nothing is paid twice.
      obs = { ...obs, chainMismatch: `transaction ${outcome.conflict.txHash} already paid session ${outcome.conflict.sessionId}` };
      continue;
    }
    if (outcome === "changed") deps.signals.storeUpdateQueued();
    return { decision, changed: outcome === "changed" };
  }
  throw new Error(`session ${sessionId} kept changing under us`);
}

/**
 * Enters the transactions an observation credits (those on a named chain, from a platform's word rather than
 * the EVM watcher's own per-log credits) under their (chain, hash) key. Returns the other session if one of
 * them already paid one; the same session seeing its transaction again is fine.
 */
async function claimTransactions(
  trx: Kysely<Database>,
  sessionId: string,
  obs: PaymentObservation,
  nowMs: number,
): Promise<{ txHash: string; sessionId: string } | undefined> {
  if (obs.source === "chain") return undefined;
  for (const tx of obs.transactions) {
    if (!tx.hash || !tx.chainId) continue;
    const key = { chain_id: tx.chainId.slice(0, 32), tx_hash: tx.hash.toLowerCase().slice(0, 191) };
    const holder = await trx.selectFrom("credited_transactions").select("session_id")
      .where("chain_id", "=", key.chain_id).where("tx_hash", "=", key.tx_hash).executeTakeFirst();
    if (holder) {
      if (holder.session_id !== sessionId) return { txHash: tx.hash, sessionId: holder.session_id };
      continue;
    }
    try {
      await trx.insertInto("credited_transactions").values({ ...key, session_id: sessionId, created_at: nowMs }).execute();
    } catch (err) {
      // Inserted by another process between our read and write: whoever it was, it was not this session's
      // transaction to take (its own duplicates are serialized by the session's compare-and-set).
      if (isUniqueViolation(err)) return { txHash: tx.hash, sessionId: "(another session, just now)" };
      throw err;
    }
  }
  return undefined;
}

/**
 * Keeps the payment record in step with the decision: a credited payment takes the session's new status and
 * an amount that never shrinks; a payment held for review is recorded (so the operator can find it by its
 * transaction) as `held_for_review`, and never overwrites a credited one. An ignored observation (older,
 * duplicate) writes nothing.
 */
async function recordPayment(
  trx: Kysely<Database>,
  session: SessionRow,
  obs: PaymentObservation,
  decision: Exclude<Decision, { kind: "noop" }>,
  nowMs: number,
) {
  if (!payingOutcomes.has(obs.outcome) && obs.transactions.length === 0) return;
  const reference = obs.paymentReference ?? obs.transactions[0]?.hash;
  if (!reference) return;
  const tx = obs.transactions[0];
  const existing = await trx.selectFrom("payments").select(["id", "amount_minor"])
    .where("session_id", "=", session.id).where("reference", "=", reference).executeTakeFirst();
  if (existing && decision.kind === "review") return;
  const reported = obs.amountPaidMinor ?? (decision.kind === "transition" ? decision.amountPaidMinor : undefined);
  const amount = existing?.amount_minor != null && reported !== undefined && BigInt(existing.amount_minor) > reported
    ? BigInt(existing.amount_minor)
    : reported;
  const values = {
    status: decision.kind === "transition" ? decision.to : "held_for_review",
    amount_minor: amount?.toString() ?? existing?.amount_minor ?? null,
    currency: obs.currency?.toUpperCase() ?? session.currency,
    tx_hash: tx?.hash ?? null,
    chain_id: tx?.chainId ?? null,
    explorer_url: tx?.explorerUrl ?? null,
    details_json: JSON.stringify({ transactions: obs.transactions, providerStatus: obs.providerStatus, source: obs.source }),
  };
  if (existing) {
    await trx.updateTable("payments").set(values).where("id", "=", existing.id).execute();
  } else {
    await trx.insertInto("payments").values({ id: newId("pay"), session_id: session.id, reference, created_at: nowMs, ...values }).execute();
  }
}

/** Writes the outbox job for a status change; a second identical outcome finds the unique key taken. */
async function queueStoreUpdate(
  deps: BridgeDeps,
  trx: Kysely<Database>,
  sessionId: string,
  status: SessionStatus,
  amountPaidMinor: bigint,
  nowMs: number,
): Promise<void> {
  const row = await trx.selectFrom("checkout_sessions").selectAll().where("id", "=", sessionId).executeTakeFirstOrThrow();
  const dedupeKey = `${status}:${amountPaidMinor}`;
  const exists = await trx.selectFrom("store_updates").select("id")
    .where("session_id", "=", sessionId).where("dedupe_key", "=", dedupeKey).executeTakeFirst();
  if (exists) return;
  const id = newId("evt");
  const update: StoreUpdate = {
    id,
    type: `checkout_session.${status}`,
    createdAt: Math.floor(nowMs / 1000),
    session: toPublicSession(row, await loadPayments(trx, sessionId), deps.config.PUBLIC_URL),
  };
  await trx
    .insertInto("store_updates")
    .values({
      id,
      store_id: row.store_id,
      session_id: sessionId,
      event_type: update.type,
      dedupe_key: dedupeKey,
      payload_json: JSON.stringify(update),
      state: "pending",
      attempts: 0,
      next_attempt_at: nowMs,
      lease_owner: null,
      lease_until: null,
      last_error: null,
      created_at: nowMs,
      delivered_at: null,
    })
    .execute();
}
