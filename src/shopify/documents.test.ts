import { expect, it } from "vitest";
import { describeWithShopify } from "../../test/simulators/shopify/harness.ts";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assertPinnedIntegrity, devMcpIntegrity, devMcpPackage, schemaCacheDir, validateDocument, variableErrors } from "../../test/simulators/shopify/schemas.ts";
import { FakeShopify } from "../../test/simulators/shopify/server.ts";
import { testApp, testShop } from "../../test/simulators/shopify/harness.ts";
import { shopifyApiVersion } from "./api.ts";
import { adminDocuments, orderCancelMutation, paymentsAppsDocuments, tagsAddMutation } from "./documents.ts";

describeWithShopify(`GraphQL documents against Shopify's published ${shopifyApiVersion} schemas`, (schemas) => {
  it("targets 2026-07, the newest version @shopify/shopify-api 13.1 knows", () => {
    expect(shopifyApiVersion).toBe("2026-07");
  });

  it.each(Object.entries(adminDocuments))("Admin API: %s is valid", (_name, document) => {
    expect(validateDocument(schemas.admin, document)).toEqual([]);
  });

  it.each(Object.entries(paymentsAppsDocuments))("Payments Apps API: %s is valid", (_name, document) => {
    expect(validateDocument(schemas.paymentsApps, document)).toEqual([]);
  });

  it("the check catches a wrong field, a wrong argument and a document sent to the wrong API", () => {
    expect(validateDocument(schemas.admin, "query { order(id: \"gid://shopify/Order/1\") { totalOutstanding } }")).not.toEqual([]);
    expect(validateDocument(schemas.admin, "mutation { orderCancel(orderId: \"1\", reason: DECLINED) { job { id } } }")).not.toEqual([]);
    expect(validateDocument(schemas.admin, paymentsAppsDocuments.paymentSessionResolveMutation)).not.toEqual([]);
  });

  it("deprecated fields and arguments are refused (orderCancel's refund became refundMethod)", () => {
    const deprecated = orderCancelMutation.replace("refundMethod: { originalPaymentMethodsRefund: false }", "refund: false");
    expect(deprecated).not.toBe(orderCancelMutation);
    expect(validateDocument(schemas.admin, deprecated).join()).toMatch(/refund.*deprecated/);
  });

  it("variables are checked as Shopify coerces them, by the helper and by the fake Shopify", async () => {
    expect(variableErrors(schemas.admin, tagsAddMutation, { id: "gid://shopify/Order/1", tags: ["a"] })).toEqual([]);
    expect(variableErrors(schemas.admin, tagsAddMutation, { id: "gid://shopify/Order/1" })).not.toEqual([]);
    expect(variableErrors(schemas.admin, orderCancelMutation, { orderId: null })).not.toEqual([]);
    const shopify = await new FakeShopify(testApp, schemas).start();
    try {
      shopify.tokens.set("shpat_test", testShop);
      const res = await shopify.fetch(`https://${testShop}/admin/api/${shopifyApiVersion}/graphql.json`, {
        method: "POST", headers: { "content-type": "application/json", "x-shopify-access-token": "shpat_test" },
        body: JSON.stringify({ query: tagsAddMutation, variables: { id: "gid://shopify/Order/1", tags: [{ not: "a string" }] } }),
      });
      expect(((await res.json()) as { errors?: unknown[] }).errors).toHaveLength(1);
      expect(shopify.schemaViolations).toHaveLength(1);
      expect(shopify.calls).toEqual([]);
    } finally {
      await shopify.stop();
    }
  });

  it("the schema package is checked against its pinned sha512, not against the registry that serves it", () => {
    expect(devMcpIntegrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(() => assertPinnedIntegrity(Buffer.from("a different tarball"))).toThrow(/integrity mismatch/);
    const source = join(schemaCacheDir, "SOURCE.txt");
    if (existsSync(source)) expect(readFileSync(source, "utf8").split("\n")[0]).toBe(`${devMcpPackage} ${devMcpIntegrity}`);
  });
});
