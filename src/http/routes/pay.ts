import { Hono } from "hono";
import { html } from "hono/html";
import type { BridgeDeps } from "../../deps.ts";
import { isSettledPaid, type SessionStatus } from "../../domain/session-status.ts";
import type { AppEnv } from "../middleware.ts";

/**
 * `GET /pay/{id}`: the buyer's entry point. 303 to the provider's hosted page while the session can be
 * paid; to the store's success URL once it is paid; a 410 page linking back to the store when it ended.
 */
export function payRoutes(deps: BridgeDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/:id", async (c) => {
    const row = await deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", c.req.param("id")).executeTakeFirst();
    if (!row) return c.html(page("Payment not found", "This payment link is not valid.", undefined), 404);
    const status = row.status as SessionStatus;
    if (isSettledPaid(status)) return c.redirect(row.success_url, 303);
    const ended =
      status === "expired" || status === "failed" || status === "canceled" ||
      (status === "open" && Number(row.expires_at) <= deps.clock().getTime());
    if (ended) {
      const reason = status === "failed" ? "This payment failed." : status === "canceled" ? "This payment was canceled." : "This payment link has expired.";
      return c.html(page("Payment no longer available", `${reason} Return to the store to try again.`, row.cancel_url), 410);
    }
    if (!row.provider_checkout_url) return c.html(page("Payment not ready", "Please try again in a moment.", row.cancel_url), 503);
    return c.redirect(row.provider_checkout_url, 303);
  });
  return app;
}

function page(title: string, message: string, backUrl: string | undefined) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}a.button{display:inline-block;margin-top:1rem;padding:.6rem 1rem;background:#111827;color:#fff;border-radius:.4rem;text-decoration:none}</style>
</head><body><h1>${title}</h1><p>${message}</p>${backUrl ? html`<a class="button" href="${backUrl}">Back to the store</a>` : ""}</body></html>`;
}
