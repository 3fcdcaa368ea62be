/**
 * The store API as an OpenAPI 3.1 document, generated from the zod schemas that validate the requests
 * (src/api/schemas.ts, and the WooCommerce plugin's bodies in src/http/routes/wc-auth.ts) and the error codes the API answers with (src/http/errors.ts): there is no second
 * copy of the shapes to drift. Served at `/openapi.json`, with a readable page at `/docs`.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { BridgeDeps } from "../deps.ts";
import { errorCodes, type ErrorCode } from "../http/errors.ts";
import type { AppEnv } from "../http/middleware.ts";
import { renderReference } from "../console/api-reference.tsx";
import { connectBody, pastedKeysBody } from "../http/routes/wc-auth.ts";
import {
  checkoutSessionSchema, createCheckoutSessionSchema, errorEnvelopeSchema, storeUpdateSchema,
  wooConnectResponseSchema, wooCredentialsResponseSchema, wooStatusResponseSchema,
} from "./schemas.ts";

export type JsonSchema = Record<string, unknown>;

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a zod schema, without the `$schema` marker. */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const errorDescriptions: Record<ErrorCode, string> = {
  validation_failed: "The body does not match the schema; `fields` lists each problem.",
  amount_mismatch: "`amount` is not the sum of the line items, shipping and tax minus the discount.",
  invalid_json: "The body is not JSON.",
  body_too_large: "The body exceeds the configured limit.",
  unauthenticated: "No valid secret key.",
  not_found: "No such session (for this key's store and mode), or no such route.",
  session_expired: "The session is no longer payable.",
  provider_not_connected: "The store has no enabled connection for the requested (or default) provider.",
  callback_not_https: "WooCommerce only posts REST keys to an https callback, and the bridge's PUBLIC_URL is not https.",
  idempotency_key_in_use: "A request with this Idempotency-Key is still running; retry after `Retry-After`.",
  idempotency_key_reused: "This Idempotency-Key was used with a different request body.",
  rate_limited: "Too many requests for this key; retry after `Retry-After` seconds.",
  provider_unavailable: "The payment platform failed or timed out; safe to retry with the same Idempotency-Key.",
  webhook_verification_failed: "The webhook's signature, timestamp or body did not verify.",
  internal_error: "The bridge failed; safe to retry with the same Idempotency-Key.",
};

/** One response per HTTP status, listing the error codes that share it. */
function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = errorCodes[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [
      String(status),
      {
        description: list.map((code) => `\`${code}\`: ${errorDescriptions[code]}`).join(" "),
        ...(status === 429 || list.includes("idempotency_key_in_use") ? { headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } } } : {}),
        ...(status === 401 ? { headers: { "WWW-Authenticate": { schema: { type: "string" } } } } : {}),
        content: { "application/json": { schema: ref("ErrorEnvelope") } },
      },
    ]),
  );
}

const everyApiError = (Object.keys(errorCodes) as ErrorCode[]).filter((c) => c !== "webhook_verification_failed");

const htmlPage = (description: string) => ({ description, content: { "text/html": { schema: { type: "string" } } } });

