/** Installed shops: each one is bound to a bridge store (platform `shopify`) created on first install. */
import type { Session } from "@shopify/shopify-api";
import type { BridgeDeps } from "../deps.ts";
import { createStore } from "../usecases/stores.ts";
import { isUniqueViolation } from "../usecases/webhooks.ts";
import { offlineSessionId, registeredAppApi, ShopifyRequestError, withShopifyFetch } from "./api.ts";
import { KyselySessionStorage } from "./session-storage.ts";
import { shopifyDb, type ShopifyShopsTable } from "./tables.ts";

export function sessionStorage(deps: Pick<BridgeDeps, "db" | "secrets" | "clock">): KyselySessionStorage {
  return new KyselySessionStorage(deps.db.kysely, deps.secrets, deps.clock);
}

/** Stores the offline session and makes sure the shop has its bridge store. Re-installing reuses the store. */
export async function recordInstall(deps: BridgeDeps, session: Session): Promise<ShopifyShopsTable> {
  await sessionStorage(deps).storeSession(session);
  const db = shopifyDb(deps.db.kysely);
  const now = deps.clock().getTime();
  const existing = await db.selectFrom("shopify_shops").selectAll().where("shop", "=", session.shop).executeTakeFirst();
  if (existing) {
    await db.updateTable("shopify_shops").set({ scope: session.scope ?? null, uninstalled_at: null, updated_at: now })
      .where("shop", "=", session.shop).execute();
    return { ...existing, scope: session.scope ?? null, uninstalled_at: null, updated_at: now };
  }
  const store = await createStore(deps, { name: session.shop, platform: "shopify", credentials: { shop: session.shop } });
  const row: ShopifyShopsTable = { shop: session.shop, store_id: store.storeId, scope: session.scope ?? null, installed_at: now, uninstalled_at: null, updated_at: now };
  try {
    await db.insertInto("shopify_shops").values(row).execute();
    deps.logger.info("shopify shop installed", { shop: session.shop, storeId: store.storeId });
    return row;
  } catch (err) {
    // Two installs racing: the first row wins; the second store stays unused (it has no keys in use).
    if (!isUniqueViolation(err)) throw err;
    return db.selectFrom("shopify_shops").selectAll().where("shop", "=", session.shop).executeTakeFirstOrThrow();
  }
}

/** `app/uninstalled`: the tokens are gone at Shopify, so they go here too; the store and its history stay. */
export async function recordUninstall(deps: BridgeDeps, shop: string): Promise<void> {
  const storage = sessionStorage(deps);
  const sessions = await storage.findSessionsByShop(shop);
  await storage.deleteSessions(sessions.map((s) => s.id));
  await shopifyDb(deps.db.kysely).updateTable("shopify_shops").set({ uninstalled_at: deps.clock().getTime(), updated_at: deps.clock().getTime() })
    .where("shop", "=", shop).execute();
  deps.logger.info("shopify shop uninstalled", { shop });
}

export async function findInstalledShop(deps: Pick<BridgeDeps, "db">, shop: string): Promise<ShopifyShopsTable | undefined> {
  const row = await shopifyDb(deps.db.kysely).selectFrom("shopify_shops").selectAll().where("shop", "=", shop).executeTakeFirst();
  return row && row.uninstalled_at === null ? row : undefined;
}

/** An access token this close to expiry is refreshed first, so no request starts with a token about to lapse. */
const refreshMarginMs = 60_000;

type SessionDeps = Pick<BridgeDeps, "db" | "secrets" | "clock"> & Partial<Pick<BridgeDeps, "storeFetch">>;

/**
 * The shop's offline session. Offline tokens are requested expiring (Shopify's current default for new apps):
 * one that has expired, or is about to, is refreshed here with its refresh token (`auth.refreshToken`), and the
 * new access token and new refresh token replace the old pair in one write. Undefined when there is no usable
 * token (uninstalled, or the refresh token itself expired: the embedded page's token exchange makes a new one).
 */
export async function loadOfflineSession(deps: SessionDeps, shop: string): Promise<Session | undefined> {
  const storage = sessionStorage(deps);
  const session = await storage.loadSession(offlineSessionId(shop));
  if (!session?.accessToken) return undefined;
  const nowMs = deps.clock().getTime();
  if (!session.expires || session.expires.getTime() - refreshMarginMs > nowMs) return session;
  return refreshOfflineSession(deps, storage, session, nowMs);
}

