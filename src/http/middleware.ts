import type { MiddlewareHandler } from "hono";
import { sha256Hex } from "../crypto/secrets.ts";
import type { BridgeDeps } from "../deps.ts";
import { MinuteWindows } from "../usecases/minute-windows.ts";
import { authenticateApiKey, type AuthenticatedStore } from "../usecases/stores.ts";
import { ApiError } from "./errors.ts";
import { clientAddress } from "./request.ts";

export type AppEnv = {
  Variables: {
    requestId: string;
    store: AuthenticatedStore;
    /** Names the caller's key for the rate limit: its SHA-256 (two keys never share a bucket). */
    rateLimitKey: string;
  };
};

const failuresByBridge = new WeakMap<BridgeDeps, MinuteWindows>();

/**
 * `Authorization: Bearer sk_test_…` (or Basic with the key as user name, as Stripe accepts). An address
 * that failed `API_KEY_FAILURES_PER_MINUTE` times this minute is refused with 429 before its key is looked
 * at: guessing keys is hopeless anyway (they are 192-bit random), but each guess costs a hash and a
 * database read, and a client that keeps failing is misconfigured or hostile. Behind a NAT or a proxy
 * (see TRUST_PROXY_HOPS) a client with a right key can share the refusal, for the rest of the minute.
 */
export function requireApiKey(deps: BridgeDeps): MiddlewareHandler<AppEnv> {
  // One budget per bridge, shared by every route group that requires the key.
  let failures = failuresByBridge.get(deps);
  if (!failures) failuresByBridge.set(deps, (failures = new MinuteWindows()));
  const failureLimit = deps.config.API_KEY_FAILURES_PER_MINUTE;
  return async (c, next) => {
    // Off (0): no address is worked out at all.
    const address = failureLimit > 0 ? clientAddress(c, deps.config.TRUST_PROXY_HOPS) : undefined;
    const now = deps.clock().getTime();
    if (address !== undefined && failures.count(address, now) >= failureLimit) {
      throw new ApiError("rate_limited", `Too many failed authentications from this address: at most ${failureLimit} per minute.`, undefined, {
        "Retry-After": String(Math.ceil((MinuteWindows.endOf(now) - now) / 1000)),
      });
    }
    const header = c.req.header("authorization") ?? "";
    let key = "";
    if (header.startsWith("Bearer ")) key = header.slice(7).trim();
    else if (header.startsWith("Basic ")) key = Buffer.from(header.slice(6), "base64").toString("utf8").split(":")[0] ?? "";
    const store = key ? await authenticateApiKey(deps, key) : undefined;
    if (!store) {
      if (address !== undefined) failures.hit(address, now);
      throw new ApiError("unauthenticated", "A valid secret key is required: Authorization: Bearer sk_test_… or sk_live_…", undefined, {
        "WWW-Authenticate": 'Bearer realm="cartbridge"',
      });
    }
    c.set("store", store);
    c.set("rateLimitKey", sha256Hex(key));
    await next();
  };
}

/**
 * Fixed one-minute windows per API key. In-process: each bridge process enforces its own share, which
 * is what protects that process; a shared limit across processes would need the database on every request.
 */
export function rateLimit(perMinute: number, clock: () => Date): MiddlewareHandler<AppEnv> {
  const windows = new MinuteWindows();
  return async (c, next) => {
    if (perMinute <= 0) return next();
    const now = clock().getTime();
    const { count, endsAt } = windows.hit(c.get("rateLimitKey") ?? "anonymous", now);
    c.header("RateLimit-Limit", String(perMinute));
    c.header("RateLimit-Remaining", String(Math.max(0, perMinute - count)));
    if (count > perMinute) {
      throw new ApiError("rate_limited", `Too many requests: at most ${perMinute} per minute.`, undefined, {
        "Retry-After": String(Math.ceil((endsAt - now) / 1000)),
      });
    }
    await next();
  };
}