export function buildOpenApiDocument(publicUrl: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Cartbridge store API",
      version: "1",
      summary: "Checkout sessions for online stores, paid on hosted crypto checkout platforms.",
      description:
        "Amounts are decimal strings in the currency's major unit (\"12.50\" USD); the bridge stores them as integer minor units. " +
        "Every error answers with the same envelope: `{ error: { type, code, message, fields?, requestId } }`; branch on `code`.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: publicUrl }],
    security: [{ secretKey: [] }],
    tags: [
      { name: "Checkout sessions", description: "Create a session for a cart and send the buyer to its `checkoutUrl`." },
      { name: "Payment platform webhooks", description: "Where payment platforms report payments." },
      { name: "Buyer", description: "Pages the buyer's browser visits." },
      { name: "Operations", description: "Probes for load balancers and orchestrators." },
      { name: "WooCommerce plugin", description: "Called by the Cartbridge WooCommerce plugin with the store's secret key, to connect the shop's REST API." },
    ],
    paths: {
      "/v1/checkout_sessions": {
        post: {
          operationId: "createCheckoutSession",
          tags: ["Checkout sessions"],
          summary: "Create a checkout session",
          description:
            "Creates the session at the store's default provider (or `provider`) and returns it with the URL to send the buyer to. " +
            "Send an `Idempotency-Key` to retry safely: the same key and body replay the first answer (`Idempotent-Replayed: true`).",
          parameters: [{ $ref: "#/components/parameters/IdempotencyKey" }],
          requestBody: { required: true, content: { "application/json": { schema: ref("CreateCheckoutSessionRequest") } } },
          responses: {
            "201": {
              description: "The session was created (or, with a reused Idempotency-Key, replayed).",
              headers: {
                "Idempotent-Replayed": { description: "`true` when the answer is a replay.", schema: { type: "string", enum: ["true"] } },
                "RateLimit-Limit": { $ref: "#/components/headers/RateLimit-Limit" },
                "RateLimit-Remaining": { $ref: "#/components/headers/RateLimit-Remaining" },
              },
              content: { "application/json": { schema: ref("CheckoutSession") } },
            },
            ...errorResponses(everyApiError),
          },
        },
      },
      "/v1/checkout_sessions/{id}": {
        get: {
          operationId: "getCheckoutSession",
          tags: ["Checkout sessions"],
          summary: "Retrieve a checkout session",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: "^cs_[0-9a-f]{24}$" } }],
          responses: {
            "200": { description: "The session.", content: { "application/json": { schema: ref("CheckoutSession") } } },
            ...errorResponses(["unauthenticated", "not_found", "rate_limited", "internal_error"]),
          },
        },
      },
      "/woocommerce/connect": {
        post: wooOperation("connectWooCommerce", "Start connecting a WooCommerce shop",
          "Returns the URL of WooCommerce's app-authorization page for the shop admin's browser; WooCommerce then sends the new REST keys " +
          "to the bridge directly. The link is single-use and expires after 30 minutes.",
          "WooCommerceConnectRequest", "WooCommerceConnectResponse", ["callback_not_https"]),
      },
      "/woocommerce/credentials": {
        post: wooOperation("setWooCommerceCredentials", "Hand over pasted WooCommerce REST keys",
          "For shops where app authorization cannot reach the bridge: the plugin sends REST keys the admin created by hand. The bridge " +
          "tries them first with one authenticated read of the shop and one write that changes nothing (`PUT orders/0`); keys the " +
          "shop refuses, Read-only keys, or a shop it cannot reach, answer 422 `validation_failed` and are not stored (the failed check shows in `/woocommerce/status`).",
          "WooCommerceCredentialsRequest", "WooCommerceCredentialsResponse"),
      },
      "/woocommerce/status": {
        get: wooOperation("getWooCommerceStatus", "Whether the bridge holds the shop's REST keys", "The keys themselves are never returned.",
          undefined, "WooCommerceStatus"),
      },
      "/v1/webhooks/{provider}/{connectionId}/{pathToken}": {
        post: webhookOperation("receiveProviderWebhook", true),
      },
      "/v1/webhooks/{provider}/{connectionId}": {
        post: { ...webhookOperation("receiveProviderWebhookWithoutToken", false), deprecated: true },
      },
      "/pay/{id}": {
        get: {
          operationId: "openPaymentPage",
          tags: ["Buyer"],
          summary: "Send the buyer to the payment page",
          description: "Redirects (303) to the provider's hosted page while the session can be paid, or to the store's `successUrl` once paid.",
          security: [],
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "303": { description: "To the hosted payment page, or to the store's success URL.", headers: { Location: { schema: { type: "string", format: "uri" } } } },
            "404": htmlPage("No such session."),
            "410": htmlPage("The session expired, failed or was canceled; links back to the store."),
            "503": htmlPage("The provider's page is not ready yet."),
          },
        },
      },
      "/healthz": {
        get: {
          operationId: "health", tags: ["Operations"], summary: "Liveness", security: [],
          responses: { "200": { description: "The process answers.", content: { "application/json": { schema: { type: "object", properties: { status: { const: "ok" } }, required: ["status"] } } } } },
        },
      },
      "/readyz": {
        get: {
          operationId: "ready", tags: ["Operations"], summary: "Readiness (the database answers)", security: [],
          responses: {
            "200": { description: "Ready.", content: { "application/json": { schema: readySchema("ready") } } },
            "503": { description: "The database does not answer.", content: { "application/json": { schema: readySchema("unavailable") } } },
          },
        },
      },
    },
    webhooks: {
      storeUpdate: {
        post: {
          operationId: "storeUpdate",
          summary: "Store update (to a custom store's endpoint)",
          description:
            "The bridge POSTs one update per distinct outcome of a session, signed per Standard Webhooks with the store's signing secret " +
            "(`whsec_…`). Verify the signature on the raw body (the SDK's `verifyWebhook` does), dedupe on `webhook-id`, and answer 2xx. " +
            "Any other answer is retried with exponential backoff; 410 Gone stops the retries.",
          security: [],
          parameters: [
            { name: "webhook-id", in: "header", required: true, description: "The update's id, stable across retries.", schema: { type: "string" } },
            { name: "webhook-timestamp", in: "header", required: true, description: "Unix seconds when this attempt was signed.", schema: { type: "string", pattern: "^\\d+$" } },
            { name: "webhook-signature", in: "header", required: true, description: "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated when several.", schema: { type: "string" } },
          ],
          requestBody: { required: true, content: { "application/json": { schema: ref("StoreUpdate") } } },
          responses: {
            "200": { description: "Applied (or already applied): any 2xx." },
            "410": { description: "The endpoint is gone: the bridge stops retrying this update." },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        secretKey: { type: "http", scheme: "bearer", description: "The store's secret key: `sk_test_…` (test mode) or `sk_live_…`. HTTP Basic with the key as user name works too." },
      },
      parameters: {
        IdempotencyKey: {
          name: "Idempotency-Key", in: "header", required: false,
          description: "Any unique string (a UUID) per logical request; retries reuse it. A retry with the same body replays the first answer: the session as it was created (the current state is GET /v1/checkout_sessions/{id}). Keys are kept at least 24 hours.",
          schema: { type: "string", minLength: 1, maxLength: 255 },
        },
      },
      headers: {
        "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 0 } },
        "RateLimit-Limit": { description: "Requests allowed per minute for this key.", schema: { type: "integer" } },
        "RateLimit-Remaining": { description: "Requests left in the current minute.", schema: { type: "integer" } },
      },
      schemas: {
        CreateCheckoutSessionRequest: jsonSchemaOf(createCheckoutSessionSchema, "input"),
        CheckoutSession: jsonSchemaOf(checkoutSessionSchema, "output"),
        ErrorEnvelope: jsonSchemaOf(errorEnvelopeSchema, "output"),
        StoreUpdate: jsonSchemaOf(storeUpdateSchema, "output"),
        WooCommerceConnectRequest: jsonSchemaOf(connectBody, "input"),
        WooCommerceConnectResponse: jsonSchemaOf(wooConnectResponseSchema, "output"),
        WooCommerceCredentialsRequest: jsonSchemaOf(pastedKeysBody, "input"),
        WooCommerceCredentialsResponse: jsonSchemaOf(wooCredentialsResponseSchema, "output"),
        WooCommerceStatus: jsonSchemaOf(wooStatusResponseSchema, "output"),
      },
    },
  };
}

