import { afterAll, beforeAll, expect, it, describe } from "vitest";
import { parseEventLogs } from "viem";
import { mockAggregatorAbi, testTokenAbi } from "./contracts.ts";
import { startTestChain, type TestChain } from "./node.ts";

describe("hand-assembled test contracts on ganache", () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain();
  });
  afterAll(async () => {
    await chain.stop();
  });

  it("TestToken behaves as an ERC-20 for transfer/balanceOf/decimals/symbol and emits Transfer", async () => {
    const token = await chain.deployToken({ symbol: "USDC", decimals: 6, supply: 1_000_000n });
    const [a, b] = chain.accounts;
    const read = (functionName: "decimals" | "symbol" | "totalSupply") => chain.publicClient.readContract({ address: token, abi: testTokenAbi, functionName });
    expect(await read("decimals")).toBe(6);
    expect(await read("symbol")).toBe("USDC");
    expect(await read("totalSupply")).toBe(1_000_000n);
    const hash = await chain.transferToken(token, b!.address, 250n, a);
    const receipt = await chain.publicClient.getTransactionReceipt({ hash });
    const [log] = parseEventLogs({ abi: testTokenAbi, logs: receipt.logs, eventName: "Transfer" });
    expect(log!.args).toEqual({ from: a!.address, to: b!.address, value: 250n });
    expect(await chain.publicClient.readContract({ address: token, abi: testTokenAbi, functionName: "balanceOf", args: [b!.address] })).toBe(250n);
    expect(await chain.publicClient.readContract({ address: token, abi: testTokenAbi, functionName: "balanceOf", args: [a!.address] })).toBe(999_750n);
    // More than the balance reverts.
    await expect(chain.transferToken(token, a!.address, 251n, b)).rejects.toThrow();
  });

  it("MockAggregator answers latestRoundData", async () => {
    const feed = await chain.deployAggregator(312_345_000_000n);
    expect(await chain.publicClient.readContract({ address: feed, abi: mockAggregatorAbi, functionName: "decimals" })).toBe(8);
    const [, answer] = await chain.publicClient.readContract({ address: feed, abi: mockAggregatorAbi, functionName: "latestRoundData" });
    expect(answer).toBe(312_345_000_000n);
  });
});
