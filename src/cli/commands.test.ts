import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateMasterKeySpec } from "../crypto/secrets.ts";
import { builtinPlugins } from "../main.ts";
import { commands, runCli } from "./commands.ts";

const dir = mkdtempSync(join(tmpdir(), "cartbridge-cli-"));
const env = { DATABASE_URL: `sqlite:${join(dir, "cli.db")}`, MASTER_KEYS: generateMasterKeySpec("cli"), PUBLIC_URL: "https://pay.example.com" };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const lines: string[] = [];
  const code = await runCli(argv, builtinPlugins, (s) => lines.push(s), env, (s) => lines.push(s));
  return { code, text: lines.join("\n") };
}

describe("cartbridge CLI", () => {
  it.each(Object.keys(commands))("%s --help explains itself", async (name) => {
    const { code, text } = await cli(...name.split(" "), "--help");
    expect(code).toBe(0);
    expect(text).toContain("Usage: cartbridge " + name);
  });

  it("lists the commands, and refuses unknown ones and unknown options", async () => {
    expect((await cli()).text).toContain("store create");
    expect((await cli("frobnicate")).code).toBe(2);
    expect((await cli("store", "create", "--colour", "red")).code).toBe(2);
  });

  it("migrates, creates a store (keys shown once), rotates a key, connects a provider and lists it", async () => {
    expect((await cli("migrate")).code).toBe(0);
    const created = await cli("store", "create", "--name", "Shop", "--endpoint", "https://shop.example/hook", "--default-provider", "sandbox");
    expect(created.code).toBe(0);
    const storeId = /store:\s+(st_\w+)/.exec(created.text)![1]!;
    expect(created.text).toMatch(/test key:\s+sk_test_/);
    expect(created.text).toMatch(/live key:\s+sk_live_/);
    expect(created.text).toMatch(/whsec_/);

    const rotated = await cli("store", "rotate-key", "--store", storeId, "--live");
    expect(rotated.text).toMatch(/new live key: sk_live_/);

    const added = await cli("connection", "add", "--store", storeId, "--provider", "sandbox");
    expect(added.code).toBe(0);
    expect(added.text).toMatch(/webhook URL: https:\/\/pay\.example\.com\/v1\/webhooks\/sandbox\/conn_\w+\/[\w-]+/);
    const listed = await cli("connection", "list", "--store", storeId);
    expect(listed.text).toContain("sandbox  test");

    const live = await cli("connection", "add", "--store", storeId, "--provider", "sandbox", "--live");
    expect(live.code).toBe(1);
    expect(live.text).toContain("test-mode provider");
    expect((await cli("connection", "add", "--store", storeId, "--provider", "nope")).text).toContain("unknown provider");
    expect((await cli("reconcile")).text).toMatch(/checked 0/);
    // The store's secret and its connection's: nothing to re-seal while the key is the same, both after a rotation.
    expect((await cli("secrets", "reseal")).text).toMatch(/checked 2, re-sealed 0/);
    const rotatedEnv = { ...env, MASTER_KEYS: `${generateMasterKeySpec("cli2")},${env.MASTER_KEYS}` };
    const lines: string[] = [];
    expect(await runCli(["secrets", "reseal"], builtinPlugins, (l) => lines.push(l), rotatedEnv, (l) => lines.push(l))).toBe(0);
    expect(lines.join("\n")).toMatch(/checked 2, re-sealed 2/);
  });
});
