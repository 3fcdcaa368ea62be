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

interface Result { rps: number; p50: number; p99: number; non2xx: number; errors: number }

async function run(opts: autocannon.Options): Promise<Result> {
  const r = await autocannon({ duration: seconds, connections, ...opts });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
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
  const median = (results: PacedResult[]): PacedResult => {
    const mid = (pick: (r: PacedResult) => number) => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
    return {
      sent: mid((r) => r.sent), non2xx: mid((r) => r.non2xx), errors: mid((r) => r.errors), p50: mid((r) => r.p50),
      p99: mid((r) => r.p99), max: mid((r) => r.max), warmupP99: mid((r) => r.warmupP99),
    };
  };
  return {
    healthz: median(runs.healthz), baseline: median(runs.baseline), bridge: median(runs.bridge), keyed: median(runs.keyed),
    /** Every run's p99, so a reader sees the spread behind the median. */
    spread: Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, rs.map((r) => r.p99).join(" / ")])) as Record<keyof typeof routes, string>,
  };
}

async function benchDatabase(label: string, databaseUrl: string) {
  const server = await startServer(databaseUrl, "ingest");
  const t = server.target;
  const auth = { authorization: `Bearer ${t.key}`, "content-type": "application/json" };
  try {
    await run({ url: `${t.url}/bench/baseline/session`, method: "POST", headers: auth, body: cart, duration: 2 }); // warm-up
    const baseSession = await run({ url: `${t.url}/bench/baseline/session`, method: "POST", headers: auth, body: cart });
    const session = await run({ url: `${t.url}/v1/checkout_sessions`, method: "POST", headers: auth, body: cart });
    const sessionIdem = await run({
      url: `${t.url}/v1/checkout_sessions`,
      requests: [{ method: "POST", setupRequest: (req) => ({ ...req, headers: { ...auth, "idempotency-key": randomBytes(12).toString("hex") }, body: cart }) }],
    });
    const paced = await pacedComparison(t.url, auth);
    const baseWebhook = await run({ url: `${t.url}/bench/baseline/webhook`, requests: [{ ...webhookRequests(t), path: "/bench/baseline/webhook" }] });
    const webhook = await run({ url: t.url, requests: [webhookRequests(t)] });
    await server.stop();
    // The same, with the background processing (re-fetch, state machine, outbox) running in the process.
    const busy = await startServer(databaseUrl, "workers");
    const webhookBusy = await run({ url: busy.target.url, requests: [webhookRequests(busy.target)] });
    await busy.stop();
    const row = (name: string, r: Result, base?: Result) =>
      `| ${label} | ${name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${base ? (r.rps / base.rps).toFixed(2) : "—"} | ${r.non2xx + r.errors} |`;
    const pacedRow = (name: string, r: PacedResult, spread: string) =>
      `| ${label} | ${name}, open loop at ${pacedRate} req/s (median of ${pacedRepeats}; p99 of each run ${spread}; warm-up second ${r.warmupP99}) | ${pacedRate} | ${r.p50} | ${r.p99} | — | ${r.non2xx + r.errors} |`;
    return [
      row("baseline: validate + insert (session body)", baseSession),
      row("POST /v1/checkout_sessions", session, baseSession),
      row("POST /v1/checkout_sessions + Idempotency-Key", sessionIdem, baseSession),
      pacedRow("GET /healthz (no database: the machine's floor)", paced.healthz, paced.spread.healthz),
      pacedRow("baseline: validate + insert (session body)", paced.baseline, paced.spread.baseline),
      pacedRow("POST /v1/checkout_sessions", paced.bridge, paced.spread.bridge),
      pacedRow("POST /v1/checkout_sessions + Idempotency-Key", paced.keyed, paced.spread.keyed),
      row("baseline: read body + insert (webhook)", baseWebhook),
      row("webhook ingestion (verify + dedupe + store)", webhook, baseWebhook),
      row("webhook ingestion, processing in the same process", webhookBusy, baseWebhook),
    ];
  } finally {
    await server.stop().catch(() => {});
  }
}

const lines = [
  `${seconds} s per run, ${connections} connections, autocannon on 127.0.0.1 (open-loop rows: bench/paced.ts), Node ${process.version}`,
  "",
  "| database | route | req/s | p50 ms | p99 ms | ratio to baseline | non-2xx |",
  "|---|---|---|---|---|---|---|",
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
