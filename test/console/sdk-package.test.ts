/**
 * `cartbridge/sdk` from plain Node: the package's export is built JavaScript (npm's `prepare` runs
 * `build:sdk`), not TypeScript source that only tsx could load. The build takes ~6 s, so it runs once here.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

it("builds the SDK and imports it by package name on plain Node", { timeout: 120_000 }, async () => {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { exports: Record<string, unknown>; scripts: Record<string, string> };
  expect(pkg.scripts.prepare).toContain("build:sdk");
  for (const target of Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e as Record<string, string>)))) {
    expect(target, "an export must not need a TypeScript loader").not.toMatch(/(?<!\.d)\.tsx?$/);
  }

  // A build this test made is removed again, so the checkout is left as it was found.
  const hadBuild = existsSync(`${root}/dist`);
  try {
    await run("npm", ["run", "--silent", "build:sdk"], { cwd: root });
    // No NODE_OPTIONS: vitest's own loaders must not help the child load anything.
    const { stdout } = await run(process.execPath, [fileURLToPath(new URL("./sdk-consumer.mjs", import.meta.url))], {
      cwd: root,
      env: {},
    });
    expect(JSON.parse(stdout.trim())).toEqual({ verified: "checkout_session.paid", forged: "refused", session: "cs_42" });
  } finally {
    if (!hadBuild) rmSync(`${root}/dist`, { recursive: true, force: true });
  }
});
