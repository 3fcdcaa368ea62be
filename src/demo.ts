/**
 * `npm run demo`: the whole loop on the embedded default database, in one process, with no money.
 * A bridge on 127.0.0.1, a demo store whose `custom` endpoint is a small server right here, a cart, a
 * checkout session, a buyer who pays on the sandbox's hosted page, and the store update that results.
 * `npm run demo -- --onchain` runs the same loop against a local EVM node with a real token transfer.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { serve } from "@hono/node-server";
import { Webhook } from "standardwebhooks";
import { createBridge } from "./bridge.ts";
import { loadConfig } from "./config.ts";
import { generateMasterKeySpec } from "./crypto/secrets.ts";
import { builtinProviders, builtinStoreAdapters } from "./main.ts";
import { addConnection } from "./usecases/connections.ts";
import { createStore } from "./usecases/stores.ts";
import { createdTimelineEntry } from "./usecases/session-records.ts";
import type { StoreUpdate } from "./stores/port.ts";

const out = (line = "") => process.stdout.write(line + "\n");

/** The demo keeps its master key beside its database, so a second run can read what the first sealed. */
function demoMasterKeys(databaseUrl: string): string {
  const file = databaseUrl.startsWith("sqlite:") ? `${dirname(databaseUrl.slice(7))}/demo-master-key` : "./data/demo-master-key";
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const spec = generateMasterKeySpec("demo");
  writeFileSync(file, spec, { mode: 0o600 });
  return spec;
}

async function listen(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function runDemo(): Promise<void> {
  const env = loadConfig();
  const masterKeys = env.MASTER_KEYS ?? demoMasterKeys(env.DATABASE_URL);

  // 1. The merchant's endpoint: verifies each signed store update, as a real shop would.
  let signingSecret = "";
  let resolveUpdate: (u: StoreUpdate) => void = () => {};
  const updateReceived = new Promise<StoreUpdate>((r) => (resolveUpdate = r));
  const shop = await listen((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      try {
        const update = new Webhook(signingSecret).verify(body, req.headers as Record<string, string>) as StoreUpdate;
        res.writeHead(200).end("ok");
        resolveUpdate(update);
      } catch {
        res.writeHead(400).end("bad signature");
      }
    });
  });

  // 2. The bridge, on a free local port.
  // The Node request travels as the env, as with `serve({ fetch: app.fetch })` (routes read the body from it).
  let fetchHandler: (req: Request, env: object) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
  const httpServer = serve({ fetch: (req, env) => fetchHandler(req, env), port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => httpServer.once("listening", r));
  const bridgeUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const bridge = await createBridge({
    config: { ...env, MASTER_KEYS: masterKeys, PUBLIC_URL: bridgeUrl, LOG_LEVEL: "warn", WORKER_POLL_MS: 200 },
    providers: builtinProviders,
    storeAdapters: builtinStoreAdapters,
    workers: true,
  });
  fetchHandler = bridge.app.fetch;
  out(`Cartbridge demo — bridge at ${bridgeUrl}, database ${env.DATABASE_URL}`);

  try {
    // 3. A demo store with a sandbox connection.
    const store = await createStore(bridge.deps, {
      name: "Demo shop",
      platform: "custom",
      defaultProvider: "sandbox",
      credentials: { endpointUrl: `${shop.url}/cartbridge-webhook` },
    });
    signingSecret = String(store.credentials.signingSecret);
    const connection = await addConnection(bridge.deps, { storeId: store.storeId, provider: "sandbox", livemode: false, credentials: {} });
    out(`store ${store.storeId}, test key ${store.keys.testKey.slice(0, 14)}…, sandbox connection ${connection.id}`);

    // 4. The shop sends its cart.
    const cart = {
      order: { id: "demo-1001", number: "1001", key: "wc_order_demo" },
      currency: "EUR",
      lineItems: [
        { name: "Espresso beans 1 kg", quantity: 2, unitAmount: "24.90" },
        { name: "Ceramic cup", quantity: 1, unitAmount: "9.50" },
      ],
      shippingAmount: "4.90",
      taxAmount: "0.00",
      discountAmount: "5.00",
      amount: "59.20",
      customer: { email: "buyer@example.com" },
      successUrl: "https://shop.example/thank-you",
      cancelUrl: "https://shop.example/cart",
    };
    const created = await fetch(`${bridgeUrl}/v1/checkout_sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${store.keys.testKey}`, "content-type": "application/json", "idempotency-key": "demo-order-1001" },
      body: JSON.stringify(cart),
    });
    const session = (await created.json()) as { id: string; checkoutUrl: string; amount: string; currency: string };
    out(`POST /v1/checkout_sessions → ${created.status} ${session.id} (${session.amount} ${session.currency})`);

    // 5. The buyer follows the checkout URL (303 to the hosted page) and pays there.
    const pay = await fetch(session.checkoutUrl, { redirect: "manual" });
    const hostedUrl = pay.headers.get("location")!;
    out(`GET ${new URL(session.checkoutUrl).pathname} → ${pay.status} ${hostedUrl}`);
    const paid = await fetch(`${hostedUrl}/simulate`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "outcome=paid",
    });
    out(`buyer presses "Simulate paid" → ${paid.status}; the sandbox sends its signed webhook`);

    // 6. The store update arrives at the merchant's endpoint.
    const update = await Promise.race([
      updateReceived,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no store update within 15 s")), 15_000)),
    ]);
    out(`store received ${update.type} for order ${update.session.order.id}: paid ${update.session.amountPaid} ${update.session.currency}`);

    // The delivery's own record is written right after the shop answered.
    for (let i = 0; i < 50; i++) {
      const delivered = await bridge.deps.db.kysely.selectFrom("session_events").select("id")
        .where("session_id", "=", session.id).where("kind", "=", "store_update_delivered").executeTakeFirst();
      if (delivered) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    out("\nTimeline:");
    const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", session.id).executeTakeFirstOrThrow();
    const events = [
      createdTimelineEntry(row),
      ...(await bridge.deps.db.kysely.selectFrom("session_events").selectAll().where("session_id", "=", session.id).orderBy("id").execute()),
    ];
    for (const e of events) {
      const detail = JSON.parse(e.detail_json) as Record<string, unknown>;
      const change = e.to_status ? ` ${e.from_status ?? "∅"} → ${e.to_status}` : "";
      const extra = detail.responseStatus ? ` (store answered ${String(detail.responseStatus)})` : "";
      out(`  ${new Date(Number(e.created_at)).toISOString()}  ${e.kind.padEnd(24)}${change}  [${e.source}]${extra}`);
    }
    const final = await (await fetch(`${bridgeUrl}/v1/checkout_sessions/${session.id}`, { headers: { authorization: `Bearer ${store.keys.testKey}` } })).json() as { status: string };
    out(`\nGET /v1/checkout_sessions/${session.id} → status ${final.status}`);
  } finally {
    await bridge.close();
    httpServer.close();
    shop.server.close();
  }
}

if (process.argv.includes("--onchain")) {
  const { runOnchainDemo } = await import("../plugins/evm/demo.ts");
  await runOnchainDemo(out);
} else {
  await runDemo();
}
