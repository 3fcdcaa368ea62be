/**
 * The `cartbridge` command line. Every command answers `--help`. Plugins come from the composition root.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { serve } from "@hono/node-server";
import type { AnyPaymentProvider } from "../../plugins/types.ts";
import { createBridge, type BridgeOptions } from "../bridge.ts";
import { loadConfig, type Config } from "../config.ts";
import { generateMasterKeySpec } from "../crypto/secrets.ts";
import { migrateToLatest, openDatabase } from "../db/database.ts";
import type { AnyStoreAdapter } from "../stores/port.ts";
import type { BridgeDeps } from "../deps.ts";
import { addConnection, listConnections } from "../usecases/connections.ts";
import { reconcileSessions } from "../usecases/maintenance.ts";
import { coreSealedColumns, resealSecrets, type SealedColumn } from "../usecases/reseal-secrets.ts";
import { createStore, rotateStoreKey } from "../usecases/stores.ts";
import { retryStoreUpdateNow } from "../usecases/store-updates.ts";
import { replayWebhookEvent } from "../usecases/webhooks.ts";
import { consoleCliCommands } from "../console/cli.ts";

export interface CliPlugins {
  providers: AnyPaymentProvider[];
  storeAdapters: AnyStoreAdapter[];
  mounts?: BridgeOptions["mounts"];
  /** Builds the on-chain verifier from the config (undefined when none is configured). */
  chainVerifier?: (config: Config) => BridgeOptions["chainVerifier"];
  /** Long-running work of plugins (the EVM chain watcher), started beside the core's loops. */
  background?: ((deps: BridgeDeps) => { stop(): Promise<void> })[];
  /** Columns of store integrations' own tables that hold sealed secrets (re-sealed on key rotation). */
  sealedColumns?: SealedColumn[];
}

/** The bridge options a command builds from the config and the plugins. */
function bridgeOptions(config: Config, plugins: CliPlugins): BridgeOptions {
  const chainVerifier = plugins.chainVerifier?.(config);
  return {
    config,
    providers: plugins.providers,
    storeAdapters: plugins.storeAdapters,
    ...(plugins.mounts ? { mounts: plugins.mounts } : {}),
    ...(chainVerifier ? { chainVerifier } : {}),
  };
}

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | undefined>, ctx: { config: () => Config; plugins: CliPlugins; out: (s: string) => void; err: (s: string) => void }): Promise<number | void>;
}

const help = { help: { type: "boolean", short: "h" } } as const;

/**
 * A progress line for long work: redrawn in place on a terminal; in a log (no TTY) one line per tenth
 * of the work and at the end, so a long run does not flood it.
 */
