import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

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
});