async function refreshOfflineSession(deps: SessionDeps, storage: KyselySessionStorage, stale: Session, nowMs: number): Promise<Session | undefined> {
  const stillValid = stale.expires!.getTime() > nowMs ? stale : undefined;
  const api = registeredAppApi();
  const refreshToken = stale.refreshToken;
  if (!api || !refreshToken || (stale.refreshTokenExpires && stale.refreshTokenExpires.getTime() <= nowMs)) return stillValid;
  const refresh = () => api.auth.refreshToken({ shop: stale.shop, refreshToken });
  try {
    const { session } = await (deps.storeFetch ? withShopifyFetch(deps.storeFetch, refresh) : refresh());
    await storage.storeSession(session);
    return session;
  } catch (err) {
    // Shopify spends a refresh token on use: another process may have refreshed first and stored the new pair.
    const current = await storage.loadSession(stale.id);
    if (current?.accessToken && current.accessToken !== stale.accessToken) return current;
    if (stillValid) return stillValid;
    const status = (err as { response?: { code?: number } }).response?.code;
    // Shopify refused the refresh token: only a new token exchange (the embedded page) or install helps.
    if (status !== undefined && status >= 400 && status < 500 && status !== 429) return undefined;
    throw new ShopifyRequestError(`refreshing the access token of ${stale.shop} failed: ${(err as Error).message}`, true);
  }
}

/** `shop/redact` (48 hours after uninstall): forget the shop's tokens, links and buyer e-mails. */
export async function redactShop(deps: BridgeDeps, shop: string): Promise<void> {
  const db = shopifyDb(deps.db.kysely);
  const row = await db.selectFrom("shopify_shops").selectAll().where("shop", "=", shop).executeTakeFirst();
  await db.deleteFrom("shopify_sessions").where("shop", "=", shop).execute();
  await db.deleteFrom("shopify_order_links").where("shop", "=", shop).execute();
  if (row) {
    const sessions = await deps.db.kysely.selectFrom("checkout_sessions").select("id").where("store_id", "=", row.store_id).execute();
    await eraseBuyerEmails(deps, sessions.map((x) => x.id));
  }
}

/**
 * `customers/redact`: the bridge keeps a buyer's e-mail on their sessions and in the store updates made from
 * them; both are erased. Sessions are found by the listed orders (manual route: the session's order id is
 * Shopify's) and by the customer's e-mail (Payments Apps route: the session's order id is Shopify's payment
 * session id, which the request does not list).
 */
export async function redactCustomer(deps: BridgeDeps, shop: string, customer: { orderIds: string[]; email?: string }): Promise<number> {
  const row = await shopifyDb(deps.db.kysely).selectFrom("shopify_shops").select("store_id").where("shop", "=", shop).executeTakeFirst();
  const email = customer.email?.trim().toLowerCase();
  if (!row || (customer.orderIds.length === 0 && !email)) return 0;
  const sessions = await deps.db.kysely.selectFrom("checkout_sessions").select("id").where("store_id", "=", row.store_id)
    .where((eb) => eb.or([
      ...(customer.orderIds.length ? [eb("order_id", "in", customer.orderIds)] : []),
      ...(email ? [eb(eb.fn<string>("lower", ["customer_email"]), "=", email)] : []),
    ]))
    .execute();
  return eraseBuyerEmails(deps, sessions.map((x) => x.id));
}

/** Clears the buyer's e-mail from these sessions and from the store-update payloads that copied it. */
async function eraseBuyerEmails(deps: BridgeDeps, sessionIds: string[]): Promise<number> {
  if (!sessionIds.length) return 0;
  const db = deps.db.kysely;
  const cleared = await db.updateTable("checkout_sessions").set({ customer_email: null }).where("id", "in", sessionIds).executeTakeFirst();
  const updates = await db.selectFrom("store_updates").select(["id", "payload_json"]).where("session_id", "in", sessionIds).execute();
  for (const u of updates) {
    const payload = JSON.parse(u.payload_json) as { session?: { customer?: unknown } };
    if (payload.session?.customer === undefined) continue;
    delete payload.session.customer;
    await db.updateTable("store_updates").set({ payload_json: JSON.stringify(payload) }).where("id", "=", u.id).execute();
  }
  return Number(cleared.numUpdatedRows);
}
