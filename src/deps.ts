import type { Config } from "./config.ts";
import type { SecretBox } from "./crypto/secrets.ts";
import type { Db } from "./db/database.ts";
import type { Logger } from "./logger.ts";
import type { ProviderRegistry, TransactionRef } from "../plugins/types.ts";
import type { StoreAdapterRegistry } from "./stores/port.ts";

/** Everything a use case may need, handed over as one object (wired in src/main.ts, faked in tests). */
export interface BridgeDeps {
  config: Config;
  db: Db;
  secrets: SecretBox;
  providers: ProviderRegistry;
  storeAdapters: StoreAdapterRegistry;
  logger: Logger;
  clock: () => Date;
  /** Outbound HTTP to payment platforms. */
  providerFetch: typeof fetch;
  /** Outbound HTTP to stores. */
  storeFetch: typeof fetch;
  /** Independent on-chain check of transactions that a provider's webhook names (optional). */
  chainVerifier?: ChainVerifier;
  /** Wakes the background processors when new work was written (in-process fast path). */
  signals: WorkSignals;
}

/**
 * Checks, independently of the platform's word, that a transaction it names really paid this session.
 * `unsupported` when the bridge has no RPC for that chain (the check is then skipped, and said so);
 * `unverifiable` when the platform's word gives nothing to check against (held for review); `pending` when
 * the answer may still change (not mined, too few confirmations, RPC down: the webhook is retried).
 */
export interface ChainVerifier {
  verify(
    tx: TransactionRef,
    session: { id: string; currency: string; amountMinor: bigint; providerData: Record<string, unknown> },
  ): Promise<
    | { status: "verified" }
    | { status: "mismatch"; reason: string }
    | { status: "unverifiable"; reason: string }
    | { status: "pending"; reason: string }
    | { status: "unsupported" }
  >;
}

export interface WorkSignals {
  webhookReceived(eventRowId: string): void;
  storeUpdateQueued(): void;
}

export const noSignals: WorkSignals = { webhookReceived: () => {}, storeUpdateQueued: () => {} };
