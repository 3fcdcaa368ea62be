/**
 * Connecting a WooCommerce shop without copy-paste, through WooCommerce's app authorization
 * (`/wc-auth/v1/authorize`). Mounted under `/woocommerce`:
 *
 *   POST /woocommerce/connect            (store secret key) → { authorizeUrl } for the admin's browser
 *   POST /woocommerce/wc-auth/callback   WooCommerce POSTs the new REST keys here (server to server)
 *   GET  /woocommerce/wc-auth/return     the admin's browser comes back here, and on to the plugin
 *   POST /woocommerce/credentials        (store secret key) pasted REST keys, sent by the plugin; stored
 *                                        only after one authenticated read against the shop succeeds
 *   GET  /woocommerce/status             (store secret key) whether the bridge holds keys, and the last check
 *
 * The `user_id` sent to WooCommerce is a random single-use token bound to the store (only its hash is
 * kept, it expires after 30 minutes), so the callback cannot attach keys to any store but the one whose
 * secret key asked for the authorization.
 */
import { Hono } from "hono";
import type { Kysely } from "kysely";
import { z } from "zod";
import { randomToken, sha256Hex } from "../../crypto/secrets.ts";
import type { BridgeDeps } from "../../deps.ts";
import { checkWooCredentials, woocommerceCredentials } from "../../stores/woocommerce.ts";
import { updateStoreCredentials } from "../../usecases/stores.ts";
import { ApiError } from "../errors.ts";
import { rateLimit, requireApiKey, type AppEnv } from "../middleware.ts";
import { parseJsonBody } from "../request.ts";

const connectTtlMs = 30 * 60_000;
const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

interface ConnectRequestTable {
  token_hash: string;
  store_id: string;
  store_url: string;
  return_url: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  outcome: string | null;
}
type WooDb = Kysely<{ woocommerce_connect_requests: ConnectRequestTable }>;

export const connectBody = z.object({ storeUrl: httpUrl, returnUrl: httpUrl }).strict();
export const pastedKeysBody = z.object({
  storeUrl: httpUrl,
  consumerKey: z.string().regex(/^ck_[A-Za-z0-9]{20,64}$/),
  consumerSecret: z.string().regex(/^cs_[A-Za-z0-9]{20,64}$/),
  queryStringAuth: z.boolean().optional(),
}).strict();
/** What WooCommerce's WC_Auth::post_consumer_data sends. */
const callbackBody = z.object({
  key_id: z.coerce.number().int(),
  user_id: z.string().min(1).max(200),
  consumer_key: z.string().startsWith("ck_"),
  consumer_secret: z.string().startsWith("cs_"),
  key_permissions: z.string(),
});

async function loadWooStore(deps: BridgeDeps, storeId: string): Promise<Record<string, unknown>> {
  const store = await deps.db.kysely.selectFrom("stores").selectAll().where("id", "=", storeId).executeTakeFirst();
  if (!store || store.platform !== "woocommerce") {
    throw new ApiError("validation_failed", "This store is not a WooCommerce store.", [{ path: "(store)", message: `platform is ${store?.platform ?? "unknown"}` }]);
  }
  return store.credentials_enc ? ((await deps.secrets.open(store.credentials_enc)) as Record<string, unknown>) : {};
}

function siteUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

