/**
 * The merchant's console, mounted at `/dashboard`: server-rendered pages behind an operator login.
 * Every POST carries a CSRF token bound to the session (403 otherwise); every page is `no-store`.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { JSX } from "hono/jsx/jsx-runtime";
import { randomToken, safeEqual } from "../crypto/secrets.ts";
import type { BridgeDeps } from "../deps.ts";
import { formatDecimalAmount, type CurrencyCode } from "../domain/money.ts";
import type { AppEnv } from "../http/middleware.ts";
import { clientAddress } from "../http/request.ts";
import { addConnection, ConnectionInputError, listConnections } from "../usecases/connections.ts";
import { cartLines, type StoredCart } from "../usecases/session-records.ts";
import { retryStoreUpdateNow } from "../usecases/store-updates.ts";
import { createStore, rotateStoreKey, StoreInputError } from "../usecases/stores.ts";
import {
  csrfTokenFor, hasOperators, isValidCsrfToken, login, loginCsrfCookie, LoginThrottle, logout, readSession, sessionCookie, type ConsoleSession,
} from "./auth.ts";
import { fieldsFor, readFields } from "./forms.ts";
import { hourlySessions, loadSessionDetail, loadStore, loadStoreUpdateProblems, loadStores, overviewCounts, pageSize, searchSessions } from "./queries.ts";
import {
  base, LoginPage, MessagePage, OverviewPage, SessionPage, SessionsPage, StorePage, StoresPage, UpdatesPage, type ShownSecret,
} from "./views.tsx";

type ConsoleEnv = AppEnv & { Variables: AppEnv["Variables"] & { operator: ConsoleSession; csrf: string } };

const securityHeaders: Record<string, string> = {
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

async function render(c: Context, page: JSX.Element, status: 200 | 400 | 401 | 403 | 404 | 422 | 429 = 200): Promise<Response> {
  return c.html(`<!doctype html>${await page.toString()}`, status);
}

function text(form: Record<string, unknown>, name: string): string {
  const v = form[name];
  return typeof v === "string" ? v.trim() : "";
}

/** Only redirect back inside the console (a `back` field is operator input, but still). */
function backTo(value: string, fallback: string): string {
  return value.startsWith(base) && !value.startsWith("//") && !/[\r\n\\]/.test(value) ? value : fallback;
}

