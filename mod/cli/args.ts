/**
 * The command line (DESIGN.md "Command line"), parsed with `node:util` `parseArgs` in strict
 * mode, one option set per command. Every mistake becomes a one-line {@link UsageError} naming the
 * flag, which the CLI prints before exiting with code 2.
 * @module
 */

import { parseArgs as parseNodeArgs } from "node:util";
import type { Mode, Role } from "../ha/types.ts";
import type { BackendAdmin } from "../api/snapshot.ts";
import type { Overrides } from "../config/load.ts";
import { DEFAULT_API, MODES, parseEndpoint, ROLES } from "../config/schema.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../log/log.ts";

/** A bad command line; the message is one line naming the flag or argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Lab actions a user runs. */
export type LabAction = "up" | "down" | "demo";
/** Lab actions on one unit. */
export type LabUnitAction = "crash" | "revive";
/** Internal lab helpers (run inside a namespace by the lab itself). */
export type LabHelperAction = "serve" | "traffic";

/** What the user asked for. */
export type Command =
  | { cmd: "run"; config: string; overrides: Overrides }
  | { cmd: "lab"; action: LabAction; prefix: string; mode: Mode; noServers: boolean }
  | {
    cmd: "lab";
    action: LabUnitAction;
    unit: "a" | "b";
    prefix: string;
    mode: Mode;
    noServers: boolean;
  }
  | { cmd: "lab"; action: LabHelperAction; prefix: string; rest: string[] }
  | { cmd: "status"; api: string }
  /** `tokenFile` is the `--token-file` flag; the caller falls back to `$TANDEM_TOKEN_FILE`. */
  | {
    cmd: "backend";
    admin: BackendAdmin;
    service: string;
    address: string;
    api: string;
    tokenFile?: string;
  }
  | { cmd: "maintenance"; on: boolean; api: string; tokenFile?: string }
  | { cmd: "reload"; api: string; tokenFile?: string }
  | { cmd: "version" }
  | { cmd: "help" };

/** Lab namespace prefix: short so `<prefix>-server` and device names stay within IFNAMSIZ. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,5}$/;
export const DEFAULT_PREFIX = "tnd";
export const DEFAULT_MODE: Mode = "standby-forward";

export const USAGE = `usage:
  tandem run --config tandem.yaml --role active|standby
             --mode active-forward|standby-forward|standby-first
             [--api 127.0.0.1:9090] [--log-level info] [--log-format text|json]
  tandem lab up|down|demo|crash a|b|revive a|b  [--prefix tnd] [--mode M] [--no-servers]
  tandem lab demo [--mode M] [--crash a|b]   # crash a unit under traffic, beside the Linux pair
  tandem status [--api ADDR]          # pretty-print /status
  tandem backend drain|enable|maintenance SERVICE ADDR [--api ADDR] [--token-file FILE]
  tandem maintenance on|off [--api ADDR] [--token-file FILE]
  tandem reload [--api ADDR] [--token-file FILE]
  tandem version

Flags override the config file. Bad flags or a bad config exit with code 2.
backend, maintenance and reload need the API token: --token-file FILE, else $TANDEM_TOKEN_FILE.
They exit 0 when the unit did it, 1 when it refused (its message is printed).
`;

const COMMANDS = [
  "run",
  "lab",
  "status",
  "backend",
  "maintenance",
  "reload",
  "version",
  "help",
] as const;
/** `tandem backend <action>` → the operator state it sets. */
const BACKEND_ACTIONS: Record<string, BackendAdmin> = {
  drain: "draining",
  enable: "enabled",
  maintenance: "maintenance",
};
const LAB_ACTIONS = ["up", "down", "demo", "crash", "revive"] as const;

type Options = NonNullable<Parameters<typeof parseNodeArgs>[0]>["options"];