export function progress(label: string, out: (s: string) => void, isTTY = Boolean(process.stdout.isTTY)) {
  let lastTenth = -1;
  return (done: number, total: number) => {
    const width = 24;
    const shown = Math.min(Math.max(0, done), Math.max(0, total));
    const ratio = total > 0 ? shown / total : 1;
    const filled = Math.round(ratio * width);
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${shown}/${total} ${Math.floor(ratio * 100)}%`;
    if (isTTY) {
      process.stdout.write(`\r${line}${shown >= total ? "\n" : ""}`);
      return;
    }
    const tenth = Math.floor(ratio * 10);
    if (tenth !== lastTenth || shown >= total) out(line);
    lastTenth = tenth;
  };
}

async function withBridge<T>(ctx: { config: () => Config; plugins: CliPlugins }, fn: (b: Awaited<ReturnType<typeof createBridge>>) => Promise<T>): Promise<T> {
  const bridge = await createBridge({ ...bridgeOptions({ ...ctx.config(), LOG_LEVEL: "warn" }, ctx.plugins), workers: false });
  try {
    return await fn(bridge);
  } finally {
    await bridge.close();
  }
}

function parseJsonOption(value: unknown, name: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(String(value));
  } catch {
    throw new Error(`--${name} must be JSON`);
  }
}

export const commands: Record<string, Command> = {
  ...consoleCliCommands,
  serve: {
    summary: "Run the bridge: HTTP API, webhooks, hosted pages and the background workers.",
    usage: "cartbridge serve",
    options: { ...help },
    async run(_v, ctx) {
      const config = ctx.config();
      const bridge = await createBridge(bridgeOptions(config, ctx.plugins));
      const background = config.WORKERS_ENABLED ? (ctx.plugins.background ?? []).map((start) => start(bridge.deps)) : [];
      const server = serve({ fetch: bridge.app.fetch, port: config.PORT, hostname: config.HOST });
      bridge.deps.logger.info("cartbridge listening", { url: `http://${config.HOST}:${config.PORT}`, publicUrl: config.PUBLIC_URL, database: bridge.deps.db.dialect });
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await Promise.all(background.map((b) => b.stop()));
      await bridge.close();
    },
  },
  worker: {
    summary: "Run only the background workers (no HTTP), e.g. as a second process on one MySQL.",
    usage: "cartbridge worker",
    options: { ...help },
    async run(_v, ctx) {
      const bridge = await createBridge({ ...bridgeOptions(ctx.config(), ctx.plugins), workers: true });
      const background = (ctx.plugins.background ?? []).map((start) => start(bridge.deps));
      bridge.deps.logger.info("cartbridge worker running", { workerId: bridge.workers.workerId });
      // The loops' timers are unref'd and SQLite holds no socket: without this the process would exit.
      const keepAlive = setInterval(() => {}, 60_000);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      clearInterval(keepAlive);
      await Promise.all(background.map((b) => b.stop()));
      await bridge.close();
    },
  },
  migrate: {
    summary: "Bring the database schema up to date (also runs on every start).",
    usage: "cartbridge migrate",
    options: { ...help },
    async run(_v, ctx) {
      const db = openDatabase(ctx.config().DATABASE_URL);
      try {
        const step = progress("migrating", ctx.out);
        const report = await migrateToLatest(db, (_name, done, total) => step(done, total));
        ctx.out(report.applied.length ? `applied: ${report.applied.join(", ")}` : "schema is up to date");
      } finally {
        await db.close();
      }
    },
  },
  keygen: {
    summary: "Print a new master key for MASTER_KEYS (prepend it to rotate; keep the old one after it).",
    usage: "cartbridge keygen [--kid ID]",
    options: { ...help, kid: { type: "string" } },
    async run(v, ctx) {
      ctx.out(generateMasterKeySpec(typeof v.kid === "string" ? v.kid : undefined));
    },
  },
  "store create": {
    summary: "Create a store and print its API keys (shown once).",
    usage: "cartbridge store create --name NAME [--platform custom|woocommerce|shopify] [--endpoint URL] [--default-provider NAME] [--settings JSON]",
    options: {
      ...help,
      name: { type: "string" },
      platform: { type: "string", default: "custom" },
      endpoint: { type: "string" },
      "default-provider": { type: "string" },
      settings: { type: "string" },
    },
    async run(v, ctx) {
      if (!v.name) throw new Error("--name is required");
      const credentials = {
        ...((parseJsonOption(v.settings, "settings") as Record<string, unknown>) ?? {}),
        ...(v.endpoint ? { endpointUrl: v.endpoint } : {}),
      };
      const created = await withBridge(ctx, (b) =>
        createStore(b.deps, {
          name: String(v.name),
          platform: String(v.platform),
          ...(v["default-provider"] ? { defaultProvider: String(v["default-provider"]) } : {}),
          credentials,
        }),
      );
      ctx.out(`store:        ${created.storeId}`);
      ctx.out(`test key:     ${created.keys.testKey}`);
      ctx.out(`live key:     ${created.keys.liveKey}`);
      if (typeof created.credentials.signingSecret === "string") ctx.out(`signing secret (verify store updates with it): ${created.credentials.signingSecret}`);
      ctx.out("These keys are shown once. Store them in your shop's settings now.");
    },
  },
  "store rotate-key": {
    summary: "Revoke a store's test (or --live) key and print a new one.",
    usage: "cartbridge store rotate-key --store ID [--live]",
    options: { ...help, store: { type: "string" }, live: { type: "boolean", default: false } },
    async run(v, ctx) {
      if (!v.store) throw new Error("--store is required");
      const key = await withBridge(ctx, (b) => rotateStoreKey(b.deps, String(v.store), v.live === true));
      ctx.out(`new ${v.live ? "live" : "test"} key: ${key}`);
    },
  },
  "connection add": {
    summary: "Attach a payment platform account to a store; prints the webhook URL to register at the platform.",
    usage: "cartbridge connection add --store ID --provider NAME [--live] [--credentials JSON] [--settings JSON]",
    options: {
      ...help,
      store: { type: "string" },
      provider: { type: "string" },
      live: { type: "boolean", default: false },
      credentials: { type: "string" },
      settings: { type: "string" },
    },
    async run(v, ctx) {
      if (!v.store || !v.provider) throw new Error("--store and --provider are required");
      const created = await withBridge(ctx, (b) =>
        addConnection(b.deps, {
          storeId: String(v.store),
          provider: String(v.provider),
          livemode: v.live === true,
          credentials: parseJsonOption(v.credentials, "credentials") ?? {},
          settings: parseJsonOption(v.settings, "settings") ?? {},
        }),
      );
      ctx.out(`connection:  ${created.id}`);
      ctx.out(`webhook URL: ${created.webhookUrl}`);
      ctx.out("Register the webhook URL in the platform's dashboard; it contains a secret, keep it private.");
    },
  },
  "connection list": {
    summary: "List a store's provider connections and their webhook URLs.",
    usage: "cartbridge connection list --store ID",
    options: { ...help, store: { type: "string" } },
    async run(v, ctx) {
      if (!v.store) throw new Error("--store is required");
      const rows = await withBridge(ctx, (b) => listConnections(b.deps, String(v.store)));
      if (!rows.length) ctx.out("no connections");
      for (const r of rows) ctx.out(`${r.id}  ${r.provider}  ${r.livemode ? "live" : "test"}${r.disabled ? "  (disabled)" : ""}\n  webhook URL: ${r.webhookUrl}`);
    },
  },
  "update retry": {
    summary: "Deliver a store update again now (a dead-lettered or waiting one, or one whose worker's lease ran out).",
    usage: "cartbridge update retry --id evt_…",
    options: { ...help, id: { type: "string" } },
    async run(v, ctx) {
      if (!v.id) throw new Error("--id is required");
      const ok = await withBridge(ctx, (b) => retryStoreUpdateNow(b.deps, String(v.id)));
      (ok ? ctx.out : ctx.err)(ok ? `update ${v.id} is due now; a running bridge delivers it within a second` : `no dead, waiting or abandoned update ${v.id}`);
      return ok ? 0 : 1;
    },
  },
  "webhook replay": {
    summary: "Process a received platform webhook event again (after fixing a connection, say).",
    usage: "cartbridge webhook replay --id wh_…",
    options: { ...help, id: { type: "string" } },
    async run(v, ctx) {
      if (!v.id) throw new Error("--id is required");
      const ok = await withBridge(ctx, (b) => replayWebhookEvent(b.deps, String(v.id)));
      (ok ? ctx.out : ctx.err)(ok ? `event ${v.id} queued for processing` : `no webhook event ${v.id}`);
      return ok ? 0 : 1;
    },
  },
  "secrets reseal": {
    summary: "Re-seal every stored secret with the first MASTER_KEYS key, so older keys can be removed.",
    usage: "cartbridge secrets reseal   (put the new key first in MASTER_KEYS, keep the old ones after it, run this, then drop the old ones)",
    options: { ...help },
    async run(_v, ctx) {
      const columns = [...coreSealedColumns, ...(ctx.plugins.sealedColumns ?? [])];
      const result = await withBridge(ctx, (b) => resealSecrets(b.deps, columns, progress("re-sealing", ctx.out)));
      ctx.out(`checked ${result.checked}, re-sealed ${result.resealed}${result.skipped ? `, ${result.skipped} changed meanwhile: run again` : ""}`);
      return result.skipped ? 1 : 0;
    },
  },
  reconcile: {
    summary: "Ask the providers now about sessions whose webhooks never came.",
    usage: "cartbridge reconcile [--limit N]",
    options: { ...help, limit: { type: "string", default: "500" } },
    async run(v, ctx) {
      const result = await withBridge(ctx, (b) => reconcileSessions(b.deps, { limit: Number(v.limit), onProgress: progress("reconciling", ctx.out) }));
      ctx.out(`checked ${result.checked}, changed ${result.changed}, failed ${result.failed}`);
    },
  },
};

