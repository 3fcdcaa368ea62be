import { randomBytes } from "node:crypto";

/** Prefixed random id (`cs_5f1c…`): 96 bits of randomness, hex, safe in URLs and every store's metadata. */
export function newId(prefix: "cs" | "st" | "key" | "conn" | "pay" | "wh" | "whr" | "su" | "evt"): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}
