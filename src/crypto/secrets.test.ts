import { describe, expect, it } from "vitest";
import { generateMasterKeySpec, parseMasterKeys, safeEqual, SecretBox } from "./secrets.ts";

describe("secrets at rest", () => {
  it("seals as compact JWE with the key id and opens it again", async () => {
    const box = new SecretBox(parseMasterKeys(generateMasterKeySpec("k1")));
    const jwe = await box.seal({ apiKey: "secret-123" });
    expect(jwe.split(".")).toHaveLength(5);
    expect(jwe).not.toContain("secret-123");
    expect(JSON.parse(Buffer.from(jwe.split(".")[0]!, "base64url").toString())).toMatchObject({ alg: "dir", enc: "A256GCM", kid: "k1" });
    expect(await box.open(jwe)).toEqual({ apiKey: "secret-123" });
  });

  it("rotates: a new first key encrypts, the old one still decrypts", async () => {
    const old = generateMasterKeySpec("old");
    const sealedOld = await new SecretBox(parseMasterKeys(old)).seal("v");
    const rotated = new SecretBox(parseMasterKeys(`${generateMasterKeySpec("new")},${old}`));
    expect(await rotated.open(sealedOld)).toBe("v");
    expect(rotated.isStale(sealedOld)).toBe(true);
    const resealed = await rotated.reseal(sealedOld);
    expect(rotated.isStale(resealed)).toBe(false);
    await expect(new SecretBox(parseMasterKeys(generateMasterKeySpec("other"))).open(sealedOld)).rejects.toThrow();
  });

  it("refuses tampered ciphertext and malformed keys", async () => {
    const box = new SecretBox(parseMasterKeys(generateMasterKeySpec("k")));
    const jwe = await box.seal("v");
    const parts = jwe.split(".");
    parts[3] = parts[3]!.slice(0, -2) + (parts[3]!.endsWith("AA") ? "BB" : "AA");
    await expect(box.open(parts.join("."))).rejects.toThrow();
    expect(() => parseMasterKeys("k:c2hvcnQ")).toThrow(/32 bytes/);
  });

  it("compares in constant time and exactly", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
  });
});
