import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createCheckoutSessionSchema } from "../../api/schemas.ts";
import type { BridgeDeps } from "../../deps.ts";
import { createCheckoutSession, priceCart } from "../../usecases/create-checkout-session.ts";
import { beginIdempotentRequest } from "../../usecases/idempotency.ts";
import { loadPublicSession } from "../../usecases/session-records.ts";
import { ApiError } from "../errors.ts";
import { rateLimit, requireApiKey, type AppEnv } from "../middleware.ts";

export function checkoutSessionRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requireApiKey(deps), rateLimit(deps.config.RATE_LIMIT_PER_MINUTE, deps.clock));

  app.post(
    "/",
    bodyLimit({
      maxSize: deps.config.API_BODY_LIMIT_BYTES,
      onError: () => {
        throw new ApiError("body_too_large", `The request body exceeds ${deps.config.API_BODY_LIMIT_BYTES} bytes.`);
      },
    }),
    async (c) => {
      const store = c.get("store");
      const rawBody = await c.req.text();
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        throw new ApiError("invalid_json", "The request body is not valid JSON.");
      }
      const parsed = createCheckoutSessionSchema.safeParse(json);
      if (!parsed.success) {
        throw new ApiError(
          "validation_failed",
          "The request body is not a valid checkout session.",
          parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(body)", message: i.message })),
        );
      }

      const idempotencyKey = c.req.header("idempotency-key");
      if (!idempotencyKey) {
        const session = await createCheckoutSession(deps, { store, input: parsed.data });
        return c.json(session, 201);
      }
      // A cart that does not add up is refused before the key is taken: a 422 then writes nothing, and a
      // retry of the same bad request is answered 422 again instead of 409 while the first one fails.
      const cart = priceCart(parsed.data);
      const started = await beginIdempotentRequest(deps, store.storeId, idempotencyKey, `POST /v1/checkout_sessions\n${store.livemode}\n${rawBody}`);
      if (started.kind === "replay") {
        c.header("Idempotent-Replayed", "true");
        return c.body(started.body, started.status as 201, { "content-type": "application/json" });
      }
      try {
        const session = await createCheckoutSession(deps, { store, input: parsed.data, idempotencyKey, cart, claim: started });
        // False when a later holder took the key over (this request stalled past its lock): it answers with the
        // same session (one id per claim), so this answer stands either way.
        await started.complete(201, session);
        return c.json(session, 201);
      } catch (err) {
        // Only "no connection" is known to have reached no platform; anything else keeps the claim's time.
        await started.abandon({ reachedProvider: !(err instanceof ApiError && err.code === "provider_not_connected") });
        throw err;
      }
    },
  );

  app.get("/:id", async (c) => {
    const session = await loadPublicSession(deps.db.kysely, deps.config.PUBLIC_URL, c.req.param("id"), c.get("store"));
    if (!session) throw new ApiError("not_found", `No checkout session ${c.req.param("id")}.`);
    return c.json(session);
  });

  return app;
}
