import { Hono } from "hono";
import type { BridgeDeps } from "../../deps.ts";
import { ingestWebhook } from "../../usecases/webhooks.ts";
import { readRequestBody, requestHeaders } from "../request.ts";
import { ApiError } from "../errors.ts";
import type { AppEnv } from "../middleware.ts";

/**
 * `POST /v1/webhooks/{provider}/{connectionId}/{pathToken}`: raw bytes in, verified and stored, 200 out.
 * The answer tells the platform whether to retry: 2xx for stored or already seen; 4xx for a delivery
 * that will never verify; 5xx only when the bridge itself failed (the platform should retry).
 */
export function webhookRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/:provider/:connectionId/:pathToken?", async (c) => {
    const rawBody = await readRequestBody(c, { maxBytes: deps.config.WEBHOOK_BODY_LIMIT_BYTES, what: "The webhook body" });
    const headers = requestHeaders(c);
    const pathToken = c.req.param("pathToken");
    const result = await ingestWebhook(deps, {
      provider: c.req.param("provider"),
      connectionId: c.req.param("connectionId"),
      ...(pathToken ? { pathToken } : {}),
      rawBody,
      headers,
    });
    switch (result.kind) {
      case "accepted":
        return c.json({ received: true }, 200);
      case "duplicate":
        return c.json({ received: true, duplicate: true }, 200);
      case "unknown_connection":
        throw new ApiError("not_found", "No such webhook endpoint.");
      case "rejected":
        throw new ApiError("webhook_verification_failed", "The webhook could not be verified.");
      default: {
        const never: never = result;
        throw new Error(`unhandled ingest result ${JSON.stringify(never)}`);
      }
    }
  });
  return app;
}
