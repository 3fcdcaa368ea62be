import { expect, it } from "vitest";
import { explorerTxUrl } from "./explorers.ts";

const hash = `0x${"ab".repeat(32)}`;

it("links a transaction on a known chain by id, CAIP-2 id or name", () => {
  expect(explorerTxUrl("8453", hash)).toBe(`https://basescan.org/tx/${hash}`);
  expect(explorerTxUrl("eip155:1", hash)).toBe(`https://etherscan.io/tx/${hash}`);
  expect(explorerTxUrl("Polygon", hash)).toBe(`https://polygonscan.com/tx/${hash}`);
});

it("gives no link for an unknown chain or a missing hash, and keeps a hash from breaking out of the path", () => {
  expect(explorerTxUrl("999999", hash)).toBeUndefined();
  expect(explorerTxUrl("8453", null)).toBeUndefined();
  expect(explorerTxUrl(null, hash)).toBeUndefined();
  expect(explorerTxUrl("1", "../../x?y=1#z")).toBe("https://etherscan.io/tx/..%2F..%2Fx%3Fy%3D1%23z");
});
