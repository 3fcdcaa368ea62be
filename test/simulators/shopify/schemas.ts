/**
 * Shopify's published GraphQL schemas for the API version the bridge targets, fetched once into
 * test/.cache/ (gitignored) from the pinned npm package `@shopify/dev-mcp@1.16.0`, which bundles them.
 * That package has heavy dependencies, so it is not installed: its tarball is fetched with `npm pack`,
 * checked against the sha512 integrity pinned below, and only the two schema files are extracted.
 * A lock directory keeps parallel test workers from fetching at the same time.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import {
  buildClientSchema, getVariableValues, NoDeprecatedCustomRule, parse, specifiedRules, validate,
  type GraphQLSchema, type IntrospectionQuery, type OperationDefinitionNode,
} from "graphql";
import { shopifyApiVersion } from "../../../src/shopify/api.ts";

const run = promisify(execFile);
export const devMcpPackage = "@shopify/dev-mcp@1.16.0";
/**
 * The tarball's sha512 (its npm `dist.integrity`), pinned here when the version was chosen: the download is
 * checked against this constant, not against what the same registry says at fetch time, so a registry that
 * served a different tarball could not vouch for it too.
 */
export const devMcpIntegrity = "sha512-tqgRnK7sQhjew+htxtleTH23nXB5fZcsrhWgEkomsorGXvLOB2mh2upwZm8uzuTDNTZnqtLMe64yIwh6s2awtw==";
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const schemaCacheDir = join(repoRoot, "test", ".cache", "shopify-schemas");
const files = { admin: `admin_${shopifyApiVersion}.json.gz`, paymentsApps: `payments-apps_${shopifyApiVersion}.json.gz` } as const;

export interface ShopifySchemas {
  admin: GraphQLSchema;
  paymentsApps: GraphQLSchema;
}

export type SchemaResult = { ok: true; schemas: ShopifySchemas } | { ok: false; reason: string };

function cached(): boolean {
  return Object.values(files).every((f) => existsSync(join(schemaCacheDir, f)));
}

function load(): ShopifySchemas {
  const read = (f: string) => {
    const json = JSON.parse(gunzipSync(readFileSync(join(schemaCacheDir, f))).toString("utf8")) as { data?: IntrospectionQuery } & IntrospectionQuery;
    return buildClientSchema(json.data ?? json);
  };
  return { admin: read(files.admin), paymentsApps: read(files.paymentsApps) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(schemaCacheDir, ".lock");
  mkdirSync(schemaCacheDir, { recursive: true });
  for (let i = 0; i < 600; i++) {
    try {
      mkdirSync(lock);
      try {
        return await fn();
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // A lock left by a crashed run is stale after five minutes.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
  }
  throw new Error("timed out waiting for the schema cache lock");
}

async function fetchIntoCache(): Promise<void> {
  const npmEnv = { ...process.env, npm_config_loglevel: "error", npm_config_update_notifier: "false" };
  const work = join(schemaCacheDir, `.fetch-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const { stdout } = await run("npm", ["pack", devMcpPackage, "--pack-destination", work, "--json"], { env: npmEnv, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    const packed = JSON.parse(stdout) as { filename: string }[];
    const tarball = join(work, packed[0]!.filename.replace(/^@/, "").replace(/\//g, "-"));
    assertPinnedIntegrity(readFileSync(tarball));
    const members = Object.values(files).map((f) => `package/dist/data/${f}`);
    await run("tar", ["-xzf", tarball, "-C", work, ...members], { timeout: 60_000 });
    for (const f of Object.values(files)) renameSync(join(work, "package", "dist", "data", f), join(schemaCacheDir, f));
    writeFileSync(join(schemaCacheDir, "SOURCE.txt"), `${devMcpPackage} ${devMcpIntegrity}\n${Object.values(files).join("\n")}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Throws unless `tarball` is the pinned release of the package. */
export function assertPinnedIntegrity(tarball: Buffer): void {
  const actual = `sha512-${createHash("sha512").update(tarball).digest("base64")}`;
  if (actual !== devMcpIntegrity) throw new Error(`${devMcpPackage} tarball integrity mismatch: ${actual} ≠ pinned ${devMcpIntegrity}`);
}

let loaded: Promise<SchemaResult> | undefined;

/** The schemas, fetched on first use. `ok: false` when the registry cannot be reached (and nothing is cached). */
export function shopifySchemas(): Promise<SchemaResult> {
  loaded ??= (async (): Promise<SchemaResult> => {
    try {
      if (!cached()) await withLock(async () => (cached() ? undefined : fetchIntoCache()));
      return { ok: true, schemas: load() };
    } catch (err) {
      return { ok: false, reason: `Shopify schemas unavailable (${devMcpPackage} via npm pack): ${(err as Error).message.split("\n")[0]}` };
    }
  })();
  return loaded;
}

/** Shopify's rules plus a ban on deprecated fields and arguments: they disappear in a later API version. */
const rules = [...specifiedRules, NoDeprecatedCustomRule];

/** Validation errors of `document` against `schema` (empty when valid). */
export function validateDocument(schema: GraphQLSchema, document: string): string[] {
  try {
    return validate(schema, parse(document), rules).map((e) => e.message);
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Errors of `variables` against the variable definitions of a (valid) document's operation, as a server coerces them. */
export function variableErrors(schema: GraphQLSchema, document: string, variables: Record<string, unknown>): string[] {
  const op = parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
  const result = getVariableValues(schema, op?.variableDefinitions ?? [], variables);
  return "errors" in result && result.errors ? result.errors.map((e) => e.message) : [];
}
