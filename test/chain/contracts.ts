/**
 * Test contracts, written in EVM assembly (see evm-asm.ts) — no compiler, no copied bytecode:
 * - `TestToken`: a minimal ERC-20 (balanceOf, transfer emitting the standard `Transfer` event, decimals,
 *   symbol, totalSupply; the deployer holds the whole supply). Balances live at storage slot = holder
 *   address. No approve/transferFrom: the bridge never needs them.
 * - `MockAggregator`: the read side of a Chainlink AggregatorV3 (decimals, latestRoundData) with a
 *   `setAnswer(int256)` to move the price.
 */
import { keccak256, parseAbi, toFunctionSelector, toHex, stringToHex, type Hex } from "viem";
import { assemble, deployable, type Item } from "./evm-asm.ts";

export const testTokenAbi = parseAbi([
  "function balanceOf(address owner) view returns (uint256)",
  "function transfer(address to, uint256 amount) returns (bool)",
  "function decimals() view returns (uint8)",
  "function symbol() view returns (string)",
  "function totalSupply() view returns (uint256)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
]);

export const mockAggregatorAbi = parseAbi([
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function setAnswer(int256 answer)",
]);

const sel = (signature: string) => BigInt(toFunctionSelector(signature));
const transferTopic = BigInt(keccak256(toHex("Transfer(address,address,uint256)")));

const returnWord: Item[] = [0n, "MSTORE", 32n, 0n, "RETURN"];

export function testTokenBytecode(options: { symbol: string; decimals: number; supply: bigint }): Hex {
  if (options.symbol.length > 32) throw new Error("symbol too long");
  const symbolWord = BigInt(stringToHex(options.symbol, { size: 32 }));
  const runtime = assemble([
    0n, "CALLDATALOAD", 0xe0n, "SHR",
    "DUP1", sel("balanceOf(address)"), "EQ", "@balanceOf", "JUMPI",
    "DUP1", sel("transfer(address,uint256)"), "EQ", "@transfer", "JUMPI",
    "DUP1", sel("decimals()"), "EQ", "@decimals", "JUMPI",
    "DUP1", sel("symbol()"), "EQ", "@symbol", "JUMPI",
    "DUP1", sel("totalSupply()"), "EQ", "@totalSupply", "JUMPI",
    "fail:", 0n, "DUP1", "REVERT",

    "balanceOf:", 4n, "CALLDATALOAD", "SLOAD", ...returnWord,

    "transfer:",
    "CALLVALUE", "@fail", "JUMPI",
    0x24n, "CALLDATALOAD", // amount
    "CALLER", "SLOAD", // balance amount
    "DUP2", "DUP2", "LT", "@fail", "JUMPI", // balance < amount → revert
    "DUP2", "SWAP1", "SUB", "CALLER", "SSTORE", // balance[caller] -= amount; stack: amount
    4n, "CALLDATALOAD", "DUP1", "SLOAD", "DUP3", "ADD", "SWAP1", "SSTORE", // balance[to] += amount
    0n, "MSTORE", // memory[0] = amount (the event's data)
    4n, "CALLDATALOAD", "CALLER", transferTopic, 32n, 0n, "LOG3",
    1n, ...returnWord,

    "decimals:", BigInt(options.decimals), ...returnWord,
    "totalSupply:", options.supply, ...returnWord,
    "symbol:",
    32n, 0n, "MSTORE", BigInt(options.symbol.length), 32n, "MSTORE", symbolWord, 64n, "MSTORE",
    96n, 0n, "RETURN",
  ]);
  return deployable([options.supply, "CALLER", "SSTORE"], runtime);
}

export function mockAggregatorBytecode(): Hex {
  const runtime = assemble([
    0n, "CALLDATALOAD", 0xe0n, "SHR",
    "DUP1", sel("decimals()"), "EQ", "@decimals", "JUMPI",
    "DUP1", sel("latestRoundData()"), "EQ", "@latest", "JUMPI",
    "DUP1", sel("setAnswer(int256)"), "EQ", "@set", "JUMPI",
    0n, "DUP1", "REVERT",
    "decimals:", 8n, ...returnWord,
    "latest:",
    1n, 0n, "MSTORE", 0n, "SLOAD", 32n, "MSTORE", "TIMESTAMP", 64n, "MSTORE", "TIMESTAMP", 96n, "MSTORE", 1n, 128n, "MSTORE",
    160n, 0n, "RETURN",
    "set:", 4n, "CALLDATALOAD", 0n, "SSTORE", "STOP",
  ]);
  return deployable([], runtime);
}
