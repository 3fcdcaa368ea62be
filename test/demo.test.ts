import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

it("npm run demo: a sandbox payment reaches the demo store, with its timeline", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cartbridge-demo-"));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/demo.ts"], {
      env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${join(dir, "demo.db")}` },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/POST \/v1\/checkout_sessions → 201 cs_/);
    expect(stdout).toMatch(/→ 303 http:\/\/127\.0\.0\.1:\d+\/p\/sandbox\/checkout\//);
    expect(stdout).toContain("store received checkout_session.paid for order demo-1001: paid 59.20 EUR");
    expect(stdout).toMatch(/status_changed\s+open → paid/);
    expect(stdout).toMatch(/store_update_delivered.*store answered 200/);
    expect(stdout).toContain("→ status paid");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
