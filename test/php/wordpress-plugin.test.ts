/**
 * The WordPress plugin's PHP, run under php-cli: its API client against a live bridge served on
 * 127.0.0.1, and its gateway against the WordPress/WooCommerce stand-ins in test/php/stubs.
 * Without php: skipped with the reason printed, except under CI=true where that is a failure.
 */
import { spawn, spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../src/bridge.ts";
import { drain, postSession, simulate } from "../support/bridge.ts";
import { createSqliteDatabase, type TestDatabase } from "../support/databases.ts";
import { createWooBridge, createWooStore, type WooStore } from "../simulators/woocommerce/harness.ts";
import { WooCommerceSimulator } from "../simulators/woocommerce/server.ts";

const here = dirname(fileURLToPath(import.meta.url));
const runScript = join(here, "run.php");
const phpMissing = spawnSync("php", ["-v"]).status === 0 ? undefined : "php-cli is not installed (Debian: apt-get install php-cli php-curl)";
if (phpMissing) {
  console.warn(`\n*** ${phpMissing}\n*** ${process.env.CI === "true" ? "CI=true: the WordPress plugin tests FAIL" : "the WordPress plugin PHP tests are SKIPPED"}\n`);
}

interface PhpRun {
  out: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  notices: { type: string; message: string }[];
  logs: { level: string; message: string; source: string }[];
  redirects: string[];
  http: { method: string; url: string; headers: Record<string, string>; body: any }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  orders: Record<string, { meta: Record<string, string>; notes: string[]; saves: number }>;
  options: Record<string, unknown>;
  admin: { type: string; text: string }[];
  settingsErrors: string[];
  fatal: string | null;
}

function runPhp(input: Record<string, unknown>): Promise<PhpRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("php", [runScript], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        const parsed = JSON.parse(stdout) as PhpRun;
        if (parsed.fatal || stderr.trim()) reject(new Error(`php: ${parsed.fatal ?? ""} ${stderr}`));
        else resolve(parsed);
      } catch {
        reject(new Error(`php exited ${code}: ${stderr}\n${stdout}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

const describePhp = phpMissing
  ? process.env.CI === "true"
    ? (name: string, _body: () => void) => describe(name, () => it("needs php-cli under CI", () => { throw new Error(phpMissing); }))
    : (name: string, body: () => void) => describe.skip(`${name} — skipped: ${phpMissing}`, body)
  : describe;

describePhp("WordPress plugin (PHP) against a live bridge", () => {
  let db: TestDatabase;
  let bridge: Bridge;
  let server: ServerType;
  let bridgeUrl: string;
  let store: WooStore;
  const deadUrl = "http://127.0.0.1:9";

  beforeAll(async () => {
    db = await createSqliteDatabase();
    bridge = await createWooBridge(db.url);
    store = await createWooStore(bridge, { url: "https://shop.example" });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: bridge.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    bridgeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await bridge.close();
    await db.drop();
  });

  const base = () => ({ bridgeUrl, key: store.testKey });
  const sessionsFor = (orderId: string) =>
    bridge.deps.db.kysely.selectFrom("checkout_sessions").select(["id", "amount_minor", "status"]).where("order_id", "=", orderId).execute();
  const order = (id: number, extra: Record<string, unknown> = {}) => ({
    id,
    order_key: `wc_order_k${id}`,
    total: "40.00",
    items: [{ name: "T-shirt", quantity: 2, subtotal: "40.00" }],
    ...extra,
  });

  it("loads like WordPress would: HPOS and blocks declared, gateway, blocks type, hooks outside the gateway", async () => {
    const run = await runPhp({ ...base(), scenario: "bootstrap" });
    expect(run.out.declared).toEqual([
      { feature: "custom_order_tables", file: "cartbridge-for-woocommerce.php", positive: true },
      { feature: "cart_checkout_blocks", file: "cartbridge-for-woocommerce.php", positive: true },
    ]);
    expect(run.out.gateways).toEqual(["Cartbridge_Gateway"]);
    expect(run.out.gatewayId).toBe("cartbridge");
    expect(run.out.thankyouHooked).toBe(true);
    expect(run.out.blocksName).toBe("cartbridge");
    expect(run.out.blocksActive).toBe(true);
    expect(run.out.blocksScripts).toEqual(["cartbridge-blocks"]);
    expect(run.out.scripts["cartbridge-blocks"].src).toMatch(/assets\/js\/blocks\.js$/);
    expect(run.out.scripts["cartbridge-blocks"].deps).toEqual(expect.arrayContaining(["wc-blocks-registry", "wc-settings", "wp-element"]));
    expect(run.out.blocksData).toMatchObject({ title: "Pay with crypto", supports: ["products"] });
    expect(run.out.blocksData.description).toContain("TEST MODE");
    expect(run.out.metaBoxScreen).toBe("woocommerce_page_wc-orders");
    expect(run.out.formFields).toEqual(expect.arrayContaining(["bridge_url", "secret_key", "test_secret_key", "title", "description", "provider", "testmode", "debug", "connection", "consumer_key", "consumer_secret"]));
  });

  it("API client: creates a session, replays it for the same Idempotency-Key, reads it, and reports errors", async () => {
    const payload = {
      order: { id: "9001", number: "9001", key: "wc_order_client" },
      currency: "USD",
      lineItems: [{ name: "Mug", quantity: 1, unitAmount: "8.00" }],
      amount: "8.00",
      successUrl: "https://shop.example/checkout/order-received/9001/?key=wc_order_client",
      cancelUrl: "https://shop.example/cart/",
    };
    const run = await runPhp({ ...base(), scenario: "client", payload, deadUrl });
    expect(run.out.first).toMatchObject({ object: "checkout_session", status: "open", amount: "8.00", order: { id: "9001" } });
    expect(run.out.againId).toBe(run.out.first.id);
    expect(run.out.readStatus).toBe("open");
    expect(await sessionsFor("9001")).toHaveLength(1);
    expect(run.out.badError).toMatchObject({ code: "amount_mismatch", status: 422 });
    expect(run.out.badError.requestId).not.toBe("");
    expect(run.out.badError.describe).toContain("amount:");
    expect(run.out.authError).toEqual({ code: "unauthenticated", status: 401 });
    expect(run.out.downError).toEqual({ code: "transport_error", status: 0 });
    expect(run.http[0]!.headers["Authorization"]).toBe(`Bearer ${store.testKey}`);
    expect(run.http[0]!.headers["Idempotency-Key"]).toBe("php-client-test-1");
  });

  it.each([
    ["exact parts", "21.02", { discountAmount: "1.00" }, undefined],
    ["a cent short in the parts: rounding line", "21.03", { discountAmount: "1.00" }, "0.01"],
    ["a cent over in the parts: folded into the discount", "21.01", { discountAmount: "1.01" }, undefined],
  ])("order payload sums to the order total exactly (%s) and the bridge accepts it", async (_label, total, expected, rounding) => {
    const run = await runPhp({
      ...base(),
      scenario: "payload",
      order: {
        id: 700,
        total,
        shipping_total: "4.99",
        total_tax: "2.03",
        discount_total: "1.00",
        items: [
          { name: "Widget", quantity: 3, subtotal: "10.00" },
          { name: "Pen", quantity: 2, subtotal: "5.00" },
        ],
      },
    });
    const payload = run.out;
    expect(payload.lineItems.slice(0, 2)).toEqual([
      { name: "Widget × 3", quantity: 1, unitAmount: "10.00" },
      { name: "Pen", quantity: 2, unitAmount: "2.50" },
    ]);
    expect(payload).toMatchObject({ amount: total, shippingAmount: "4.99", taxAmount: "2.03", currency: "USD", ...expected });
    if (rounding) expect(payload.lineItems[2]).toEqual({ name: "Rounding adjustment", quantity: 1, unitAmount: rounding });
    else expect(payload.lineItems).toHaveLength(2);
    expect(payload.customer).toEqual({ email: "buyer@example.com" });
    const res = await postSession(bridge, store.testKey, payload);
    expect(res.status).toBe(201);
  });

  it("order payload: WooCommerce's extra precision, fees and zero-decimal currencies", async () => {
    const run = await runPhp({
      ...base(),
      scenario: "payload",
      order: {
        id: 701,
        total: "33.33",
        total_tax: "2.08",
        items: [{ name: "Ticket", quantity: 3, subtotal: "31.253333" }],
        fees: [{ name: "Handling", subtotal: "1.00", total: "1.00" }, { name: "Loyalty", subtotal: "-1.00", total: "-1.00" }],
      },
    });
    expect(run.out.lineItems).toEqual([
      { name: "Ticket × 3", quantity: 1, unitAmount: "31.25" },
      { name: "Handling", quantity: 1, unitAmount: "1.00" },
    ]);
    expect(run.out.discountAmount).toBe("1.00");
    expect((await postSession(bridge, store.testKey, run.out)).status).toBe(201);

    const jpy = await runPhp({ ...base(), scenario: "payload", decimals: 0, order: { id: 702, currency: "JPY", total: "3000", items: [{ name: "Tea", quantity: 3, subtotal: "3000" }] } });
    expect(jpy.out).toMatchObject({ amount: "3000", lineItems: [{ name: "Tea", quantity: 3, unitAmount: "1000" }] });
    expect((await postSession(bridge, store.testKey, jpy.out)).status).toBe(201);
  });

  it("process_payment: creates a session and redirects; a second attempt reuses it; a changed cart gets a new one", async () => {
    const run = await runPhp({
      ...base(),
      scenario: "process_payment",
      order: order(501),
      steps: [{}, {}, { orderChanges: { total: "45.00", items: [{ name: "T-shirt", quantity: 2, subtotal: "40.00" }, { name: "Mug", quantity: 1, subtotal: "5.00" }] } }],
    });
    const [first, second, third] = run.out as { result: { result: string; redirect: string } }[];
    const sessions = await sessionsFor("501");
    expect(sessions).toHaveLength(2);
    expect(first!.result).toEqual({ result: "success", redirect: `https://bridge.test/pay/${sessions.find((s) => s.amount_minor === "4000")!.id}` });
    expect(second!.result).toEqual(first!.result);
    expect(third!.result.redirect).toBe(`https://bridge.test/pay/${sessions.find((s) => s.amount_minor === "4500")!.id}`);
    const meta = run.orders["501"]!.meta;
    expect(meta._cartbridge_session_id).toBe(sessions.find((s) => s.amount_minor === "4500")!.id);
    expect(meta._cartbridge_provider).toBe("sandbox");
    expect(meta._cartbridge_checkout_url).toBe(third!.result.redirect);
    // Step 2 only read the open session; no second POST for the same cart.
    expect(run.http.map((h) => h.method)).toEqual(["POST", "GET", "GET", "POST"]);
    const post = run.http[0]!;
    expect(post.headers["Idempotency-Key"]).toMatch(/^wc-501-[0-9a-f]{40}$/);
    expect(post.body).toMatchObject({
      order: { id: "501", number: "501", key: "wc_order_k501" },
      amount: "40.00",
      successUrl: "https://shop.example/checkout/order-received/501/?key=wc_order_k501",
      customer: { email: "buyer@example.com" },
    });
    expect(post.body.cancelUrl).toContain("cancel_order=true");
    expect(run.notices).toEqual([]);
    expect(run.orders["501"]!.notes).toHaveLength(2);
  });

  it("process_payment: an expired session is not reused", async () => {
    const first = await runPhp({ ...base(), scenario: "process_payment", order: order(502), steps: [{}] });
    const sessionId = first.orders["502"]!.meta._cartbridge_session_id!;
    const hosted = (await bridge.app.request(`/pay/${sessionId}`)).headers.get("location")!;
    await simulate(bridge, hosted, "expired");
    await drain(bridge);
    const again = await runPhp({ ...base(), scenario: "process_payment", order: order(502, { meta: first.orders["502"]!.meta }), steps: [{}] });
    expect(again.orders["502"]!.meta._cartbridge_session_id).not.toBe(sessionId);
    expect(again.out[0].result.result).toBe("success");
  });

  it("process_payment: bridge down or refusing → a clear notice for the buyer and a log line, no exception", async () => {
    const down = await runPhp({ ...base(), scenario: "process_payment", order: order(503), steps: [{ settings: { bridge_url: deadUrl } }] });
    expect(down.out[0].result).toEqual({ result: "failure" });
    expect(down.notices).toEqual([{ type: "error", message: expect.stringContaining("temporarily unavailable") }]);
    expect(down.logs.some((l) => l.level === "error" && l.source === "cartbridge" && l.message.includes("Order 503: could not start the crypto checkout") && l.message.includes("transport_error"))).toBe(true);

    const refused = await runPhp({ ...base(), scenario: "process_payment", order: order(504), steps: [{ settings: { provider: "nosuchprovider", debug: "no" } }] });
    expect(refused.out[0].result).toEqual({ result: "failure" });
    expect(refused.notices[0]!.message).toContain("could not be started");
    expect(refused.logs).toHaveLength(1);
    expect(refused.logs[0]!.message).toContain("provider_not_connected");
    expect(refused.orders["504"]!.meta).not.toHaveProperty("_cartbridge_session_id");

    const unconfigured = await runPhp({ ...base(), scenario: "process_payment", order: order(505), steps: [{ settings: { test_secret_key: "" } }] });
    expect(unconfigured.out[0].available).toBe(false);
  });

  it("Checkout block: the Store API clears notices after process_payment, so the buyer's message travels in the exception", async () => {
    const down = await runPhp({ ...base(), scenario: "process_payment", order: order(506), steps: [{ checkout: "blocks", settings: { bridge_url: deadUrl } }] });
    expect(down.out[0].result).toEqual({
      error: { code: "woocommerce_rest_checkout_process_payment_error", status: 400, message: expect.stringContaining("temporarily unavailable") },
    });
    expect(down.notices).toEqual([]);
    expect(down.logs.some((l) => l.level === "error" && l.message.includes("Order 506: could not start the crypto checkout"))).toBe(true);

    const refused = await runPhp({ ...base(), scenario: "process_payment", order: order(507), steps: [{ checkout: "blocks", settings: { provider: "nosuchprovider" } }] });
    expect(refused.out[0].result.error.message).toContain("could not be started for this order");

    const ok = await runPhp({ ...base(), scenario: "process_payment", order: order(508), steps: [{ checkout: "blocks" }] });
    expect(ok.out[0].result).toEqual({ status: "success", redirect: expect.stringMatching(/^https:\/\/bridge\.test\/pay\/cs_/) });
  });

  it("thank-you page: the bridge's real status, server-side; the page never marks the order paid", async () => {
    const created = await runPhp({ ...base(), scenario: "process_payment", order: order(510), steps: [{}] });
    const meta = created.orders["510"]!.meta;
    const waiting = await runPhp({ ...base(), scenario: "thankyou", order: order(510, { meta }) });
    expect(waiting.out.html).toContain('data-cartbridge-state="waiting"');
    expect(waiting.out.html).toContain("waiting for confirmation");

    const hosted = (await bridge.app.request(`/pay/${meta._cartbridge_session_id}`)).headers.get("location")!;
    await simulate(bridge, hosted, "paid");
    await drain(bridge);
    const confirmed = await runPhp({ ...base(), scenario: "thankyou", order: order(510, { meta }) });
    expect(confirmed.out.html).toContain('data-cartbridge-state="confirmed"');
    expect(confirmed.out.html).toContain("confirmed");
    expect(confirmed.out.status).toBe("pending");
    expect(confirmed.orders["510"]!.saves).toBe(0);
    expect(confirmed.http.map((h) => h.method)).toEqual(["GET"]);

    const paidOrder = await runPhp({ ...base(), scenario: "thankyou", order: order(511, { status: "processing" }) });
    expect(paidOrder.out.html).toContain('data-cartbridge-state="confirmed"');
    expect(paidOrder.http).toEqual([]);

    const otherGateway = await runPhp({ ...base(), scenario: "thankyou", order: order(512, { payment_method: "bacs" }) });
    expect(otherGateway.out.html).toBe("");
  });

  it("thank-you page: underpaid and expired sessions", async () => {
    for (const [id, outcome, state] of [[513, "underpaid", "partial"], [514, "expired", "unpaid"]] as const) {
      const created = await runPhp({ ...base(), scenario: "process_payment", order: order(id), steps: [{}] });
      const meta = created.orders[String(id)]!.meta;
      const hosted = (await bridge.app.request(`/pay/${meta._cartbridge_session_id}`)).headers.get("location")!;
      await simulate(bridge, hosted, outcome);
      await drain(bridge);
      const page = await runPhp({ ...base(), scenario: "thankyou", order: order(id, { meta }) });
      expect(page.out.html).toContain(`data-cartbridge-state="${state}"`);
      if (state === "unpaid") expect(page.out.html).toContain("order-pay/514/");
    }
  });

  it("order screen box: session, provider, amounts and transaction links (HPOS and legacy screens), escaped", async () => {
    const meta = {
      _cartbridge_session_id: "cs_abc",
      _cartbridge_provider: "sandbox",
      _cartbridge_amount: "40.00 USD",
      _cartbridge_amount_paid: "40.00 USD",
      _cartbridge_status: "paid",
      _cartbridge_payments: JSON.stringify([
        { reference: "r1", txHash: "0xabc", amount: "40.00", currency: "USD", explorerUrl: "https://etherscan.io/tx/0xabc" },
        { reference: "r2", txHash: "<script>", explorerUrl: "javascript:alert(1)" },
      ]),
    };
    const run = await runPhp({ ...base(), scenario: "meta_box", order: order(520, { meta, status: "processing" }) });
    expect(run.out.html).toContain("cs_abc");
    expect(run.out.html).toContain("sandbox");
    expect(run.out.html).toContain("40.00 USD");
    expect(run.out.html).toContain('<a href="https://etherscan.io/tx/0xabc" target="_blank" rel="noopener noreferrer">0xabc</a>');
    expect(run.out.html).not.toContain("javascript:");
    expect(run.out.html).not.toContain("<script>");
    expect(run.out.legacyHtml).toBe(run.out.html);
  });

  it("Connect to bridge: asks the bridge for a wc-auth URL of this shop and redirects there (nonce and capability checked)", async () => {
    const run = await runPhp({ ...base(), scenario: "connect", homeUrl: "https://shop.example" });
    expect(run.redirects).toHaveLength(1);
    const url = new URL(run.redirects[0]!);
    expect(`${url.origin}${url.pathname}`).toBe("https://shop.example/wc-auth/v1/authorize");
    expect(url.searchParams.get("scope")).toBe("read_write");
    expect(url.searchParams.get("return_url")).toBe("https://bridge.test/woocommerce/wc-auth/return");
    const row = await bridge.deps.db.kysely.selectFrom("woocommerce_connect_requests" as never).selectAll().execute() as unknown as { return_url: string }[];
    expect(row.at(-1)!.return_url).toBe("https://shop.example/wp-admin/admin.php?page=wc-settings&tab=checkout&section=cartbridge");

    const forged = await runPhp({ ...base(), scenario: "connect", homeUrl: "https://shop.example", nonce: "bad" });
    expect(forged.out.exit).toContain("check_admin_referer failed");
    expect(forged.redirects).toEqual([]);
  });

  it("settings: pasted REST keys go to the bridge and are not kept in WordPress; the connect row shows the state", async () => {
    const before = await runPhp({ ...base(), scenario: "settings_connect_row" });
    expect(before.out.html).toContain("Connect to bridge");
    expect(before.out.html).toContain("Not connected yet");
    expect(before.out.html).not.toContain("Hold stock");
    const shortHold = await runPhp({ ...base(), scenario: "settings_connect_row", holdStockMinutes: 15 });
    expect(shortHold.out.html).toContain("&quot;Hold stock&quot; is 15 minutes");

    // The bridge checks pasted keys against the shop before storing them: the shop is a simulator here.
    const shop = await new WooCommerceSimulator().start();
    const { consumerKey: ck, consumerSecret: cs } = shop.createKey();
    const save = (consumerKey: string, consumerSecret: string) => runPhp({
      ...base(),
      scenario: "admin_save",
      homeUrl: shop.url,
      post: {
        woocommerce_cartbridge_enabled: "1",
        woocommerce_cartbridge_title: "Crypto",
        woocommerce_cartbridge_bridge_url: bridgeUrl,
        woocommerce_cartbridge_test_secret_key: store.testKey,
        woocommerce_cartbridge_testmode: "1",
        woocommerce_cartbridge_consumer_key: consumerKey,
        woocommerce_cartbridge_consumer_secret: consumerSecret,
      },
    });
    const refused = await save(ck, `cs_${"0".repeat(40)}`);
    expect(refused.admin).toEqual([{ type: "error", text: "The bridge did not accept the REST API keys: WooCommerce refused these REST API keys." }]);
    const refusedRow = await runPhp({ ...base(), scenario: "settings_connect_row" });
    expect(refusedRow.out.html).toContain("The last check of pasted keys failed");

    const run = await save(ck, cs);
    await shop.stop();
    expect(run.admin).toEqual([{ type: "message", text: "The REST API keys were sent to the bridge." }]);
    const saved = run.options.woocommerce_cartbridge_settings as Record<string, string>;
    expect(saved.consumer_key).toBe("");
    expect(saved.consumer_secret).toBe("");
    expect(saved.title).toBe("Crypto");
    expect(JSON.stringify(run.options)).not.toContain(cs);

    const after = await runPhp({ ...base(), scenario: "settings_connect_row" });
    expect(after.out.html).toContain(`Connected: the bridge updates orders on ${shop.url}`);
    expect(after.out.html).not.toContain("The last check of pasted keys failed");
    expect(after.out.html).not.toContain("cartbridge-connect-outcome");
    const back = await runPhp({ ...base(), scenario: "settings_connect_row", get: { cartbridge_connect: "success" } });
    expect(back.out.html).toContain("WooCommerce gave the bridge its REST API key.");
    const odd = await runPhp({ ...base(), scenario: "settings_connect_row", get: { cartbridge_connect: "<script>" } });
    expect(odd.out.html).not.toContain("cartbridge-connect-outcome");
  });

  it("settings: the bridge URL must be https (http only for localhost); a refused value keeps the previous one", async () => {
    const save = (url: string) => runPhp({ ...base(), scenario: "admin_save", post: { woocommerce_cartbridge_bridge_url: url, woocommerce_cartbridge_test_secret_key: store.testKey } });
    for (const bad of ["http://pay.example.com", "ftp://pay.example.com", "pay.example.com", "javascript:alert(1)"]) {
      const run = await save(bad);
      expect(run.settingsErrors, bad).toEqual([expect.stringContaining("must start with https://")]);
      expect((run.options.woocommerce_cartbridge_settings as Record<string, string>).bridge_url, bad).toBe(bridgeUrl);
    }
    for (const [good, stored] of [["https://pay.example.com/", "https://pay.example.com"], ["http://localhost:8080", "http://localhost:8080"], ["http://127.0.0.1:3000/", "http://127.0.0.1:3000"]]) {
      const run = await save(good!);
      expect(run.settingsErrors, good).toEqual([]);
      expect((run.options.woocommerce_cartbridge_settings as Record<string, string>).bridge_url).toBe(stored);
    }
  });

  it("settings: the bridge status on the settings screen is cached in a transient, refreshed after a save or a connect round trip", async () => {
    const statusCalls = (run: PhpRun) => run.http.filter((h) => h.url.endsWith("/woocommerce/status")).length;
    const twice = await runPhp({ ...base(), scenario: "settings_connect_row", renders: [{}, {}] });
    expect(statusCalls(twice)).toBe(1);
    expect(twice.out.renders[1]).toBe(twice.out.renders[0]);
    expect(twice.options._transient_cartbridge_bridge_status).toMatchObject({ status: { connected: expect.any(Boolean) } });
    const saved = await runPhp({
      ...base(), scenario: "settings_connect_row",
      renders: [{}, { save: { woocommerce_cartbridge_bridge_url: bridgeUrl, woocommerce_cartbridge_test_secret_key: store.testKey, woocommerce_cartbridge_testmode: "1" } }],
    });
    expect(statusCalls(saved)).toBe(2);
    const back = await runPhp({ ...base(), scenario: "settings_connect_row", renders: [{}, {}], get: { cartbridge_connect: "success" } });
    expect(statusCalls(back)).toBe(2);
    const down = await runPhp({ ...base(), scenario: "settings_connect_row", renders: [{}, {}], settings: { bridge_url: deadUrl } });
    expect(statusCalls(down)).toBe(1);
    expect(down.out.renders[1]).toContain("The bridge could not be reached");
  });

  it("order screen: the box is added only for this gateway's orders or orders with a Cartbridge session", async () => {
    const run = await runPhp({
      ...base(),
      scenario: "meta_box_hook",
      orders: [{ id: 601, payment_method: "bacs" }, { id: 602, payment_method: "bacs", meta: { _cartbridge_session_id: "cs_x" } }, { id: 603 }],
    });
    expect(run.out).toEqual([{ hpos: false, legacy: false }, { hpos: true, legacy: true }, { hpos: true, legacy: true }]);
  });

  it("uninstall removes the plugin's settings and nothing else", async () => {
    const run = await runPhp({ ...base(), scenario: "uninstall" });
    expect(run.options).toEqual({ unrelated_option: "keep" });
  });
});
