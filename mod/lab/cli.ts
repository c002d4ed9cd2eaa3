/**
 * `tandem lab …` sub-commands: up, down, demo, crash, revive, kill, restart, serve, traffic.
 * `main.ts` hands everything after `lab` to `labMain`.
 * @module
 */

import { parseArgs } from "node:util";
import { labDemo } from "./demo.ts";
import { serveMain } from "./servers.ts";
import {
  checkPrefix,
  crash,
  DEFAULT_PREFIX,
  kill,
  LAB_MODES,
  labDown,
  type LabMode,
  labStateDir,
  labUp,
  restart,
  revive,
  type Unit,
  type UnitRole,
} from "./topology.ts";
import { trafficMain } from "./traffic.ts";

/** Usage text of `tandem lab`. */
export const LAB_USAGE = `usage: tandem lab <command> [--prefix P]
  up [--mode M] [--no-servers] [--units a,b] [--hold-new-flows MS]
  down
  demo [--mode M]
  crash a|b        drop all traffic of a unit and freeze it
  revive a|b       undo crash
  kill a|b         SIGKILL a unit
  restart a|b --role active|standby
  serve [...]      the lab servers (run inside <prefix>-server)
  traffic [...]    the traffic generator (run inside <prefix>-client)`;

class UsageError extends Error {}

function unitArg(pos: string[], cmd: string): Unit {
  const u = pos[0];
  if (u !== "a" && u !== "b") throw new UsageError(`lab ${cmd}: expected unit a or b`);
  return u;
}

/** Runs `tandem lab <args>`; returns the exit code (2 for bad usage, 1 for a failure). */
export async function labMain(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  if (cmd === "serve") return await serveMain(rest);
  if (cmd === "traffic") return await trafficMain(rest);
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        prefix: { type: "string", default: DEFAULT_PREFIX },
        mode: { type: "string" },
        "no-servers": { type: "boolean", default: false },
        units: { type: "string" },
        "hold-new-flows": { type: "string" },
        role: { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    });
    const prefix = values.prefix;
    const bad = checkPrefix(prefix);
    if (bad !== null) throw new UsageError(`--prefix: ${bad}`);
    const mode = values.mode as LabMode | undefined;
    if (mode !== undefined && !LAB_MODES.includes(mode)) {
      throw new UsageError(`--mode must be one of ${LAB_MODES.join(", ")}`);
    }
    switch (cmd) {
      case "up": {
        let units: Unit[] | undefined;
        if (values.units !== undefined) {
          const list = values.units.split(",").filter((s) => s !== "");
          if (!list.every((u) => u === "a" || u === "b")) {
            throw new UsageError("--units must be a comma-separated list of a, b");
          }
          units = list as Unit[];
        }
        let hold: number | undefined;
        if (values["hold-new-flows"] !== undefined) {
          hold = Number(values["hold-new-flows"]);
          if (!Number.isInteger(hold) || hold < 0) {
            throw new UsageError("--hold-new-flows must be a whole number of ms");
          }
        }
        const lab = await labUp({
          prefix,
          mode,
          noServers: values["no-servers"],
          units,
          holdNewFlows: hold,
        });
        console.log(
          `lab ${prefix} up: mode ${lab.mode}, units ${lab.units.join(",") || "none"}, ` +
            `state in ${labStateDir(prefix)}`,
        );
        return 0;
      }
      case "down":
        await labDown(prefix);
        console.log(`lab ${prefix} down`);
        return 0;
      case "demo":
        await labDemo({ prefix, mode });
        return 0;
      case "crash":
        await crash(prefix, unitArg(positionals, cmd));
        return 0;
      case "revive":
        await revive(prefix, unitArg(positionals, cmd));
        return 0;
      case "kill":
        await kill(prefix, unitArg(positionals, cmd));
        return 0;
      case "restart": {
        const unit = unitArg(positionals, cmd);
        const role = values.role;
        if (role !== "active" && role !== "standby") {
          throw new UsageError("lab restart: --role must be active or standby");
        }
        const pid = await restart(prefix, unit, role as UnitRole);
        console.log(`unit ${unit} restarted as ${role} (pid ${pid})`);
        return 0;
      }
      default:
        throw new UsageError(cmd === undefined ? "missing command" : `unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`tandem lab: ${(e as Error).message}\n${LAB_USAGE}`);
      return 2;
    }
    console.error(`tandem lab ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}
