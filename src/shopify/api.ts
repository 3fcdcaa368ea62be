/**
 * The Shopify library, configured once per bridge, and the one seam through which every request to
 * Shopify leaves: the library's global fetch hook dispatches to the fetch of the current call scope
 * (the bridge's `storeFetch`), so a test points the real library code at a fake Shopify on 127.0.0.1.
 */
import "@shopify/shopify-api/adapters/web-api";
import { AsyncLocalStorage } from "node:async_hooks";
import { ApiVersion, LogSeverity, Session, shopifyApi, type Shopify } from "@shopify/shopify-api";
import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";

/** The newest Admin / Payments Apps API version @shopify/shopify-api 13.1 knows. */
export const shopifyApiVersion = ApiVersion.July26;

/** What the lead reads from config (SHOPIFY_* variables) and hands to `shopifyRoutes`. */
export interface ShopifyOptions {
  /** The app's client id (SHOPIFY_API_KEY). */
  apiKey: string;
  /** The app's client secret (SHOPIFY_API_SECRET): signs webhooks, session tokens and OAuth. */
  apiSecret: string;
  /** Where Shopify reaches the bridge (SHOPIFY_APP_URL); defaults to the bridge's PUBLIC_URL. */
  appUrl?: string;
  /** OAuth scopes (SHOPIFY_SCOPES); default `read_orders,write_orders`. */
  scopes?: string[];
  /** The manual payment method's name as the merchant typed it (SHOPIFY_PAYMENT_METHOD_NAME). */
  manualPaymentMethodName?: string;
  /** Whether sessions of a shop's (non-test) orders use the store's live connections (SHOPIFY_LIVEMODE). */
  livemode?: boolean;
  /**
   * Payments Apps requests come over mTLS, which the reverse proxy terminates; it then sets this header
   * (SHOPIFY_PAYMENTS_MTLS_HEADER, `name: value`). Unset: the payment session endpoints are off.
   */
  paymentsMtlsHeader?: { name: string; value: string };
  /** What to do with Payments Apps refund requests (SHOPIFY_PAYMENTS_REFUNDS): `reject` (default) or `resolve`. */
  paymentsRefunds?: "reject" | "resolve";
}

export const defaultScopes = ["read_orders", "write_orders"];

/** `SHOPIFY_PAYMENTS_MTLS_HEADER="X-Client-Verify: SUCCESS"` → `{ name, value }` (undefined when unset). */
export function parseMtlsHeader(spec: string | undefined): ShopifyOptions["paymentsMtlsHeader"] {
  if (!spec?.trim()) return undefined;
  const at = spec.indexOf(":");
  const name = spec.slice(0, at).trim().toLowerCase();
  const value = spec.slice(at + 1).trim();
  if (at <= 0 || !/^[a-z0-9-]+$/.test(name) || !value) throw new Error("SHOPIFY_PAYMENTS_MTLS_HEADER looks like `Header-Name: value`");
  return { name, value };
}
export const defaultPaymentMethodName = "Pay with crypto";

const fetchScope = new AsyncLocalStorage<typeof fetch>();
let hookInstalled = false;

function installFetchHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  setAbstractFetchFunc(((input: RequestInfo | URL, init?: RequestInit) => (fetchScope.getStore() ?? fetch)(input, init)) as typeof fetch);
}

/** Runs `fn` with every Shopify request it makes going through `fetchImpl`. */
export function withShopifyFetch<T>(fetchImpl: typeof fetch, fn: () => Promise<T>): Promise<T> {
  installFetchHook();
  return fetchScope.run(fetchImpl, fn);
}

/** The Shopify fetch of the current scope (for the Payments Apps API, which the library has no client for). */
export function currentShopifyFetch(): typeof fetch {
  return fetchScope.getStore() ?? fetch;
}

let appApi: Shopify | undefined;

/**
 * The app's own library instance, once `shopifyRoutes` made it: refreshing an expiring offline token needs the
 * app's client id and secret, which the store adapter (built before config is read) does not otherwise have.
 */
export function registeredAppApi(): Shopify | undefined {
  return appApi;
}

export function createShopifyApi(options: ShopifyOptions, publicUrl: string): Shopify {
  installFetchHook();
  const appUrl = new URL(options.appUrl ?? publicUrl);
  appApi = shopifyApi({
    apiKey: options.apiKey,
    apiSecretKey: options.apiSecret,
    scopes: options.scopes ?? defaultScopes,
    hostName: appUrl.host,
    hostScheme: appUrl.protocol === "http:" ? "http" : "https",
    apiVersion: shopifyApiVersion,
    isEmbeddedApp: true,
    logger: { level: LogSeverity.Error, log: () => undefined },
  });
  return appApi;
}

let clientOnly: Shopify | undefined;

/**
 * Admin API calls authenticate with the shop's offline token alone; the app's key and secret take no part.
 * The store adapter is built before config is read, so it uses this client-only library instance.
 */
export function adminClientApi(): Shopify {
  installFetchHook();
  clientOnly ??= shopifyApi({
    apiKey: "cartbridge-admin-client",
    apiSecretKey: "unused-by-admin-api-calls",
    hostName: "cartbridge.invalid",
    apiVersion: shopifyApiVersion,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: () => undefined },
  });
  return clientOnly;
}

/** Shopify's own shop domains only: anything else is refused before a request is made. */
export function isShopDomain(shop: string | undefined | null): shop is string {
  return typeof shop === "string" && shop.length <= 191 && /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shop);
}

export function offlineSessionId(shop: string): string {
  return `offline_${shop}`;
}

export class ShopifyRequestError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "ShopifyRequestError";
  }
}

/** One Admin GraphQL request with the shop's offline session. GraphQL errors and HTTP failures throw. */
export async function adminGraphql<T>(session: Session, document: string, variables: Record<string, unknown>): Promise<T> {
  const client = new (adminClientApi().clients.Graphql)({ session });
  let response;
  try {
    response = await client.request<T>(document, { variables, retries: 0 });
  } catch (err) {
    const e = err as { response?: { code?: number }; message?: string };
    const status = e.response?.code;
    throw new ShopifyRequestError(`Admin API: ${e.message ?? String(err)}`, status === undefined || status >= 500 || status === 429);
  }
  if (!response.data) throw new ShopifyRequestError("Admin API answered without data", true);
  return response.data;
}

/**
 * One Payments Apps API request (`/payments_apps/api/{version}/graphql.json`). The library has no client for
 * this API, so the request is made here, through the same fetch seam.
 */
export async function paymentsAppsGraphql<T>(session: Session, document: string, variables: Record<string, unknown>): Promise<T> {
  if (!session.accessToken) throw new ShopifyRequestError("no access token", false);
  let res: Response;
  try {
    res = await currentShopifyFetch()(`https://${session.shop}/payments_apps/api/${shopifyApiVersion}/graphql.json`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-shopify-access-token": session.accessToken },
      body: JSON.stringify({ query: document, variables }),
    });
  } catch (err) {
    throw new ShopifyRequestError(`Payments Apps API unreachable: ${(err as Error).message}`, true);
  }
  if (!res.ok) throw new ShopifyRequestError(`Payments Apps API answered ${res.status}`, res.status >= 500 || res.status === 429);
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new ShopifyRequestError(`Payments Apps API errors: ${JSON.stringify(body.errors).slice(0, 300)}`, false);
  return body.data;
}
