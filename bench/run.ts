/**
 * Benchmarks of the two hot paths, each against a baseline route in the same process that only
 * validates and inserts one row: `POST /v1/checkout_sessions` and webhook ingestion, on SQLite and on
 * MariaDB. Loopback only, bounded by duration. Run: `npm run bench` (BENCH_SECONDS to change the length).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { signSandboxPayload, signatureHeader } from "../plugins/sandbox/index.ts";
import { pacedLoad, type PacedResult } from "./paced.ts";
import { createMariadbDatabase, createSqliteDatabase, mariadbUnavailableReason } from "../test/support/databases.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = 16;
/** The paced runs repeat, interleaved, and report the median: one stall of the machine moves a single p99. */
const pacedRepeats = 3;
/** Rounds of the alternated closed-loop runs (each run half of BENCH_SECONDS). */
const rounds = 3;
const pacedRate = 500;

interface Target {
  url: string;
  key: string;
  webhookPath: string;
  webhookSecret: string;
  session: { id: string; providerSessionId: string; orderId: string; amountMinor: string; currency: string };
}

const cart = JSON.stringify({
  order: { id: "1001", number: "1001" }, currency: "USD",
  lineItems: [{ name: "T-shirt", quantity: 2, unitAmount: "12.50" }, { name: "Mug", quantity: 1, unitAmount: "8.00" }],
  shippingAmount: "4.99", taxAmount: "3.01", discountAmount: "1.00", amount: "40.00",
  customer: { email: "buyer@example.com" }, successUrl: "https://shop.example/thanks", cancelUrl: "https://shop.example/cart",
});

interface Result { rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuUsPerRequest: number }

/** The server's CPU time so far (user + system, µs): cost per request, which a noisy machine moves less than req/s. */
async function serverCpuUs(url: string): Promise<number> {
  const { user, system } = (await (await fetch(`${url}/bench/baseline/cpu`)).json()) as { user: number; system: number };
  return user + system;
}

