/**
 * The check `deno task demo` and `deno task test` run before they start: are the commands the
 * task runs on PATH? As root on a system with apt it installs the missing packages (one line
 * says so first); anywhere else it prints the exact install command and exits 2.
 *
 * Run as `deno run -A mod/setup/preflight.ts demo|test [--dry-run]`; `--dry-run` prints the apt
 * commands it would run instead of running them.
 * @module
 */

import {
  aptInstallLine,
  findCommand,
  missingFrom,
  type MissingPackage,
  optionalFor,
  type PackageEntry,
  packageList,
  pathDirs,
  requiredFor,
  type Task,
} from "./packages.ts";

/** Exit code when the task cannot run here as things are (DESIGN.md "Command line"). */
export const EXIT_SETUP = 2;

/** What the preflight needs from the machine; replaced in tests. */
export interface PreflightIo {
  isRoot: boolean;
  /** Full path of a command on PATH, or undefined. */
  which(command: string): string | undefined;
  /** Full path of a command in the system's bin and sbin directories, on PATH or not. */
  whichSystem(command: string): string | undefined;
  /** Runs a command with the terminal's output and resolves with its exit code. */
  run(args: readonly string[]): Promise<number>;
  log(line: string): void;
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** Print the apt commands instead of running them. */
  dryRun?: boolean;
  /** The package list (default: `packages.txt`). */
  list?: readonly PackageEntry[];
}

const WHY_ROOT: Record<Task, string> = {
  demo: "the demo needs root: it builds network namespaces, TAP devices and nftables rules",
  test: "not root: the lab, TAP and namespace tests will skip",
};

const WITHOUT: Record<Task, string> = {
  demo: "the demo skips its comparison with the Linux reference pair",
  test: "the tests that use them skip",
};

function names(missing: readonly MissingPackage[]): { pkgs: string[]; cmds: string[] } {
  return { pkgs: missing.map((m) => m.pkg), cmds: missing.flatMap((m) => m.commands) };
}

/**
 * Checks (and where it may, installs) what `task` needs. Returns 0 when the task can start,
 * {@link EXIT_SETUP} when the user must act first, 1 when an install failed.
 */
export async function preflight(
  task: Task,
  io: PreflightIo,
  opts: PreflightOptions = {},
): Promise<number> {
  const list = opts.list ?? packageList();
  // A user's PATH has no sbin: for a run without root, an installed tool counts (the tests that
  // run it need root and skip). For root, PATH is what the lab runs commands through.
  const present = (c: string) =>
    io.which(c) !== undefined || (!io.isRoot && io.whichSystem(c) !== undefined);
  const missing = missingFrom(requiredFor(list, task), present);
  // Installed, but in a directory root's PATH lacks: apt cannot help.
  const offPath = missing.flatMap((m) => m.commands)
    .map((c) => ({ c, at: io.whichSystem(c) }))
    .filter((x): x is { c: string; at: string } => x.at !== undefined);
  const absent = missing
    .map((m) => ({
      pkg: m.pkg,
      commands: m.commands.filter((c) => !offPath.some((o) => o.c === c)),
    }))
    .filter((m) => m.commands.length > 0);
  const { pkgs, cmds } = names(absent);
  const install = `apt-get update && ${aptInstallLine(pkgs)}`;
  let code = 0;

  if (task === "demo" && !io.isRoot) {
    io.log(`tandem: ${WHY_ROOT.demo}`);
    code = EXIT_SETUP;
  }
  if (absent.length > 0) {
    const canInstall = io.isRoot && io.which("apt-get") !== undefined;
    if (!canInstall || code !== 0) {
      io.log(`tandem: ${task} needs ${cmds.join(", ")} (Debian: ${pkgs.join(" ")}); as root run:`);
      io.log(`  ${install}`);
      code = EXIT_SETUP;
    } else {
      io.log(`tandem: installing ${pkgs.join(" ")} for ${cmds.join(", ")}: ${install}`);
      if (opts.dryRun) {
        io.log("tandem: --dry-run: not running apt-get");
      } else {
        if (await io.run(["apt-get", "update"]) !== 0) {
          io.log("tandem: apt-get update failed");
          return 1;
        }
        if (await io.run(["apt-get", "install", "-y", ...pkgs]) !== 0) {
          io.log(`tandem: ${aptInstallLine(pkgs)} failed`);
          return 1;
        }
        const still = cmds.filter((c) => io.which(c) === undefined);
        if (still.length > 0) {
          io.log(`tandem: still not on PATH after the install: ${still.join(", ")}`);
          return 1;
        }
      }
    }
  }
  if (offPath.length > 0) {
    const dirs = [...new Set(offPath.map((o) => o.at.slice(0, o.at.lastIndexOf("/"))))];
    io.log(
      `tandem: ${offPath.map((o) => o.c).join(", ")} installed in ${dirs.join(", ")}, ` +
        `which PATH lacks; run: export PATH="$PATH:${dirs.join(":")}"`,
    );
    code = EXIT_SETUP;
  }
  if (code !== 0) return code;

  const extra = missingFrom(optionalFor(list, task), present);
  if (extra.length > 0) {
    const x = names(extra);
    io.log(
      `tandem: without ${x.cmds.join(", ")} ${WITHOUT[task]} (optional: ${aptInstallLine(x.pkgs)})`,
    );
  }
  if (task === "test" && !io.isRoot) io.log(`tandem: ${WHY_ROOT.test}`);
  return 0;
}

/** Where Debian installs commands, whatever PATH says. */
const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** The real machine. */
export function systemIo(): PreflightIo {
  let isRoot = false;
  try {
    isRoot = Deno.uid() === 0;
  } catch {
    isRoot = false;
  }
  return {
    isRoot,
    which: (c) => findCommand(c, pathDirs()),
    whichSystem: (c) => findCommand(c, SYSTEM_DIRS),
    run: async (args) => {
      const [cmd, ...rest] = args;
      if (cmd === undefined) return 127;
      try {
        const out = await new Deno.Command(cmd, {
          args: rest,
          stdin: "null",
          stdout: "inherit",
          stderr: "inherit",
          // No debconf questions (iperf3 asks whether to start a daemon): take the defaults.
          env: { DEBIAN_FRONTEND: "noninteractive" },
        }).output();
        return out.code;
      } catch {
        return 127;
      }
    },
    log: (line) => console.log(line),
  };
}

/** Usage of the preflight's command line. */
export const PREFLIGHT_USAGE = "usage: deno run -A mod/setup/preflight.ts demo|test [--dry-run]";

/** `preflight.ts demo|test [--dry-run]`: returns the exit code. */
export async function preflightMain(args: readonly string[], io = systemIo()): Promise<number> {
  const dryRun = args.includes("--dry-run");
  const rest = args.filter((a) => a !== "--dry-run");
  const task = rest[0];
  if (rest.length !== 1 || (task !== "demo" && task !== "test")) {
    io.log(PREFLIGHT_USAGE);
    return EXIT_SETUP;
  }
  return await preflight(task, io, { dryRun });
}

if (import.meta.main) Deno.exit(await preflightMain(Deno.args));
