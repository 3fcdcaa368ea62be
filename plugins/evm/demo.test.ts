import { expect, it } from "vitest";
import { runOnchainDemo } from "./demo.ts";

it("the on-chain demo runs from cart to the store's paid update", async () => {
  const lines: string[] = [];
  await runOnchainDemo((line) => lines.push(line));
  const text = lines.join("\n");
  expect(text).toMatch(/42\.50 USD → 42\.5 USDC \(42500000 units\)/);
  expect(text).toContain("store received checkout_session.processing");
  expect(text).toMatch(/store received checkout_session\.paid \(amountPaid 42\.50 USD\)/);
  expect(text).toMatch(/session is paid; store updated \d+ ms after the last required confirmation/);
});
