/**
 * Benchmark of the evm chain watcher (`npx tsx bench/evm-watcher.ts`). Loopback only, bounded.
 *
 * 1. Cost per block with 10, 1,000 and 10,000 open sessions (90% waiting for a token, 10% for the native
 *    coin): RPC calls per block and the watcher's CPU ms per block (ganache runs in a child process, so its
 *    work is not counted), one payment per block, and the ratio against the 10-session baseline.
 * 2. Latency from a transfer's last required confirmation to the signed store update arriving at the
 *    shop's endpoint (watcher polling every 250 ms, outbox woken in-process).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { createSqliteDatabase } from "../test/support/databases.ts";
import { StoreEndpoint } from "../test/support/store-endpoint.ts";
import { connectTestChain, ganacheOptions, type TestChain } from "../test/chain/node.ts";
import { addEvmStore, createEvmBridge } from "../test/chain/evm-bridge.ts";
import { runWatcherOnce, startEvmWatcher } from "../plugins/evm/watcher.ts";
import { evmDb } from "../plugins/evm/tables.ts";

const sizes = [10, 1_000, 10_000];
const blocksPerSize = 20;
const confirmations = 3;

async function startChildChain(): Promise<TestChain> {
  const script = `import ganache from "ganache";
const s = ganache.server(${JSON.stringify(ganacheOptions(1337, 4))});
await s.listen(0, "127.0.0.1");
console.log("PORT " + s.address().port);
process.stdin.on("end", () => s.close().then(() => process.exit(0))); process.stdin.resume();`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), stdio: ["pipe", "pipe", "inherit"] });
  let buffered = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = /PORT (\d+)/.exec(buffered);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`ganache child exited ${code}`)));
  });
  return connectTestChain(`http://127.0.0.1:${port}`, {
    chainId: 1337,
    accounts: 4,
    async stop() {
      child.stdin.end();
      await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 3000))]);
      child.kill();
    },
  });
}

function countingClient(counts: { calls: number }) {
  const clients = new Map<string, PublicClient>();
  return (rpcUrl: string) => {
    let c = clients.get(rpcUrl);
    if (!c) {
      c = createPublicClient({ transport: http(rpcUrl, { onFetchRequest: () => void counts.calls++ }) }) as PublicClient;
      clients.set(rpcUrl, c);
    }
    return c;
  };
}

const randomAddress = () => `0x${randomBytes(20).toString("hex")}`;

async function costRun(chain: TestChain, token: Address, sessions: number) {
  const db = await createSqliteDatabase();
  const bridge = await createEvmBridge({ databaseUrl: db.url });
  const endpoint = await new StoreEndpoint("whsec_placeholder").start();
  try {
    const shop = await addEvmStore(bridge, endpoint.url, { chain, token, confirmations, nativeRate: { kind: "static", price: "2000", currency: "USD" } });
    const k = evmDb(bridge.deps.db.kysely);
    const nowMs = Date.now();
    const tokenAddresses: string[] = [];
    for (let start = 0; start < sessions; start += 400) {
      const batch = Array.from({ length: Math.min(400, sessions - start) }, (_, j) => start + j);
      const ids = batch.map(() => `cs_${randomBytes(12).toString("hex")}`);
      await k.insertInto("checkout_sessions").values(batch.map((_, j) => ({
        id: ids[j]!, store_id: shop.storeId, connection_id: shop.connectionId, provider: "evm", livemode: 0, status: "open",
        currency: "USD", amount_minor: "4000", amount_paid_minor: "0", order_id: `o${start + j}`, order_number: null, order_key: null,
        customer_email: null, cart_json: "{}", metadata_json: "{}", success_url: "https://shop.example/ok", cancel_url: "https://shop.example/no",
        provider_session_id: `evm_${ids[j]}`, provider_checkout_url: null, provider_data_json: "{}", review_reason: null,
        expires_at: nowMs + 3_600_000, created_at: nowMs, updated_at: nowMs, provider_checked_at: null,
      }))).execute();
      await k.insertInto("evm_deposits").values(batch.map((i, j) => {
        const native = i % 10 === 9;
        const address = randomAddress();
        if (!native) tokenAddresses.push(address);
        return {
          session_id: ids[j]!, connection_id: shop.connectionId, xpub_id: "bench000bench000", derivation_index: i, chain_id: "1337", address,
          asset_kind: native ? "native" : "erc20", token_address: native ? null : token.toLowerCase(), symbol: native ? "ETH" : "USDC",
          decimals: native ? 18 : 6, amount_due_units: native ? "20000000000000000" : "40000000", fiat_currency: "USD", fiat_amount_minor: "4000",
          rate_json: "{}", confirmations, from_block: null, expires_at: nowMs + 3_600_000, watch_until: nowMs + 7_200_000, created_at: nowMs,
        };
      })).execute();
    }
    const counts = { calls: 0 };
    const client = countingClient(counts);
    await runWatcherOnce(bridge.deps, { owner: "bench", client }); // sets the cursor at the head

    let cpuMicros = 0;
    let calls = 0;
    let credited = 0;
    for (let b = 0; b < blocksPerSize; b++) {
      // One payment per block to one of the open sessions.
      await chain.transferToken(token, tokenAddresses[b % tokenAddresses.length] as Address, 40_000_000n);
      counts.calls = 0;
      const cpu = process.cpuUsage();
      const pass = await runWatcherOnce(bridge.deps, { owner: "bench", client });
      const used = process.cpuUsage(cpu);
      cpuMicros += used.user + used.system;
      calls += counts.calls;
      credited += pass.confirmed;
    }
    return { sessions, rpcPerBlock: calls / blocksPerSize, cpuMsPerBlock: cpuMicros / 1000 / blocksPerSize, credited };
  } finally {
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  }
}

async function latencyRun(chain: TestChain, token: Address, samples: number) {
  const db = await createSqliteDatabase();
  const bridge = await createEvmBridge({ databaseUrl: db.url, workers: true, config: { WORKER_POLL_MS: "50" } });
  const endpoint = await new StoreEndpoint("whsec_placeholder").start();
  const watcher = startEvmWatcher(bridge.deps, { owner: "bench-latency", intervalMs: 250 });
  const results: number[] = [];
  try {
    const shop = await addEvmStore(bridge, endpoint.url, { chain, token, confirmations });
    endpoint.setSecret(shop.signingSecret);
    for (let i = 0; i < samples; i++) {
      const res = await bridge.app.request("/v1/checkout_sessions", {
        method: "POST",
        headers: { authorization: `Bearer ${shop.testKey}`, "content-type": "application/json" },
        body: JSON.stringify({ order: { id: `lat${i}` }, currency: "USD", amount: "40.00", lineItems: [{ name: "x", quantity: 1, unitAmount: "40.00" }], successUrl: "https://s.example/ok", cancelUrl: "https://s.example/no" }),
      });
      const { id } = (await res.json()) as { id: string };
      const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("provider_data_json").where("id", "=", id).executeTakeFirstOrThrow();
      const address = JSON.parse(row.provider_data_json).depositAddress as Address;
      await chain.transferToken(token, address, 40_000_000n);
      await chain.mine(confirmations - 2);
      await new Promise((r) => setTimeout(r, Math.random() * 250)); // land anywhere in the polling cycle
      await chain.mine(1);
      const t0 = performance.now();
      await endpoint.waitFor((rs) => rs.some((r) => r.update.session.id === id && r.update.session.status === "paid"), 15_000);
      results.push(performance.now() - t0);
    }
  } finally {
    await watcher.stop();
    await bridge.close();
    await endpoint.stop();
    await db.drop();
  }
  results.sort((a, b) => a - b);
  return { samples, medianMs: results[Math.floor(results.length / 2)]!, maxMs: results[results.length - 1]!, minMs: results[0]! };
}

const chain = await startChildChain();
try {
  const token = await chain.deployToken({ supply: 10n ** 18n });
  console.log(`evm watcher benchmark: ganache (child process) ${chain.rpcUrl}, ${blocksPerSize} blocks per size, 1 payment per block, ${confirmations} confirmations\n`);
  const rows = [];
  for (const n of sizes) rows.push(await costRun(chain, token, n));
  const base = rows[0]!;
  console.log("sessions | RPC calls/block | CPU ms/block | RPC ratio | CPU ratio | credited");
  for (const r of rows) {
    console.log(`${String(r.sessions).padStart(8)} | ${r.rpcPerBlock.toFixed(2).padStart(15)} | ${r.cpuMsPerBlock.toFixed(2).padStart(12)} | ${(r.rpcPerBlock / base.rpcPerBlock).toFixed(2).padStart(9)} | ${(r.cpuMsPerBlock / base.cpuMsPerBlock).toFixed(2).padStart(9)} | ${r.credited}`);
  }
  const latency = await latencyRun(chain, token, 7);
  console.log(`\nlast required confirmation → store update: median ${latency.medianMs.toFixed(0)} ms, min ${latency.minMs.toFixed(0)} ms, max ${latency.maxMs.toFixed(0)} ms over ${latency.samples} payments (watcher interval 250 ms)`);
} finally {
  await chain.stop();
}
