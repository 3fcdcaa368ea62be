import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { logContext } from "../logger.ts";
import { sql } from "kysely";
import type { PluginHost } from "../../plugins/types.ts";
import type { BridgeDeps } from "../deps.ts";
import { resolveConnection } from "../usecases/connections.ts";
import { toHostedView } from "../usecases/session-records.ts";
import { ApiError, errorResponse } from "./errors.ts";
import type { AppEnv } from "./middleware.ts";
import { checkoutSessionRoutes } from "./routes/checkout-sessions.ts";
import { payRoutes } from "./routes/pay.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

export interface AppExtensions {
  /** Extra route groups mounted by the composition root (store platforms' callbacks, dashboard…). */
  mounts?: { path: string; app: Hono<AppEnv> }[];
}

export function createApp(deps: BridgeDeps, extensions: AppExtensions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const log = deps.logger;

  app.use("*", requestId({ headerName: "Request-Id" }));
  app.use("*", async (c, next) => {
    const started = performance.now();
    await logContext.run({ requestId: c.get("requestId") }, next);
    log.info("request", {
      requestId: c.get("requestId"),
      method: c.req.method,
      // Webhook URLs end in a secret token: log the route pattern, not the token.
      path: c.req.path.startsWith("/v1/webhooks/") ? c.req.path.replace(/\/[^/]+$/, "/[token]") : c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException && err.status === 413) {
      return errorResponse(c, new ApiError("body_too_large", "The request body is too large."));
    }
    log.error("unhandled error", { requestId: c.get("requestId"), path: c.req.routePath, err });
    return errorResponse(c, new ApiError("internal_error", "Something went wrong on our side; it is safe to retry."));
  });
  app.notFound((c) => errorResponse(c, new ApiError("not_found", `No route ${c.req.method} ${c.req.path}.`)));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    try {
      await sql`select 1`.execute(deps.db.kysely);
      return c.json({ status: "ready", database: deps.db.dialect });
    } catch (err) {
      log.warn("readiness check failed", { err });
      return c.json({ status: "unavailable", database: deps.db.dialect }, 503);
    }
  });

  app.route("/v1/checkout_sessions", checkoutSessionRoutes(deps));
  app.route("/v1/webhooks", webhookRoutes(deps));
  app.route("/pay", payRoutes(deps));

  const host: PluginHost = {
    publicUrl: deps.config.PUBLIC_URL,
    now: deps.clock,
    async findSessionByProviderRef(connectionId, providerSessionId) {
      const row = await deps.db.kysely.selectFrom("checkout_sessions").selectAll()
        .where("connection_id", "=", connectionId).where("provider_session_id", "=", providerSessionId).executeTakeFirst();
      return row ? toHostedView(row) : undefined;
    },
    async loadConnection(connectionId) {
      const resolved = await resolveConnection(deps, connectionId);
      return resolved
        ? { credentials: resolved.ctx.credentials, settings: resolved.ctx.settings, provider: resolved.provider.name, webhookUrl: resolved.ctx.webhookUrl }
        : undefined;
    },
    // In-process delivery through the same Hono pipeline as an external POST (routing, body limit, raw bytes).
    postWebhook: (path, init) => Promise.resolve(app.fetch(new Request(`${deps.config.PUBLIC_URL}${path}`, { method: "POST", ...init }))),
  };
  for (const provider of deps.providers.list()) {
    if (provider.routes) app.route(`/p/${provider.name}`, provider.routes(host) as unknown as Hono<AppEnv>);
  }
  for (const mount of extensions.mounts ?? []) app.route(mount.path, mount.app);
  return app;
}
