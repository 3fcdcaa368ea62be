import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "plugins/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel workers; each MariaDB test makes its own database, each SQLite test its own file.
    pool: "forks",
    maxWorkers: 2,
  },
});
