/** Stores and their API keys. Keys are shown once and stored only as SHA-256 hashes. */
import { randomBytes } from "node:crypto";
import type { BridgeDeps } from "../deps.ts";
import { randomToken, sha256Hex } from "../crypto/secrets.ts";
import { newId } from "../domain/ids.ts";

export class StoreInputError extends Error {}

export interface IssuedKeys {
  testKey: string;
  liveKey: string;
}

export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

async function issueKey(deps: BridgeDeps, storeId: string, livemode: boolean): Promise<string> {
  const key = `${livemode ? "sk_live_" : "sk_test_"}${randomToken(24)}`;
  await deps.db.kysely
    .insertInto("api_keys")
    .values({
      id: newId("key"),
      store_id: storeId,
      key_hash: sha256Hex(key),
      key_prefix: key.slice(0, 14),
      livemode: livemode ? 1 : 0,
      created_at: deps.clock().getTime(),
      revoked_at: null,
    })
    .execute();
  return key;
}

export async function createStore(
  deps: BridgeDeps,
  input: { name: string; platform: string; defaultProvider?: string; credentials?: Record<string, unknown> },
): Promise<{ storeId: string; keys: IssuedKeys; credentials: Record<string, unknown> }> {
  const adapter = deps.storeAdapters.get(input.platform);
  if (!adapter) {
    throw new StoreInputError(
      `unknown store platform ${input.platform}; known: ${deps.storeAdapters.list().map((a) => a.platform).join(", ")}`,
    );
  }
  if (input.defaultProvider && !deps.providers.get(input.defaultProvider)) {
    throw new StoreInputError(`unknown provider ${input.defaultProvider}`);
  }
  const credentials = { ...(input.credentials ?? {}) };
  if (input.platform === "custom" && !credentials.signingSecret) credentials.signingSecret = generateSigningSecret();
  const parsed = adapter.credentialsSchema.safeParse(credentials);
  if (!parsed.success) {
    throw new StoreInputError(
      `invalid store settings: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  const storeId = newId("st");
  const now = deps.clock().getTime();
  await deps.db.kysely
    .insertInto("stores")
    .values({
      id: storeId,
      name: input.name,
      platform: input.platform,
      default_provider: input.defaultProvider ?? null,
      credentials_enc: await deps.secrets.seal(parsed.data),
      created_at: now,
      updated_at: now,
    })
    .execute();
  const keys = { testKey: await issueKey(deps, storeId, false), liveKey: await issueKey(deps, storeId, true) };
  return { storeId, keys, credentials };
}

/** Revokes the store's current keys of that mode and issues a new one. */
export async function rotateStoreKey(deps: BridgeDeps, storeId: string, livemode: boolean): Promise<string> {
  const store = await deps.db.kysely.selectFrom("stores").select("id").where("id", "=", storeId).executeTakeFirst();
  if (!store) throw new StoreInputError(`no store ${storeId}`);
  await deps.db.kysely
    .updateTable("api_keys")
    .set({ revoked_at: deps.clock().getTime() })
    .where("store_id", "=", storeId)
    .where("livemode", "=", livemode ? 1 : 0)
    .where("revoked_at", "is", null)
    .execute();
  forgetApiKeys(deps);
  return issueKey(deps, storeId, livemode);
}

export async function updateStoreCredentials(deps: BridgeDeps, storeId: string, credentials: Record<string, unknown>): Promise<void> {
  const store = await deps.db.kysely.selectFrom("stores").selectAll().where("id", "=", storeId).executeTakeFirst();
  if (!store) throw new StoreInputError(`no store ${storeId}`);
  const adapter = deps.storeAdapters.get(store.platform);
  const parsed = adapter?.credentialsSchema.safeParse(credentials);
  if (!parsed?.success) throw new StoreInputError(`invalid store settings for ${store.platform}`);
  await deps.db.kysely
    .updateTable("stores")
    .set({ credentials_enc: await deps.secrets.seal(parsed.data), updated_at: deps.clock().getTime() })
    .where("id", "=", storeId)
    .execute();
}

export interface AuthenticatedStore {
  storeId: string;
  livemode: boolean;
  defaultProvider: string | null;
}

/**
 * Look-ups are remembered for a few seconds per process: the store API's hot path then costs no query for
 * the key, and a client retrying a wrong key in a loop costs none either. A revoked key therefore stops
 * working within `authCacheMs` everywhere. (Keys are random, so no key is refused for having been tried
 * before it existed.)
 */
export const authCacheMs = 5_000;
const authCache = new WeakMap<BridgeDeps, Map<string, { at: number; value: AuthenticatedStore | undefined }>>();

export async function authenticateApiKey(deps: BridgeDeps, key: string): Promise<AuthenticatedStore | undefined> {
  if (!/^sk_(test|live)_[A-Za-z0-9_-]{10,}$/.test(key)) return undefined;
  const hash = sha256Hex(key);
  let cache = authCache.get(deps);
  if (!cache) authCache.set(deps, (cache = new Map()));
  const nowMs = Date.now();
  const hit = cache.get(hash);
  if (hit && nowMs - hit.at < authCacheMs) return hit.value;
  const value = await lookUpApiKey(deps, hash);
  if (cache.size > 10_000) cache.clear();
  cache.set(hash, { at: nowMs, value });
  return value;
}

/** Forgets remembered keys of this process (after a rotation made here). */
export function forgetApiKeys(deps: BridgeDeps): void {
  authCache.delete(deps);
}

async function lookUpApiKey(deps: BridgeDeps, hash: string): Promise<AuthenticatedStore | undefined> {
  const row = await deps.db.kysely
    .selectFrom("api_keys")
    .innerJoin("stores", "stores.id", "api_keys.store_id")
    .select(["api_keys.store_id", "api_keys.livemode", "api_keys.revoked_at", "stores.default_provider"])
    .where("api_keys.key_hash", "=", hash)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) return undefined;
  return { storeId: row.store_id, livemode: row.livemode === 1, defaultProvider: row.default_provider };
}
