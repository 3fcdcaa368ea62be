/**
 * The console's operator login: an scrypt password hash in `console_operators`, a session in a signed
 * (HS256) HttpOnly cookie, and CSRF tokens bound to that session.
 *
 * The signing key is derived with HKDF from the current master key, so no extra secret has to be
 * configured; rotating MASTER_KEYS signs every operator out, and a new password or signing out (both bump
 * `session_epoch`) ends every session of that operator.
 */
import { createHmac, hkdfSync, randomBytes, scrypt as scryptCallback, type ScryptOptions } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import type { Kysely } from "kysely";
import { parseMasterKeys, randomToken, safeEqual } from "../crypto/secrets.ts";
import type { Database } from "../db/schema.ts";
import type { BridgeDeps } from "../deps.ts";

export interface ConsoleOperatorsTable {
  id: string;
  username: string;
  password_hash: string;
  session_epoch: number;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

export interface ConsoleDatabase extends Database {
  console_operators: ConsoleOperatorsTable;
}

/** The console's tables live beside the core ones (migration 005); this view adds their types. */
export function consoleDb(deps: BridgeDeps): Kysely<ConsoleDatabase> {
  return deps.db.kysely as unknown as Kysely<ConsoleDatabase>;
}

export const defaultOperator = "admin";
export const minPasswordLength = 10;
export const sessionCookie = "cb_console";
export const loginCsrfCookie = "cb_console_login";
const sessionTtlSeconds = 12 * 60 * 60;

// OWASP's scrypt floor is N=2^17,r=8,p=1; 2^15 keeps a login under ~100 ms on a small VM while the
// password itself is at least 10 characters and logins are rate-limited.
const scryptParams = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 };

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize("NFKC"), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p, keyLength } = scryptParams;
  const key = await scrypt(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r });
  return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const N = Number(n);
  const actual = await scrypt(password, Buffer.from(salt, "base64url"), expected.length, { N, r: Number(r), p: Number(p), maxmem: 256 * N * Number(r) });
  return safeEqual(actual, expected);
}

export class OperatorPasswordError extends Error {}

/**
 * Sets (or replaces) an operator's password: the console's setup step, run from the CLI.
 * A new password bumps the session epoch, which signs out every open console session of that operator.
 */
export async function setOperatorPassword(deps: BridgeDeps, password: string, username = defaultOperator): Promise<void> {
  if (password.length < minPasswordLength) throw new OperatorPasswordError(`the password must have at least ${minPasswordLength} characters`);
  if (!/^[A-Za-z0-9_.@-]{1,100}$/.test(username)) throw new OperatorPasswordError("the user name uses letters, digits, _ . @ -");
  const db = consoleDb(deps);
  const passwordHash = await hashPassword(password);
  const now = deps.clock().getTime();
  const existing = await db.selectFrom("console_operators").select(["id", "session_epoch"]).where("username", "=", username).executeTakeFirst();
  if (existing) {
    await db.updateTable("console_operators")
      .set({ password_hash: passwordHash, session_epoch: existing.session_epoch + 1, updated_at: now })
      .where("id", "=", existing.id).execute();
    return;
  }
  await db.insertInto("console_operators").values({
    id: `op_${randomBytes(12).toString("hex")}`,
    username,
    password_hash: passwordHash,
    session_epoch: 1,
    created_at: now,
    updated_at: now,
    last_login_at: null,
  }).execute();
}

export async function hasOperators(deps: BridgeDeps): Promise<boolean> {
  return Boolean(await consoleDb(deps).selectFrom("console_operators").select("id").limit(1).executeTakeFirst());
}

const keyCache = new WeakMap<BridgeDeps, { session: Uint8Array; csrf: Buffer }>();

function consoleKeys(deps: BridgeDeps): { session: Uint8Array; csrf: Buffer } {
  let keys = keyCache.get(deps);
  if (!keys) {
    const master = parseMasterKeys(deps.config.MASTER_KEYS ?? "")[0]!.key;
    const derive = (info: string) => Buffer.from(hkdfSync("sha256", master, "cartbridge-console", info, 32));
    keys = { session: new Uint8Array(derive("session-jwt-v1")), csrf: derive("csrf-v1") };
    keyCache.set(deps, keys);
  }
  return keys;
}

export interface ConsoleSession {
  operatorId: string;
  username: string;
  /** Token id: the CSRF token is bound to it. */
  sid: string;
}

/** Checks the password and returns a signed session token, or undefined. */
export async function login(deps: BridgeDeps, username: string, password: string): Promise<string | undefined> {
  const db = consoleDb(deps);
  const operator = await db.selectFrom("console_operators").selectAll().where("username", "=", username).executeTakeFirst();
  // A made-up hash for unknown users keeps the timing of "no such user" and "wrong password" alike.
  const ok = await verifyPassword(password, operator?.password_hash ?? dummyHash);
  if (!operator || !ok) return undefined;
  await db.updateTable("console_operators").set({ last_login_at: deps.clock().getTime() }).where("id", "=", operator.id).execute();
  const nowSeconds = Math.floor(deps.clock().getTime() / 1000);
  return new SignJWT({ ep: operator.session_epoch, usr: operator.username })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(operator.id)
    .setJti(randomToken(18))
    .setIssuer("cartbridge-console")
    .setAudience("cartbridge-console")
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + sessionTtlSeconds)
    .sign(consoleKeys(deps).session);
}

