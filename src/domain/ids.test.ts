import { describe, expect, it } from "vitest";
import { newId } from "./ids.ts";

describe("newId", () => {
  it("is the prefix and 24 hex digits, and never repeats across refills of the random pool", () => {
    // 1,000 ids draw 12 KB: the 1 KB pool is refilled about a dozen times.
    const ids = Array.from({ length: 1000 }, () => newId("cs"));
    for (const id of ids) expect(id).toMatch(/^cs_[0-9a-f]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
