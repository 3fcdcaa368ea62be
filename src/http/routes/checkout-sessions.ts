import { Hono } from "hono";
import { createCheckoutSessionSchema } from "../../api/schemas.ts";
import type { BridgeDeps } from "../../deps.ts";
import { createCheckoutSession, createCheckoutSessionOnce, priceCart } from "../../usecases/create-checkout-session.ts";
import { loadPublicSession } from "../../usecases/session-records.ts";
import { parseJsonBody, readRequestBody } from "../request.ts";
import { ApiError } from "../errors.ts";
import { rateLimit, requireApiKey, type AppEnv } from "../middleware.ts";

/** Decodes as `Request.text()` does (a leading BOM is dropped). */
const utf8 = new TextDecoder();

export function checkoutSessionRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireApiKey(deps), rateLimit(deps.config.RATE_LIMIT_PER_MINUTE, deps.clock));

  app.post("/", async (c) => {
    const store = c.get("store");
    const rawBody = utf8.decode(await readRequestBody(c, { maxBytes: deps.config.API_BODY_LIMIT_BYTES, what: "The request body" }));
    const input = parseJsonBody(rawBody, createCheckoutSessionSchema, "The request body is not a valid checkout session.");

    const idempotencyKey = c.req.header("idempotency-key");
    if (!idempotencyKey) {
      const session = await createCheckoutSession(deps, { store, input });
      return c.json(session, 201);
    }
    // A cart that does not add up is refused before the key is taken: a 422 then writes nothing, and a
    // retry of the same bad request is answered 422 again instead of 409 while the first one fails.
    const outcome = await createCheckoutSessionOnce(deps, {
      store, input, cart: priceCart(input), idempotencyKey,
      fingerprint: `POST /v1/checkout_sessions\n${store.livemode}\n${rawBody}`,
    });
    if (!outcome.replayed) return c.json(outcome.session, 201);
    c.header("Idempotent-Replayed", "true");
    return c.body(outcome.body, outcome.status as 201, { "content-type": "application/json" });
  });

  app.get("/:id", async (c) => {
    const session = await loadPublicSession(deps.db.kysely, deps.config.PUBLIC_URL, c.req.param("id"), c.get("store"));
    if (!session) throw new ApiError("not_found", `No checkout session ${c.req.param("id")}.`);
    return c.json(session);
  });

  return app;
}
