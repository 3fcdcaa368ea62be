/**
 * A bridge wired for the `evm` provider against a TestChain: a custom store pointing at a real
 * StoreEndpoint, an evm connection whose xpub belongs to a test merchant wallet, and helpers to run the
 * watcher and the outbox.
 */
import { HDKey } from "@scure/bip32";
import type { Address } from "viem";
import { createBridge, type Bridge } from "../../src/bridge.ts";
import { configWith, type Config } from "../../src/config.ts";
import { generateMasterKeySpec } from "../../src/crypto/secrets.ts";
import { sandboxProvider } from "../../plugins/sandbox/index.ts";
import { customStoreAdapter } from "../../src/stores/custom.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { createStore } from "../../src/usecases/stores.ts";
import { evmProvider } from "../../plugins/evm/index.ts";
import type { AssetConfig } from "../../plugins/evm/config.ts";
import type { TestChain } from "./node.ts";

/** The test merchant's wallet: a fixed seed (test money only); the bridge only ever sees its xpub. */
export const merchantSeed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const merchantXpub = HDKey.fromMasterSeed(merchantSeed).derive("m/44'/60'/0'").publicExtendedKey;

export interface EvmFixture {
  bridge: Bridge;
  storeId: string;
  testKey: string;
  signingSecret: string;
  connectionId: string;
}

export async function createEvmBridge(options: {
  databaseUrl: string;
  publicUrl?: string;
  config?: Partial<Record<keyof Config, string>>;
  workers?: boolean;
}): Promise<Bridge> {
  return createBridge({
    providers: [sandboxProvider, evmProvider],
    storeAdapters: [customStoreAdapter],
    workers: options.workers ?? false,
    config: configWith({
      DATABASE_URL: options.databaseUrl,
      PUBLIC_URL: options.publicUrl ?? "http://bridge.test",
      MASTER_KEYS: generateMasterKeySpec("test"),
      LOG_LEVEL: "silent",
      OUTBOX_BASE_DELAY_MS: "50",
      OUTBOX_MAX_DELAY_MS: "400",
      WORKER_POLL_MS: "50",
      ...options.config,
    }),
  });
}

export interface ChainSetup {
  chain: TestChain;
  token: Address;
  confirmations?: number;
  graceMinutes?: number;
  nativeRate?: AssetConfig["rate"];
  defaultAsset?: string;
}

export function evmSettings(setup: ChainSetup) {
  return {
    chains: [
      {
        chainId: setup.chain.chainId,
        name: "Ganache",
        rpcUrl: setup.chain.rpcUrl,
        confirmations: setup.confirmations ?? 3,
        blockTimeMs: 1000,
        explorerTxUrl: "https://explorer.test/tx/{hash}",
        assets: [
          { kind: "erc20", symbol: "USDC", decimals: 6, address: setup.token, usdPeg: true },
          { kind: "native", symbol: "ETH", decimals: 18, ...(setup.nativeRate ? { rate: setup.nativeRate } : {}) },
        ],
      },
    ],
    defaultAsset: setup.defaultAsset ?? `${setup.chain.chainId}:${setup.token}`,
    graceMinutes: setup.graceMinutes ?? 60,
  };
}

/** A custom store whose default provider is `evm`. */
export async function addEvmStore(bridge: Bridge, endpointUrl: string, setup: ChainSetup): Promise<EvmFixture> {
  const store = await createStore(bridge.deps, { name: "Chain shop", platform: "custom", defaultProvider: "evm", credentials: { endpointUrl } });
  const conn = await addConnection(bridge.deps, { storeId: store.storeId, provider: "evm", livemode: false, credentials: { xpub: merchantXpub }, settings: evmSettings(setup) });
  return { bridge, storeId: store.storeId, testKey: store.keys.testKey, signingSecret: String(store.credentials.signingSecret), connectionId: conn.id };
}
