/**
 * Assembles a running bridge from a config and the plugins handed in by the composition root
 * (`src/main.ts`). Tests, the demo and the benchmarks build bridges the same way.
 */
import type { Hono } from "hono";
import { ProviderRegistry, type AnyPaymentProvider } from "../plugins/types.ts";
import type { Config } from "./config.ts";
import { parseMasterKeys, SecretBox } from "./crypto/secrets.ts";
import { migrateToLatest, openDatabase, type Db } from "./db/database.ts";
import type { BridgeDeps } from "./deps.ts";
import { createApp, type AppExtensions } from "./http/app.ts";
import type { AppEnv } from "./http/middleware.ts";
import { createLogger, type Logger } from "./logger.ts";
import { StoreAdapterRegistry, type AnyStoreAdapter } from "./stores/port.ts";
import { BackgroundWorkers } from "./workers/background.ts";

export interface BridgeOptions {
  config: Config;
  providers: AnyPaymentProvider[];
  storeAdapters: AnyStoreAdapter[];
  /** Start the background loops (webhook processing, store updates, sweeper, reconciler). */
  workers?: boolean;
  providerFetch?: typeof fetch;
  storeFetch?: typeof fetch;
  clock?: () => Date;
  logger?: Logger;
  db?: Db;
  chainVerifier?: BridgeDeps["chainVerifier"];
  /** Extra routes: receives the deps so store platforms can mount their callbacks. */
  mounts?: (deps: BridgeDeps) => AppExtensions["mounts"];
}

export interface Bridge {
  deps: BridgeDeps;
  app: Hono<AppEnv>;
  workers: BackgroundWorkers;
  close(): Promise<void>;
}

export async function createBridge(options: BridgeOptions): Promise<Bridge> {
  const { config } = options;
  if (!config.MASTER_KEYS) throw new Error("MASTER_KEYS is required (generate one with: npx cartbridge keygen)");
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const db = options.db ?? openDatabase(config.DATABASE_URL);
  await migrateToLatest(db);
  const workers = new BackgroundWorkers(config.WORKER_POLL_MS, (name, err) => logger.error("background work failed", { loop: name, err }));
  const deps: BridgeDeps = {
    config,
    db,
    secrets: new SecretBox(parseMasterKeys(config.MASTER_KEYS)),
    providers: new ProviderRegistry(options.providers),
    storeAdapters: new StoreAdapterRegistry(options.storeAdapters),
    logger,
    clock: options.clock ?? (() => new Date()),
    providerFetch: options.providerFetch ?? fetch,
    storeFetch: options.storeFetch ?? fetch,
    signals: workers,
    ...(options.chainVerifier ? { chainVerifier: options.chainVerifier } : {}),
  };
  workers.attach(deps);
  const app = createApp(deps, { mounts: options.mounts?.(deps) ?? [] });
  if (options.workers ?? config.WORKERS_ENABLED) workers.start();
  return {
    deps,
    app,
    workers,
    async close() {
      await workers.stop();
      if (!options.db) await db.close();
    },
  };
}
