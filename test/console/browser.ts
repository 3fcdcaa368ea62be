/**
 * Browser helpers for the console's tests: headless Debian Chromium through playwright-core, and a real
 * bridge served over HTTP on 127.0.0.1 (port 0).
 */
import { existsSync, mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { chromium, type Browser } from "playwright-core";
import type { Bridge } from "../../src/bridge.ts";

export const chromiumPath = "/usr/bin/chromium";

/** Why browser tests cannot run here (undefined when they can). */
export function browserUnavailableReason(): string | undefined {
  return existsSync(chromiumPath) ? undefined : `Chromium not found at ${chromiumPath} (install it with: apt-get install chromium)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export interface ServedBridge {
  url: string;
  close(): Promise<void>;
}

export async function serveBridge(bridge: Bridge): Promise<ServedBridge> {
  const server: ServerType = serve({ fetch: bridge.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }),
  };
}

/**
 * Every run saves its screenshots as artifacts (artifacts/screenshots, ignored by git). The README's copies
 * in docs/screenshots are refreshed on purpose: `UPDATE_SCREENSHOTS=1 npx vitest run src/console`.
 */
export const screenshotDir = join(
  dirname(fileURLToPath(import.meta.url)), "..", "..",
  process.env.UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : "artifacts/screenshots",
);

export function screenshotPath(name: string): string {
  mkdirSync(screenshotDir, { recursive: true });
  return join(screenshotDir, `${name}.png`);
}
