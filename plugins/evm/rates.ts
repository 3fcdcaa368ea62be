/**
 * Where a token's price comes from when a session is created. The price is locked then and stored with the
 * session; the watcher never re-prices. Stablecoins marked `usdPeg` are at par for USD; everything else
 * needs a rate config: a static price or a Chainlink AggregatorV3 feed read through the chain's RPC.
 */
import { parseAbi, type Address } from "viem";
import { priceFromDecimal, priceToDecimal, type Price } from "./amounts.ts";
import type { AssetConfig, ChainConfig } from "./config.ts";
import { rpcClient } from "./rpc.ts";

export interface LockedRate {
  price: Price;
  /** e.g. `par`, `static`, `chainlink:0x…@1`. */
  source: string;
  at: number;
}

export interface RateSource {
  /** Fiat (`currency`) per one whole unit of `asset` on `chain`. */
  quote(asset: AssetConfig, chain: ChainConfig, currency: string, chains: ChainConfig[], nowMs: number): Promise<LockedRate>;
}

export class RateUnavailableError extends Error {}

export const aggregatorV3Abi = parseAbi([
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
]);

/** Turns a feed's raw answer into a price; refuses non-positive or stale answers. */
export function priceFromAggregator(
  answer: bigint,
  feedDecimals: number,
  updatedAtSeconds: bigint,
  nowMs: number,
  maxAgeSeconds: number,
): Price {
  if (answer <= 0n) throw new RateUnavailableError(`feed answered ${answer}`);
  const ageSeconds = BigInt(Math.floor(nowMs / 1000)) - updatedAtSeconds;
  if (ageSeconds > BigInt(maxAgeSeconds)) throw new RateUnavailableError(`feed answer is ${ageSeconds}s old (max ${maxAgeSeconds}s)`);
  return { numerator: answer, denominator: 10n ** BigInt(feedDecimals) };
}

export const configuredRates: RateSource = {
  async quote(asset, chain, currency, chains, nowMs) {
    const cur = currency.toUpperCase();
    if (asset.usdPeg && cur === "USD") return { price: { numerator: 1n, denominator: 1n }, source: "par", at: nowMs };
    const rate = asset.rate;
    if (!rate) throw new RateUnavailableError(`no rate configured for ${asset.symbol} in ${cur}`);
    if (rate.currency.toUpperCase() !== cur) throw new RateUnavailableError(`the ${asset.symbol} rate is in ${rate.currency}, the session in ${cur}`);
    switch (rate.kind) {
      case "static":
        return { price: priceFromDecimal(rate.price), source: "static", at: nowMs };
      case "chainlink": {
        const feedChain = rate.chainId ? chains.find((c) => c.chainId === rate.chainId) : chain;
        if (!feedChain) throw new RateUnavailableError(`no RPC for chain ${rate.chainId}`);
        return { price: await readAggregator(feedChain.rpcUrl, rate.feed, nowMs, rate.maxAgeSeconds), source: `chainlink:${rate.feed}@${feedChain.chainId}`, at: nowMs };
      }
      default: {
        const never: never = rate;
        throw new Error(`unhandled rate ${JSON.stringify(never)}`);
      }
    }
  },
};

export async function readAggregator(rpcUrl: string, feed: Address, nowMs: number, maxAgeSeconds: number): Promise<Price> {
  const client = rpcClient(rpcUrl);
  const [decimals, round] = await Promise.all([
    client.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "decimals" }),
    client.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "latestRoundData" }),
  ]);
  return priceFromAggregator(round[1], decimals, round[3], nowMs, maxAgeSeconds);
}

export function describeRate(rate: LockedRate) {
  return {
    price: priceToDecimal(rate.price),
    numerator: rate.price.numerator.toString(),
    denominator: rate.price.denominator.toString(),
    source: rate.source,
    at: rate.at,
  };
}