export function wcAuthRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const db = deps.db.kysely as unknown as WooDb;
  const authed = [requireApiKey(deps), rateLimit(deps.config.RATE_LIMIT_PER_MINUTE, deps.clock)] as const;
  const base = `${deps.config.PUBLIC_URL}/woocommerce`;

  app.post("/connect", ...authed, async (c) => {
    const store = c.get("store");
    const body = parseJsonBody(await c.req.text(), connectBody);
    // WC_Auth refuses any callback_url that is not https (localhost included), and only after the admin
    // has logged in; say so here instead of sending the admin to a page that can only fail.
    if (new URL(base).protocol !== "https:") {
      throw new ApiError(
        "callback_not_https",
        "WooCommerce only sends REST keys to an https callback, but this bridge's PUBLIC_URL is not https. Serve the bridge over https, or paste REST API keys instead.",
        [{ path: "PUBLIC_URL", message: `${deps.config.PUBLIC_URL} is not https` }],
      );
    }
    await loadWooStore(deps, store.storeId);
    const token = `cbwc_${randomToken(32)}`;
    const now = deps.clock().getTime();
    await db.insertInto("woocommerce_connect_requests").values({
      token_hash: sha256Hex(token),
      store_id: store.storeId,
      store_url: siteUrl(body.storeUrl),
      return_url: body.returnUrl,
      created_at: now,
      expires_at: now + connectTtlMs,
      used_at: null,
      outcome: null,
    }).execute();
    const authorize = new URL(`${siteUrl(body.storeUrl)}/wc-auth/v1/authorize`);
    authorize.searchParams.set("app_name", "Cartbridge");
    authorize.searchParams.set("scope", "read_write");
    authorize.searchParams.set("user_id", token);
    authorize.searchParams.set("return_url", `${base}/wc-auth/return`);
    authorize.searchParams.set("callback_url", `${base}/wc-auth/callback`);
    return c.json({ authorizeUrl: authorize.toString(), expiresAt: new Date(now + connectTtlMs).toISOString() });
  });

  app.post("/wc-auth/callback", async (c) => {
    const body = parseJsonBody(await c.req.text(), callbackBody);
    const now = deps.clock().getTime();
    const tokenHash = sha256Hex(body.user_id);
    const row = await db.selectFrom("woocommerce_connect_requests").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
    if (!row || row.used_at !== null || Number(row.expires_at) < now) {
      deps.logger.warn("wc-auth callback refused", { reason: !row ? "unknown token" : row.used_at !== null ? "token already used" : "token expired" });
      throw new ApiError("not_found", "Unknown or expired connect request.");
    }
    // Spend the token first: of two racing callbacks only one may attach keys.
    const spent = await db.updateTable("woocommerce_connect_requests").set({ used_at: now, outcome: "pending" })
      .where("token_hash", "=", tokenHash).where("used_at", "is", null).executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) throw new ApiError("not_found", "Unknown or expired connect request.");
    if (body.key_permissions !== "read_write") {
      await db.updateTable("woocommerce_connect_requests").set({ outcome: "wrong_permissions" }).where("token_hash", "=", tokenHash).execute();
      // Not 200: WooCommerce then deletes the key it just made.
      throw new ApiError("validation_failed", "Cartbridge needs read_write access.", [{ path: "key_permissions", message: "must be read_write" }]);
    }
    const current = await loadWooStore(deps, row.store_id);
    const credentials = woocommerceCredentials.parse({
      ...current,
      url: row.store_url,
      consumerKey: body.consumer_key,
      consumerSecret: body.consumer_secret,
      keyId: body.key_id,
      keyPermissions: "read_write",
      connectedVia: "wc-auth",
      lastCheck: undefined,
    });
    await updateStoreCredentials(deps, row.store_id, credentials);
    await db.updateTable("woocommerce_connect_requests").set({ outcome: "connected" }).where("token_hash", "=", tokenHash).execute();
    deps.logger.info("woocommerce store connected", { storeId: row.store_id, keyId: body.key_id });
    return c.json({ ok: true });
  });

  app.get("/wc-auth/return", async (c) => {
    const token = c.req.query("user_id") ?? "";
    const row = token
      ? await db.selectFrom("woocommerce_connect_requests").selectAll().where("token_hash", "=", sha256Hex(token)).executeTakeFirst()
      : undefined;
    if (!row) return c.text("Unknown connect request. Start again from the plugin's settings.", 404);
    // Only ever back to the URL the plugin registered: no open redirect.
    const back = new URL(row.return_url);
    const result = row.outcome === "connected" ? "success" : row.outcome === null && c.req.query("success") === "0" ? "denied" : "failed";
    back.searchParams.set("cartbridge_connect", result);
    return c.redirect(back.toString(), 303);
  });

  app.post("/credentials", ...authed, async (c) => {
    const store = c.get("store");
    const body = parseJsonBody(await c.req.text(), pastedKeysBody);
    const current = await loadWooStore(deps, store.storeId);
    const credentials = woocommerceCredentials.parse({
      ...current,
      url: siteUrl(body.storeUrl),
      consumerKey: body.consumerKey,
      consumerSecret: body.consumerSecret,
      keyId: undefined,
      keyPermissions: undefined,
      ...(body.queryStringAuth !== undefined ? { queryStringAuth: body.queryStringAuth } : {}),
      connectedVia: "pasted",
    });
    // A typo'd key would otherwise sit here silently while every order update fails and retries.
    const check = await checkWooCredentials(credentials, { timeoutMs: deps.config.STORE_REQUEST_TIMEOUT_MS });
    const at = deps.clock().toISOString();
    if (!check.ok) {
      const error = `${check.error.message}${check.error.excerpt ? `: ${check.error.excerpt.slice(0, 200)}` : ""}`;
      // Keep the keys the bridge had (if any); remember the failed check for /status.
      await updateStoreCredentials(deps, store.storeId, woocommerceCredentials.parse({ ...current, url: current.url ?? credentials.url, lastCheck: { ok: false, at, error } }));
      if (check.failed === "write") {
        throw new ApiError(
          "validation_failed",
          "These REST API keys can read orders but may not update them: create a key with Read/Write permission.",
          [{ path: "consumerKey", message: error }],
        );
      }
      const badKeys = check.error.status === 401 || check.error.status === 403;
      throw new ApiError(
        "validation_failed",
        badKeys ? "WooCommerce refused these REST API keys." : "The shop could not be reached with these REST API keys.",
        [{ path: badKeys ? "consumerKey" : "storeUrl", message: error }],
      );
    }
    await updateStoreCredentials(deps, store.storeId, { ...credentials, lastCheck: { ok: true, at } });
    return c.json({ ok: true, connected: true });
  });

  app.get("/status", ...authed, async (c) => {
    const current = await loadWooStore(deps, c.get("store").storeId);
    const lastCheck = woocommerceCredentials.shape.lastCheck.safeParse(current.lastCheck);
    return c.json({
      connected: typeof current.consumerKey === "string",
      url: typeof current.url === "string" ? current.url : null,
      connectedVia: current.connectedVia ?? null,
      lastCheck: lastCheck.success && lastCheck.data ? lastCheck.data : null,
    });
  });

  return app;
}
