/**
 * The house rules that keep the core replaceable, checked on the source itself: nothing but the config
 * module reads the environment, and only the composition roots (`src/main.ts`, and `src/demo.ts`, which
 * is a second entry point) name a concrete provider plugin.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const coreFiles = sourceFiles(join(root, "src")).map((path) => ({ path: relative(root, path), text: readFileSync(path, "utf8") }));
const pluginNames = readdirSync(join(root, "plugins"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

describe("architecture", () => {
  it("finds the core's source files and the plugin folders (the checks below are not vacuous)", () => {
    expect(coreFiles.length).toBeGreaterThan(40);
    expect(pluginNames).toEqual(expect.arrayContaining(["sandbox", "btcpay", "evm"]));
  });

  it("reads process.env only in src/config.ts", () => {
    const readers = coreFiles.filter((f) => /process\.env\b/.test(f.text)).map((f) => f.path);
    expect(readers).toEqual(["src/config.ts"]);
  });

  it("names concrete provider plugins only in the composition roots", () => {
    const plugin = new RegExp(`from\\s+["'](?:\\.\\./)+plugins/(?:${pluginNames.join("|")})/|import\\(\\s*["'](?:\\.\\./)+plugins/(?:${pluginNames.join("|")})/`);
    const importers = coreFiles.filter((f) => plugin.test(f.text)).map((f) => f.path).sort();
    expect(importers.every((p) => p === "src/main.ts" || p === "src/demo.ts"), importers.join(", ")).toBe(true);
    expect(importers).toContain("src/main.ts");
  });
});