async function run(opts: autocannon.Options & { url: string }, duration = seconds): Promise<Result> {
  const origin = new URL(opts.url).origin;
  const cpuBefore = await serverCpuUs(origin);
  const r = await autocannon({ duration, connections, ...opts });
  const cpuUs = (await serverCpuUs(origin)) - cpuBefore;
  return {
    rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors,
    cpuUsPerRequest: r.requests.total ? cpuUs / r.requests.total : 0,
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Each route and its baseline, alternated for a few rounds of half-length runs: the ratio of each round is
 * taken between runs seconds apart, so a slow phase of the machine (or of the database as it grows) lands on
 * both sides, and the median of the rounds is reported with every round's ratio beside it.
 */
async function alternated<K extends string>(runs: Record<K | "baseline", () => Promise<Result>>) {
  type Name = K | "baseline";
  const names = Object.keys(runs) as Name[];
  const results = Object.fromEntries(names.map((k) => [k, [] as Result[]])) as Record<Name, Result[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) results[name].push(await runs[name]());
  }
  const summary = (name: Name) => {
    const rs = results[name];
    const ratios = rs.map((r, i) => r.rps / results.baseline[i]!.rps);
    const cpuRatios = rs.map((r, i) => r.cpuUsPerRequest / results.baseline[i]!.cpuUsPerRequest);
    return {
      rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
      failed: rs.reduce((n, r) => n + r.non2xx + r.errors, 0),
      cpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
      ratio: median(ratios), ratios: ratios.map((x) => x.toFixed(2)).join(" / "),
      cpuRatio: median(cpuRatios),
    };
  };
  return Object.fromEntries(names.map((k) => [k, summary(k)])) as Record<Name, ReturnType<typeof summary>>;
}

function webhookRequests(t: Target) {
  // Each request is a distinct, freshly signed event (a duplicate would be cheaper than real traffic).
  return {
    method: "POST" as const,
    path: t.webhookPath,
    setupRequest: (req: autocannon.Request) => {
      const body = JSON.stringify({
        id: `sbx_evt_${randomBytes(10).toString("hex")}`, type: "payment.paid", created: Math.floor(Date.now() / 1000),
        data: { session: t.session.providerSessionId, cartbridge_session_id: t.session.id, order_id: t.session.orderId, status: "paid", amount_paid_minor: t.session.amountMinor, currency: t.session.currency, tx: `tx_${randomBytes(8).toString("hex")}` },
      });
      return { ...req, body, headers: { "content-type": "application/json", [signatureHeader]: signSandboxPayload(t.webhookSecret, Math.floor(Date.now() / 1000), body) } };
    },
  };
}

/** The webhook baseline and the bridge's webhook route of one server, each for a given number of seconds. */
function webhookRunsFor(t: Target) {
  return {
    baseline: (duration: number) => run({ url: `${t.url}/bench/baseline/webhook`, requests: [{ ...webhookRequests(t), path: "/bench/baseline/webhook" }] }, duration),
    bridge: (duration: number) => run({ url: t.url, requests: [webhookRequests(t)] }, duration),
  };
}

async function startServer(databaseUrl: string, mode: "ingest" | "workers") {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/server.ts", databaseUrl, mode], { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  return {
    target: JSON.parse(first) as Target,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/**
 * p50/p99 at a steady 500 req/s for a route with no database, the baseline and the bridge (without and with
 * an Idempotency-Key), interleaved so a noisy moment of the machine lands on all of them alike.
 */
async function pacedComparison(url: string, auth: Record<string, string>) {
  const routes = {
    healthz: () => ({ path: "/healthz", method: "GET" as const, headers: {} }),
    baseline: () => ({ path: "/bench/baseline/session", method: "POST" as const, headers: auth, body: cart }),
    bridge: () => ({ path: "/v1/checkout_sessions", method: "POST" as const, headers: auth, body: cart }),
    keyed: () => ({
      path: "/v1/checkout_sessions", method: "POST" as const, body: cart,
      headers: { ...auth, "idempotency-key": randomBytes(12).toString("hex") },
    }),
  };
  const runs: Record<keyof typeof routes, PacedResult[]> = { healthz: [], baseline: [], bridge: [], keyed: [] };
  for (let i = 0; i < pacedRepeats; i++) {
    for (const name of Object.keys(routes) as (keyof typeof routes)[]) {
      runs[name].push(await pacedLoad({ url, ratePerSecond: pacedRate, seconds, next: routes[name] }));
    }
  }
  const medianOf = (results: PacedResult[]): PacedResult => {
    const mid = (pick: (r: PacedResult) => number) => median(results.map(pick));
    return {
      sent: mid((r) => r.sent), non2xx: mid((r) => r.non2xx), errors: mid((r) => r.errors), p50: mid((r) => r.p50),
      p99: mid((r) => r.p99), max: mid((r) => r.max), warmupP99: mid((r) => r.warmupP99),
    };
  };
  return {
    healthz: medianOf(runs.healthz), baseline: medianOf(runs.baseline), bridge: medianOf(runs.bridge), keyed: medianOf(runs.keyed),
    /** Every run's p99, so a reader sees the spread behind the median. */
    spread: Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, rs.map((r) => r.p99).join(" / ")])) as Record<keyof typeof routes, string>,
  };
}

