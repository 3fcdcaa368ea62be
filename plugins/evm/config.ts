/** The `evm` provider's credentials and settings, as a merchant configures them. */
import { z } from "zod";
import { getAddress, isAddress, type Address } from "viem";

const address = z.string().refine((v) => isAddress(v, { strict: false }), "not an EVM address").transform((v) => getAddress(v));
const decimalRate = z.string().regex(/^\d+(\.\d+)?$/, "a positive decimal like 3012.55");

export const rateConfigSchema = z.discriminatedUnion("kind", [
  /** A fixed price: fiat (in `currency`) per one whole unit of the asset. */
  z.object({ kind: z.literal("static"), currency: z.string().length(3).default("USD"), price: decimalRate }),
  /** A Chainlink AggregatorV3 feed (asset/`currency`) read on `chainId` (the asset's chain if omitted). */
  z.object({
    kind: z.literal("chainlink"),
    currency: z.string().length(3).default("USD"),
    feed: address,
    chainId: z.number().int().positive().optional(),
    /** A feed answer older than this is refused (no session is created on a stale price). */
    maxAgeSeconds: z.number().int().positive().default(3600),
  }),
]);
export type RateConfig = z.infer<typeof rateConfigSchema>;

export const assetSchema = z
  .object({
    kind: z.enum(["native", "erc20"]),
    symbol: z.string().min(1).max(32),
    decimals: z.number().int().min(0).max(36),
    /** The token contract (erc20 only): the token is recognised by this address, never by its symbol. */
    address: address.optional(),
    /** A USD stablecoin: priced at par for USD sessions. */
    usdPeg: z.boolean().default(false),
    rate: rateConfigSchema.optional(),
  })
  .refine((a) => (a.kind === "erc20") === (a.address !== undefined), "erc20 assets need an address; native ones have none");
export type AssetConfig = z.infer<typeof assetSchema>;

export const chainSchema = z.object({
  chainId: z.number().int().positive(),
  name: z.string().min(1),
  rpcUrl: z.url(),
  /** Blocks, counting the one that holds the transfer, before it is credited. */
  confirmations: z.number().int().min(1).default(12),
  blockTimeMs: z.number().int().positive().default(12_000),
  /** Link to a transaction, `{hash}` replaced (e.g. `https://etherscan.io/tx/{hash}`). */
  explorerTxUrl: z.string().optional(),
  assets: z.array(assetSchema).min(1),
});
export type ChainConfig = z.infer<typeof chainSchema>;

export const evmSettingsSchema = z
  .object({
    chains: z.array(chainSchema).min(1),
    /** `<chainId>:native` or `<chainId>:<token address>`. */
    defaultAsset: z.string().regex(/^\d+:(native|0x[0-9a-fA-F]{40})$/),
    /** Payments after expiry and within this many minutes are `paid_late`; later ones are held for review. */
    graceMinutes: z.number().int().min(0).default(60),
    /** How long past expiry + grace an address is still watched, so very late money is recorded and flagged. */
    lateWatchHours: z.number().int().min(0).default(72),
    /** Blocks read per pass at most (a bound on each getLogs range). */
    maxBlocksPerPass: z.number().int().min(1).max(10_000).default(500),
  })
  .refine((s) => findAsset(s.chains, s.defaultAsset) !== undefined, "defaultAsset names no configured asset");
export type EvmSettings = z.infer<typeof evmSettingsSchema>;

export const evmCredentialsSchema = z.object({
  /** Account-level extended public key (m/44'/60'/0'); deposit addresses are its children /0/i. */
  xpub: z.string().regex(/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/, "an extended public key (xpub…)"),
});
export type EvmCredentials = z.infer<typeof evmCredentialsSchema>;

export function assetRef(chainId: number, asset: Pick<AssetConfig, "kind" | "address">): string {
  return `${chainId}:${asset.kind === "native" ? "native" : asset.address!.toLowerCase()}`;
}

export function findAsset(chains: ChainConfig[], ref: string): { chain: ChainConfig; asset: AssetConfig } | undefined {
  const [id, which] = ref.split(":");
  const chain = chains.find((c) => String(c.chainId) === id);
  const asset = chain?.assets.find((a) => assetRef(chain.chainId, a) === `${id}:${which!.toLowerCase()}`);
  return chain && asset ? { chain, asset } : undefined;
}

export function explorerLink(chain: Pick<ChainConfig, "explorerTxUrl">, hash: string): string | undefined {
  return chain.explorerTxUrl ? chain.explorerTxUrl.replace("{hash}", hash) : undefined;
}

export type { Address };
