import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, simulate, type TestStore } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { ConsoleClient } from "../../test/console/client.ts";
import { Hono } from "hono";
import { consoleDb, hashPassword, LoginThrottle, OperatorPasswordError, setOperatorPassword, verifyPassword } from "./auth.ts";
import { searchSessions } from "./queries.ts";
import { consoleRoutes } from "./routes.tsx";

const password = "correct horse battery";

it("hashes with scrypt and checks in both directions", async () => {
  const hash = await hashPassword(password);
  expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
  expect(await verifyPassword(password, hash)).toBe(true);
  expect(await verifyPassword("correct horse batterz", hash)).toBe(false);
  expect(await verifyPassword(password, "plain$text")).toBe(false);
});

describeEachDatabase("console routes", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  let endpoint: StoreEndpoint;
  let client: ConsoleClient;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({
      databaseUrl: db.url,
      config: { OUTBOX_MAX_ATTEMPTS: "2", OUTBOX_BASE_DELAY_MS: "0", OUTBOX_MAX_DELAY_MS: "0" },
      mounts: (deps) => [{ path: "/dashboard", app: consoleRoutes(deps) }],
    });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    store = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
    client = new ConsoleClient(bridge.app);
  });
  afterEach(async () => {
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  });

  it("refuses every page without a login", async () => {
    const page = await client.get("/dashboard/sessions");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/dashboard/login");
    const post = await client.post("/dashboard/stores", { name: "x", platform: "custom", _csrf: "x" });
    expect(post.status).toBe(401);
    expect(await bridge.deps.db.kysely.selectFrom("stores").select("id").execute()).toHaveLength(1);
    const huge = await client.post("/dashboard/login", { _csrf: "x", password: "p".repeat(100_000) });
    expect(huge.status).toBe(413);
    const login = await client.get("/dashboard/login");
    expect(await login.text()).toContain("No operator password is set yet");
  });

  it("signs in with the operator password only, and rejects a forged login form", async () => {
    await setOperatorPassword(bridge.deps, password);
    expect((await client.login("wrong password!")).status).toBe(401);
    expect(client.hasCookie("cb_console")).toBe(false);

    const forged = await new ConsoleClient(bridge.app).post("/dashboard/login", { _csrf: "guess", username: "admin", password });
    expect(forged.status).toBe(403);

    const ok = await client.login(password);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/dashboard");
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("cb_console="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/dashboard/);
    const overview = await client.get("/dashboard");
    expect(overview.status).toBe(200);
    expect(overview.headers.get("cache-control")).toBe("no-store");
    expect(await overview.text()).toContain("Sessions per hour");
    expect((await client.get("/dashboard/")).headers.get("location")).toBe("/dashboard");
    expect((await client.get("/dashboard/nope")).status).toBe(404);
  });

  it("answers 429 with Retry-After once a user name or an address has failed too often, even in parallel", async () => {
    await setOperatorPassword(bridge.deps, password);
    const app = new Hono().route("/dashboard", consoleRoutes(bridge.deps, { throttle: new LoginThrottle({ perUsername: 3, perAddress: 5 }) }));
    const guesser = new ConsoleClient(app, "198.51.100.7");
    const csrf = ConsoleClient.csrfOf(await (await guesser.get("/dashboard/login")).text());
    const burst = await Promise.all(Array.from({ length: 8 }, () =>
      guesser.post("/dashboard/login", { _csrf: csrf, username: "admin", password: "wrong password!" })));
    expect(burst.map((r) => r.status).sort()).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
    for (const r of burst.filter((r) => r.status === 429)) expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    // Locked for the user name from anywhere, even with the right password, until the window passes.
    const elsewhere = await new ConsoleClient(app, "198.51.100.99").login(password);
    expect(elsewhere.status).toBe(429);
    expect(Number(elsewhere.headers.get("retry-after"))).toBeGreaterThan(800);

    // One address spraying user names hits its own bucket; another address is not affected.
    const sprayer = new ConsoleClient(app, "198.51.100.8");
    for (let i = 1; i <= 5; i++) expect((await sprayer.login("wrong password!", `user${i}`)).status).toBe(401);
    const refused = await sprayer.login("wrong password!", "user6");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await new ConsoleClient(app, "198.51.100.9").login("wrong password!", "user6")).status).toBe(401);
  });

  it("behind a trusted reverse proxy, each client's failures count against its own address", async () => {
    await setOperatorPassword(bridge.deps, password);
    const behindProxy = (hops: number) => {
      const deps = { ...bridge.deps, config: { ...bridge.deps.config, TRUST_PROXY_HOPS: hops } };
      return new Hono().route("/dashboard", consoleRoutes(deps, { throttle: new LoginThrottle({ perUsername: 100, perAddress: 3 }) }));
    };
    // Every request reaches the bridge from the proxy (10.0.0.1); the proxy appends the client's address.
    const spray = async (app: Hono, client: string) => {
      const results: number[] = [];
      for (let i = 1; i <= 4; i++) results.push((await new ConsoleClient(app, "10.0.0.1", client).login("wrong password!", `user${i}`)).status);
      return results;
    };
    const trusting = behindProxy(1);
    // The first entry is whatever the client wrote; the last is what the proxy appended.
    expect(await spray(trusting, "192.0.2.66, 203.0.113.5")).toEqual([401, 401, 401, 429]);
    expect((await new ConsoleClient(trusting, "10.0.0.1", "192.0.2.66, 203.0.113.6").login("wrong password!", "user9")).status).toBe(401);
    // Without the setting, X-Forwarded-For is ignored: every client is the proxy, and shares its bucket.
    const ignoring = behindProxy(0);
    expect(await spray(ignoring, "203.0.113.5")).toEqual([401, 401, 401, 429]);
    expect((await new ConsoleClient(ignoring, "10.0.0.1", "203.0.113.6").login("wrong password!", "user9")).status).toBe(429);
  });

  it("signing out ends the session: the old cookie, replayed, no longer opens a page", async () => {
    await setOperatorPassword(bridge.deps, password);
    const ok = await client.login(password);
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("cb_console="))!.split(";")[0]!;
    const withOldCookie = () => bridge.app.request("/dashboard/stores", { headers: { cookie } });
    expect((await withOldCookie()).status).toBe(200);
    const out = await client.post("/dashboard/logout", { _csrf: await client.csrf() });
    expect(out.headers.get("location")).toBe("/dashboard/login");
    const replay = await withOldCookie();
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toBe("/dashboard/login");
    // Signing in again works, with a new token.
    expect((await client.login(password)).status).toBe(303);
    expect((await client.get("/dashboard/stores")).status).toBe(200);
  });

  it("refuses short passwords, and a new password signs out old sessions", async () => {
    await expect(setOperatorPassword(bridge.deps, "short")).rejects.toBeInstanceOf(OperatorPasswordError);
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    expect((await client.get("/dashboard/stores")).status).toBe(200);
    await setOperatorPassword(bridge.deps, `${password} 2`);
    expect((await client.get("/dashboard/stores")).status).toBe(303);
    const rows = await consoleDb(bridge.deps).selectFrom("console_operators").select(["username", "session_epoch"]).execute();
    expect(rows).toEqual([{ username: "admin", session_epoch: 2 }]);
  });

  it("rejects a POST with a missing or foreign CSRF token with 403 and changes nothing", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    const other = new ConsoleClient(bridge.app);
    await other.login(password);
    const foreignToken = await other.csrf();

    for (const token of ["", "nonsense", foreignToken]) {
      const res = await client.post("/dashboard/stores", { _csrf: token, name: "Evil", platform: "custom", "store.custom.endpointUrl": "https://evil.example/hook" });
      expect(res.status).toBe(403);
    }
    expect(await bridge.deps.db.kysely.selectFrom("stores").select("name").execute()).toEqual([{ name: "Test shop" }]);

    const good = await client.post("/dashboard/stores", { _csrf: await client.csrf(), name: "Shop two", platform: "custom", defaultProvider: "sandbox", "store.custom.endpointUrl": "https://shop.example/hook" });
    expect(good.status).toBe(200);
    const html = await good.text();
    expect(html).toMatch(/sk_test_[A-Za-z0-9_-]{20,}/);
    expect(html).toMatch(/whsec_/);
  });

  it("creates a store, connects a provider without echoing its credentials, rotates a key", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    const created = await client.post("/dashboard/stores", { _csrf: await client.csrf(), name: "Shop two", platform: "custom", defaultProvider: "sandbox", "store.custom.endpointUrl": "https://shop.example/hook" });
    const storeId = /Store id<\/dt><dd class="mono">(st_[0-9a-f]+)/.exec(await created.text())![1]!;
    const testKey = (await bridge.deps.db.kysely.selectFrom("api_keys").select("key_prefix").where("store_id", "=", storeId).where("livemode", "=", 0).executeTakeFirstOrThrow()).key_prefix;

    const conn = await client.post(`/dashboard/stores/${storeId}/connections`, { _csrf: await client.csrf(), provider: "sandbox", mode: "test", "cred.webhookSecret": "whsec_write_only_value_123" });
    expect(conn.status).toBe(200);
    const page = await conn.text();
    expect(page).toContain(`/v1/webhooks/sandbox/conn_`);
    expect(page).not.toContain("whsec_write_only_value_123");
    expect(await (await client.get(`/dashboard/stores/${storeId}`)).text()).not.toContain("whsec_write_only_value_123");

    const rotated = await client.post(`/dashboard/stores/${storeId}/rotate-key`, { _csrf: await client.csrf(), mode: "test" });
    const newKey = /sk_test_[A-Za-z0-9_-]+/.exec(await rotated.text())![0];
    expect(newKey.slice(0, 14)).not.toBe(testKey);
    const keys = await bridge.deps.db.kysely.selectFrom("api_keys").select(["revoked_at"]).where("store_id", "=", storeId).where("livemode", "=", 0).execute();
    expect(keys.filter((k) => k.revoked_at === null)).toHaveLength(1);
    expect(keys).toHaveLength(2);
  });

  it("finds a paid session by order id, tx hash and email and shows its timeline; retries a dead update", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    endpoint.down = true;
    const session = await (await postSession(bridge, store.testKey, cartBody({ order: { id: "A-77" } }))).json();
    const hosted = (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!;
    await simulate(bridge, hosted, "paid");
    await drain(bridge);
    await drain(bridge);
    const update = await bridge.deps.db.kysely.selectFrom("store_updates").selectAll().where("session_id", "=", session.id).executeTakeFirstOrThrow();
    expect(update.state).toBe("dead");

    const payment = await bridge.deps.db.kysely.selectFrom("payments").selectAll().where("session_id", "=", session.id).executeTakeFirstOrThrow();
    for (const q of ["A-77", session.id, "BUYER@example.com", ...(payment.tx_hash ? [payment.tx_hash] : [])]) {
      const list = await (await client.get(`/dashboard/sessions?q=${encodeURIComponent(q)}`)).text();
      expect(list, q).toContain(`/dashboard/sessions/${session.id}`);
    }
    expect(await (await client.get(`/dashboard/sessions?q=nothing-here`)).text()).toContain("No sessions match");
    expect(await (await client.get(`/dashboard/sessions?status=expired`)).text()).not.toContain(session.id);

    const detail = await (await client.get(`/dashboard/sessions/${session.id}`)).text();
    expect(detail).toContain("T-shirt");
    expect(detail).toContain("40.00 USD");
    expect(detail).toContain("webhook from sandbox");
    expect(detail).toContain("raw body");
    expect(detail).toContain("store answered 503");

    const updates = await (await client.get("/dashboard/updates")).text();
    expect(updates).toContain(update.id);
    endpoint.down = false;
    const retry = await client.post(`/dashboard/updates/${update.id}/retry`, { _csrf: await client.csrf(), back: "/dashboard/updates" });
    expect(retry.status).toBe(303);
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.session.id)).toEqual([session.id]);
    const after = await (await client.get(`/dashboard/sessions/${session.id}`)).text();
    expect(after).toMatch(/badge delivered/);
  });

  it("renders hostile values from buyers, stores and platforms as text, never as markup", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    const hostile = (n: number) => `<script>alert(${n})</script></pre><img src=x onerror=alert(${n})>`;
    const escaped = (n: number) => `&lt;script&gt;alert(${n})&lt;/script&gt;&lt;/pre&gt;&lt;img src=x onerror=alert(${n})&gt;`;
    const db = bridge.deps.db.kysely;

    // A line item name arrives through the API; the rejected webhook through the webhook URL.
    const item = { name: hostile(1), quantity: 1, unitAmount: "40.00" };
    const session = await (await postSession(bridge, store.testKey, cartBody({ order: { id: "xss-1" }, lineItems: [item], shippingAmount: "0.00", taxAmount: "0.00", discountAmount: "0.00", amount: "40.00" }))).json();
    expect(session.id, JSON.stringify(session)).toMatch(/^cs_/);
    await simulate(bridge, (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!, "paid");
    await drain(bridge);
    const rejected = await bridge.app.request(new URL(store.webhookUrl).pathname, { method: "POST", body: hostile(2), headers: { "content-type": "application/json" } });
    expect(rejected.status).toBe(400);
    // The rest cannot pass the API's validation, but a database is not a trust boundary: write them directly.
    await db.updateTable("webhook_events").set({ raw_body: JSON.stringify({ note: hostile(3) }) }).where("connection_id", "=", store.connectionId).execute();
    await db.updateTable("stores").set({ name: hostile(4) }).where("id", "=", store.storeId).execute();
    await db.updateTable("checkout_sessions").set({ customer_email: hostile(5) }).where("id", "=", session.id).execute();

    const pages = {
      detail: await (await client.get(`/dashboard/sessions/${session.id}`)).text(),
      list: await (await client.get(`/dashboard/sessions`)).text(),
      updates: await (await client.get("/dashboard/updates")).text(),
      stores: await (await client.get("/dashboard/stores")).text(),
    };
    const expected: Array<[keyof typeof pages, number]> = [["detail", 1], ["updates", 2], ["detail", 3], ["detail", 4], ["stores", 4], ["detail", 5], ["list", 5]];
    for (const [page, n] of expected) expect(pages[page], `${page} ${n}`).toContain(escaped(n));
    for (const [page, html] of Object.entries(pages)) {
      // The console has no script and no image of its own: any here would be injected.
      expect(html, page).not.toMatch(/<script|<img|onerror=alert\(\d\)>/i);
    }
  });

  it("links a payment's transaction to a block explorer when the platform sent a chain but no link", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    const session = await (await postSession(bridge, store.testKey, cartBody({ order: { id: "tx-1" } }))).json();
    await simulate(bridge, (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!, "paid");
    await drain(bridge);
    const hash = `0x${"cd".repeat(32)}`;
    const updated = await bridge.deps.db.kysely.updateTable("payments").set({ chain_id: "8453", tx_hash: hash, explorer_url: null }).where("session_id", "=", session.id).executeTakeFirst();
    expect(Number(updated.numUpdatedRows)).toBe(1);
    const detail = await (await client.get(`/dashboard/sessions/${session.id}`)).text();
    expect(detail).toContain(`<a href="https://basescan.org/tx/${hash}" rel="noopener noreferrer" target="_blank">${hash}</a>`);
  });

  it("retries a delivering update whose worker's lease ran out, and leaves a live lease alone", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    endpoint.down = true;
    const session = await (await postSession(bridge, store.testKey, cartBody({ order: { id: "lease-1" } }))).json();
    await simulate(bridge, (await bridge.app.request(`/pay/${session.id}`)).headers.get("location")!, "paid");
    await drain(bridge);
    endpoint.down = false;
    const db = bridge.deps.db.kysely;
    const update = await db.selectFrom("store_updates").selectAll().where("session_id", "=", session.id).executeTakeFirstOrThrow();
    const now = bridge.deps.clock().getTime();
    const hold = (leaseUntil: number) => db.updateTable("store_updates")
      .set({ state: "delivering", lease_owner: "worker-that-died", lease_until: leaseUntil, inflight_session_id: session.id, attempts: 1 })
      .where("id", "=", update.id).execute();
    const retryForm = `action="/dashboard/updates/${update.id}/retry"`;

    await hold(now + 60_000);
    expect(await (await client.get(`/dashboard/sessions/${session.id}`)).text()).not.toContain(retryForm);
    const refused = await client.post(`/dashboard/updates/${update.id}/retry`, { _csrf: await client.csrf(), back: "/dashboard/updates" });
    expect(refused.headers.get("location")).toBe(`/dashboard/updates?notRetried=${update.id}`);

    await hold(now - 1_000);
    expect(await (await client.get("/dashboard/updates")).text()).toContain(retryForm);
    const retried = await client.post(`/dashboard/updates/${update.id}/retry`, { _csrf: await client.csrf(), back: "/dashboard/updates" });
    expect(retried.headers.get("location")).toBe(`/dashboard/updates?retried=${update.id}`);
    expect(await db.selectFrom("store_updates").select(["state", "lease_owner", "inflight_session_id"]).where("id", "=", update.id).executeTakeFirstOrThrow())
      .toEqual({ state: "pending", lease_owner: null, inflight_session_id: null });
    await drain(bridge);
    expect(endpoint.received.map((r) => r.update.session.id)).toContain(session.id);
  });

  it("finds a session by email whatever the case the store or the operator typed it in", async () => {
    const created = await (await postSession(bridge, store.testKey, cartBody({ order: { id: "case-1" }, customer: { email: "Mixed.Case@Example.COM" } }))).json();
    await postSession(bridge, store.testKey, cartBody({ order: { id: "case-2" }, customer: { email: "someone.else@example.com" } }));
    for (const q of ["Mixed.Case@Example.COM", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"]) {
      expect((await searchSessions(bridge.deps, { q })).map((s) => s.id), q).toEqual([created.id]);
    }
    expect(await searchSessions(bridge.deps, { q: "mixed.case@example.org" })).toEqual([]);
  });

  it("lists webhooks that failed verification with the reason", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    const res = await bridge.app.request(new URL(store.webhookUrl).pathname, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    const page = await (await client.get("/dashboard/updates")).text();
    expect(page).toContain("missing signature");
  });

  it("draws the hourly chart with the paid share", async () => {
    await setOperatorPassword(bridge.deps, password);
    await client.login(password);
    for (const id of ["c1", "c2"]) {
      const s = await (await postSession(bridge, store.testKey, cartBody({ order: { id } }))).json();
      if (id === "c1") await simulate(bridge, (await bridge.app.request(`/pay/${s.id}`)).headers.get("location")!, "paid");
    }
    await drain(bridge);
    const html = await (await client.get("/dashboard?days=1")).text();
    expect(html).toContain("<svg");
    expect(html).toContain("2 sessions, 1 paid (50.0%)");
    expect(html).toMatch(/<rect[^>]+class="paid"/);
  });
});

