/**
 * A throwaway TLS certificate for the fake Shopify, made at test time with the system's `openssl`: valid for
 * `*.myshopify.com` and 127.0.0.1, so the client checks the very host name the library asked for.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  key: string;
  cert: string;
}

let cached: TestCertificate | undefined;

/** undefined when openssl is missing (the caller skips loudly, or fails under CI=true). */
export function opensslMissingReason(): string | undefined {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
    return undefined;
  } catch {
    return "openssl is not installed (apt-get install openssl): the fake Shopify cannot make its TLS certificate";
  }
}

export function testCertificate(): TestCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "fake-shopify-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2",
      "-subj", "/CN=fake-shopify.test",
      "-addext", "subjectAltName=DNS:*.myshopify.com,IP:127.0.0.1",
    ], { stdio: "pipe" });
    cached = { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