export function consoleRoutes(deps: BridgeDeps, options: { throttle?: LoginThrottle } = {}): Hono<AppEnv> {
  const app = new Hono<ConsoleEnv>();
  const throttle = options.throttle ?? new LoginThrottle();
  const secureCookies = deps.config.PUBLIC_URL.startsWith("https://");
  const cookieOptions = { path: base, httpOnly: true, secure: secureCookies, sameSite: "Lax" as const };

  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(securityHeaders)) c.res.headers.set(name, value);
  });
  // Console forms are small; the sign-in form is read before anyone is authenticated.
  app.use("*", bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text("The form is too large.", 413) }));

  const loginForm = async (c: Context, status: 200 | 401 | 403 | 429 = 200, error?: string, username?: string) => {
    const token = randomToken(18);
    setCookie(c, loginCsrfCookie, token, { ...cookieOptions, maxAge: 3600 });
    return render(c, <LoginPage csrf={token} setupNeeded={!(await hasOperators(deps))} {...(error ? { error } : {})} {...(username ? { username } : {})} />, status);
  };

  app.get("/login", async (c) => {
    if (await readSession(deps, getCookie(c, sessionCookie))) return c.redirect(base, 303);
    return loginForm(c);
  });

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    // Login CSRF: double-submit cookie (there is no session yet to bind a token to).
    const cookieToken = getCookie(c, loginCsrfCookie) ?? "";
    const formToken = text(form, "_csrf");
    if (!cookieToken || !formToken || !safeEqual(cookieToken, formToken)) {
      return render(c, <MessagePage title="Forbidden" message="The form expired or did not come from this console. Reload the sign-in page and try again." />, 403);
    }
    const username = text(form, "username") || "admin";
    const nowMs = deps.clock().getTime();
    const address = clientAddress(c, deps.config.TRUST_PROXY_HOPS);
    const retryAfter = throttle.attempt(username, address, nowMs);
    if (retryAfter > 0) {
      c.header("Retry-After", String(retryAfter));
      deps.logger.warn("console login throttled", { username, address });
      return loginForm(c, 429, "Too many failed attempts. Wait a few minutes.", username);
    }
    const token = await login(deps, username, typeof form.password === "string" ? form.password : "");
    if (!token) {
      deps.logger.warn("console login failed", { username, address });
      return loginForm(c, 401, "Wrong user name or password.", username);
    }
    throttle.succeed(username, address, nowMs);
    deleteCookie(c, loginCsrfCookie, { path: base });
    setCookie(c, sessionCookie, token, { ...cookieOptions, maxAge: 12 * 3600 });
    deps.logger.info("console login", { username });
    return c.redirect(base, 303);
  });

  // Everything below needs a signed-in operator.
  app.use("*", async (c, next) => {
    const session = await readSession(deps, getCookie(c, sessionCookie));
    if (!session) {
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect(`${base}/login`, 303);
      return render(c, <MessagePage title="Sign in required" message="Your console session ended. Sign in again." />, 401);
    }
    c.set("operator", session);
    c.set("csrf", csrfTokenFor(deps, session));
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const form = await c.req.parseBody();
      if (!isValidCsrfToken(deps, session, form._csrf)) {
        deps.logger.warn("console request with a bad CSRF token", { path: c.req.path, username: session.username });
        return render(c, <MessagePage title="Forbidden" message="The form's security token is missing or wrong. Reload the page and try again." csrf={c.get("csrf")} username={session.username} />, 403);
      }
    }
    await next();
  });

  const who = (c: Context<ConsoleEnv>) => ({ csrf: c.get("csrf"), username: c.get("operator").username });

  app.post("/logout", async (c) => {
    await logout(deps, c.get("operator"));
    deps.logger.info("console logout", { username: c.get("operator").username });
    deleteCookie(c, sessionCookie, { path: base });
    return c.redirect(`${base}/login`, 303);
  });

  app.get("/", async (c) => {
    const days = Math.min(30, Math.max(1, Number.parseInt(c.req.query("days") ?? "7", 10) || 7));
    const [points, counts] = await Promise.all([hourlySessions(deps, days), overviewCounts(deps)]);
    return render(c, <OverviewPage {...who(c)} points={points} days={days} counts={counts} />);
  });

  app.get("/sessions", async (c) => {
    const q = c.req.query("q") ?? "";
    const status = c.req.query("status") ?? "";
    const before = Number.parseInt(c.req.query("before") ?? "", 10);
    const rows = await searchSessions(deps, { q, status, ...(before > 0 ? { before } : {}) });
    const last = rows.at(-1);
    return render(c, <SessionsPage {...who(c)} rows={rows} q={q} status={status} nextBefore={rows.length === pageSize && last ? Number(last.created_at) : undefined} />);
  });

  app.get("/sessions/:id", async (c) => {
    const detail = await loadSessionDetail(deps, c.req.param("id"));
    if (!detail) return render(c, <MessagePage {...who(c)} title="Not found" message="No such checkout session." />, 404);
    const currency = detail.session.currency as CurrencyCode;
    const money = (minor: bigint | string) => `${formatDecimalAmount(BigInt(minor), currency)} ${currency}`;
    const stored = JSON.parse(detail.session.cart_json) as StoredCart;
    const cart = cartLines(detail.session).map((l) => ({ name: l.name, quantity: l.quantity, unit: money(l.unitAmountMinor), sku: l.sku }));
    const totals = [
      { label: "Shipping", value: money(stored.shippingMinor) },
      { label: "Tax", value: money(stored.taxMinor) },
      { label: "Discount", value: `−${money(stored.discountMinor)}` },
      { label: "Total", value: money(detail.session.amount_minor) },
    ];
    return render(c, <SessionPage {...who(c)} nowMs={deps.clock().getTime()} detail={detail} cart={cart} totals={totals} />);
  });

  app.get("/updates", async (c) => {
    const problems = await loadStoreUpdateProblems(deps);
    const done = c.req.query("retried");
    const failed = c.req.query("notRetried");
    return render(c, <UpdatesPage {...who(c)} {...problems} nowMs={deps.clock().getTime()}
      flash={done ? `Update ${done} is queued for delivery now.` : undefined}
      error={failed ? `Update ${failed} could not be retried: it is delivered or being delivered.` : undefined} />);
  });

  app.post("/updates/:id/retry", async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const ok = await retryStoreUpdateNow(deps, id);
    deps.logger.info("console: retry store update", { updateId: id, ok, username: c.get("operator").username });
    const back = backTo(text(form, "back"), `${base}/updates`);
    const target = back === `${base}/updates` ? `${back}?${ok ? "retried" : "notRetried"}=${encodeURIComponent(id)}` : back;
    return c.redirect(target, 303);
  });

  const platformForms = () => deps.storeAdapters.list().map((a) => ({ platform: a.platform, fields: fieldsFor(a.credentialsSchema, "credentials") }));
  const providerForms = () => deps.providers.list().map((p) => ({
    name: p.name,
    testOnly: p.testOnly === true,
    credentials: fieldsFor(p.credentialsSchema, "credentials"),
    settings: fieldsFor(p.settingsSchema, "settings"),
  }));

  app.get("/stores", async (c) => {
    return render(c, <StoresPage {...who(c)} stores={await loadStores(deps)} platforms={platformForms()} providers={deps.providers.list().map((p) => p.name)} />);
  });

  const storePage = async (c: Context<ConsoleEnv>, storeId: string, extra: { shown?: ShownSecret[]; flash?: string; error?: string } = {}, status: 200 | 404 | 422 = 200) => {
    const loaded = await loadStore(deps, storeId);
    if (!loaded) return render(c, <MessagePage {...who(c)} title="Not found" message="No such store." />, 404);
    const connections = await listConnections(deps, storeId);
    return render(c, <StorePage {...who(c)} store={loaded.store} keys={loaded.keys} connections={connections} providers={providerForms()} {...extra} />, status);
  };

  app.post("/stores", async (c) => {
    const form = await c.req.parseBody();
    const name = text(form, "name");
    const platform = text(form, "platform");
    const defaultProvider = text(form, "defaultProvider");
    const values = { name, platform, defaultProvider };
    const fail = async (error: string) => render(c, <StoresPage {...who(c)} stores={await loadStores(deps)} platforms={platformForms()} providers={deps.providers.list().map((p) => p.name)} error={error} values={values} />, 422);
    if (!name) return fail("A store needs a name.");
    const platformForm = platformForms().find((p) => p.platform === platform);
    if (!platformForm) return fail(`Unknown platform ${platform}.`);
    try {
      const credentials = readFields(form, `store.${platform}`, platformForm.fields);
      const created = await createStore(deps, { name, platform, ...(defaultProvider ? { defaultProvider } : {}), credentials });
      deps.logger.info("console: store created", { storeId: created.storeId, username: c.get("operator").username });
      const shown: ShownSecret[] = [
        { label: "Test key", value: created.keys.testKey },
        { label: "Live key", value: created.keys.liveKey },
      ];
      // The custom platform's signing secret may have been generated here: the merchant's endpoint needs it.
      if (platform === "custom" && typeof created.credentials.signingSecret === "string") {
        shown.push({ label: "Signing secret", value: created.credentials.signingSecret });
      }
      return storePage(c, created.storeId, { shown, flash: "Store created." });
    } catch (err) {
      if (err instanceof StoreInputError || err instanceof SyntaxError) return fail(err.message);
      throw err;
    }
  });

  app.get("/stores/:id", (c) => storePage(c, c.req.param("id")));

  app.post("/stores/:id/rotate-key", async (c) => {
    const form = await c.req.parseBody();
    const live = text(form, "mode") === "live";
    try {
      const key = await rotateStoreKey(deps, c.req.param("id"), live);
      deps.logger.info("console: key rotated", { storeId: c.req.param("id"), livemode: live, username: c.get("operator").username });
      return storePage(c, c.req.param("id"), { shown: [{ label: `New ${live ? "live" : "test"} key`, value: key }], flash: `The previous ${live ? "live" : "test"} key is revoked.` });
    } catch (err) {
      if (err instanceof StoreInputError) return storePage(c, c.req.param("id"), { error: err.message }, 404);
      throw err;
    }
  });

  app.post("/stores/:id/default-provider", async (c) => {
    const form = await c.req.parseBody();
    const provider = text(form, "defaultProvider");
    if (provider && !deps.providers.get(provider)) return storePage(c, c.req.param("id"), { error: `Unknown provider ${provider}.` }, 422);
    await deps.db.kysely.updateTable("stores")
      .set({ default_provider: provider || null, updated_at: deps.clock().getTime() })
      .where("id", "=", c.req.param("id")).execute();
    return storePage(c, c.req.param("id"), { flash: provider ? `Default provider is now ${provider}.` : "No default provider." });
  });

  app.post("/stores/:id/connections", async (c) => {
    const form = await c.req.parseBody();
    const provider = providerForms().find((p) => p.name === text(form, "provider"));
    if (!provider) return storePage(c, c.req.param("id"), { error: "Unknown provider." }, 422);
    try {
      const created = await addConnection(deps, {
        storeId: c.req.param("id"),
        provider: provider.name,
        livemode: text(form, "mode") === "live",
        credentials: readFields(form, "cred", provider.credentials),
        settings: readFields(form, "set", provider.settings),
      });
      deps.logger.info("console: connection added", { connectionId: created.id, provider: provider.name, username: c.get("operator").username });
      return storePage(c, c.req.param("id"), { flash: `Connected ${provider.name}. Register this webhook URL at the platform: ${created.webhookUrl}` });
    } catch (err) {
      if (err instanceof ConnectionInputError || err instanceof SyntaxError) return storePage(c, c.req.param("id"), { error: err.message }, 422);
      throw err;
    }
  });

  // `/dashboard/` (a typed URL) is the overview; anything else under the console is a page that does not exist.
  app.get("*", (c) => {
    if (c.req.path === `${base}/`) return c.redirect(base, 303);
    return render(c, <MessagePage {...who(c)} title="Not found" message="There is no such console page." />, 404);
  });

  return app as unknown as Hono<AppEnv>;
}
