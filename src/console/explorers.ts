/**
 * Block-explorer links for payments whose platform named the chain and the transaction but sent no link.
 * Keyed by EIP-155 chain id (as the EVM watcher records it), by CAIP-2 (`eip155:8453`), or by the chain
 * names platforms use (`base`, `polygon`). A chain missing here simply shows the hash without a link.
 */
const explorers: Record<string, string> = {
  "1": "https://etherscan.io/tx/",
  "10": "https://optimistic.etherscan.io/tx/",
  "56": "https://bscscan.com/tx/",
  "137": "https://polygonscan.com/tx/",
  "8453": "https://basescan.org/tx/",
  "42161": "https://arbiscan.io/tx/",
  "43114": "https://snowtrace.io/tx/",
  "11155111": "https://sepolia.etherscan.io/tx/",
  "84532": "https://sepolia.basescan.org/tx/",
  bitcoin: "https://mempool.space/tx/",
  tron: "https://tronscan.org/#/transaction/",
  solana: "https://solscan.io/tx/",
};

const chainNames: Record<string, string> = {
  ethereum: "1", eth: "1", mainnet: "1", optimism: "10", bsc: "56", bnb: "56", polygon: "137", matic: "137",
  base: "8453", arbitrum: "42161", avalanche: "43114", sepolia: "11155111", "base-sepolia": "84532", btc: "bitcoin", sol: "solana",
};

export function explorerTxUrl(chainId: string | null, txHash: string | null): string | undefined {
  if (!chainId || !txHash) return undefined;
  const key = chainId.trim().toLowerCase().replace(/^eip155:/, "");
  const prefix = explorers[chainNames[key] ?? key];
  return prefix ? `${prefix}${encodeURIComponent(txHash)}` : undefined;
}
