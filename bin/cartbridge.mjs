#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx cartbridge …` needs no build step.
import { register } from "tsx/esm/api";
import { fileURLToPath } from "node:url";

register();
const { runCli } = await import("../src/cli/commands.ts");
const { builtinPlugins } = await import("../src/main.ts");
void fileURLToPath;
process.exitCode = await runCli(process.argv.slice(2), builtinPlugins);
