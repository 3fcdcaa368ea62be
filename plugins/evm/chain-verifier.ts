/**
 * The `ChainVerifier` port (src/deps.ts) for EVM chains: when another provider's verified webhook names a
 * transaction, read it from the bridge's own RPC and check it really paid this session — succeeded, deep
 * enough, a decoded transfer to the session's address (when the platform told us the address) of the
 * right token, for at least the amount asked (when the platform told us the amount in token units).
 * Tokens are recognised by contract, through the operator's allow-list (symbols are free for anyone to
 * use); what cannot be checked is `unverifiable` (held for review) and what may still become true (not
 * mined, too shallow, RPC down) is `pending` (the webhook is retried later).
 */
import {
  getAddress, isAddress, isHash, parseEventLogs, TransactionNotFoundError, TransactionReceiptNotFoundError,
  type Address, type Hash, type PublicClient,
} from "viem";
import type { TransactionRef } from "../types.ts";
import type { ChainVerifier } from "../../src/deps.ts";
import { rpcClient, transferEvent } from "./rpc.ts";

export interface VerifierChain {
  chainId: number;
  rpcUrl: string;
  /** Blocks (counting the transaction's) before a payment is accepted. */
  confirmations?: number;
}

/** Names platforms use for chains, for webhooks that say `"ethereum"` rather than `1`. */
const chainNames: Record<string, number> = {
  ethereum: 1, mainnet: 1, eth: 1, sepolia: 11155111, optimism: 10, bsc: 56, polygon: 137, matic: 137,
  base: 8453, arbitrum: 42161, "arbitrum-one": 42161, avalanche: 43114, linea: 59144, "base-sepolia": 84532,
};

export function parseChainId(value: string): number | undefined {
  const v = value.trim().toLowerCase().replace(/^eip155:/, "");
  if (/^0x[0-9a-f]+$/.test(v)) return Number.parseInt(v, 16);
  if (/^\d+$/.test(v)) return Number(v);
  return chainNames[v];
}

/** `1=https://rpc.example,8453=https://base.example` (the format of an env variable) → chains. */
export function parseRpcList(value: string | undefined, confirmations?: number): VerifierChain[] {
  if (!value) return [];
  return value.split(",").map((entry) => {
    const [id, ...url] = entry.trim().split("=");
    const chainId = parseChainId(id ?? "");
    if (chainId === undefined || url.length === 0) throw new Error(`bad RPC entry ${entry} (want <chainId>=<url>)`);
    return { chainId, rpcUrl: url.join("="), ...(confirmations ? { confirmations } : {}) };
  });
}

const recipientKeys = ["depositAddress", "address", "payAddress", "paymentAddress", "recipient"];
const tokenKeys = ["tokenAddress", "settlementToken", "token"];
const unitKeys = ["amountUnits", "amountWei"];

/** Symbols of chains' native coins, so `asset: "ETH"` on Base means the coin and not a token named ETH. */
const nativeSymbols: Record<number, string[]> = {
  1: ["ETH"], 10: ["ETH"], 8453: ["ETH"], 42161: ["ETH"], 59144: ["ETH"], 11155111: ["ETH"], 84532: ["ETH"],
  56: ["BNB"], 137: ["POL", "MATIC"], 43114: ["AVAX"],
};

/** The operator's allow-list of one chain: symbol (upper case) → token contract, or the native coin. */
export type TokenAllowList = Map<number, Map<string, Address | "native">>;

/**
 * `137:USDC=0x3c49…,polygon:USDT=0xc213…,1337:ETH=native` (the format of EVM_VERIFY_TOKENS) → allow-list.
 * Platforms name tokens by symbol; only this list turns a symbol into the contract that is checked.
 */