async function benchDatabase(label: string, databaseUrl: string) {
  const server = await startServer(databaseUrl, "ingest");
  const t = server.target;
  const auth = { authorization: `Bearer ${t.key}`, "content-type": "application/json" };
  try {
    const half = Math.max(1, Math.round(seconds / 2));
    const sessionRuns = {
      baseline: (duration: number) => run({ url: `${t.url}/bench/baseline/session`, method: "POST", headers: auth, body: cart }, duration),
      plain: (duration: number) => run({ url: `${t.url}/v1/checkout_sessions`, method: "POST", headers: auth, body: cart }, duration),
      keyed: (duration: number) => run({
        url: `${t.url}/v1/checkout_sessions`,
        requests: [{ method: "POST", setupRequest: (req) => ({ ...req, headers: { ...auth, "idempotency-key": randomBytes(12).toString("hex") }, body: cart }) }],
      }, duration),
    };
    // Every route runs once before anything is counted: the first seconds of a fresh process (JIT, caches,
    // prepared statements) would otherwise land on whichever route comes first.
    for (const warmUp of Object.values(sessionRuns)) await warmUp(2);
    const sessions = await alternated({
      baseline: () => sessionRuns.baseline(half), plain: () => sessionRuns.plain(half), keyed: () => sessionRuns.keyed(half),
    });
    const paced = await pacedComparison(t.url, auth);
    const webhookRuns = webhookRunsFor(t);
    for (const warmUp of Object.values(webhookRuns)) await warmUp(2);
    const webhooks = await alternated({ baseline: () => webhookRuns.baseline(half), bridge: () => webhookRuns.bridge(half) });
    await server.stop();
    // The same, with the background processing (re-fetch, state machine, outbox) running in the process.
    const busy = await startServer(databaseUrl, "workers");
    const busyWebhookRuns = webhookRunsFor(busy.target);
    for (const warmUp of Object.values(busyWebhookRuns)) await warmUp(2);
    const busyRuns = await alternated({ baseline: () => busyWebhookRuns.baseline(half), bridge: () => busyWebhookRuns.bridge(half) });
    await busy.stop();
    type Summary = (typeof sessions)["plain"];
    const row = (name: string, r: Summary, compared: boolean) =>
      `| ${label} | ${name}${compared ? ` (ratio of each round ${r.ratios})` : ""} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${Math.round(r.cpuUsPerRequest)} | ${compared ? r.ratio.toFixed(2) : "—"} | ${compared ? r.cpuRatio.toFixed(2) : "—"} | ${r.failed} |`;
    const pacedRow = (name: string, r: PacedResult, spread: string) =>
      `| ${label} | ${name}, open loop at ${pacedRate} req/s (median of ${pacedRepeats}; p99 of each run ${spread}; warm-up second ${r.warmupP99}) | ${pacedRate} | ${r.p50} | ${r.p99} | | — | — | ${r.non2xx + r.errors} |`;
    return [
      row("baseline: validate + insert (session body)", sessions.baseline, false),
      row("POST /v1/checkout_sessions", sessions.plain, true),
      row("POST /v1/checkout_sessions + Idempotency-Key", sessions.keyed, true),
      pacedRow("GET /healthz (no database: the machine's floor)", paced.healthz, paced.spread.healthz),
      pacedRow("baseline: validate + insert (session body)", paced.baseline, paced.spread.baseline),
      pacedRow("POST /v1/checkout_sessions", paced.bridge, paced.spread.bridge),
      pacedRow("POST /v1/checkout_sessions + Idempotency-Key", paced.keyed, paced.spread.keyed),
      row("baseline: read body + insert (webhook)", webhooks.baseline, false),
      row("webhook ingestion (verify + dedupe + store)", webhooks.bridge, true),
      row("baseline (webhook body), processing running in the same process", busyRuns.baseline, false),
      row("webhook ingestion, processing in the same process", busyRuns.bridge, true),
    ];
  } finally {
    await server.stop().catch(() => {});
  }
}

const lines = [
  `closed loop: ${connections} connections (autocannon), each route alternated with its baseline for ${rounds} rounds of ${Math.max(1, Math.round(seconds / 2))} s, medians; open loop: bench/paced.ts, ${seconds} s per run; 127.0.0.1, Node ${process.version}`,
  "",
  "| database | route | req/s | p50 ms | p99 ms | server CPU µs/request | ratio to baseline (req/s) | CPU ratio | non-2xx |",
  "|---|---|---|---|---|---|---|---|---|",
];
const sqlite = await createSqliteDatabase();
lines.push(...(await benchDatabase("SQLite", sqlite.url)));
await sqlite.drop();
const unavailable = await mariadbUnavailableReason();
if (unavailable) {
  lines.push(`| MariaDB | skipped: ${unavailable} | | | | | |`);
} else {
  const maria = await createMariadbDatabase();
  lines.push(...(await benchDatabase("MariaDB", maria.url)));
  await maria.drop();
}
console.log(lines.join("\n"));
