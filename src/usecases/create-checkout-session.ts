/**
 * A store's cart becomes a checkout session: amounts are checked in the currency's minor units, the
 * provider session is created (with an idempotency key that survives retries, see `outboundIdentity`), and
 * the session is stored. The hosted page is reached through the bridge's own `/pay/{id}`.
 */
import type { Kysely } from "kysely";
import { ProviderRequestError, type SessionForProvider } from "../../plugins/types.ts";
import type { CreateCheckoutSessionInput } from "../api/schemas.ts";
import { insertRow } from "../db/insert-row.ts";
import type { Database, SessionRow } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";
import { sha256Hex } from "../crypto/secrets.ts";
import { newId } from "../domain/ids.ts";
import { currencyExponent, formatDecimalAmount, parseCurrency, parseDecimalAmount, type CurrencyCode } from "../domain/money.ts";
import { ApiError, type FieldError } from "../http/errors.ts";
import type { PublicCheckoutSession } from "../stores/port.ts";
import { resolveConnection } from "./connections.ts";
import { findStoreSessionRow, toCreatedResponse, toPublicSession, type StoredCart } from "./session-records.ts";
import { beginIdempotentRequest } from "./idempotency.ts";
import type { AuthenticatedStore } from "./stores.ts";
import { isUniqueViolation } from "./webhooks.ts";

interface PricedCart {
  currency: CurrencyCode;
  lines: SessionForProvider["lineItems"];
  shippingMinor: bigint;
  taxMinor: bigint;
  discountMinor: bigint;
  totalMinor: bigint;
}

/** Parses every amount of the cart in the currency's minor units and checks the stated total. */
export function priceCart(input: CreateCheckoutSessionInput): PricedCart {
  const currency = parseCurrency(input.currency);
  if (!currency) {
    throw new ApiError("validation_failed", "Unknown currency.", [
      { path: "currency", message: `${input.currency} is not an ISO 4217 currency code` },
    ]);
  }
  const fields: FieldError[] = [];
  const exponent = currencyExponent(currency);
  const amountAt = (value: string | undefined, path: string): bigint => {
    if (value === undefined) return 0n;
    const parsed = parseDecimalAmount(value, currency);
    if (parsed.ok) return parsed.minor;
    fields.push({
      path,
      message:
        parsed.error === "too_many_decimals"
          ? `${currency} has ${exponent} decimal places; ${value} has more`
          : `${value} is not a valid amount`,
    });
    return 0n;
  };
  const lines = input.lineItems.map((item, i) => ({
    name: item.name,
    quantity: item.quantity,
    unitAmountMinor: amountAt(item.unitAmount, `lineItems.${i}.unitAmount`),
    ...(item.sku ? { sku: item.sku } : {}),
    ...(item.imageUrl ? { imageUrl: item.imageUrl } : {}),
  }));
  const shippingMinor = amountAt(input.shippingAmount, "shippingAmount");
  const taxMinor = amountAt(input.taxAmount, "taxAmount");
  const discountMinor = amountAt(input.discountAmount, "discountAmount");
  const statedMinor = amountAt(input.amount, "amount");
  if (fields.length) throw new ApiError("validation_failed", "Some amounts are not valid.", fields);

  const itemsMinor = lines.reduce((sum, l) => sum + l.unitAmountMinor * BigInt(l.quantity), 0n);
  const totalMinor = itemsMinor + shippingMinor + taxMinor - discountMinor;
  if (discountMinor > itemsMinor + shippingMinor + taxMinor) {
    throw new ApiError("validation_failed", "The discount is larger than the cart.", [
      { path: "discountAmount", message: "must not exceed items + shipping + tax" },
    ]);
  }
  if (totalMinor !== statedMinor) {
    throw new ApiError("amount_mismatch", "The amount does not equal the cart total.", [
      {
        path: "amount",
        message: `items + shipping + tax - discount = ${formatDecimalAmount(totalMinor, currency)}, not ${input.amount}`,
      },
    ]);
  }
  if (totalMinor <= 0n) {
    throw new ApiError("validation_failed", "The amount must be greater than zero.", [
      { path: "amount", message: "must be greater than zero" },
    ]);
  }
  return { currency, lines, shippingMinor, taxMinor, discountMinor, totalMinor };
}