export function parseTokenList(value: string | undefined): TokenAllowList {
  const list: TokenAllowList = new Map();
  for (const entry of (value ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
    const match = /^([^:=]+):([^=]+)=(.+)$/.exec(entry);
    const chainId = match ? parseChainId(match[1]!) : undefined;
    const target = match?.[3]!.trim().toLowerCase() === "native" ? "native" : match?.[3]!.trim();
    if (!match || chainId === undefined || !target || (target !== "native" && !isAddress(target, { strict: false }))) {
      throw new Error(`bad token entry ${entry} (want <chainId>:<SYMBOL>=<0xcontract|native>)`);
    }
    const chain = list.get(chainId) ?? new Map<string, Address | "native">();
    chain.set(match[2]!.trim().toUpperCase(), target === "native" ? "native" : getAddress(target));
    list.set(chainId, chain);
  }
  return list;
}

function addressFrom(data: Record<string, unknown>, keys: string[]): Address | undefined {
  for (const key of keys) {
    const v = data[key];
    if (typeof v === "string" && isAddress(v, { strict: false })) return getAddress(v);
  }
  return undefined;
}

function unitsFrom(data: Record<string, unknown>): bigint | undefined {
  for (const key of unitKeys) {
    const v = data[key];
    if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v);
  }
  return undefined;
}

type ResolvedAsset = { kind: "native" } | { kind: "token"; address: Address } | { kind: "unknown"; reason: string } | undefined;

/**
 * What the platform says was paid, as something the chain can check: the native coin, or a token by its
 * contract on the allow-list. A symbol or a contract the operator did not list is never guessed at (a
 * look-alike token can carry any symbol); `undefined` when the platform named no asset at all.
 */
function resolveAsset(chainId: number, named: string | undefined, data: Record<string, unknown>, allowed: TokenAllowList): ResolvedAsset {
  const list = allowed.get(chainId) ?? new Map<string, Address | "native">();
  const asset = named?.trim() || addressFrom(data, tokenKeys);
  if (!asset) return undefined;
  if (isAddress(asset, { strict: false })) {
    const address = getAddress(asset);
    if ([...list.values()].includes(address)) return { kind: "token", address };
    return { kind: "unknown", reason: `token ${address} is not on the allow-list of chain ${chainId} (EVM_VERIFY_TOKENS)` };
  }
  const symbol = asset.toUpperCase();
  const listed = list.get(symbol);
  if (listed === "native" || (listed === undefined && (symbol === "NATIVE" || nativeSymbols[chainId]?.includes(symbol)))) return { kind: "native" };
  if (listed) return { kind: "token", address: listed };
  return { kind: "unknown", reason: `${asset} on chain ${chainId} is not on the allow-list (EVM_VERIFY_TOKENS)` };
}

