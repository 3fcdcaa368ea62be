import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Bridge } from "../bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, createTestBridge, createTestStore, drain, postSession, simulate, type TestStore } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { MetricsText, metricsRoutes, metricsToken } from "./index.ts";

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no family ${name}`);
  return found;
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string>): number {
  const sample = family(families, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return Number(sample.value);
}

it("escapes label values so a parser reads them back", () => {
  const text = new MetricsText().family("x", "gauge", "help with \\ and\nnewline").sample("x", { reason: 'a "quoted"\\path\nline' }, 1).toString();
  const [parsed] = parsePrometheusTextFormat(text);
  expect(parsed!.metrics[0]!.labels).toEqual({ reason: 'a "quoted"\\path\nline' });
});

describeEachDatabase("metrics", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let store: TestStore;
  let endpoint: StoreEndpoint;

  beforeEach(async () => {
    db = await makeDb();
    bridge = await createTestBridge({ databaseUrl: db.url, mounts: (deps) => [{ path: "/metrics", app: metricsRoutes(deps) }] });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    store = await createTestStore(bridge, endpoint.url);
    endpoint.setSecret(store.signingSecret);
  });
  afterEach(async () => {
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  });

  const scrape = (token?: string) => bridge.app.request("/metrics", token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it("needs the metrics token", async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape("wrong")).status).toBe(401);
    expect((await scrape(metricsToken(bridge.deps))).status).toBe(200);
  });

  it("reports sessions, rejections, store-update backlog and latency in a format Prometheus parses", async () => {
    const paid = await (await postSession(bridge, store.testKey, cartBody({ order: { id: "m1" } }))).json();
    await (await postSession(bridge, store.testKey, cartBody({ order: { id: "m2" } }))).json();
    await simulate(bridge, (await bridge.app.request(`/pay/${paid.id}`)).headers.get("location")!, "paid");
    await drain(bridge);
    await bridge.app.request(new URL(store.webhookUrl).pathname, { method: "POST", body: "{}" });
    await bridge.app.request(new URL(store.webhookUrl).pathname, { method: "POST", body: "{}", headers: { "cartbridge-sandbox-signature": "t=1,v1=00" } });
    await bridge.deps.db.kysely.insertInto("worker_leases").values({ name: "evm:31337", owner: "w1", lease_until: Date.now() + 30_000, cursor_json: JSON.stringify({ next: 120, head: 129 }) }).execute();

    const res = await scrape(metricsToken(bridge.deps));
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await res.text());

    expect(family(families, "cartbridge_checkout_sessions").type).toBe("GAUGE");
    expect(value(families, "cartbridge_checkout_sessions", { status: "paid", provider: "sandbox" })).toBe(1);
    expect(value(families, "cartbridge_checkout_sessions", { status: "open", provider: "sandbox" })).toBe(1);
    expect(value(families, "cartbridge_checkout_sessions", { status: "expired", provider: "sandbox" })).toBe(0);

    const failures = family(families, "cartbridge_webhook_verification_failures_total");
    expect(failures.type).toBe("COUNTER");
    expect(failures.metrics.reduce((n, m) => n + Number(m.value), 0)).toBe(2);
    expect(value(families, "cartbridge_webhook_verification_failures_total", { provider: "sandbox", reason: "missing_signature" })).toBe(1);
    expect(value(families, "cartbridge_webhook_verification_failures_total", { provider: "sandbox", reason: "bad_signature" })).toBe(1);

    expect(value(families, "cartbridge_store_updates", { state: "delivered" })).toBe(1);
    expect(value(families, "cartbridge_store_updates", { state: "dead" })).toBe(0);
    expect(value(families, "cartbridge_store_updates", { state: "pending" })).toBe(0);

    const delivery = family(families, "cartbridge_store_update_delivery_seconds");
    expect(delivery.type).toBe("HISTOGRAM");
    expect(delivery.metrics[0]!.count).toBe("1");
    expect(delivery.metrics[0]!.buckets!["+Inf"]).toBe("1");
    expect(family(families, "cartbridge_store_update_attempt_seconds").metrics[0]!.count).toBe("1");

    expect(value(families, "cartbridge_watcher_lag_blocks", { watcher: "evm:31337" })).toBe(10);
    expect(value(families, "cartbridge_watcher_next_block", { watcher: "evm:31337" })).toBe(120);
    expect(value(families, "cartbridge_watcher_lease_remaining_seconds", { watcher: "evm:31337" })).toBeGreaterThan(0);
  });

  it("has no watcher series without a chain watcher", async () => {
    const families = parsePrometheusTextFormat(await (await scrape(metricsToken(bridge.deps))).text());
    const watcher = families.find((f) => f.name === "cartbridge_watcher_lag_blocks");
    expect(watcher?.metrics ?? []).toEqual([]);
    expect(value(families, "cartbridge_store_update_oldest_pending_age_seconds", {})).toBe(0);
  });
});
