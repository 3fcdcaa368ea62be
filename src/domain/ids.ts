import { randomFillSync } from "node:crypto";

/**
 * Random bytes from the system CSPRNG, drawn a kilobyte at a time and each byte handed out once. One
 * `randomBytes(12)` call costs about 5 µs here (a trip into OpenSSL for 12 bytes), and a checkout create
 * makes several ids: this is how Node's own `crypto.randomUUID()` amortizes it too.
 */
const pool = Buffer.alloc(1024);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString("hex", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** Prefixed random id (`cs_5f1c…`): 96 bits of randomness, hex, safe in URLs and every store's metadata. */
export function newId(prefix: "cs" | "st" | "key" | "conn" | "pay" | "wh" | "whr" | "su" | "evt"): string {
  return `${prefix}_${randomHex(12)}`;
}