export interface CreateCheckoutSessionCommand {
  store: AuthenticatedStore;
  input: CreateCheckoutSessionInput;
  /**
   * A caller's own key for this create (the Shopify paths: one per payment or order), part of the key the
   * platform sees. The store API's Idempotency-Key goes through `createCheckoutSessionOnce` instead.
   */
  idempotencyKey?: string;
  /** `priceCart(input)`, when the caller has already checked the cart (it is not priced twice). */
  cart?: PricedCart;
}

/**
 * The session id and the platform idempotency key of one create. A create that failed (the platform made
 * its session but the answer was lost, or our insert failed) stores nothing, so the retry runs this again:
 * it must send the platform the same key and the same body (Crypto Checkout answers 409 to a key reused with
 * another body), hence the session id is derived too. The order's previous session on the connection is part
 * of the input, so a new attempt after a stored session (the first expired, the buyer tries again) is a new
 * platform session, never a replay of the expired one. The connection id (random, never shown to buyers)
 * keeps the derived ids unguessable.
 *
 * Without a key nothing tells a retry from a second, deliberate session for the same order (several at once
 * are legitimate, e.g. one per payment method), so each such create gets a fresh id and the key is derived
 * from it: the platform still sees one key per bridge session, as before.
 *
 * A key claimed through the store API (`claimedAt`) does the previous session's job without the read: a
 * retry takes the claim over with its time, while a key reused after its record was pruned is a new claim.
 */
export function outboundIdentity(input: {
  connectionId: string;
  storeId: string;
  orderId: string;
  amountMinor: bigint;
  currency: string;
  previousSessionId: string | undefined;
  storeIdempotencyKey: string | undefined;
  claimedAt?: number;
}): { sessionId: string; idempotencyKey: string } {
  const fresh = input.storeIdempotencyKey === undefined ? newId("cs") : undefined;
  const material = JSON.stringify([
    input.connectionId, input.storeId, input.orderId, input.amountMinor.toString(), input.currency,
    input.claimedAt === undefined ? (input.previousSessionId ?? null) : `claimed ${input.claimedAt}`,
    input.storeIdempotencyKey ?? fresh,
  ]);
  return {
    sessionId: fresh ?? `cs_${sha256Hex(`cartbridge session id\n${material}`).slice(0, 24)}`,
    idempotencyKey: `cartbridge-${sha256Hex(`cartbridge idempotency key\n${material}`).slice(0, 48)}`,
  };
}

export async function createCheckoutSession(
  deps: BridgeDeps,
  { store, input, idempotencyKey: storeIdempotencyKey, cart = priceCart(input) }: CreateCheckoutSessionCommand,
): Promise<PublicCheckoutSession> {
  const target = await connectionFor(deps, store, input);
  // Only a keyed create is derived from the previous session (see outboundIdentity), so only it pays for this
  // indexed read.
  const previous = storeIdempotencyKey === undefined ? undefined : await deps.db.kysely
    .selectFrom("checkout_sessions")
    .select("id")
    .where("order_id", "=", input.order.id)
    .where("connection_id", "=", target.resolved.row.id)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  const identity = outboundIdentity({
    ...identityBase(target, store, input, cart),
    previousSessionId: previous?.id,
    storeIdempotencyKey,
  });
  const row = await createAtProvider(deps, { store, input, cart, target, ...identity });
  await insertRow(deps.db.kysely, "checkout_sessions", row);
  return toPublicSession(row, [], deps.config.PUBLIC_URL);
}

export type CreateOnceOutcome =
  | { replayed: false; session: PublicCheckoutSession }
  | { replayed: true; status: number; body: string };

/**
 * The store API's create with an Idempotency-Key: the key is claimed (naming the session the claim
 * creates), the platform is asked, and the session row is stored; that row completes the claim (see
 * idempotency.ts), so a keyed create costs one write more than an unkeyed one. A request that finds the key
 * done replays the first response; one that finds it running gets 409.
 */
