import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { configSchema } from "./config.ts";

it(".env.example documents exactly the variables the config reads", () => {
  const documented = new Set(
    readFileSync(new URL("../.env.example", import.meta.url), "utf8")
      .split("\n")
      .map((l) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(l)?.[1])
      .filter((v): v is string => Boolean(v)),
  );
  expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
});
