/**
 * The `ChainVerifier` port (src/deps.ts) for EVM chains: when another provider's verified webhook names a
 * transaction, read it from the bridge's own RPC and check it really paid this session — succeeded, deep
 * enough, a decoded transfer to the session's address (when the platform told us the address) of the
 * right token, for at least the amount asked (when the platform told us the amount in token units).
 */
import { getAddress, isAddress, isHash, parseEventLogs, type Address, type Hash, type PublicClient } from "viem";
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

export function createEvmChainVerifier(options: { chains: VerifierChain[]; client?: (rpcUrl: string) => PublicClient }): ChainVerifier {
  const byId = new Map(options.chains.map((c) => [c.chainId, c]));
  const clientFor = options.client ?? rpcClient;
  return {
    async verify(tx: TransactionRef, session) {
      const chainId = tx.chainId ? parseChainId(tx.chainId) : undefined;
      const chain = chainId === undefined ? undefined : byId.get(chainId);
      if (!chain || !tx.hash) return { status: "unsupported" };
      if (!isHash(tx.hash)) return { status: "mismatch", reason: `${tx.hash} is not a transaction hash` };
      const client = clientFor(chain.rpcUrl);
      let receipt;
      try {
        receipt = await client.getTransactionReceipt({ hash: tx.hash as Hash });
      } catch {
        return { status: "mismatch", reason: `transaction ${tx.hash} not found on chain ${chainId}` };
      }
      if (receipt.status !== "success") return { status: "mismatch", reason: `transaction ${tx.hash} reverted` };
      const required = chain.confirmations ?? 1;
      const head = await client.getBlockNumber({ cacheTime: 0 });
      const depth = head - receipt.blockNumber + 1n;
      if (depth < BigInt(required)) return { status: "mismatch", reason: `transaction ${tx.hash} has ${depth} of ${required} confirmations` };

      const data = session.providerData;
      const recipient = addressFrom(data, recipientKeys);
      const token = tx.asset && isAddress(tx.asset, { strict: false }) ? getAddress(tx.asset) : addressFrom(data, tokenKeys);
      const expectedUnits = unitsFrom(data);

      let paid: bigint;
      const transfers = parseEventLogs({ abi: [transferEvent], logs: receipt.logs, eventName: "Transfer", strict: true })
        .filter((l) => (!token || getAddress(l.address) === token) && (!recipient || getAddress(l.args.to) === recipient));
      if (token) {
        if (transfers.length === 0) return { status: "mismatch", reason: `no ${token} transfer${recipient ? ` to ${recipient}` : ""} in ${tx.hash}` };
        paid = transfers.reduce((sum, l) => sum + l.args.value, 0n);
      } else if (transfers.length > 0 && recipient) {
        paid = transfers.reduce((sum, l) => sum + l.args.value, 0n);
      } else {
        const native = await client.getTransaction({ hash: tx.hash as Hash });
        if (recipient && (!native.to || getAddress(native.to) !== recipient)) {
          return { status: "mismatch", reason: `${tx.hash} pays ${native.to ?? "a contract creation"}, not ${recipient}` };
        }
        if (native.value === 0n) return { status: "mismatch", reason: `${tx.hash} moves no value` };
        paid = native.value;
      }
      if (expectedUnits !== undefined && paid < expectedUnits) {
        return { status: "mismatch", reason: `${tx.hash} pays ${paid} units, the session asked ${expectedUnits}` };
      }
      return { status: "verified" };
    },
  };
}

/**
 * The verifier the operator configured through the environment, or none:
 * `EVM_VERIFY_RPC_URLS=1=https://eth.example,8453=https://base.example`, `EVM_VERIFY_CONFIRMATIONS=12`.
 */
export function chainVerifierFromEnv(env: Record<string, string | undefined>): ChainVerifier | undefined {
  const confirmations = env.EVM_VERIFY_CONFIRMATIONS ? Number(env.EVM_VERIFY_CONFIRMATIONS) : undefined;
  if (confirmations !== undefined && (!Number.isInteger(confirmations) || confirmations < 1)) throw new Error("EVM_VERIFY_CONFIRMATIONS must be a positive integer");
  const chains = parseRpcList(env.EVM_VERIFY_RPC_URLS, confirmations);
  return chains.length ? createEvmChainVerifier({ chains }) : undefined;
}
