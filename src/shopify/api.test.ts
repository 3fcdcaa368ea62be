import { expect, it } from "vitest";
import { isShopDomain, parseMtlsHeader } from "./api.ts";

it.each([
  ["cartbridge-test.myshopify.com", true],
  ["a.myshopify.com", true],
  ["evil.example.com", false],
  ["x.myshopify.com.evil.com", false],
  ["shop.myshopify.io", false],
  ["admin.shopify.com", false],
  ["-bad.myshopify.com", false],
  ["Upper.myshopify.com", false],
])("isShopDomain(%s) = %s", (shop, expected) => {
  expect(isShopDomain(shop)).toBe(expected);
});

it("parses the mTLS header setting", () => {
  expect(parseMtlsHeader("X-Client-Verify: SUCCESS")).toEqual({ name: "x-client-verify", value: "SUCCESS" });
  expect(parseMtlsHeader(undefined)).toBeUndefined();
  expect(() => parseMtlsHeader("no colon")).toThrow();
  expect(() => parseMtlsHeader("X-Client-Verify:")).toThrow();
});
