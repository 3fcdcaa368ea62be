/**
 * The console in a real headless Chromium against a real bridge on 127.0.0.1: sign in, create a store,
 * find a paid session, read its timeline, retry a dead-lettered store update, and be refused without a
 * login or with a bad CSRF token. Saves the README's screenshots to docs/screenshots/.
 *
 * Needs Debian's chromium at /usr/bin/chromium: skipped (with the reason printed) when it is absent,
 * a failure under CI=true.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { Bridge } from "../bridge.ts";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, drain, postSession, simulate } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { browserUnavailableReason, launchChromium, screenshotPath, serveBridge, type ServedBridge } from "../../test/console/browser.ts";
import { setOperatorPassword } from "./auth.ts";
import { openapiRoutes } from "../api/openapi.ts";
import { consoleRoutes } from "./routes.tsx";

const unavailable = browserUnavailableReason();
if (unavailable) {
  console.warn(`\n*** ${unavailable}\n*** ${process.env.CI === "true" ? "CI=true: console browser tests FAIL" : "console browser tests are SKIPPED"}\n`);
}

const password = "operator password 1";

// One database suffices here: the console's queries run on both in src/console/console.test.ts.
describe.skipIf(unavailable && process.env.CI !== "true")(`console in Chromium${unavailable ? ` — skipped: ${unavailable}` : ""}`, () => {
  let db: TestDatabase;
  let bridge: Bridge;
  let served: ServedBridge;
  let endpoint: StoreEndpoint;
  let browser: Browser;
  let page: Page;
  let storeKey = "";
  let sessionId = "";
  let webhookUrl = "";

  beforeAll(async () => {
    if (unavailable) throw new Error(unavailable);
    db = await createSqliteDatabase();
    bridge = await createTestBridge({
      databaseUrl: db.url,
      config: { OUTBOX_MAX_ATTEMPTS: "2", OUTBOX_BASE_DELAY_MS: "0", OUTBOX_MAX_DELAY_MS: "0" },
      mounts: (deps) => [{ path: "/dashboard", app: consoleRoutes(deps) }, { path: "/", app: openapiRoutes(deps) }],
    });
    await setOperatorPassword(bridge.deps, password);
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    served = await serveBridge(bridge);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await endpoint?.stop();
    await bridge?.close();
    await db?.drop();
  });

  const go = (path: string) => page.goto(`${served.url}${path}`);

  it("sends a visitor without a session to the sign-in page, and refuses a POST", async () => {
    await go("/dashboard/sessions");
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    await page.screenshot({ path: screenshotPath("login"), fullPage: true });
    const refused = await page.request.post(`${served.url}/dashboard/stores`, { form: { name: "x", platform: "custom", _csrf: "x" }, maxRedirects: 0 });
    expect(refused.status()).toBe(401);
  });

  it("signs in with the operator password", async () => {
    await page.fill("#password", "not the password");
    await page.click("button[type=submit]");
    await expect(page.textContent("[role=alert]")).resolves.toContain("Wrong user name or password");
    await page.fill("#password", password);
    await Promise.all([page.waitForURL(`${served.url}/dashboard`), page.click("button[type=submit]")]);
    expect(await page.textContent("h1")).toBe("Overview");
  });

  it("creates a store, shows its keys once, and connects the sandbox", async () => {
    await go("/dashboard/stores");
    await page.fill("#name", "Browser shop");
    await page.selectOption("#platform", "custom");
    await page.selectOption("#defaultProvider", "sandbox");
    await page.fill('[id="store.custom.endpointUrl"]', endpoint.url);
    await page.click("form.card button[type=submit]");
    await page.waitForSelector("[data-secret]");
    storeKey = (await page.textContent('[data-secret="Test key"]'))!.trim();
    const signingSecret = (await page.textContent('[data-secret="Signing secret"]'))!.trim();
    expect(storeKey).toMatch(/^sk_test_/);
    endpoint.setSecret(signingSecret);

    await page.click("details.card summary:has-text('sandbox')");
    await Promise.all([page.waitForLoadState("load"), page.click("text=Connect sandbox")]);
    webhookUrl = (await page.textContent("[data-webhook-url]"))!.trim();
    expect(webhookUrl).toMatch(/\/v1\/webhooks\/sandbox\/conn_[0-9a-f]+\//);
    await page.screenshot({ path: screenshotPath("store"), fullPage: true });
    await go("/dashboard/stores");
    await expect(page.textContent("table")).resolves.toContain("Browser shop");
    await page.screenshot({ path: screenshotPath("stores"), fullPage: false });
  });

  it("finds the paid session by its order id and shows its timeline", async () => {
    endpoint.down = true;
    for (const [order, outcome] of [["B-1001", "paid"], ["B-1002", "underpaid"], ["B-1003", undefined], ["B-1004", "paid"]] as const) {
      const created = await postSession(bridge, storeKey, cartBody({ order: { id: order, number: order }, customer: { email: `${order.toLowerCase()}@example.com` } }));
      expect(created.status).toBe(201);
      const session = await created.json();
      if (order === "B-1001") sessionId = session.id;
      if (outcome) await simulate(bridge, (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!, outcome);
    }
    await drain(bridge);
    await drain(bridge);
    const update = await bridge.deps.db.kysely.selectFrom("store_updates").select("state").where("session_id", "=", sessionId).executeTakeFirstOrThrow();
    expect(update.state).toBe("dead");

    // A week of earlier sessions, so the overview's chart shows a week rather than one bar.
    const template = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", sessionId).executeTakeFirstOrThrow();
    const hourMs = 3_600_000;
    const now = bridge.deps.clock().getTime();
    const history = Array.from({ length: 7 * 24 - 1 }, (_, i) => i + 1).flatMap((hoursAgo) => {
      const daytime = Math.sin(((now - hoursAgo * hourMs) / hourMs / 24) * 2 * Math.PI) + 1;
      return Array.from({ length: Math.round(daytime * 2 + (hoursAgo % 3)) }, (_, k) => ({
        ...template,
        id: `cs_${randomBytes(12).toString("hex")}`,
        order_id: `A-${9000 - hoursAgo * 10 + k}`,
        order_number: `A-${9000 - hoursAgo * 10 + k}`,
        customer_email: `${["ana", "ben", "chen", "dana", "eli", "fay"][(hoursAgo + k) % 6]}.${hoursAgo}${k}@example.com`,
        provider_session_id: null,
        status: (hoursAgo + k) % 4 === 0 ? "expired" : "paid",
        created_at: now - hoursAgo * hourMs - k * 60_000,
        updated_at: now - hoursAgo * hourMs,
      }));
    });
    for (let i = 0; i < history.length; i += 100) await bridge.deps.db.kysely.insertInto("checkout_sessions").values(history.slice(i, i + 100)).execute();
    await go("/dashboard");
    await page.screenshot({ path: screenshotPath("overview"), fullPage: true });
    await go("/dashboard/sessions");
    await page.screenshot({ path: screenshotPath("sessions"), fullPage: false });
    await page.fill("#q", "B-1001");
    await page.click("form.search button");
    const rows = page.locator("tbody tr");
    expect(await rows.count()).toBe(1);
    await Promise.all([page.waitForURL(`**/dashboard/sessions/${sessionId}`), page.click(`a[href="/dashboard/sessions/${sessionId}"]`)]);
    await expect(page.textContent("h1")).resolves.toContain("B-1001");
    await expect(page.textContent("ol.timeline")).resolves.toContain("webhook from sandbox");
    await page.click("ol.timeline li.webhook summary:has-text('raw body')");
    await expect(page.locator("ol.timeline li.webhook pre").first().isVisible()).resolves.toBe(true);
    await expect(page.textContent("ol.timeline li.webhook pre")).resolves.toContain(sessionId);
    await page.screenshot({ path: screenshotPath("session-timeline"), fullPage: true });
  });

  it("refuses a form with a bad CSRF token with 403", async () => {
    await go("/dashboard/updates");
    await page.evaluate(() => {
      for (const input of document.querySelectorAll<HTMLInputElement>("input[name=_csrf]")) input.value = "forged-token";
    });
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("text=Retry now")]);
    expect(response.status()).toBe(403);
    const state = await bridge.deps.db.kysely.selectFrom("store_updates").select("state").where("session_id", "=", sessionId).executeTakeFirstOrThrow();
    expect(state.state).toBe("dead");
  });

  it("retries the dead-lettered store update from the console and sees it delivered", async () => {
    const forged = await bridge.app.request(new URL(webhookUrl).pathname, { method: "POST", body: '{"type":"payment.paid"}', headers: { "cartbridge-sandbox-signature": "t=1,v1=forged" } });
    expect(forged.status).toBe(400);
    await go("/dashboard/updates");
    await expect(page.textContent("#rejections + .table-wrap")).resolves.toContain("bad signature");
    await page.screenshot({ path: screenshotPath("store-updates"), fullPage: true });
    endpoint.down = false;
    const row = page.locator("tr", { has: page.locator(`a[href="/dashboard/sessions/${sessionId}"]`) });
    await Promise.all([page.waitForURL("**/dashboard/updates?retried=*"), row.locator("text=Retry now").click()]);
    await expect(page.textContent("[role=status]")).resolves.toContain("queued for delivery");
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.session.order.id)).toContain("B-1001");
    await go(`/dashboard/sessions/${sessionId}`);
    await expect(page.locator(".card .badge.delivered").count()).resolves.toBeGreaterThan(0);
  });

  it("renders the API reference without scripts or outside requests", async () => {
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(served.url)) outside.push(r.url());
    });
    await go("/docs");
    await expect(page.textContent("h1")).resolves.toContain("Cartbridge store API");
    expect(await page.locator("script").count()).toBe(0);
    expect(outside).toEqual([]);
    await page.screenshot({ path: screenshotPath("api-reference"), fullPage: false });
  });

  it("is usable on a phone", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    await small.goto(`${served.url}/dashboard/login`);
    await small.fill("#password", password);
    await Promise.all([small.waitForURL(`${served.url}/dashboard`), small.click("button[type=submit]")]);
    await small.goto(`${served.url}/dashboard/sessions`);
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await small.screenshot({ path: screenshotPath("phone-sessions"), fullPage: true });
    await small.goto(`${served.url}/dashboard/sessions/${sessionId}`);
    await small.screenshot({ path: screenshotPath("phone-session"), fullPage: false });
    await phone.close();
  });
});
