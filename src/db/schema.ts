/**
 * Row types of the bridge's tables, one schema for SQLite and MySQL/MariaDB.
 * Conventions that keep the two dialects identical:
 * - times are epoch milliseconds in BIGINT columns;
 * - money is a decimal string of integer minor units (exact beyond 2^53 in both dialects);
 * - booleans are 0/1 integers; JSON is text.
 */
import type { Generated, Selectable, Insertable, Updateable } from "kysely";

export interface StoresTable {
  id: string;
  name: string;
  /** Which store adapter receives updates: `custom`, `woocommerce`, `shopify`. */
  platform: string;
  default_provider: string | null;
  /** JWE of the adapter's settings and secrets (endpoint URL, signing secret, REST keys…). */
  credentials_enc: string | null;
  created_at: number;
  updated_at: number;
}

export interface ApiKeysTable {
  id: string;
  store_id: string;
  /** SHA-256 of the whole key, hex. The key itself is shown once and never stored. */
  key_hash: string;
  /** `sk_test_ab12…` first characters, for display. */
  key_prefix: string;
  livemode: number;
  created_at: number;
  revoked_at: number | null;
}

export interface ProviderConnectionsTable {
  id: string;
  store_id: string;
  provider: string;
  livemode: number;
  /** JWE of the provider credentials (API keys, webhook secrets). */
  credentials_enc: string;
  /** Non-secret settings (base URL, chain, display name) as JSON. */
  settings_json: string;
  created_at: number;
  disabled_at: number | null;
}

export interface CheckoutSessionsTable {
  id: string;
  store_id: string;
  connection_id: string;
  provider: string;
  livemode: number;
  status: string;
  currency: string;
  amount_minor: string;
  amount_paid_minor: string;
  order_id: string;
  order_number: string | null;
  order_key: string | null;
  customer_email: string | null;
  cart_json: string;
  metadata_json: string;
  success_url: string;
  cancel_url: string;
  provider_session_id: string | null;
  provider_checkout_url: string | null;
  provider_data_json: string;
  /** Set when a payment could not be trusted (amount/currency/chain mismatch): a person must look. */
  review_reason: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  /** Last time anything was heard about the session from its provider (for the reconciler). */
  provider_checked_at: number | null;
}

export interface PaymentsTable {
  id: string;
  session_id: string;
  /** Unique per session: the platform's payment id, tx hash or tx hash + log index. */
  reference: string;
  status: string;
  amount_minor: string | null;
  currency: string | null;
  tx_hash: string | null;
  chain_id: string | null;
  explorer_url: string | null;
  details_json: string;
  created_at: number;
}

export interface WebhookEventsTable {
  id: string;
  provider: string;
  connection_id: string;
  /** The platform's event/delivery id; unique with provider + connection. */
  event_id: string;
  /** `received` → `processed` | `ignored` | `failed`; `processing` while claimed. */
  status: string;
  attempts: number;
  next_attempt_at: number;
  claimed_until: number | null;
  /** Random token of the batch that claimed the event. */
  claim_owner: string | null;
  headers_json: string;
  raw_body: string;
  normalized_json: string;
  result_note: string | null;
  received_at: number;
  processed_at: number | null;
}

export interface WebhookRejectionsTable {
  id: string;
  provider: string;
  connection_id: string | null;
  reason: string;
  headers_json: string;
  raw_body_excerpt: string;
  received_at: number;
}

export interface SessionEventsTable {
  id: Generated<number>;
  session_id: string;
  /** `created`, `status_changed`, `payment_recorded`, `webhook_ignored`, `store_update_*`, `review`. */
  kind: string;
  from_status: string | null;
  to_status: string | null;
  source: string;
  detail_json: string;
  created_at: number;
}

export interface IdempotencyKeysTable {
  store_id: string;
  idem_key: string;
  request_hash: string;
  /** `in_progress` (the claim; complete once its session row exists) | `done` (a stored response, written before migration 012) */
  state: string;
  response_status: number | null;
  response_body: string | null;
  created_at: number;
  locked_until: number;
  /** The session this claim creates (migration 012). */
  session_id: string | null;
}

export interface StoreUpdatesTable {
  id: string;
  store_id: string;
  session_id: string;
  /** `checkout_session.paid`, … */
  event_type: string;
  /** `status:amountPaid`: one job per distinct outcome of a session, whatever the number of events. */
  dedupe_key: string;
  payload_json: string;
  /** `pending` | `delivering` | `delivered` | `dead` */
  state: string;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  /** The session id while this job is `delivering`, else NULL: unique, so one update per session is in flight. */
  inflight_session_id: string | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** Transactions on named chains that have paid a session (see migration 011): one session per transaction. */
export interface CreditedTransactionsTable {
  chain_id: string;
  tx_hash: string;
  session_id: string;
  created_at: number;
}

export interface StoreUpdateAttemptsTable {
  id: Generated<number>;
  update_id: string;
  attempt: number;
  worker: string;
  started_at: number;
  finished_at: number;
  outcome: string;
  response_status: number | null;
  response_excerpt: string | null;
  error: string | null;
}

export interface WorkerLeasesTable {
  name: string;
  owner: string;
  lease_until: number;
  cursor_json: string;
}

export interface Database {
  stores: StoresTable;
  api_keys: ApiKeysTable;
  provider_connections: ProviderConnectionsTable;
  checkout_sessions: CheckoutSessionsTable;
  payments: PaymentsTable;
  webhook_events: WebhookEventsTable;
  webhook_rejections: WebhookRejectionsTable;
  credited_transactions: CreditedTransactionsTable;
  session_events: SessionEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  store_updates: StoreUpdatesTable;
  store_update_attempts: StoreUpdateAttemptsTable;
  worker_leases: WorkerLeasesTable;
}

export type StoreRow = Selectable<StoresTable>;
export type SessionRow = Selectable<CheckoutSessionsTable>;
export type NewSessionRow = Insertable<CheckoutSessionsTable>;
export type SessionUpdate = Updateable<CheckoutSessionsTable>;
export type ConnectionRow = Selectable<ProviderConnectionsTable>;
export type StoreUpdateRow = Selectable<StoreUpdatesTable>;
export type WebhookEventRow = Selectable<WebhookEventsTable>;