export async function createCheckoutSessionOnce(
  deps: BridgeDeps,
  { store, input, cart, idempotencyKey, fingerprint }: {
    store: AuthenticatedStore;
    input: CreateCheckoutSessionInput;
    cart: PricedCart;
    idempotencyKey: string;
    fingerprint: string;
  },
): Promise<CreateOnceOutcome> {
  // A missing connection is refused before the key is taken: the 422 writes nothing.
  const target = await connectionFor(deps, store, input);
  // The claim derives its session id from its time, and the create then needs both ids for that same time.
  let derived: { claimedAt: number; identity: ReturnType<typeof outboundIdentity> } | undefined;
  const identityAt = (claimedAt: number) => {
    if (derived?.claimedAt !== claimedAt) {
      const identity = outboundIdentity({ ...identityBase(target, store, input, cart), previousSessionId: undefined, storeIdempotencyKey: idempotencyKey, claimedAt });
      derived = { claimedAt, identity };
    }
    return derived.identity;
  };
  const createdSession = async (sessionId: string) => {
    const row = await findStoreSessionRow(deps.db.kysely, sessionId, store);
    return row ? toCreatedResponse(row, deps.config.PUBLIC_URL) : undefined;
  };
  const started = await beginIdempotentRequest(deps, {
    storeId: store.storeId, key: idempotencyKey, fingerprint, sessionIdAt: (at) => identityAt(at).sessionId,
    createdResponse: async (sessionId) => {
      const session = await createdSession(sessionId);
      return session && JSON.stringify(session);
    },
  });
  if (started.kind === "replay") return { replayed: true, status: started.status, body: started.body };

  const identity = identityAt(started.claimedAt);
  let row;
  try {
    row = await createAtProvider(deps, { store, input, cart, target, ...identity });
    await insertRow(deps.db.kysely, "checkout_sessions", row);
  } catch (err) {
    // Two holders of one claim (one stalled past its lock) derive one session id: the first insert is the
    // session, and both answer with it as it was created.
    const stored = row && isUniqueViolation(err) ? await createdSession(row.id) : undefined;
    if (stored) return { replayed: false, session: stored };
    // The platform may have made its session: the claim stays (free) so the retry derives the same key.
    await started.release();
    throw err;
  }
  return { replayed: false, session: toPublicSession(row, [], deps.config.PUBLIC_URL) };
}

interface SessionTarget {
  providerName: string;
  resolved: NonNullable<Awaited<ReturnType<typeof resolveConnection>>>;
}

/** The store's connection for the requested provider (or its default), or 422 when it has none. */
async function connectionFor(deps: BridgeDeps, store: AuthenticatedStore, input: CreateCheckoutSessionInput): Promise<SessionTarget> {
  const providerName = input.provider ?? store.defaultProvider;
  if (!providerName) {
    throw new ApiError("provider_not_connected", "No provider was named and the store has no default.", [
      { path: "provider", message: "required when the store has no default provider" },
    ]);
  }
  const connection = await findConnection(deps.db.kysely, store, providerName);
  const resolved = connection ? await resolveConnection(deps, connection.id) : undefined;
  if (!resolved) {
    throw new ApiError(
      "provider_not_connected",
      `The store has no ${store.livemode ? "live" : "test"} ${providerName} connection.`,
      [{ path: "provider", message: `connect a ${providerName} account first` }],
    );
  }
  return { providerName, resolved };
}

function identityBase(target: SessionTarget, store: AuthenticatedStore, input: CreateCheckoutSessionInput, cart: PricedCart) {
  return { connectionId: target.resolved.row.id, storeId: store.storeId, orderId: input.order.id, amountMinor: cart.totalMinor, currency: cart.currency };
}

