/**
 * The store side: where the result of a checkout session is written back. One adapter per store
 * platform (`custom`, `woocommerce`, `shopify`), assembled in `src/main.ts`.
 */
import type { z } from "zod";
import type { checkoutSessionSchema, publicPaymentSchema, storeUpdateSchema } from "../api/schemas.ts";
import type { SecretBox } from "../crypto/secrets.ts";
import type { Db } from "../db/database.ts";

/**
 * The event a store receives, the public session and its payments: typed from the zod schemas that
 * describe them in the OpenAPI document (src/api/schemas.ts), so the two cannot drift apart.
 */
export type StoreUpdate = z.output<typeof storeUpdateSchema>;
/** The checkout session as the store API returns it (amounts as decimal strings). */
export type PublicCheckoutSession = z.output<typeof checkoutSessionSchema>;
export type PublicPayment = z.output<typeof publicPaymentSchema>;

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
