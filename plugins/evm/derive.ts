/**
 * Deposit addresses from the merchant's account-level xpub: child /0/i (the receive chain wallets use for
 * m/44'/60'/0'/0/i), so the merchant's own wallet shows the funds. Only public keys are involved.
 */
import { createHash } from "node:crypto";
import { HARDENED_OFFSET, HDKey } from "@scure/bip32";
import { secp256k1 } from "@noble/curves/secp256k1";
import { bytesToHex, type Address } from "viem";
import { publicKeyToAddress } from "viem/accounts";

const receiveChains = new Map<string, HDKey>();

/** BIP32 version bytes of testnet keys (`tpub…`/`tprv…`); HDKey reads mainnet ones (`xpub…`) by default. */
const testnetVersions = { private: 0x04358394, public: 0x043587cf };

/** The key an `xpub…` or `tpub…` string encodes (the same derivation; only the version bytes differ). */
function parseExtendedKey(xpub: string): HDKey {
  return xpub.startsWith("tpub") || xpub.startsWith("tprv") ? HDKey.fromExtendedKey(xpub, testnetVersions) : HDKey.fromExtendedKey(xpub);
}

export function depositAddress(xpub: string, index: number): Address {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) throw new Error(`derivation index out of range: ${index}`);
  let receive = receiveChains.get(xpub);
  if (!receive) {
    receive = parseExtendedKey(xpub).deriveChild(0);
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

/**
 * Why `xpub` cannot be used, or undefined when it can. It must be a public key at the account level
 * (depth 3, a hardened index: m/44'/60'/0'): the receive addresses are its children /0/i, so a master or
 * address-level key would silently give addresses the merchant's wallet never shows.
 */
export function xpubProblem(xpub: string): string | undefined {
  let key: HDKey;
  try {
    key = parseExtendedKey(xpub);
  } catch {
    return "not a valid extended public key";
  }
  if (key.privateKey) return "a private key: give the extended public key (xpub…), never the xprv";
  if (!key.publicKey) return "not a valid extended public key";
  if (key.depth !== 3 || key.index < HARDENED_OFFSET) {
    return `an extended public key at depth ${key.depth}; export the account-level key m/44'/60'/0' (depth 3)`;
  }
  return undefined;
}

export function isValidXpub(xpub: string): boolean {
  return xpubProblem(xpub) === undefined;
}