function usageAll(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return ["Usage: cartbridge <command> [options]   (every command takes --help)", "", ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)].join("\n");
}

/** `cartbridge store`: the commands of one group (`store create`, `store rotate-key`), or undefined. */
function usageGroup(group: string): string | undefined {
  const members = Object.entries(commands).filter(([name]) => name.startsWith(`${group} `));
  if (members.length === 0) return undefined;
  return [`Usage: cartbridge ${group} <command> [options]   (every command takes --help)`, "", ...members.map(([, c]) => `  ${c.usage}\n      ${c.summary}`)].join("\n");
}

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h";

/**
 * Runs one command. Results go to `out` (stdout), usage errors and failures to `err` (stderr), so a script
 * can pipe the output. The configuration comes from `env` when given, else from src/config.ts's default.
 * Exit codes: 0 done, 1 the command failed, 2 a usage error.
 */
export async function runCli(
  argv: string[],
  plugins: CliPlugins,
  out: (s: string) => void = console.log,
  env?: Record<string, string | undefined>,
  err: (s: string) => void = console.error,
): Promise<number> {
  const two = argv.slice(0, 2).join(" ");
  const name = commands[two] ? two : argv[0] ?? "";
  const command = commands[name];
  if (!command) {
    const group = usageGroup(name);
    if (group) {
      if (argv.length === 2 && isHelp(argv[1])) {
        out(group);
        return 0;
      }
      err(`${argv.length > 1 ? `unknown command: cartbridge ${two}\n` : ""}${group}`);
      return 2;
    }
    if (name === "" || (argv.length === 1 && isHelp(name))) {
      out(usageAll());
      return 0;
    }
    err(`unknown command: ${name}\n${usageAll()}`);
    return 2;
  }
  const rest = argv.slice(name.split(" ").length);
  let values;
  try {
    values = parseArgs({ args: rest, options: command.options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    err(`${(error as Error).message}\nUsage: ${command.usage}`);
    return 2;
  }
  if (values.help) {
    out(`${command.summary}\n\nUsage: ${command.usage}`);
    return 0;
  }
  try {
    const code = await command.run(values as Record<string, string | boolean | undefined>, { config: () => loadConfig(env), plugins, out, err });
    return code ?? 0;
  } catch (error) {
    err(`error: ${(error as Error).message}`);
    return 1;
  }
}
