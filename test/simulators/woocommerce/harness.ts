/**
 * A bridge with the WooCommerce adapter, a WooCommerce simulator, and a "woocommerce" store with a
 * sandbox connection — what the plugin would set up — plus the buyer's steps (checkout, pay).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bridge } from "../../../src/bridge.ts";
import { builtinStoreAdapters } from "../../../src/main.ts";
import type { AnyStoreAdapter } from "../../../src/stores/port.ts";
import { orderMeta, woocommerceStoreAdapter } from "../../../src/stores/woocommerce.ts";
import { addConnection } from "../../../src/usecases/connections.ts";
import { createStore } from "../../../src/usecases/stores.ts";
import { wcAuthRoutes } from "../../../src/http/routes/wc-auth.ts";
import { createTestBridge, drain, postSession, simulate } from "../../support/bridge.ts";
import { WooCommerceSimulator, type SimOrder } from "./server.ts";

export const wooMountPath = "/woocommerce";

/** WooCommerce posts wc-auth keys only to an https callback, so the bridge's public URL is https here. */
export const wooBridgePublicUrl = "https://bridge.test";

export async function createWooBridge(
  databaseUrl: string,
  adapter: AnyStoreAdapter = woocommerceStoreAdapter,
  config: { PUBLIC_URL?: string } = {},
): Promise<Bridge> {
  return createTestBridge({
    databaseUrl,
    config: { PUBLIC_URL: wooBridgePublicUrl, ...config },
    storeAdapters: [...builtinStoreAdapters.filter((a) => a.platform !== "woocommerce"), adapter],
    mounts: (deps) => [{ path: wooMountPath, app: wcAuthRoutes(deps) }],
  });
}

export interface WooStore {
  storeId: string;
  testKey: string;
  connectionId: string;
}

export async function createWooStore(bridge: Bridge, credentials: Record<string, unknown>): Promise<WooStore> {
  const store = await createStore(bridge.deps, { name: "Woo shop", platform: "woocommerce", defaultProvider: "sandbox", credentials });
  const conn = await addConnection(bridge.deps, { storeId: store.storeId, provider: "sandbox", livemode: false, credentials: {} });
  return { storeId: store.storeId, testKey: store.keys.testKey, connectionId: conn.id };
}

/** What the plugin's process_payment does: one session per attempt, its id kept in order meta. */
export async function checkout(bridge: Bridge, sim: WooCommerceSimulator, store: WooStore, order: SimOrder) {
  const res = await postSession(bridge, store.testKey, {
    order: { id: String(order.id), number: order.number, key: order.order_key },
    currency: order.currency,
    lineItems: [{ name: "T-shirt", quantity: 1, unitAmount: order.total }],
    amount: order.total,
    successUrl: `${sim.url}/checkout/order-received/${order.id}/?key=${order.order_key}`,
    cancelUrl: `${sim.url}/cart/`,
  });
  if (res.status !== 201) throw new Error(`session not created: ${res.status} ${await res.text()}`);
  const session = (await res.json()) as { id: string; checkoutUrl: string };
  sim.setMeta(order, orderMeta.sessionId, session.id);
  const hosted = (await bridge.app.request(new URL(session.checkoutUrl).pathname)).headers.get("location")!;
  return { session, hosted };
}

export async function pay(bridge: Bridge, hosted: string, outcome: string): Promise<void> {
  const res = await simulate(bridge, hosted, outcome);
  if (res.status !== 200) throw new Error(`simulate ${outcome}: ${res.status}`);
  await drain(bridge);
}

export function cartbridgeNotes(order: SimOrder): string[] {
  return order.notes.filter((n) => n.note.startsWith("Cartbridge:")).map((n) => n.note);
}

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "cartbridge-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    ], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
