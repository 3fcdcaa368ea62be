/**
 * Session tokens sent by the checkout / customer-account UI extensions (`shopify.sessionToken.get()`),
 * and by the embedded admin (`id_token`): JWTs signed HS256 with the app secret, `aud` = the app's client id,
 * `dest` = the shop. Verified with jose against our clock, with a little tolerance for skew.
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
      requiredClaims: ["exp", "dest"],
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
  return { shop, ...(typeof payload.sub === "string" ? { sub: payload.sub } : {}) };
}
