/**
 * A real EVM node for tests, the demo and the benchmark: ganache, in this process, over HTTP on
 * 127.0.0.1 (port 0). Deterministic funded accounts; every transaction is mined at once ("eager"), and
 * `mine()` adds empty blocks to count confirmations. `snapshot()`/`revert()` produce reorgs.
 */
import ganache from "ganache";
import {
  createPublicClient, createWalletClient, http, defineChain,
  type Address, type Hash, type Hex, type PublicClient, type WalletClient, type Chain,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { mockAggregatorAbi, mockAggregatorBytecode, testTokenAbi, testTokenBytecode } from "./contracts.ts";

/** ganache's --deterministic mnemonic: test money only. */
export const testMnemonic = "myth like bonus scare over problem client lizard pioneer submit female collect";

export interface TestChain {
  chainId: number;
  rpcUrl: string;
  chain: Chain;
  publicClient: PublicClient;
  /** Funded accounts (100 ETH each). */
  accounts: HDAccount[];
  wallet(account?: HDAccount): WalletClient;
  mine(blocks?: number): Promise<void>;
  blockNumber(): Promise<bigint>;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  deployToken(options?: { symbol?: string; decimals?: number; supply?: bigint; from?: HDAccount }): Promise<Address>;
  deployAggregator(answer: bigint): Promise<Address>;
  transferToken(token: Address, to: Address, amount: bigint, from?: HDAccount): Promise<Hash>;
  sendNative(to: Address, value: bigint, from?: HDAccount): Promise<Hash>;
  /** RPC calls seen by the node, by method (for the benchmark). */
  rpcCounts: Map<string, number>;
  stop(): Promise<void>;
}

export function ganacheOptions(chainId: number, accounts: number) {
  return {
    logging: { quiet: true },
    chain: { chainId, networkId: chainId },
    wallet: { mnemonic: testMnemonic, totalAccounts: accounts, defaultBalance: 100 },
    miner: { instamine: "eager" as const, blockTime: 0 },
  };
}

export async function startTestChain(options: { chainId?: number; accounts?: number } = {}): Promise<TestChain> {
  const chainId = options.chainId ?? 1337;
  const server = ganache.server(ganacheOptions(chainId, options.accounts ?? 4));
  await server.listen(0, "127.0.0.1");
  const port = (server.address() as { port: number }).port;
  return connectTestChain(`http://127.0.0.1:${port}`, { chainId, accounts: options.accounts ?? 4, stop: () => server.close() });
}

/** The helpers over a ganache node reached by URL (the benchmark runs the node in a child process). */
export function connectTestChain(rpcUrl: string, options: { chainId: number; accounts: number; stop: () => Promise<void> }): TestChain {
  const chainId = options.chainId;
  const chain = defineChain({
    id: chainId,
    name: `ganache-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const rpcCounts = new Map<string, number>();
  const transport = http(rpcUrl, {
    onFetchRequest: async (request) => {
      const body = (await request.clone().json()) as { method: string } | { method: string }[];
      for (const call of Array.isArray(body) ? body : [body]) rpcCounts.set(call.method, (rpcCounts.get(call.method) ?? 0) + 1);
    },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 }) as PublicClient;
  const accounts = Array.from({ length: options.accounts ?? 4 }, (_, i) => mnemonicToAccount(testMnemonic, { addressIndex: i }));
  const wallet = (account = accounts[0]!) => createWalletClient({ account, chain, transport: http(rpcUrl) });
  const rpc = <T>(method: string, params: unknown[] = []) =>
    publicClient.request({ method: method as never, params: params as never }) as Promise<T>;

  const waitFor = async (hash: Hash) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 20_000 });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };

  const deploy = async (bytecode: Hex, from = accounts[0]!): Promise<Address> => {
    const hash = await wallet(from).sendTransaction({ account: from, chain, data: bytecode, gas: 1_000_000n });
    const receipt = await waitFor(hash);
    if (!receipt.contractAddress) throw new Error("no contract address");
    return receipt.contractAddress;
  };

  return {
    chainId,
    rpcUrl,
    chain,
    publicClient,
    accounts,
    wallet,
    rpcCounts,
    async mine(blocks = 1) {
      for (let i = 0; i < blocks; i++) await rpc("evm_mine");
    },
    blockNumber: () => publicClient.getBlockNumber({ cacheTime: 0 }),
    snapshot: () => rpc<Hex>("evm_snapshot"),
    async revert(id) {
      const ok = await rpc<boolean>("evm_revert", [id]);
      if (!ok) throw new Error(`evm_revert ${id} failed`);
    },
    deployToken: ({ symbol = "USDC", decimals = 6, supply = 10n ** 15n, from } = {}) =>
      deploy(testTokenBytecode({ symbol, decimals, supply }), from),
    async deployAggregator(answer) {
      const address = await deploy(mockAggregatorBytecode());
      const hash = await wallet().writeContract({ account: accounts[0]!, chain, address, abi: mockAggregatorAbi, functionName: "setAnswer", args: [answer] });
      await waitFor(hash);
      return address;
    },
    async transferToken(token, to, amount, from = accounts[0]!) {
      const hash = await wallet(from).writeContract({ account: from, chain, address: token, abi: testTokenAbi, functionName: "transfer", args: [to, amount], gas: 100_000n });
      await waitFor(hash);
      return hash;
    },
    async sendNative(to, value, from = accounts[0]!) {
      const hash = await wallet(from).sendTransaction({ account: from, chain, to, value });
      await waitFor(hash);
      return hash;
    },
    stop: options.stop,
  };
}