const HELP = { help: { type: "boolean", short: "h" } } as const;
const RUN_OPTIONS = {
  ...HELP,
  config: { type: "string", short: "c" },
  role: { type: "string" },
  mode: { type: "string" },
  api: { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
} as const satisfies Options;
const LAB_OPTIONS = {
  ...HELP,
  prefix: { type: "string" },
  mode: { type: "string" },
  "no-servers": { type: "boolean" },
} as const satisfies Options;
const STATUS_OPTIONS = { ...HELP, api: { type: "string" } } as const satisfies Options;
const CONTROL_OPTIONS = {
  ...STATUS_OPTIONS,
  "token-file": { type: "string" },
} as const satisfies Options;

/** Node's parseArgs errors, reworded to our one-line style. */
function usageFrom(err: unknown): UsageError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  // Node quotes the option as '--name', '-n, --name' or '--name <value>'; keep the long name.
  const flag = /'(?:-[^-\s], )?(-{1,2}[^'\s<,]+)/.exec(message)?.[1] ?? "?";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new UsageError(`unknown flag ${flag}`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take an argument/.test(message)) {
      return new UsageError(`${flag} takes no value`);
    }
    return new UsageError(`${flag} needs a value`);
  }
  return new UsageError(message.split("\n")[0] ?? message);
}

function parseWith<T extends Options>(
  args: string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseNodeArgs({
      args,
      options,
      strict: true,
      allowPositionals: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw usageFrom(err);
  }
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `${flag} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`,
  );
}

function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

function apiAddress(value: string): string {
  // Port 0 is for tests that let the kernel pick; the address must be IPv4 like the config's.
  if (parseEndpoint(value, true) === undefined) {
    throw new UsageError(`--api must be an IPv4 address:port (got ${JSON.stringify(value)})`);
  }
  return value;
}

