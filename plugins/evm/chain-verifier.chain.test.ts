/** The ChainVerifier against real transactions on ganache. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAddress, type Address, type Hash } from "viem";
import { startTestChain, type TestChain } from "../../test/chain/node.ts";
import { chainVerifierFromEnv, createEvmChainVerifier, parseChainId, parseRpcList, parseTokenList } from "./chain-verifier.ts";

let chain: TestChain;
let usdc: Address;
let fake: Address;
const shopAddress = "0x000000000000000000000000000000000000bEEF" as Address;
let paid: Hash;

beforeAll(async () => {
  chain = await startTestChain();
  usdc = await chain.deployToken({ symbol: "USDC" });
  fake = await chain.deployToken({ symbol: "USDC" });
  paid = await chain.transferToken(usdc, shopAddress, 25_000_000n);
  await chain.mine(2);
});
afterAll(async () => {
  await chain?.stop();
});

describe("evm chain verifier", () => {
  const session = (providerData: Record<string, unknown>) => ({ id: "cs_1", currency: "USD", amountMinor: 2500n, providerData });
  const tokens = () => parseTokenList(`${chain.chainId}:USDC=${usdc},${chain.chainId}:ETH=native`);
  const verifier = (client?: Parameters<typeof createEvmChainVerifier>[0]["client"]) =>
    createEvmChainVerifier({ chains: [{ chainId: chain.chainId, rpcUrl: chain.rpcUrl, confirmations: 3 }], tokens: tokens(), ...(client ? { client } : {}) });

  it("verifies a token transfer to the session's address for the amount asked", async () => {
    const result = await verifier().verify({ hash: paid, chainId: String(chain.chainId), asset: usdc }, session({ depositAddress: shopAddress, amountUnits: "25000000" }));
    expect(result).toEqual({ status: "verified" });
  });

  it("resolves a token named by symbol through the allow-list, never by the symbol the contract carries", async () => {
    const v = verifier();
    const ref = { hash: paid, chainId: String(chain.chainId), asset: "usdc" };
    expect(await v.verify(ref, session({ depositAddress: shopAddress, amountUnits: "25000000" }))).toEqual({ status: "verified" });
    // Sprintcheckout names the token and no address: the listed contract's transfer is what is checked.
    expect(await v.verify(ref, session({}))).toEqual({ status: "verified" });
    // Not the native-coin check: a token payment named by symbol is not held because it moved no ETH.
    const lookAlike = await chain.transferToken(fake, shopAddress, 25_000_000n);
    await chain.mine(2);
    expect(await v.verify({ ...ref, hash: lookAlike }, session({}))).toMatchObject({ status: "mismatch", reason: expect.stringContaining(`no ${getAddress(usdc)} transfer`) });
    expect(await v.verify({ ...ref, asset: "USDT" }, session({ depositAddress: shopAddress }))).toMatchObject({ status: "unverifiable", reason: expect.stringContaining("allow-list") });
    expect(await v.verify({ ...ref, asset: fake }, session({ depositAddress: shopAddress }))).toMatchObject({ status: "unverifiable", reason: expect.stringContaining("allow-list") });
  });

  it("with a recipient and no token, counts only listed tokens; with neither, cannot verify", async () => {
    const v = verifier();
    const lookAlike = await chain.transferToken(fake, shopAddress, 25_000_000n);
    await chain.mine(2);
    const ref = { hash: lookAlike, chainId: String(chain.chainId) };
    // The fake token's Transfer to the shop is not money; the transaction moved no ETH to the shop either.
    expect(await v.verify(ref, session({ depositAddress: shopAddress }))).toMatchObject({ status: "mismatch" });
    expect(await v.verify({ ...ref, hash: paid }, session({ depositAddress: shopAddress, amountUnits: "25000000" }))).toEqual({ status: "verified" });
    expect(await v.verify({ ...ref, hash: paid }, session({}))).toMatchObject({ status: "unverifiable", reason: expect.stringContaining("neither") });
  });

  it("is pending, not a mismatch, while confirmations are missing or the RPC fails", async () => {
    const fresh = await chain.transferToken(usdc, shopAddress, 1n);
    const ref = { hash: fresh, chainId: String(chain.chainId), asset: usdc };
    expect(await verifier().verify(ref, session({ depositAddress: shopAddress }))).toMatchObject({ status: "pending", reason: expect.stringContaining("1 of 3 confirmations") });
    const down = (() => ({ getTransactionReceipt: () => Promise.reject(new Error("fetch failed: ECONNREFUSED")) })) as never;
    expect(await verifier(down).verify(ref, session({ depositAddress: shopAddress }))).toMatchObject({ status: "pending", reason: expect.stringContaining("ECONNREFUSED") });
    await chain.mine(2);
    expect(await verifier().verify(ref, session({ depositAddress: shopAddress }))).toEqual({ status: "verified" });
  });

  it("reports a mismatch for another recipient, another token, too little, or an unknown transaction", async () => {
    const v = verifier();
    const ref = { hash: paid, chainId: String(chain.chainId), asset: usdc };
    expect(await v.verify(ref, session({ depositAddress: chain.accounts[1]!.address }))).toMatchObject({ status: "mismatch" });
    const other = await chain.sendNative(shopAddress, 1n);
    await chain.mine(2);
    expect(await v.verify({ ...ref, hash: other }, session({ depositAddress: shopAddress }))).toMatchObject({ status: "mismatch", reason: expect.stringContaining("no ") });
    expect(await v.verify(ref, session({ depositAddress: shopAddress, amountUnits: "25000001" }))).toMatchObject({ status: "mismatch", reason: expect.stringContaining("asked") });
    const unknown = `0x${"ab".repeat(32)}`;
    expect(await v.verify({ ...ref, hash: unknown }, session({}))).toMatchObject({ status: "mismatch", reason: expect.stringContaining("not found") });
  });

  it("checks native transfers by the transaction's recipient and value", async () => {
    const hash = await chain.sendNative(shopAddress, 10n ** 16n);
    await chain.mine(2);
    const v = verifier();
    expect(await v.verify({ hash, chainId: `eip155:${chain.chainId}` }, session({ address: shopAddress, amountWei: String(10n ** 16n) }))).toEqual({ status: "verified" });
    expect(await v.verify({ hash, chainId: String(chain.chainId) }, session({ address: chain.accounts[2]!.address }))).toMatchObject({ status: "mismatch" });
  });

  it("is unsupported for chains without an RPC", async () => {
    expect(await verifier().verify({ hash: paid, chainId: "8453" }, session({}))).toEqual({ status: "unsupported" });
    expect(await verifier().verify({ hash: paid, chainId: "solana" }, session({}))).toEqual({ status: "unsupported" });
  });

  it("is configured from the environment, or absent", async () => {
    expect(chainVerifierFromEnv({})).toBeUndefined();
    const v = chainVerifierFromEnv({ EVM_VERIFY_RPC_URLS: `${chain.chainId}=${chain.rpcUrl}`, EVM_VERIFY_CONFIRMATIONS: "2", EVM_VERIFY_TOKENS: `${chain.chainId}:USDC=${usdc}` })!;
    expect(await v.verify({ hash: paid, chainId: String(chain.chainId), asset: "USDC" }, session({ depositAddress: shopAddress }))).toEqual({ status: "verified" });
    expect(() => chainVerifierFromEnv({ EVM_VERIFY_RPC_URLS: "x", EVM_VERIFY_CONFIRMATIONS: "0" })).toThrow();
    expect(() => parseTokenList("1:USDC=0x123")).toThrow(/bad token entry/);
    expect(parseTokenList(`polygon:usdc=${usdc},1:ETH=native`)).toEqual(new Map([[137, new Map([["USDC", getAddress(usdc)]])], [1, new Map([["ETH", "native"]])]]));
  });

  it("parses chain ids and RPC lists", () => {
    expect(parseChainId("0x2105")).toBe(8453);
    expect(parseChainId("eip155:137")).toBe(137);
    expect(parseChainId("base")).toBe(8453);
    expect(parseRpcList("1=http://127.0.0.1:8545/a?x=1,8453=http://127.0.0.1:9")).toEqual([
      { chainId: 1, rpcUrl: "http://127.0.0.1:8545/a?x=1" },
      { chainId: 8453, rpcUrl: "http://127.0.0.1:9" },
    ]);
  });
});
