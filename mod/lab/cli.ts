/**
 * `tandem lab …` sub-commands: up, down, demo, crash, revive, kill, restart, serve, traffic.
 * `main.ts` hands everything after `lab` to `labMain`.
 * @module
 */

import { parseArgs } from "node:util";
import { aptInstallLine, packageList } from "../setup/packages.ts";
import { labDemo } from "./demo.ts";
import { isRoot, LAB_COMMANDS } from "./harness.ts";
import { hasCommand } from "./netns.ts";
import { serveMain } from "./servers.ts";
import {
  checkPrefix,
  crash,
  DEFAULT_PREFIX,
  kill,
  LAB_MODES,
  labAddressLines,
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
import { vlanTagMain } from "./vlan_tag.ts";

/** Usage text of `tandem lab`. */
export const LAB_USAGE = `usage: tandem lab <command> [--prefix P]      (needs root)
  up [--mode M] [--no-servers] [--units a,b] [--hold-new-flows MS] [--vlan N]
                   (--vlan: the servers' segment on 802.1Q VLAN N, a trunk on the units)
  down             stop everything of the lab and remove it
  demo [--mode M] [--crash a|b] [--no-linux]
                   lab up, traffic, crash a unit, takeover, what survived; then the
                   same with the Linux reference pair (keepalived + conntrackd) if present
  crash a|b        drop all traffic of a unit and freeze it
  revive a|b       undo crash
  kill a|b         SIGKILL a unit
  restart a|b --role active|standby
  serve [...]      the lab servers (run inside <prefix>-server)
  traffic [...]    the traffic generator (run inside <prefix>-client)
  vlan-tag [...]   the servers' user-space 802.1Q interface (lab up with a VLAN)`;

class UsageError extends Error {}

/**
 * What the lab needs and does not have here: root, and the commands it runs (`LAB_COMMANDS`),
 * each with its Debian package from the one list; null when all is there.
 */
export function labPrerequisites(
  root = isRoot(),
  has: (cmd: string) => boolean = hasCommand,
): string[] | null {
  const out: string[] = [];
  if (!root) out.push("the lab needs root (network namespaces, TAP devices, nftables)");
  const missing = LAB_COMMANDS.filter((c) => !has(c));
  if (missing.length > 0) {
    const pkgs = [
      ...new Set(
        missing.map((c) => packageList().find((e) => e.commands.includes(c))?.pkg ?? c),
      ),
    ];
    out.push(
      `the lab needs ${missing.join(", ")} on PATH; as root run: ` +
        `apt-get update && ${aptInstallLine(pkgs)}`,
    );
  }
  return out.length > 0 ? out : null;
}

function setupFailure(lines: string[]): number {
  for (const l of lines) console.error(`tandem lab: ${l}`);
  return 2;
}

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
  if (cmd === "vlan-tag") return await vlanTagMain(rest);
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        prefix: { type: "string", default: DEFAULT_PREFIX },
        mode: { type: "string" },
        "no-servers": { type: "boolean", default: false },
        units: { type: "string" },
        "hold-new-flows": { type: "string" },
        vlan: { type: "string" },
        role: { type: "string" },
        crash: { type: "string" },
        "no-linux": { type: "boolean", default: false },
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
        const missing = labPrerequisites();
        if (missing !== null) return setupFailure(missing);
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
        let vlan: number | undefined;
        if (values.vlan !== undefined) {
          vlan = Number(values.vlan);
          if (!Number.isInteger(vlan) || vlan < 1 || vlan > 4094) {
            throw new UsageError("--vlan must be a VLAN id, 1..4094");
          }
        }
        const lab = await labUp({
          prefix,
          mode,
          noServers: values["no-servers"],
          units,
          holdNewFlows: hold,
          vlan,
        });
        console.log(
          `lab ${prefix} up: mode ${lab.mode}, units ${lab.units.join(",") || "none"}, ` +
            `state in ${labStateDir(prefix)}`,
        );
        for (const line of labAddressLines(lab.ipv6)) console.log(`  ${line}`);
        return 0;
      }
      case "down":
        await labDown(prefix);
        console.log(`lab ${prefix} down`);
        return 0;
      case "demo": {
        const victim = values.crash ?? "a";
        if (victim !== "a" && victim !== "b") throw new UsageError("--crash must be a or b");
        const missing = labPrerequisites();
        if (missing !== null) return setupFailure(missing);
        const r = await labDemo({ prefix, mode, crash: victim, linux: !values["no-linux"] });
        return r.tandem.errors.length === 0 ? 0 : 1;
      }
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