function readySchema(status: string) {
  return { type: "object", properties: { status: { const: status }, database: { type: "string", enum: ["sqlite", "mysql"] } }, required: ["status", "database"] };
}

/** A store-key route of the WooCommerce plugin: JSON in (for POSTs), JSON out; 422 when the store is not a WooCommerce store. */
function wooOperation(operationId: string, summary: string, description: string, request: string | undefined, response: string, extraErrors: ErrorCode[] = []) {
  return {
    operationId,
    tags: ["WooCommerce plugin"],
    summary,
    description,
    ...(request ? { requestBody: { required: true, content: { "application/json": { schema: ref(request) } } } } : {}),
    responses: {
      "200": { description: "Done.", content: { "application/json": { schema: ref(response) } } },
      ...errorResponses([...(request ? ["invalid_json" as const] : []), "validation_failed", ...extraErrors, "unauthenticated", "rate_limited", "internal_error"]),
    },
  };
}

function webhookOperation(operationId: string, withToken: boolean) {
  return {
    operationId,
    tags: ["Payment platform webhooks"],
    summary: withToken ? "Receive a payment platform's webhook" : "Receive a webhook (URL without path token)",
    description:
      "Register the URL the bridge printed when the connection was added (it holds a secret path token). The bridge verifies the platform's " +
      "signature on the raw bytes, stores the event and answers 200; it is processed in the background. 4xx means the delivery will never verify.",
    security: [],
    parameters: [
      { name: "provider", in: "path", required: true, schema: { type: "string" } },
      { name: "connectionId", in: "path", required: true, schema: { type: "string" } },
      ...(withToken ? [{ name: "pathToken", in: "path", required: true, schema: { type: "string" } }] : []),
    ],
    requestBody: { required: true, description: "The platform's payload, byte for byte.", content: { "*/*": { schema: {} } } },
    responses: {
      "200": {
        description: "Stored (or already seen).",
        content: { "application/json": { schema: { type: "object", properties: { received: { const: true }, duplicate: { type: "boolean" } }, required: ["received"] } } },
      },
      ...errorResponses(["webhook_verification_failed", "not_found", "body_too_large", "internal_error"]),
    },
  };
}

export function openapiRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  let cached: { json: string; document: Record<string, unknown> } | undefined;
  const document = () => {
    if (!cached) {
      const doc = buildOpenApiDocument(deps.config.PUBLIC_URL);
      cached = { json: JSON.stringify(doc), document: doc };
    }
    return cached;
  };
  app.get("/openapi.json", (c) => c.body(document().json, 200, { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" }));
  app.get("/docs", async (c) => {
    return c.html(await renderReference(document().document), 200, { "cache-control": "public, max-age=300" });
  });
  return app;
}