export function createEvmChainVerifier(options: {
  chains: VerifierChain[];
  /** Tokens by symbol per chain; a token not listed here cannot be verified (held for review). */
  tokens?: TokenAllowList;
  client?: (rpcUrl: string) => PublicClient;
}): ChainVerifier {
  const byId = new Map(options.chains.map((c) => [c.chainId, c]));
  const allowed = options.tokens ?? new Map();
  const clientFor = options.client ?? rpcClient;
  return {
    async verify(tx: TransactionRef, session) {
      const chainId = tx.chainId ? parseChainId(tx.chainId) : undefined;
      const chain = chainId === undefined ? undefined : byId.get(chainId);
      if (!chain || chainId === undefined || !tx.hash) return { status: "unsupported" };
      if (!isHash(tx.hash)) return { status: "mismatch", reason: `${tx.hash} is not a transaction hash` };
      const hash = tx.hash as Hash;
      const data = session.providerData;
      const recipient = addressFrom(data, recipientKeys);
      const asset = resolveAsset(chainId, tx.asset, data, allowed);
      if (asset?.kind === "unknown") return { status: "unverifiable", reason: asset.reason };
      // A successful transaction proves nothing about this session unless we know who or what it had to pay.
      if (!asset && !recipient) return { status: "unverifiable", reason: `neither the recipient nor the asset of ${hash} is known` };

      const client = clientFor(chain.rpcUrl);
      let receipt;
      let head: bigint;
      try {
        receipt = await client.getTransactionReceipt({ hash });
        head = await client.getBlockNumber({ cacheTime: 0 });
      } catch (err) {
        if (!(err instanceof TransactionReceiptNotFoundError)) return { status: "pending", reason: `RPC of chain ${chainId} failed: ${shortError(err)}` };
        // Not mined yet (still in the mempool) is worth waiting for; unknown to the node altogether is not.
        const known = await client.getTransaction({ hash }).then(() => true, (e: unknown) => (e instanceof TransactionNotFoundError ? false : undefined));
        if (known === false) return { status: "mismatch", reason: `transaction ${hash} not found on chain ${chainId}` };
        return { status: "pending", reason: `transaction ${hash} is not mined yet on chain ${chainId}` };
      }
      if (receipt.status !== "success") return { status: "mismatch", reason: `transaction ${hash} reverted` };
      const required = chain.confirmations ?? 1;
      const depth = head - receipt.blockNumber + 1n;
      if (depth < BigInt(required)) return { status: "pending", reason: `transaction ${hash} has ${depth} of ${required} confirmations` };

      const expectedUnits = unitsFrom(data);
      // With no asset named, only the listed tokens of this chain count: a Transfer event from any other
      // contract is free for anyone to emit.
      const tokens = asset?.kind === "token" ? [asset.address] : asset ? [] : [...(allowed.get(chainId)?.values() ?? [])].filter((t) => t !== "native");
      const transfers = parseEventLogs({ abi: [transferEvent], logs: receipt.logs, eventName: "Transfer", strict: true })
        .filter((l) => tokens.includes(getAddress(l.address)) && (!recipient || getAddress(l.args.to) === recipient));
      let paid: bigint;
      if (asset?.kind === "token" || transfers.length > 0) {
        if (transfers.length === 0) return { status: "mismatch", reason: `no ${tokens[0]} transfer${recipient ? ` to ${recipient}` : ""} in ${hash}` };
        if (new Set(transfers.map((l) => getAddress(l.address))).size > 1) return { status: "unverifiable", reason: `${hash} moves several listed tokens to ${recipient}` };
        paid = transfers.reduce((sum, l) => sum + l.args.value, 0n);
      } else {
        const native = await client.getTransaction({ hash }).catch(() => undefined);
        if (!native) return { status: "pending", reason: `RPC of chain ${chainId} failed reading ${hash}` };
        if (recipient && (!native.to || getAddress(native.to) !== recipient)) {
          return { status: "mismatch", reason: `${hash} pays ${native.to ?? "a contract creation"}, not ${recipient}` };
        }
        if (native.value === 0n) return { status: "mismatch", reason: `${hash} moves no value` };
        paid = native.value;
      }
      if (expectedUnits !== undefined && paid < expectedUnits) {
        return { status: "mismatch", reason: `${hash} pays ${paid} units, the session asked ${expectedUnits}` };
      }
      return { status: "verified" };
    },
  };
}

function shortError(err: unknown): string {
  return ((err as { shortMessage?: string; message?: string })?.shortMessage ?? String((err as Error)?.message ?? err)).slice(0, 200);
}

/**
 * The verifier the operator configured through the environment, or none:
 * `EVM_VERIFY_RPC_URLS=1=https://eth.example,8453=https://base.example`, `EVM_VERIFY_CONFIRMATIONS=12`,
 * `EVM_VERIFY_TOKENS=8453:USDC=0x8335…` (the tokens that may be named by symbol or contract).
 */
export function chainVerifierFromEnv(env: Record<string, string | undefined>): ChainVerifier | undefined {
  const confirmations = env.EVM_VERIFY_CONFIRMATIONS ? Number(env.EVM_VERIFY_CONFIRMATIONS) : undefined;
  if (confirmations !== undefined && (!Number.isInteger(confirmations) || confirmations < 1)) throw new Error("EVM_VERIFY_CONFIRMATIONS must be a positive integer");
  const chains = parseRpcList(env.EVM_VERIFY_RPC_URLS, confirmations);
  const tokens = parseTokenList(env.EVM_VERIFY_TOKENS);
  return chains.length ? createEvmChainVerifier({ chains, tokens }) : undefined;
}
