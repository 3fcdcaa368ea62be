/**
 * The Shopify CLI configuration files under shopify-app/, parsed as TOML and checked against the shape
 * Shopify CLI's own schemas require (Shopify/cli: payments_app_extension_schemas/*, ui_extension), so a
 * misplaced key is caught here rather than at `shopify app deploy`.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { shopifyApiVersion } from "./api.ts";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "shopify-app");
const toml = (path: string) => parse(readFileSync(join(appDir, path), "utf8")) as Record<string, unknown>;
type Extension = Record<string, unknown> & { targeting: Record<string, unknown>[] };

describe("shopify-app configuration", () => {
  it("offsite payments extension: extension-level keys on the extension, only `target` under targeting", () => {
    const config = toml("extensions/crypto-offsite-payments/shopify.extension.toml");
    expect(config.api_version).toBe(shopifyApiVersion);
    const [extension, ...more] = config.extensions as Extension[];
    expect(more).toEqual([]);
    expect(extension).toMatchObject({
      type: "payments_extension",
      payment_session_url: "https://bridge.example.com/shopify/payments/sessions",
      refund_session_url: "https://bridge.example.com/shopify/payments/refunds",
      merchant_label: expect.any(String),
      supported_countries: expect.arrayContaining(["US"]),
      supported_payment_methods: expect.any(Array),
      test_mode_available: true,
      supports_3ds: false,
      supports_oversell_protection: false,
    });
    expect((extension!.merchant_label as string).length).toBeLessThanOrEqual(50);
    expect(extension!.supports_installments).toBe(extension!.supports_deferred_payments);
    expect(extension!.targeting).toEqual([{ target: "payments.offsite.render" }]);
  });

  it("checkout UI extension: each targeting entry names a module and a target", () => {
    const config = toml("extensions/pay-with-crypto/shopify.extension.toml");
    expect(config.api_version).toBe(shopifyApiVersion);
    const [extension] = config.extensions as Extension[];
    expect(extension!.targeting.map((t) => Object.keys(t).sort())).toEqual([["module", "target"], ["module", "target"]]);
    expect(extension!.capabilities).toEqual({ network_access: true });
  });

  it("app: webhooks for orders, uninstall and the compliance topics", () => {
    const config = toml("shopify.app.toml");
    const subs = (config.webhooks as { subscriptions: Record<string, string[]>[] }).subscriptions;
    expect(subs.flatMap((s) => s.topics ?? [])).toEqual(expect.arrayContaining(["orders/create", "orders/cancelled", "app/uninstalled"]));
    expect(subs.flatMap((s) => s.compliance_topics ?? []).sort()).toEqual(["customers/data_request", "customers/redact", "shop/redact"]);
  });
});
