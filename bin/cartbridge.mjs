#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx cartbridge …` needs no build step.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/commands.ts");
const { builtinPlugins } = await import("../src/main.ts");
process.exitCode = await runCli(process.argv.slice(2), builtinPlugins);
