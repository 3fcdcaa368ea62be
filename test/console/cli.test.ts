/** The console's CLI commands (src/console/cli.ts) without a terminal. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { configWith } from "../../src/config.ts";
import { generateMasterKeySpec } from "../../src/crypto/secrets.ts";
import { commands, runCli } from "../../src/cli/commands.ts";
import { consoleCliCommands, readSecretFromStdin } from "../../src/console/cli.ts";
import { login } from "../../src/console/auth.ts";
import { createBridge } from "../../src/bridge.ts";
import { builtinPlugins } from "../../src/main.ts";
import { metricsToken } from "../../src/metrics/index.ts";

it("reads a piped password without its trailing newline", async () => {
  const input = new PassThrough();
  input.end("a long password\n");
  await expect(readSecretFromStdin("pw: ", input as unknown as NodeJS.ReadStream)).resolves.toBe("a long password");
});

it("prints the metrics token derived from the current master key", async () => {
  const config = configWith({ MASTER_KEYS: generateMasterKeySpec("m1"), DATABASE_URL: "sqlite::memory:" });
  const lines: string[] = [];
  await consoleCliCommands["console metrics-token"]!.run({}, { config: () => config, plugins: { providers: [], storeAdapters: [] }, out: (s) => lines.push(s) });
  expect(lines).toEqual([metricsToken({ config } as Parameters<typeof metricsToken>[0])]);
  expect(lines[0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
  const other = configWith({ MASTER_KEYS: generateMasterKeySpec("m2") });
  expect(metricsToken({ config: other } as Parameters<typeof metricsToken>[0])).not.toBe(lines[0]);
});

// The console's commands fit the CLI's command table (checked by tsc).
export const fitsTheCommandTable: (typeof commands)[string] = consoleCliCommands["console set-password"]!;

it("sets the operator password from piped stdin through the real CLI", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cartbridge-cli-"));
  try {
    const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, "bridge.db")}`, MASTER_KEYS: generateMasterKeySpec("cli"), LOG_LEVEL: "silent" };
    const run = (args: string[], input: string) => spawnSync(process.execPath, ["--import", "tsx", "test/console/cli-harness.ts", ...args], { env, input, encoding: "utf8", timeout: 60_000 });
    const tooShort = run(["console", "set-password"], "short\n");
    expect(tooShort.status).toBe(1);
    expect(tooShort.stderr).toContain("at least 10 characters");
    expect(tooShort.stdout).toBe("");
    const ok = run(["console", "set-password", "--user", "ops"], "a piped password\n");
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("console password set for ops");

    const bridge = await createBridge({ config: configWith({ DATABASE_URL: env.DATABASE_URL, MASTER_KEYS: env.MASTER_KEYS, LOG_LEVEL: "silent" }), providers: builtinPlugins.providers, storeAdapters: builtinPlugins.storeAdapters, workers: false });
    try {
      expect(await login(bridge.deps, "ops", "a piped password")).toBeTruthy();
      expect(await login(bridge.deps, "ops", "a piped password\n")).toBeUndefined();
    } finally {
      await bridge.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("command groups and output streams", () => {
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, builtinPlugins, (s) => out.push(s), { DATABASE_URL: "sqlite::memory:" }, (s) => err.push(s));
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  it.each([["store", ["store create", "store rotate-key"]], ["connection", ["connection add", "connection list"]], ["console", ["console set-password"]]] as const)(
    "`cartbridge %s --help` prints that group's commands and exits 0",
    async (group, members) => {
      for (const flag of ["--help", "-h"]) {
        const { code, out, err } = await run(group, flag);
        expect(code).toBe(0);
        expect(err).toBe("");
        for (const m of members) expect(out).toContain(`cartbridge ${m}`);
        expect(out).not.toContain("cartbridge serve");
      }
    },
  );

  it("sends usage errors and failures to stderr with exit 2 or 1, and leaves stdout empty", async () => {
    for (const argv of [["store"], ["store", "frobnicate"], ["frobnicate"], ["store", "create", "--colour", "red"]]) {
      const { code, out, err } = await run(...argv);
      expect(code, argv.join(" ")).toBe(2);
      expect(out, argv.join(" ")).toBe("");
      expect(err, argv.join(" ")).toMatch(/Usage: cartbridge/);
    }
    const failed = await run("store", "create");
    expect(failed).toEqual({ code: 1, out: "", err: "error: --name is required" });
    const top = await run("--help");
    expect(top.code).toBe(0);
    expect(top.out).toContain("store create");
  });
});
