/**
 * Secrets at rest (store API credentials, platform keys, Shopify tokens) are stored as compact JWE
 * (`dir` + `A256GCM`) with the key id in the protected header, so master keys can rotate: the first
 * key encrypts, every listed key decrypts, and `reencrypt` moves a value to the current key.
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, base64url } from "jose";
import { hash, timingSafeEqual, randomBytes } from "node:crypto";

export interface MasterKey {
  kid: string;
  key: Uint8Array;
}

/** Parses `kid:base64url,kid:base64url` (first = current). Each key must be 32 bytes. */
export function parseMasterKeys(spec: string): MasterKey[] {
  const keys = spec
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [kid, encoded] = part.split(":");
      if (!kid || !encoded) throw new Error("MASTER_KEYS entries look like kid:base64url-key");
      const key = base64url.decode(encoded);
      if (key.length !== 32) throw new Error(`master key ${kid} must be 32 bytes, got ${key.length}`);
      return { kid, key };
    });
  if (keys.length === 0) throw new Error("MASTER_KEYS is empty");
  return keys;
}

export function generateMasterKeySpec(kid = `k${Date.now().toString(36)}`): string {
  return `${kid}:${base64url.encode(randomBytes(32))}`;
}

export class SecretBox {
  private readonly byKid: Map<string, Uint8Array>;
  private readonly current: MasterKey;

  constructor(keys: MasterKey[]) {
    if (!keys[0]) throw new Error("SecretBox needs at least one key");
    this.current = keys[0];
    this.byKid = new Map(keys.map((k) => [k.kid, k.key]));
  }

  async seal(value: unknown): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(value)))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: this.current.kid })
      .encrypt(this.current.key);
  }

  async open<T = unknown>(jwe: string): Promise<T> {
    const { kid } = decodeProtectedHeader(jwe);
    const key = kid ? this.byKid.get(kid) : undefined;
    if (!key) throw new Error(`no master key with id ${String(kid)}`);
    const { plaintext } = await compactDecrypt(jwe, key);
    return JSON.parse(new TextDecoder().decode(plaintext)) as T;
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(jwe: string): boolean {
    return decodeProtectedHeader(jwe).kid !== this.current.kid;
  }

  async reseal(jwe: string): Promise<string> {
    return this.seal(await this.open(jwe));
  }
}

/** One-shot (crypto.hash): no Hash object per call, which the hot paths make several of per request. */
export function sha256Hex(input: string | Uint8Array): string {
  return hash("sha256", input, "hex");
}

/**
 * Constant-time string comparison that does not leak length: both sides are hashed first
 * (as Hono's own `timingSafeEqual` helper does).
 */
export function safeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const ha = hash("sha256", a, "buffer");
  const hb = hash("sha256", b, "buffer");
  return timingSafeEqual(ha, hb) && Buffer.from(a).equals(Buffer.from(b));
}

/** URL-safe random token of `bytes` bytes of entropy. */
export function randomToken(bytes = 24): string {
  return base64url.encode(randomBytes(bytes));
}
