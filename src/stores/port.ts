/**
 * The store side: where the result of a checkout session is written back. One adapter per store
 * platform (`custom`, `woocommerce`, `shopify`), assembled in `src/main.ts`.
 */
import type { z } from "zod";
import type { SessionStatus } from "../domain/session-status.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import type { Db } from "../db/database.ts";

/** The event a store receives: the bridge's public session object after a status change. */
export interface StoreUpdate {
  /** Stable across retries: stores dedupe on it. */
  id: string;
  type: `checkout_session.${SessionStatus}`;
  createdAt: number;
  session: PublicCheckoutSession;
}

/** The checkout session as the store API returns it (amounts as decimal strings). */
export interface PublicCheckoutSession {
  id: string;
  object: "checkout_session";
  status: SessionStatus;
  checkoutUrl: string;
  amount: string;
  amountPaid: string;
  currency: string;
  order: { id: string; number?: string; key?: string };
  metadata: Record<string, string>;
  provider: string;
  expiresAt: string;
  createdAt: string;
  livemode: boolean;
  successUrl: string;
  cancelUrl: string;
  customer?: { email: string };
  review?: { reason: string };
  payments: PublicPayment[];
}

export interface PublicPayment {
  reference: string;
  status: string;
  amount?: string;
  currency?: string;
  txHash?: string;
  chainId?: string;
  explorerUrl?: string;
}

export type DeliveryResult =
  | { ok: true; responseStatus?: number; responseExcerpt?: string }
  | { ok: false; retryable: boolean; error: string; responseStatus?: number; responseExcerpt?: string };

export interface StoreAdapterContext<Credentials> {
  storeId: string;
  credentials: Credentials;
  fetch: typeof fetch;
  timeoutMs: number;
  now: () => Date;
  /** The bridge database, for adapters that keep tables of their own (e.g. `shopify`'s installs and tokens). */
  db?: Db;
  /** Opens secrets the adapter sealed in its own tables. */
  secrets?: SecretBox;
}

export interface StoreAdapter<Credentials = unknown> {
  readonly platform: string;
  readonly credentialsSchema: z.ZodType<Credentials>;
  /** Applies one update to the store. Must be idempotent: a retried job may arrive again. */
  deliver(update: StoreUpdate, ctx: StoreAdapterContext<Credentials>): Promise<DeliveryResult>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStoreAdapter = StoreAdapter<any>;

export class StoreAdapterRegistry {
  private readonly adapters = new Map<string, AnyStoreAdapter>();
  constructor(adapters: AnyStoreAdapter[] = []) {
    for (const a of adapters) this.adapters.set(a.platform, a);
  }
  get(platform: string): AnyStoreAdapter | undefined {
    return this.adapters.get(platform);
  }
  list(): AnyStoreAdapter[] {
    return [...this.adapters.values()];
  }
}
