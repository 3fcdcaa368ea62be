/**
 * The console's CLI commands, in the shape of `commands` in src/cli/commands.ts (spread them in):
 *   cartbridge console set-password [--user NAME]   (password read from stdin, never from argv)
 *   cartbridge console metrics-token                 (the bearer token /metrics wants)
 */
import type { ParseArgsConfig } from "node:util";
import { createBridge, type BridgeOptions } from "../bridge.ts";
import type { Config } from "../config.ts";
import type { AnyPaymentProvider } from "../../plugins/types.ts";
import type { AnyStoreAdapter } from "../stores/port.ts";
import { metricsToken } from "../metrics/index.ts";
import { defaultOperator, minPasswordLength, setOperatorPassword } from "./auth.ts";

interface CliContext {
  config: () => Config;
  plugins: { providers: AnyPaymentProvider[]; storeAdapters: AnyStoreAdapter[]; mounts?: BridgeOptions["mounts"] };
  out: (s: string) => void;
}

interface ConsoleCommand {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | undefined>, ctx: CliContext): Promise<number | void>;
}

/**
 * The password comes from stdin: piped (`printf '%s' "$PW" | cartbridge console set-password`) or typed
 * at a hidden prompt. An argument would end up in the shell history and in `ps`.
 */
export async function readSecretFromStdin(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  output.write(prompt);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (data: Buffer) => {
      for (const char of data.toString("utf8")) {
        if (char === "\r" || char === "\n") {
          cleanup();
          output.write("\n");
          resolve(value);
          return;
        }
        if (char === "\u0003") {
          cleanup();
          reject(new Error("canceled"));
          return;
        }
        value = char === "\u007f" ? value.slice(0, -1) : value + char;
      }
    };
    const cleanup = () => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
    };
    input.on("data", onData);
  });
}

async function withDeps<T>(ctx: CliContext, fn: (deps: Awaited<ReturnType<typeof createBridge>>["deps"]) => Promise<T>): Promise<T> {
  const bridge = await createBridge({ config: { ...ctx.config(), LOG_LEVEL: "warn" }, ...ctx.plugins, workers: false });
  try {
    return await fn(bridge.deps);
  } finally {
    await bridge.close();
  }
}

export const consoleCliCommands: Record<string, ConsoleCommand> = {
  "console set-password": {
    summary: `Set the console operator's password (read from stdin; at least ${minPasswordLength} characters). Signs out open console sessions.`,
    usage: "cartbridge console set-password [--user NAME]    e.g. printf '%s' \"$PASSWORD\" | npx cartbridge console set-password",
    options: { help: { type: "boolean", short: "h" }, user: { type: "string", default: defaultOperator } },
    async run(v, ctx) {
      const username = String(v.user ?? defaultOperator);
      const password = await readSecretFromStdin(`New console password for ${username}: `);
      await withDeps(ctx, (deps) => setOperatorPassword(deps, password, username));
      ctx.out(`console password set for ${username}; open console sessions are signed out. Sign in at ${ctx.config().PUBLIC_URL}/dashboard`);
    },
  },
  "console metrics-token": {
    summary: "Print the bearer token that GET /metrics requires (derived from the current master key).",
    usage: "cartbridge console metrics-token",
    options: { help: { type: "boolean", short: "h" } },
    async run(_v, ctx) {
      const config = ctx.config();
      if (!config.MASTER_KEYS) throw new Error("MASTER_KEYS is required");
      ctx.out(metricsToken({ config } as Parameters<typeof metricsToken>[0]));
    },
  },
};
