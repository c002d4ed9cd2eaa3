/**
 * A stand-in for `main.ts` used by `exit_test.ts`: parses the flags, loads the config for `run`,
 * and fails with a plain error for `version`, all through `runCli`.
 * @module
 */

import { loadConfig } from "../../config/load.ts";
import { parseArgs } from "../args.ts";
import { runCli } from "../exit.ts";

await runCli(() => {
  const cmd = parseArgs(Deno.args);
  if (cmd.cmd === "run") {
    const config = loadConfig(cmd.config, cmd.overrides);
    console.log(`ok ${config.node.name} ${config.role} ${config.mode}`);
    return Promise.resolve(0);
  }
  if (cmd.cmd === "version") throw new Error("probe failure");
  return Promise.resolve(0);
});
