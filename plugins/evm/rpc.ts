/** One viem public client per RPC URL (HTTP polling; no websockets, no third-party indexer). */
import { createPublicClient, http, parseAbiItem, type PublicClient } from "viem";

const clients = new Map<string, PublicClient>();

export function rpcClient(rpcUrl: string): PublicClient {
  let client = clients.get(rpcUrl);
  if (!client) {
    client = createPublicClient({ transport: http(rpcUrl, { retryCount: 1, timeout: 15_000 }) }) as PublicClient;
    clients.set(rpcUrl, client);
  }
  return client;
}

export const transferEvent = parseAbiItem("event Transfer(address indexed from, address indexed to, uint256 value)");
