/**
 * `npm run demo -- --onchain`: a whole self-custodial payment on a real (local) EVM chain, in one process.
 * Starts ganache on 127.0.0.1, deploys a test USDC, builds a bridge with the evm provider and a custom
 * store whose endpoint is an HTTP server in this process, pays the session from a funded account, mines the
 * confirmations one by one and prints the timeline down to the signed store update.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import type { Address } from "viem";
import { sandboxProvider } from "../sandbox/index.ts";
import { createBridge } from "../../src/bridge.ts";
import { configWith } from "../../src/config.ts";
import { generateMasterKeySpec } from "../../src/crypto/secrets.ts";
import { customStoreAdapter } from "../../src/stores/custom.ts";
import type { StoreUpdate } from "../../src/stores/port.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { createStore } from "../../src/usecases/stores.ts";
import { startTestChain } from "../../test/chain/node.ts";
import { merchantXpub, evmSettings } from "../../test/chain/evm-bridge.ts";
import { evmProvider } from "./index.ts";
import { startEvmWatcher } from "./watcher.ts";

export async function runOnchainDemo(out: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  const log = (line: string) => out(`[${String(Date.now() - t0).padStart(5)} ms] ${line}`);
  const dir = mkdtempSync(join(tmpdir(), "cartbridge-onchain-demo-"));
  const chain = await startTestChain();
  log(`ganache node (chain ${chain.chainId}) at ${chain.rpcUrl}`);
  const usdc = await chain.deployToken({ symbol: "USDC", decimals: 6 });
  await chain.transferToken(usdc, chain.accounts[1]!.address, 1_000_000_000n);
  log(`test USDC (6 decimals) deployed at ${usdc}; buyer ${chain.accounts[1]!.address} holds 1000 USDC`);

  // The shop's endpoint: verifies each Standard Webhooks signature, like a real integration would.
  let signingSecret = "";
  const received: StoreUpdate[] = [];
  let onUpdate: (u: StoreUpdate) => void = () => {};
  const shop = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const update = new Webhook(signingSecret).verify(Buffer.concat(chunks).toString("utf8"), {
          "webhook-id": String(req.headers["webhook-id"]),
          "webhook-timestamp": String(req.headers["webhook-timestamp"]),
          "webhook-signature": String(req.headers["webhook-signature"]),
        }) as StoreUpdate;
        received.push(update);
        res.writeHead(200).end("ok");
        onUpdate(update);
      } catch {
        res.writeHead(400).end("bad signature");
      }
    });
  });
  await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
  const shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/cartbridge`;

  const bridge = await createBridge({
    providers: [sandboxProvider, evmProvider],
    storeAdapters: [customStoreAdapter],
    workers: true,
    config: configWith({
      DATABASE_URL: `sqlite:${join(dir, "bridge.db")}`,
      PUBLIC_URL: "http://127.0.0.1:3000",
      MASTER_KEYS: generateMasterKeySpec("demo"),
      LOG_LEVEL: "silent",
      WORKER_POLL_MS: "100",
    }),
  });
  const watcher = startEvmWatcher(bridge.deps, { owner: "demo", intervalMs: 200 });
  try {
    const store = await createStore(bridge.deps, { name: "Demo shop", platform: "custom", defaultProvider: "evm", credentials: { endpointUrl: shopUrl } });
    signingSecret = String(store.credentials.signingSecret);
    const confirmations = 3;
    await addConnection(bridge.deps, {
      storeId: store.storeId, provider: "evm", livemode: false,
      credentials: { xpub: merchantXpub },
      settings: evmSettings({ chain, token: usdc, confirmations }),
    });
    log(`store ${store.storeId} connected to evm (xpub ${merchantXpub.slice(0, 16)}…, ${confirmations} confirmations)`);

    const res = await bridge.app.request("/v1/checkout_sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${store.keys.testKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        order: { id: "2001", number: "2001" }, currency: "USD", amount: "42.50",
        lineItems: [{ name: "Hoodie", quantity: 1, unitAmount: "42.50" }],
        successUrl: "https://shop.example/thanks", cancelUrl: "https://shop.example/cart",
      }),
    });
    const session = (await res.json()) as { id: string; checkoutUrl: string };
    const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("provider_data_json").where("id", "=", session.id).executeTakeFirstOrThrow();
    const data = JSON.parse(row.provider_data_json) as { depositAddress: Address; amountUnits: string; amountDisplay: string; paymentUri: string; derivationIndex: number };
    log(`session ${session.id}: 42.50 USD → ${data.amountDisplay} USDC (${data.amountUnits} units) to ${data.depositAddress} (xpub child /0/${data.derivationIndex})`);
    log(`payment URI (EIP-681, shown as a QR code on ${session.checkoutUrl}): ${data.paymentUri}`);

    const settled = new Promise<StoreUpdate>((resolve) => {
      onUpdate = (u) => {
        log(`store received ${u.type} (amountPaid ${u.session.amountPaid} ${u.session.currency}), signature verified`);
        if (u.session.status === "paid") resolve(u);
      };
    });
    const status = async () => (await bridge.deps.db.kysely.selectFrom("checkout_sessions").select("status").where("id", "=", session.id).executeTakeFirstOrThrow()).status;
    const waitStatus = async (want: string) => {
      for (let i = 0; i < 200 && (await status()) !== want; i++) await new Promise((r) => setTimeout(r, 50));
      return status();
    };

    const hash = await chain.transferToken(usdc, data.depositAddress, BigInt(data.amountUnits), chain.accounts[1]);
    log(`buyer ${chain.accounts[1]!.address} sent the USDC: tx ${hash} in block ${await chain.blockNumber()} (1 confirmation)`);
    log(`session is ${await waitStatus("processing")}`);
    for (let c = 2; c <= confirmations; c++) {
      await chain.mine(1);
      log(`block ${await chain.blockNumber()} mined (${c} confirmations)`);
    }
    const lastConfirmationAt = Date.now();
    await settled;
    log(`session is ${await status()}; store updated ${Date.now() - lastConfirmationAt} ms after the last required confirmation`);
    const payments = await bridge.deps.db.kysely.selectFrom("payments").select(["reference", "status", "amount_minor"]).where("session_id", "=", session.id).execute();
    for (const p of payments) log(`payment ${p.reference}: ${p.status}, ${p.amount_minor} minor units`);
    log(`${received.length} store updates in total`);
  } finally {
    await watcher.stop();
    await bridge.close();
    await new Promise<void>((resolve) => shop.close(() => resolve()));
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runOnchainDemo((line) => console.log(line)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
