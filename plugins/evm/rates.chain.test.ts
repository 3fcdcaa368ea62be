/** Native-coin sessions priced by a Chainlink feed (a mock AggregatorV3 on ganache) and by a static price. */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import type { Address } from "viem";
import type { Bridge } from "../../src/bridge.ts";
import { describeEachDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, drain, postSession } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { startTestChain, type TestChain } from "../../test/chain/node.ts";
import { addEvmStore, createEvmBridge } from "../../test/chain/evm-bridge.ts";
import { runWatcherOnce } from "./watcher.ts";

let chain: TestChain;
let usdc: Address;
let feed: Address;
beforeAll(async () => {
  chain = await startTestChain();
  usdc = await chain.deployToken();
  feed = await chain.deployAggregator(2_000_00000000n); // 2000.00000000 USD per ETH, 8 decimals
});
afterAll(async () => {
  await chain?.stop();
});

describeEachDatabase("evm native coin with a locked rate", (makeDb) => {
  let db: TestDatabase;
  let bridge: Bridge;
  let endpoint: StoreEndpoint;
  beforeEach(async () => {
    db = await makeDb();
    bridge = await createEvmBridge({ databaseUrl: db.url });
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
  });
  afterEach(async () => {
    await bridge?.close();
    await endpoint?.stop();
    await db?.drop();
  });

  it.each(["chainlink", "static"] as const)("%s price: 40.00 USD asks 0.02 ETH, locked, and an ETH transfer pays it", async (source) => {
    const nativeRate = source === "chainlink"
      ? { kind: "chainlink" as const, feed, currency: "USD", maxAgeSeconds: 3600 }
      : { kind: "static" as const, price: "2000.00", currency: "USD" };
    const shop = await addEvmStore(bridge, endpoint.url, { chain, token: usdc, confirmations: 2, nativeRate, defaultAsset: `${chain.chainId}:native` });
    endpoint.setSecret(shop.signingSecret);
    const res = await postSession(bridge, shop.testKey, cartBody());
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const row = await bridge.deps.db.kysely.selectFrom("checkout_sessions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    const data = JSON.parse(row.provider_data_json);
    expect(data.amountUnits).toBe(String(2n * 10n ** 16n));
    expect(data.rate.source).toMatch(source === "chainlink" ? /^chainlink:0x/ : /^static$/);
    expect(data.paymentUri).toBe(`ethereum:${data.depositAddress}@${chain.chainId}?value=20000000000000000`);
    // The price moving afterwards changes nothing: the rate is locked with the session.
    await chain.wallet().writeContract({ account: chain.accounts[0]!, chain: chain.chain, address: feed, abi: (await import("../../test/chain/contracts.ts")).mockAggregatorAbi, functionName: "setAnswer", args: [1_000_00000000n] });
    await chain.sendNative(data.depositAddress, 2n * 10n ** 16n);
    await runWatcherOnce(bridge.deps, { owner: "w" });
    await chain.mine(1);
    await runWatcherOnce(bridge.deps, { owner: "w" });
    await drain(bridge);
    expect(endpoint.received.map((r) => `${r.update.session.status}:${r.update.session.amountPaid}`).sort()).toEqual(["paid:40.00", "processing:0.00"]);
    await chain.wallet().writeContract({ account: chain.accounts[0]!, chain: chain.chain, address: feed, abi: (await import("../../test/chain/contracts.ts")).mockAggregatorAbi, functionName: "setAnswer", args: [2_000_00000000n] });
  });

  it("refuses to create a session without a usable price (no guessing)", async () => {
    const shop = await addEvmStore(bridge, endpoint.url, { chain, token: usdc, defaultAsset: `${chain.chainId}:native` });
    const res = await postSession(bridge, shop.testKey, cartBody());
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(await res.json())).toMatch(/no ETH price: no rate configured/);
    const stale = await addEvmStore(bridge, endpoint.url, { chain, token: usdc, defaultAsset: `${chain.chainId}:native`, nativeRate: { kind: "chainlink", feed, currency: "EUR", maxAgeSeconds: 60 } });
    const eur = await postSession(bridge, stale.testKey, cartBody());
    expect(JSON.stringify(await eur.json())).toMatch(/rate is in EUR, the session in USD/);
  });
});
