/**
 * The process under test for bench/run.ts: a real bridge (sandbox provider, custom store) on 127.0.0.1
 * plus two baseline routes in the same process that only validate and insert one row, so the
 * bridge's cost is read as a ratio against the cheapest possible handler on the same database. The
 * baselines read their bodies as the bridge's routes do (readRequestBody): a cheaper read on one side
 * would be counted as the bridge's doing.
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { sql } from "kysely";
import { createCheckoutSessionSchema } from "../src/api/schemas.ts";
import { createBridge } from "../src/bridge.ts";
import { configWith } from "../src/config.ts";
import { readRequestBody } from "../src/http/request.ts";
import { generateMasterKeySpec } from "../src/crypto/secrets.ts";
import { builtinProviders, builtinStoreAdapters } from "../src/main.ts";
import { addConnection, resolveConnection } from "../src/usecases/connections.ts";
import { createStore } from "../src/usecases/stores.ts";

const databaseUrl = process.argv[2]!;
/** `workers` also runs the background processing in this process (end-to-end); `ingest` measures the HTTP path alone. */
const mode = process.argv[3] === "workers" ? "workers" : "ingest";
// The Node request travels as the env, as in `cartbridge serve` (the routes read bodies from it).
let handler: (req: Request, env: object) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
const server = serve({ fetch: (req, env) => handler(req, env), port: 0, hostname: "127.0.0.1" });
await new Promise((r) => server.once("listening", r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const bridge = await createBridge({
  config: configWith({
    DATABASE_URL: databaseUrl,
    PUBLIC_URL: url,
    MASTER_KEYS: generateMasterKeySpec("bench"),
    LOG_LEVEL: "silent",
    RATE_LIMIT_PER_MINUTE: "0",
  }),
  providers: builtinProviders,
  storeAdapters: builtinStoreAdapters,
  workers: mode === "workers",
  mounts: (deps) => {
    const baseline = new Hono();
    baseline.post("/session", async (c) => {
      const body = await readRequestBody(c, { maxBytes: deps.config.API_BODY_LIMIT_BYTES, what: "The request body" });
      const parsed = createCheckoutSessionSchema.safeParse(JSON.parse(Buffer.from(body).toString("utf8")));
      if (!parsed.success) return c.json({ error: "invalid" }, 422);
      await deps.db.kysely.insertInto("bench_rows" as never).values({ id: crypto.randomUUID(), body: JSON.stringify(parsed.data) } as never).execute();
      return c.json({ ok: true }, 201);
    });
    baseline.post("/webhook", async (c) => {
      const body = await readRequestBody(c, { maxBytes: deps.config.WEBHOOK_BODY_LIMIT_BYTES, what: "The webhook body" });
      await deps.db.kysely.insertInto("bench_rows" as never).values({ id: crypto.randomUUID(), body: Buffer.from(body).toString("utf8") } as never).execute();
      return c.json({ received: true });
    });
    baseline.get("/cpu", (c) => c.json(process.cpuUsage()));
    return [{ path: "/bench/baseline", app: baseline as never }];
  },
});
await sql`create table if not exists bench_rows (id varchar(64) primary key, body mediumtext not null)`.execute(bridge.deps.db.kysely);
handler = bridge.app.fetch;

const store = await createStore(bridge.deps, { name: "bench", platform: "custom", defaultProvider: "sandbox", credentials: { endpointUrl: "http://127.0.0.1:9/unreachable" } });
const conn = await addConnection(bridge.deps, { storeId: store.storeId, provider: "sandbox", livemode: false, credentials: {} });
const resolved = await resolveConnection(bridge.deps, conn.id);
// A session to name in the webhook events.
const created = await bridge.app.request("/v1/checkout_sessions", {
  method: "POST",
  headers: { authorization: `Bearer ${store.keys.testKey}`, "content-type": "application/json" },
  body: JSON.stringify({
    order: { id: "bench" }, currency: "USD", lineItems: [{ name: "x", quantity: 1, unitAmount: "10.00" }],
    amount: "10.00", successUrl: "https://shop.example/ok", cancelUrl: "https://shop.example/no",
  }),
});
const session = (await created.json()) as { id: string };
const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", session.id).executeTakeFirstOrThrow();

process.stdout.write(JSON.stringify({
  url,
  key: store.keys.testKey,
  webhookPath: new URL(conn.webhookUrl).pathname,
  webhookSecret: (resolved!.ctx.credentials as { webhookSecret: string }).webhookSecret,
  session: { id: session.id, providerSessionId: row.provider_session_id, orderId: "bench", amountMinor: row.amount_minor, currency: "USD" },
}) + "\n");

process.on("SIGTERM", async () => {
  await bridge.close();
  server.close();
  process.exit(0);
});
