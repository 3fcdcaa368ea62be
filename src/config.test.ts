import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, processEnvironment } from "./config.ts";
import { generateMasterKeySpec } from "./crypto/secrets.ts";

describe("config", () => {
  it("defaults to the embedded SQLite database", () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe("sqlite:./data/cartbridge.db");
    expect(config.PORT).toBe(3000);
  });

  it("names every invalid variable", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://x", PORT: "abc" })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: "postgres://x", PORT: "abc" });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual(["DATABASE_URL", "PORT"]);
    }
  });

  it("trims a trailing slash from PUBLIC_URL", () => {
    expect(loadConfig({ PUBLIC_URL: "https://pay.example.com/" }).PUBLIC_URL).toBe("https://pay.example.com");
  });

  it("refuses a malformed MASTER_KEYS at start, naming the variable", () => {
    expect(loadConfig({ MASTER_KEYS: generateMasterKeySpec("k1") }).MASTER_KEYS).toMatch(/^k1:/);
    for (const bad of ["not-a-key", "k1:tooshort", "k1:"]) {
      try {
        loadConfig({ MASTER_KEYS: bad });
        expect.unreachable(`${bad} was accepted`);
      } catch (err) {
        expect((err as ConfigError).issues.map((i) => i.path)).toEqual(["MASTER_KEYS"]);
      }
    }
  });

  it("refuses values outside what the bridge can run with", () => {
    for (const [name, value] of [["PORT", "70000"], ["WORKER_POLL_MS", "0"], ["OUTBOX_MAX_ATTEMPTS", "0"], ["SESSION_TTL_MINUTES", "0"]]) {
      expect(() => loadConfig({ [name!]: value! }), `${name}=${value}`).toThrow(ConfigError);
    }
  });

  it("reads a .env file under the process environment, which wins", () => {
    const file = join(mkdtempSync(join(tmpdir(), "cartbridge-env-")), ".env");
    writeFileSync(file, "CARTBRIDGE_TEST_FROM_FILE=file\nPATH=from-file\n");
    const env = processEnvironment(file);
    expect(env.CARTBRIDGE_TEST_FROM_FILE).toBe("file");
    expect(env.PATH).toBe(process.env.PATH);
    expect(processEnvironment(join(tmpdir(), "no-such-dir-cartbridge", ".env")).CARTBRIDGE_TEST_FROM_FILE).toBeUndefined();
  });
});