function noPositionals(positionals: string[]): void {
  const extra = positionals[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
}

function parsePrefix(value: string | undefined): string {
  if (value === undefined) return DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(value)) {
    throw new UsageError(
      `--prefix must be 1-6 lowercase letters or digits, starting with a letter ` +
        `(got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function parseRun(args: string[]): Command {
  const { values, positionals } = parseWith(args, RUN_OPTIONS);
  if (values.help === true) return { cmd: "help" };
  noPositionals(positionals);
  const config = str(values, "config");
  if (config === undefined) throw new UsageError("--config is required for run");
  if (config === "") throw new UsageError("--config needs a value");
  const overrides: Overrides = {};
  const role = str(values, "role");
  if (role !== undefined) overrides.role = oneOf<Role>("--role", role, ROLES);
  const mode = str(values, "mode");
  if (mode !== undefined) overrides.mode = oneOf<Mode>("--mode", mode, MODES);
  const api = str(values, "api");
  if (api !== undefined) overrides.api = apiAddress(api);
  const level = str(values, "log-level");
  if (level !== undefined) overrides.logLevel = oneOf("--log-level", level, LOG_LEVELS);
  const format = str(values, "log-format");
  if (format !== undefined) overrides.logFormat = oneOf("--log-format", format, LOG_FORMATS);
  return { cmd: "run", config, overrides };
}

/**
 * `lab serve|traffic` are the lab's own helpers: only `--prefix` is ours, everything else (and
 * everything after `--`) goes to the helper untouched.
 */
function parseLabHelper(action: LabHelperAction, args: string[]): Command {
  let prefix: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (arg === "--prefix") {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("-")) {
        throw new UsageError("--prefix needs a value");
      }
      prefix = value;
      i++;
    } else if (arg.startsWith("--prefix=")) {
      prefix = arg.slice("--prefix=".length);
    } else {
      rest.push(arg);
    }
  }
  return { cmd: "lab", action, prefix: parsePrefix(prefix), rest };
}

function parseLab(args: string[]): Command {
  const first = args[0];
  if (first === "serve" || first === "traffic") return parseLabHelper(first, args.slice(1));
  const { values, positionals } = parseWith(args, LAB_OPTIONS);
  if (values.help === true) return { cmd: "help" };
  const [actionText, unitText, ...extra] = positionals;
  if (actionText === undefined) {
    throw new UsageError(`lab needs an action: ${LAB_ACTIONS.join(", ")}`);
  }
  if (!(LAB_ACTIONS as readonly string[]).includes(actionText)) {
    throw new UsageError(
      `unknown lab action ${JSON.stringify(actionText)} (expected ${LAB_ACTIONS.join(", ")})`,
    );
  }
  const action = actionText as typeof LAB_ACTIONS[number];
  const prefix = parsePrefix(str(values, "prefix"));
  const modeText = str(values, "mode");
  const mode = modeText === undefined ? DEFAULT_MODE : oneOf<Mode>("--mode", modeText, MODES);
  const noServers = values["no-servers"] === true;
  if (action === "crash" || action === "revive") {
    if (unitText === undefined) throw new UsageError(`lab ${action} needs a unit: a or b`);
    if (unitText !== "a" && unitText !== "b") {
      throw new UsageError(`lab ${action}: unit must be a or b (got ${JSON.stringify(unitText)})`);
    }
    noPositionals(extra);
    return { cmd: "lab", action, unit: unitText, prefix, mode, noServers };
  }
  noPositionals(unitText === undefined ? [] : [unitText]);
  return { cmd: "lab", action, prefix, mode, noServers };
}

function parseStatus(args: string[]): Command {
  const { values, positionals } = parseWith(args, STATUS_OPTIONS);
  if (values.help === true) return { cmd: "help" };
  noPositionals(positionals);
  const api = str(values, "api");
  return { cmd: "status", api: api === undefined ? DEFAULT_API : apiAddress(api) };
}

/** `--api` and `--token-file` of the write commands. */
function controlTarget(values: Record<string, unknown>): { api: string; tokenFile?: string } {
  const api = str(values, "api");
  const tokenFile = str(values, "token-file");
  if (tokenFile === "") throw new UsageError("--token-file needs a value");
  return {
    api: api === undefined ? DEFAULT_API : apiAddress(api),
    ...(tokenFile === undefined ? {} : { tokenFile }),
  };
}

function parseBackend(args: string[]): Command {
  const { values, positionals } = parseWith(args, CONTROL_OPTIONS);
  if (values.help === true) return { cmd: "help" };
  const [action, service, address, ...extra] = positionals;
  const actions = Object.keys(BACKEND_ACTIONS).join(", ");
  if (action === undefined) throw new UsageError(`backend needs an action: ${actions}`);
  const admin = Object.hasOwn(BACKEND_ACTIONS, action) ? BACKEND_ACTIONS[action] : undefined;
  if (admin === undefined) {
    throw new UsageError(`unknown backend action ${JSON.stringify(action)} (expected ${actions})`);
  }
  if (service === undefined || service === "") {
    throw new UsageError(`backend ${action} needs a SERVICE and an ADDR`);
  }
  if (address === undefined) throw new UsageError(`backend ${action} needs an ADDR after SERVICE`);
  const endpoint = parseEndpoint(address);
  if (endpoint === undefined) {
    throw new UsageError(`ADDR must be an IPv4 address:port (got ${JSON.stringify(address)})`);
  }
  noPositionals(extra);
  return { cmd: "backend", admin, service, address: endpoint.text, ...controlTarget(values) };
}

function parseMaintenance(args: string[]): Command {
  const { values, positionals } = parseWith(args, CONTROL_OPTIONS);
  if (values.help === true) return { cmd: "help" };
  const [onOff, ...extra] = positionals;
  if (onOff === undefined) throw new UsageError("maintenance needs on or off");
  if (onOff !== "on" && onOff !== "off") {
    throw new UsageError(`maintenance: expected on or off (got ${JSON.stringify(onOff)})`);
  }
  noPositionals(extra);
  return { cmd: "maintenance", on: onOff === "on", ...controlTarget(values) };
}

function parseReload(args: string[]): Command {
  const { values, positionals } = parseWith(args, CONTROL_OPTIONS);
  if (values.help === true) return { cmd: "help" };
  noPositionals(positionals);
  return { cmd: "reload", ...controlTarget(values) };
}

/** Parses `Deno.args`; throws {@link UsageError} on any mistake. */
export function parseArgs(argv: string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    return { cmd: "help" };
  }
  if (first === "version" || first === "--version" || first === "-V") {
    const { values, positionals } = parseWith(rest, HELP);
    if (values.help === true) return { cmd: "help" };
    noPositionals(positionals);
    return { cmd: "version" };
  }
  switch (first) {
    case "run":
      return parseRun(rest);
    case "lab":
      return parseLab(rest);
    case "status":
      return parseStatus(rest);
    case "backend":
      return parseBackend(rest);
    case "maintenance":
      return parseMaintenance(rest);
    case "reload":
      return parseReload(rest);
  }
  if (first.startsWith("-")) {
    throw new UsageError(`expected a command (${COMMANDS.join(", ")}) before ${first}`);
  }
  throw new UsageError(
    `unknown command ${JSON.stringify(first)} (expected ${COMMANDS.join(", ")})`,
  );
}