/** Asks the platform for its session and returns the row to store (status open, nothing paid). */
async function createAtProvider(
  deps: BridgeDeps,
  { store, input, cart, target, sessionId: id, idempotencyKey }: {
    store: AuthenticatedStore;
    input: CreateCheckoutSessionInput;
    cart: PricedCart;
    target: SessionTarget;
    sessionId: string;
    idempotencyKey: string;
  },
): Promise<SessionRow> {
  const { providerName, resolved } = target;
  const now = deps.clock();
  const expiresAt = new Date(now.getTime() + deps.config.SESSION_TTL_MINUTES * 60_000);
  const metadata: Record<string, string> = {
    ...(input.metadata ?? {}),
    cartbridge_session_id: id,
    order_id: input.order.id,
  };
  const forProvider: SessionForProvider = {
    id,
    idempotencyKey,
    storeId: store.storeId,
    livemode: store.livemode,
    currency: cart.currency,
    currencyExponent: currencyExponent(cart.currency),
    amountMinor: cart.totalMinor,
    lineItems: cart.lines,
    shippingMinor: cart.shippingMinor,
    taxMinor: cart.taxMinor,
    discountMinor: cart.discountMinor,
    order: input.order,
    ...(input.customer?.email ? { customerEmail: input.customer.email } : {}),
    metadata,
    successUrl: input.successUrl,
    cancelUrl: input.cancelUrl,
    expiresAt,
  };

  let created;
  try {
    created = await resolved.provider.createSession(forProvider, resolved.ctx);
  } catch (err) {
    deps.logger.warn("provider session creation failed", { provider: providerName, sessionId: id, err });
    // The caller is the shop that owns this connection, so an adapter's description of what went wrong (its own
    // check, or the platform's error code and message) is theirs to read and is what lets them fix it. Anything
    // else (a bug, a library's exception) stays in our log only: it may carry internals.
    const retryable = err instanceof ProviderRequestError ? err.retryable : true;
    const reason = err instanceof ProviderRequestError ? `: ${printableReason(err.message)}` : "";
    throw new ApiError(
      "provider_unavailable",
      `${resolved.provider.displayName} did not create the session${reason} (${retryable ? "it is safe to retry" : "check the connection's settings"}).`,
    );
  }

  const storedCart: StoredCart = {
    lineItems: cart.lines.map((l) => ({ ...l, unitAmountMinor: l.unitAmountMinor.toString() })),
    shippingMinor: cart.shippingMinor.toString(),
    taxMinor: cart.taxMinor.toString(),
    discountMinor: cart.discountMinor.toString(),
  };
  // The session row is its own "created" record (the timeline derives that entry from it).
  return {
    id,
    store_id: store.storeId,
    connection_id: resolved.row.id,
    provider: providerName,
    livemode: store.livemode ? 1 : 0,
    status: "open",
    currency: cart.currency,
    amount_minor: cart.totalMinor.toString(),
    amount_paid_minor: "0",
    order_id: input.order.id,
    order_number: input.order.number ?? null,
    order_key: input.order.key ?? null,
    customer_email: input.customer?.email ?? null,
    cart_json: JSON.stringify(storedCart),
    metadata_json: JSON.stringify(input.metadata ?? {}),
    success_url: input.successUrl,
    cancel_url: input.cancelUrl,
    provider_session_id: created.providerSessionId,
    provider_checkout_url: created.checkoutUrl,
    provider_data_json: JSON.stringify(created.providerData ?? {}, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
    review_reason: null,
    expires_at: expiresAt.getTime(),
    created_at: now.getTime(),
    updated_at: now.getTime(),
    provider_checked_at: null,
  };
}

const connectionCacheMs = 30_000;
const connectionCache = new WeakMap<Kysely<Database>, Map<string, { at: number; id: string }>>();

/** The store's newest active connection for a provider and mode; remembered as long as connections are. */
async function findConnection(db: Kysely<Database>, store: AuthenticatedStore, provider: string) {
  let cache = connectionCache.get(db);
  if (!cache) connectionCache.set(db, (cache = new Map()));
  const key = `${store.storeId}:${provider}:${store.livemode}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < connectionCacheMs) return { id: hit.id };
  const found = await queryConnection(db, store, provider);
  if (found) cache.set(key, { at: Date.now(), id: found.id });
  return found;
}

async function queryConnection(db: Kysely<Database>, store: AuthenticatedStore, provider: string) {
  return db
    .selectFrom("provider_connections")
    .select("id")
    .where("store_id", "=", store.storeId)
    .where("provider", "=", provider)
    .where("livemode", "=", store.livemode ? 1 : 0)
    .where("disabled_at", "is", null)
    .orderBy("created_at", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** Bounded, single-line text from a platform's error, fit for a JSON message shown to the shop. */
function printableReason(message: string): string {
  const oneLine = message.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 299)}…` : oneLine;
}
