/**
 * Deposit addresses from the merchant's account-level xpub: child /0/i (the receive chain wallets use for
 * m/44'/60'/0'/0/i), so the merchant's own wallet shows the funds. Only public keys are involved.
 */
import { createHash } from "node:crypto";
import { HDKey } from "@scure/bip32";
import { secp256k1 } from "@noble/curves/secp256k1";
import { bytesToHex, type Address } from "viem";
import { publicKeyToAddress } from "viem/accounts";

const receiveChains = new Map<string, HDKey>();

export function depositAddress(xpub: string, index: number): Address {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) throw new Error(`derivation index out of range: ${index}`);
  let receive = receiveChains.get(xpub);
  if (!receive) {
    receive = HDKey.fromExtendedKey(xpub).deriveChild(0);
    receiveChains.set(xpub, receive);
  }
  const child = receive.deriveChild(index);
  if (!child.publicKey) throw new Error("no public key");
  const uncompressed = secp256k1.ProjectivePoint.fromHex(child.publicKey).toRawBytes(false);
  return publicKeyToAddress(bytesToHex(uncompressed));
}

/** A short stable id for an xpub (indexes are unique per xpub, whichever connection uses it). */
export function xpubId(xpub: string): string {
  return createHash("sha256").update(xpub).digest("hex").slice(0, 16);
}

export function isValidXpub(xpub: string): boolean {
  try {
    const key = HDKey.fromExtendedKey(xpub);
    return !key.privateKey && key.publicKey !== null;
  } catch {
    return false;
  }
}
