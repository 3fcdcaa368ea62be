/**
 * Session tokens sent by the checkout / customer-account UI extensions (`shopify.sessionToken.get()`),
 * and by the embedded admin (`id_token`): JWTs signed HS256 with the app secret, `aud` = the app's client id,
 * `dest` = the shop, `nbf` present, and `iss` (when present) on the same shop. Verified with jose against our clock, with a little tolerance for skew.
 */
import { jwtVerify } from "jose";
import { isShopDomain } from "./api.ts";

export interface VerifiedSessionToken {
  shop: string;
  /** The buyer's customer gid, present only when they are logged in. */
  sub?: string;
}

export class SessionTokenError extends Error {}

export async function verifySessionToken(
  token: string,
  app: { apiKey: string; apiSecret: string },
  now: Date,
): Promise<VerifiedSessionToken> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(app.apiSecret), {
      algorithms: ["HS256"],
      audience: app.apiKey,
      currentDate: now,
      clockTolerance: 10,
      // nbf is always set by Shopify; requiring it means a token minted for later cannot be used early.
      requiredClaims: ["exp", "nbf", "dest"],
    }));
  } catch (err) {
    throw new SessionTokenError(`invalid session token: ${(err as Error).message}`);
  }
  const dest = typeof payload.dest === "string" ? payload.dest : "";
  let shop: string;
  try {
    shop = new URL(dest.startsWith("https://") ? dest : `https://${dest}`).hostname;
  } catch {
    throw new SessionTokenError("session token dest is not a URL");
  }
  if (!isShopDomain(shop)) throw new SessionTokenError("session token dest is not a myshopify.com shop");
  // The admin's tokens carry iss (https://{shop}/admin); when present it must name the same shop as dest.
  if (payload.iss !== undefined && hostOf(payload.iss) !== shop) throw new SessionTokenError("session token iss and dest name different shops");
  return { shop, ...(typeof payload.sub === "string" ? { sub: payload.sub } : {}) };
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}