const dummyHash = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** The session a cookie holds, if its signature, expiry and epoch are still good. */
export async function readSession(deps: BridgeDeps, token: string | undefined): Promise<ConsoleSession | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, consoleKeys(deps).session, {
      algorithms: ["HS256"],
      issuer: "cartbridge-console",
      audience: "cartbridge-console",
      currentDate: deps.clock(),
    });
    if (!payload.sub || !payload.jti || typeof payload.ep !== "number") return undefined;
    const operator = await consoleDb(deps).selectFrom("console_operators").select(["id", "username", "session_epoch"])
      .where("id", "=", payload.sub).executeTakeFirst();
    if (!operator || operator.session_epoch !== payload.ep) return undefined;
    return { operatorId: operator.id, username: operator.username, sid: payload.jti };
  } catch {
    return undefined;
  }
}

/**
 * Signing out ends the session for real, not only in this browser: a copied cookie would stay valid until
 * it expires. Bumping the operator's session epoch refuses every token signed before, so it signs that
 * operator out on every device; a per-token revocation list would need a table and a lookup per request
 * for little gain on a console with a handful of operators.
 */
export async function logout(deps: BridgeDeps, session: ConsoleSession): Promise<void> {
  await consoleDb(deps).updateTable("console_operators")
    .set((eb) => ({ session_epoch: eb("session_epoch", "+", 1), updated_at: deps.clock().getTime() }))
    .where("id", "=", session.operatorId).execute();
}

/** Synchronizer token: an HMAC of the session id, so it is valid for this session only. */
export function csrfTokenFor(deps: BridgeDeps, session: ConsoleSession): string {
  return createHmac("sha256", consoleKeys(deps).csrf).update(`session:${session.sid}`).digest("base64url");
}

export function isValidCsrfToken(deps: BridgeDeps, session: ConsoleSession, token: unknown): boolean {
  return typeof token === "string" && token.length > 0 && safeEqual(token, csrfTokenFor(deps, session));
}

export interface LoginThrottleOptions {
  /** Attempts per user name in the window (a guess at one operator's password). */
  perUsername?: number;
  /** Attempts per client address in the window (one client spraying many user names). */
  perAddress?: number;
  windowMs?: number;
  /** Buckets kept in memory; past this the least recently used are dropped, never all at once. */
  maxBuckets?: number;
}

/**
 * Sign-in attempts in a sliding window, per user name and per client address; past either limit the
 * login answers 429 with Retry-After. An attempt is counted *before* the password is checked, so requests
 * sent in parallel cannot all slip in while scrypt runs; a success refunds it. In-process, like the API
 * rate limit: enough to make guessing a 10-character password hopeless.
 */
export class LoginThrottle {
  private readonly buckets = new Map<string, number[]>();
  private readonly perUsername: number;
  private readonly perAddress: number;
  private readonly windowMs: number;
  private readonly maxBuckets: number;

  constructor(options: LoginThrottleOptions = {}) {
    this.perUsername = options.perUsername ?? 20;
    this.perAddress = options.perAddress ?? 100;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.maxBuckets = options.maxBuckets ?? 10_000;
  }

  /**
   * Counts an attempt and returns 0, or counts nothing and returns the seconds until the oldest attempt
   * of a full bucket leaves the window. Synchronous on purpose: no await between the check and the count.
   */
  attempt(username: string, address: string, nowMs: number): number {
    const limits: Array<[string, number]> = [[`user:${username}`, this.perUsername], [`addr:${address}`, this.perAddress]];
    let wait = 0;
    for (const [key, limit] of limits) {
      const recent = this.recent(key, nowMs);
      if (recent.length >= limit) wait = Math.max(wait, Math.ceil((recent[recent.length - limit]! + this.windowMs - nowMs) / 1000));
    }
    if (wait > 0) return Math.max(1, wait);
    for (const [key] of limits) this.touch(key, [...this.recent(key, nowMs), nowMs]);
    return 0;
  }

  /** The password was right: the user name's failures are forgiven, and this attempt is not held against the address. */
  succeed(username: string, address: string, nowMs: number): void {
    this.buckets.delete(`user:${username}`);
    const recent = this.recent(`addr:${address}`, nowMs);
    const at = recent.lastIndexOf(nowMs);
    if (at >= 0) recent.splice(at, 1);
    this.touch(`addr:${address}`, recent);
  }

  private recent(key: string, nowMs: number): number[] {
    return (this.buckets.get(key) ?? []).filter((t) => nowMs - t < this.windowMs);
  }

  /** Re-inserts the bucket so Map order is least recently used first, then drops from the front. */
  private touch(key: string, times: number[]): void {
    this.buckets.delete(key);
    if (times.length > 0) this.buckets.set(key, times);
    for (const oldest of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) break;
      this.buckets.delete(oldest);
    }
  }
}