it("throttles per user name and per address, counts before checking, forgives a success, evicts the least recent", async () => {
  const { LoginThrottle } = await import("./auth.ts");
  const throttle = new LoginThrottle({ perUsername: 3, perAddress: 5, windowMs: 10_000, maxBuckets: 4 });
  for (let i = 0; i < 3; i++) expect(throttle.attempt("admin", "a1", 100)).toBe(0);
  expect(throttle.attempt("admin", "a2", 2_000)).toBe(9);
  expect(throttle.attempt("other", "a1", 2_000)).toBe(0);
  expect(throttle.attempt("admin", "a1", 10_100)).toBe(0);
  throttle.succeed("admin", "a1", 10_100);
  for (let i = 0; i < 3; i++) expect(throttle.attempt("admin", "a1", 10_200)).toBe(0);

  // When "d" arrives, "a" is the least recently used bucket: only it is dropped, "b" is still counted.
  const small = new LoginThrottle({ perUsername: 1, perAddress: 100, windowMs: 10_000, maxBuckets: 4 });
  for (const user of ["a", "b", "c", "d"]) expect(small.attempt(user, "ip", 0)).toBe(0);
  expect(small.attempt("b", "ip", 1)).toBeGreaterThan(0);
  expect(small.attempt("a", "ip", 1)).toBe(0);
});
