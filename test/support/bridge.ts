/** Builds real bridges for tests: a real database, the real HTTP app, the sandbox and custom plugins. */
import { createBridge, type Bridge, type BridgeOptions } from "../../src/bridge.ts";
import { configWith, type Config } from "../../src/config.ts";
import { generateMasterKeySpec } from "../../src/crypto/secrets.ts";
import { builtinProviders, builtinStoreAdapters } from "../../src/main.ts";
import { addConnection } from "../../src/usecases/connections.ts";
import { createStore } from "../../src/usecases/stores.ts";
import type { AnyPaymentProvider } from "../../plugins/types.ts";

export const testPublicUrl = "http://bridge.test";

export interface TestBridgeOptions extends Partial<Omit<BridgeOptions, "config">> {
  databaseUrl: string;
  config?: Partial<Record<keyof Config, string>>;
  extraProviders?: AnyPaymentProvider[];
}

export async function createTestBridge(options: TestBridgeOptions): Promise<Bridge> {
  const { databaseUrl, config, extraProviders, ...rest } = options;
  return createBridge({
    providers: [...builtinProviders, ...(extraProviders ?? [])],
    storeAdapters: builtinStoreAdapters,
    workers: false,
    ...rest,
    config: configWith({
      DATABASE_URL: databaseUrl,
      PUBLIC_URL: testPublicUrl,
      MASTER_KEYS: generateMasterKeySpec("test"),
      LOG_LEVEL: "silent",
      OUTBOX_BASE_DELAY_MS: "50",
      OUTBOX_MAX_DELAY_MS: "400",
      WORKER_POLL_MS: "50",
      ...config,
    }),
  });
}

export interface TestStore {
  storeId: string;
  testKey: string;
  liveKey: string;
  signingSecret: string;
  connectionId: string;
  webhookUrl: string;
}

/** A `custom` store pointing at `endpointUrl`, with a sandbox connection as its default provider. */
export async function createTestStore(bridge: Bridge, endpointUrl: string, signingSecret?: string): Promise<TestStore> {
  const store = await createStore(bridge.deps, {
    name: "Test shop",
    platform: "custom",
    defaultProvider: "sandbox",
    credentials: { endpointUrl, ...(signingSecret ? { signingSecret } : {}) },
  });
  const conn = await addConnection(bridge.deps, { storeId: store.storeId, provider: "sandbox", livemode: false, credentials: {} });
  return {
    storeId: store.storeId,
    testKey: store.keys.testKey,
    liveKey: store.keys.liveKey,
    signingSecret: String(store.credentials.signingSecret),
    connectionId: conn.id,
    webhookUrl: conn.webhookUrl,
  };
}

export function cartBody(overrides: Record<string, unknown> = {}) {
  return {
    order: { id: "1001", number: "1001", key: "wc_order_abc" },
    currency: "USD",
    lineItems: [
      { name: "T-shirt", quantity: 2, unitAmount: "12.50", sku: "TS-1" },
      { name: "Mug", quantity: 1, unitAmount: "8.00" },
    ],
    shippingAmount: "4.99",
    taxAmount: "3.01",
    discountAmount: "1.00",
    amount: "40.00",
    customer: { email: "buyer@example.com" },
    metadata: { channel: "web" },
    successUrl: "https://shop.example/thanks",
    cancelUrl: "https://shop.example/cart",
    ...overrides,
  };
}

export async function postSession(bridge: Bridge, key: string, body: unknown, headers: Record<string, string> = {}) {
  return bridge.app.request("/v1/checkout_sessions", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Presses a button on the sandbox's hosted page, as a buyer would. */
export async function simulate(bridge: Bridge, checkoutUrl: string, outcome: string) {
  const path = new URL(checkoutUrl).pathname;
  return bridge.app.request(`${path}/simulate`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `outcome=${outcome}`,
  });
}

/**
 * Runs the background work until nothing is left: due webhook events, then store updates. With the
 * background loops running too, it also waits for their passes and for work they hold in flight.
 */
export async function drain(bridge: Bridge): Promise<void> {
  const { processDueWebhookEvents } = await import("../../src/usecases/webhooks.ts");
  const { runStoreUpdatesOnce } = await import("../../src/usecases/store-updates.ts");
  const db = bridge.deps.db.kysely;
  for (let i = 0; i < 100; i++) {
    await bridge.workers.settle();
    const a = await processDueWebhookEvents(bridge.deps);
    const b = await runStoreUpdatesOnce(bridge.deps, "test-worker");
    const inFlight =
      (await db.selectFrom("webhook_events").select("id").where("status", "=", "processing").limit(1).execute()).length +
      (await db.selectFrom("store_updates").select("id").where("state", "=", "delivering").limit(1).execute()).length;
    if (a === 0 && b === 0 && inFlight === 0) return;
    if (inFlight) await new Promise((r) => setTimeout(r, 20));
  }
}
