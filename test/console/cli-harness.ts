/** Runs the real CLI with the console's commands spread in, as the lead wires them (used by cli.test.ts). */
import { commands, runCli } from "../../src/cli/commands.ts";
import { consoleCliCommands } from "../../src/console/cli.ts";
import { builtinPlugins } from "../../src/main.ts";

Object.assign(commands, consoleCliCommands);
process.exitCode = await runCli(process.argv.slice(2), builtinPlugins);
