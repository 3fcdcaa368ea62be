import { expect, it } from "vitest";
import { describeWithShopify } from "../../test/simulators/shopify/harness.ts";
import { validateDocument } from "../../test/simulators/shopify/schemas.ts";
import { shopifyApiVersion } from "./api.ts";
import { adminDocuments, paymentsAppsDocuments } from "./documents.ts";

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
});
