/**
 * The hosted evm page in headless Chromium on a phone-sized screen: it shows the amount, the address and
 * the QR code, and flips to paid (and on to the store) without a reload once the transfer confirms.
 * Needs Debian's chromium at /usr/bin/chromium: skipped (loudly) without it, a failure under CI=true.
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Address } from "viem";
import type { Bridge } from "../../src/bridge.ts";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { cartBody, postSession } from "../../test/support/bridge.ts";
import { StoreEndpoint } from "../../test/support/store-endpoint.ts";
import { startTestChain, type TestChain } from "../../test/chain/node.ts";
import { addEvmStore, createEvmBridge, type EvmFixture } from "../../test/chain/evm-bridge.ts";
import { startEvmWatcher } from "./watcher.ts";

const chromiumPath = "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) {
  console.warn(`\n*** ${chromiumPath} not found: the evm hosted-page browser test is ${process.env.CI === "true" ? "FAILING (CI=true)" : "SKIPPED"} (apt-get install chromium)\n`);
}

describe.skipIf(!hasChromium && process.env.CI !== "true")("evm hosted page in Chromium (390×844)", () => {
  let chain: TestChain;
  let usdc: Address;
  let db: TestDatabase;
  let bridge: Bridge;
  let server: ServerType;
  let base: string;
  let shop: EvmFixture;
  let endpoint: StoreEndpoint;
  let watcher: { stop(): Promise<void> };

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`${chromiumPath} is required under CI=true`);
    chain = await startTestChain();
    usdc = await chain.deployToken();
    db = await createSqliteDatabase();
    let app: Bridge["app"] | undefined;
    server = serve({ fetch: (req) => (app ? app.fetch(req) : new Response("starting", { status: 503 })), hostname: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    bridge = await createEvmBridge({ databaseUrl: db.url, publicUrl: base });
    app = bridge.app;
    endpoint = await new StoreEndpoint("whsec_placeholder").start();
    shop = await addEvmStore(bridge, endpoint.url, { chain, token: usdc, confirmations: 2 });
    endpoint.setSecret(shop.signingSecret);
    watcher = startEvmWatcher(bridge.deps, { owner: "browser-test", intervalMs: 150 });
  });
  afterAll(async () => {
    await watcher?.stop();
    await bridge?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await endpoint?.stop();
    await chain?.stop();
    await db?.drop();
  });

  it("shows amount, address and QR, asks for the rest when partly paid, then flips to paid without a reload and goes back to the store", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const successUrl = `${base}/thanks-from-the-shop`;
      const res = await postSession(bridge, shop.testKey, cartBody({ successUrl }));
      const session = (await res.json()) as { id: string; checkoutUrl: string };
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      let loads = 0;
      page.on("load", () => loads++);
      await page.goto(session.checkoutUrl);
      expect(page.url()).toContain("/p/evm/checkout/");
      expect(await page.getByTestId("amount").textContent()).toBe("40");
      const address = (await page.getByTestId("address").textContent())!.trim();
      expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(await page.locator('[data-testid="qr"] svg').count()).toBe(1);
      expect(await page.getByTestId("status").getAttribute("data-status")).toBe("open");
      expect(await page.getByTestId("countdown").textContent()).toMatch(/^\d+:\d\d$/);
      // Fits a phone: nothing wider than the screen.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      const loadsBeforePaying = loads;
      if (process.env.EVM_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.EVM_PAGE_SCREENSHOT, fullPage: true });

      // A copy the browser refuses is reported as failed, not as copied.
      await page.evaluate(() => Object.defineProperty(navigator, "clipboard", { value: { writeText: () => Promise.reject(new Error("denied")) } }));
      await page.locator('button[data-copy="address"]').click();
      await page.waitForFunction(() => document.querySelector('button[data-copy="address"]')!.textContent === "Copy failed: text selected");
      expect(await page.evaluate(() => String(getSelection()))).toBe(address);
      expect(await page.getByTestId("remaining").isHidden()).toBe(true);

      // Part of it: the page then asks for the rest (text, amount, wallet link and QR) without a reload.
      await chain.transferToken(usdc, address as Address, 15_000_000n);
      await page.waitForSelector('[data-testid="status"][data-status="processing"]', { timeout: 20_000 });
      const fullQr = await page.locator('[data-testid="qr"]').innerHTML();
      await chain.mine(1);
      await page.waitForSelector('[data-testid="status"][data-status="underpaid"]', { timeout: 20_000 });
      await page.waitForFunction(() => !document.getElementById("remaining")!.hidden, undefined, { timeout: 20_000 });
      expect(await page.getByTestId("remaining").textContent()).toBe("Received 15 USDC: send the remaining 25 USDC.");
      expect(await page.getByTestId("amount").textContent()).toBe("25");
      expect(await page.getByTestId("wallet").getAttribute("href")).toMatch(/transfer\?address=0x[0-9a-fA-F]{40}&uint256=25000000$/);
      expect(await page.locator('[data-testid="qr"]').innerHTML()).not.toBe(fullQr);

      await chain.transferToken(usdc, address as Address, 25_000_000n);
      await chain.mine(1);
      await page.waitForSelector('[data-testid="status"][data-status="paid"]', { timeout: 20_000 });
      expect(loads).toBe(loadsBeforePaying); // flipped in place, no reload
      await page.waitForURL(successUrl, { timeout: 20_000 });
    } finally {
      await browser.close();
    }
  });
});
