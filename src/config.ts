/**
 * The one place that reads `process.env`. Everything else receives a typed `Config`.
 * Every variable is documented in `.env.example`; keep the two in step.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { z } from "zod";
import { parseMasterKeys } from "./crypto/secrets.ts";

const intFrom = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const boolFrom = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1");

export const configSchema = z.object({
  /** `sqlite:<path>` (embedded default) or `mysql://user:pass@host:port/db` (MySQL / MariaDB). */
  DATABASE_URL: z
    .string()
    .default("sqlite:./data/cartbridge.db")
    .refine((v) => v.startsWith("sqlite:") || v.startsWith("mysql://"), {
      message: "must start with sqlite: or mysql://",
    }),
  HOST: z.string().default("127.0.0.1"),
  PORT: intFrom(3000, 0, 65_535),
  /** The bridge's public base URL: checkout URLs and webhook URLs are built from it. */
  PUBLIC_URL: z.url().default("http://localhost:3000").transform((v) => v.replace(/\/+$/, "")),
  /**
   * Keys that encrypt secrets at rest, `kid:base64url(32 bytes)` separated by commas.
   * The first one encrypts; all of them decrypt, so keys can rotate.
   */
  MASTER_KEYS: z.string().optional().superRefine((spec, ctx) => {
    if (spec === undefined) return; // only commands that touch secrets need it; they say so
    try {
      parseMasterKeys(spec);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `${(err as Error).message} (generate one with: npx cartbridge keygen)` });
    }
  }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Largest request body the store API accepts (bytes). */
  API_BODY_LIMIT_BYTES: intFrom(256 * 1024, 1024),
  /** Largest webhook body the bridge reads (bytes). */
  WEBHOOK_BODY_LIMIT_BYTES: intFrom(1024 * 1024, 1024),
  /**
   * Failed store-API authentications per client address and minute; past it the address gets 429 without
   * its key being looked at, until the minute ends. 0 turns the limit off.
   */
  API_KEY_FAILURES_PER_MINUTE: intFrom(60),
  /**
   * Reverse proxies in front of the bridge that each append the address they received from to
   * X-Forwarded-For (1 for a single nginx or load balancer). 0: the socket's peer is the client and
   * X-Forwarded-For is ignored (a client could write anything in it).
   */
  TRUST_PROXY_HOPS: intFrom(0, 0, 10),
  /** Store API requests per minute and key; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: intFrom(1200),
  /** How long a checkout session stays payable. */
  SESSION_TTL_MINUTES: intFrom(60, 1),
  /** A payment this long after expiry is still `paid_late`; later than that it is flagged for review. */
  LATE_PAYMENT_GRACE_MINUTES: intFrom(60),
  /** Replay window for timestamp-signed webhooks. */
  WEBHOOK_TOLERANCE_SECONDS: intFrom(300),
  /** Store-update delivery: attempts before dead-lettering, and the backoff. */
  OUTBOX_MAX_ATTEMPTS: intFrom(12, 1),
  OUTBOX_BASE_DELAY_MS: intFrom(5_000),
  OUTBOX_MAX_DELAY_MS: intFrom(6 * 60 * 60 * 1000),
  OUTBOX_LEASE_MS: intFrom(60_000, 100),
  STORE_REQUEST_TIMEOUT_MS: intFrom(15_000, 100),
  /** Time limit of each call to a payment platform (create, re-fetch). */
  PROVIDER_REQUEST_TIMEOUT_MS: intFrom(15_000, 100),
  /** How often the background workers (outbox, webhook retries, expiry, reconciliation) wake up. */
  WORKER_POLL_MS: intFrom(1_000, 10),
  /** Ask the provider about an unsettled session when no webhook came for this long. */
  RECONCILE_AFTER_MINUTES: intFrom(10),
  /** Turn the background workers off (for a process that only serves HTTP). */
  WORKERS_ENABLED: boolFrom(true),
  /**
   * On-chain checks of transactions that other providers' webhooks name: `chainId=rpcUrl` pairs,
   * comma-separated (e.g. `1=https://eth.example,8453=https://base.example`). Unset: no such checks.
   */
  EVM_VERIFY_RPC_URLS: z.string().optional(),
  /** Confirmations a named transaction needs before it is credited (default: the chain's own setting, else 1). */
  EVM_VERIFY_CONFIRMATIONS: z.coerce.number().int().positive().optional(),
  /**
   * Tokens a webhook may name, by chain and symbol: `<chainId>:<SYMBOL>=<contract|native>`, comma-separated
   * (e.g. `137:USDC=0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359`). A token not listed is held for review.
   */
  EVM_VERIFY_TOKENS: z.string().optional(),
  /** Shopify app credentials; the `/shopify/` routes are mounted only when both are set. */
  SHOPIFY_API_KEY: z.string().optional(),
  SHOPIFY_API_SECRET: z.string().optional(),
  /** Where Shopify reaches the app (defaults to PUBLIC_URL). */
  SHOPIFY_APP_URL: z.url().optional(),
  /** OAuth scopes, comma-separated (default read_orders,write_orders). */
  SHOPIFY_SCOPES: z.string().optional(),
  /** The manual payment method's name, exactly as created in Shopify (default "Pay with crypto"). */
  SHOPIFY_PAYMENT_METHOD_NAME: z.string().optional(),
  /** Whether shops' real (non-test) orders use their live connections. */
  SHOPIFY_LIVEMODE: boolFrom(true),
  /** Payments Apps: the header the mTLS-terminating proxy sets, `Name: value`; unset = endpoints off. */
  SHOPIFY_PAYMENTS_MTLS_HEADER: z.string().optional(),
  /** Payments Apps refunds: reject (default; refund on the platform) or resolve. */
  SHOPIFY_PAYMENTS_REFUNDS: z.enum(["reject", "resolve"]).default("reject"),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(
      "Invalid configuration:\n" +
        issues.map((i) => `  ${i.path}: ${i.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/**
 * The process environment over the variables of a `.env` file in the working directory, if there is one
 * (as `.env.example` suggests): a variable set in the environment always wins over the file.
 */
export function processEnvironment(envFile = ".env"): Record<string, string | undefined> {
  const fromFile = existsSync(envFile) ? parseEnv(readFileSync(envFile, "utf8")) : {};
  return { ...fromFile, ...process.env };
}

/** Parses a variables map (defaults to the process environment and `.env`) into a `Config`. */
export function loadConfig(
  env: Record<string, string | undefined> = processEnvironment(),
): Config {
  const parsed = configSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")),
  );
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  }
  return parsed.data;
}

/** A config for tests and tools: the defaults, overridden by `overrides`. */
export function configWith(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  return loadConfig(overrides);
}
