/**
 * Measures the console and /metrics on a SQLite bridge holding N sessions (default 5000).
 *   npx tsx test/console/measure-console.ts [N]
 */
import { performance } from "node:perf_hooks";
import { createSqliteDatabase } from "../support/databases.ts";
import { cartBody, createTestBridge, createTestStore, postSession } from "../support/bridge.ts";
import { consoleRoutes } from "../../src/console/routes.tsx";
import { setOperatorPassword } from "../../src/console/auth.ts";
import { metricsRoutes, metricsToken } from "../../src/metrics/index.ts";
import { ConsoleClient } from "./client.ts";

const n = Number(process.argv[2] ?? 5000);
const db = await createSqliteDatabase();
const bridge = await createTestBridge({
  databaseUrl: db.url,
  config: { RATE_LIMIT_PER_MINUTE: "0" },
  mounts: (deps) => [{ path: "/dashboard", app: consoleRoutes(deps) }, { path: "/metrics", app: metricsRoutes(deps) }],
});
const store = await createTestStore(bridge, "http://127.0.0.1:9/unused");
for (let i = 0; i < n; i++) await postSession(bridge, store.testKey, cartBody({ order: { id: `o${i}` }, customer: { email: `buyer${i}@example.com` } }));
await setOperatorPassword(bridge.deps, "measure password");
const client = new ConsoleClient(bridge.app);
await client.login("measure password");

async function time(label: string, fn: () => Promise<Response>, runs = 20) {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await fn();
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${label}: ${res.status}`);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(36)} median ${samples[Math.floor(runs / 2)]!.toFixed(1)} ms  p95 ${samples[Math.floor(runs * 0.95)]!.toFixed(1)} ms`);
}

console.log(`SQLite, ${n} sessions`);
const token = metricsToken(bridge.deps);
await time("GET /dashboard (7-day chart)", () => client.get("/dashboard"));
await time("GET /dashboard/sessions", () => client.get("/dashboard/sessions"));
await time("GET /dashboard/sessions?q=<order id>", () => client.get(`/dashboard/sessions?q=o${Math.floor(n / 2)}`));
await time("GET /dashboard/sessions?q=<email>", () => client.get(`/dashboard/sessions?q=buyer${Math.floor(n / 3)}@example.com`));
await time("GET /metrics", async () => bridge.app.request("/metrics", { headers: { authorization: `Bearer ${token}` } }));
const page = await (await client.get("/dashboard/sessions")).text();
console.log(`sessions page size: ${(Buffer.byteLength(page) / 1024).toFixed(1)} KiB (50 rows, no script)`);
await bridge.close();
await db.drop();
