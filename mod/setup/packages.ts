/**
 * The Debian packages tandem's lab, demo and tests need, read from `packages.txt` (the one list;
 * see its header), and the lookups the preflight makes: which commands a task needs, which of
 * them are not on PATH, and the apt command that installs their packages.
 * @module
 */

/** A task that checks its tools before it starts. */
export type Task = "demo" | "test";

/** One line of the list. */
export interface PackageEntry {
  /** Debian package name. */
  pkg: string;
  /** Commands from the package that tandem runs (looked up on PATH). */
  commands: string[];
  /** Tasks that install the package when a command is missing. */
  needs: Task[];
  /** Tasks that use the package when present and skip that part otherwise. */
  uses: Task[];
}

const TASKS: readonly Task[] = ["demo", "test"];
const PKG_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const CMD_RE = /^[A-Za-z0-9_.+-]+$/;

/** Parses the list's text; throws naming the line when one is malformed. */
export function parsePackageList(text: string): PackageEntry[] {
  const out: PackageEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const bad = (why: string): never => {
      throw new Error(`packages.txt line ${i + 1}: ${why}: ${raw.trim()}`);
    };
    const cols = line.split("|").map((c) => c.trim());
    if (cols.length !== 3) bad("expected `package | commands | needed by`");
    const [pkg, cmds, tasks] = cols as [string, string, string];
    if (!PKG_RE.test(pkg)) bad(`bad package name "${pkg}"`);
    const commands = cmds.split(/\s+/).filter((c) => c !== "");
    if (commands.length === 0 || !commands.every((c) => CMD_RE.test(c))) bad("bad command list");
    const entry: PackageEntry = { pkg, commands, needs: [], uses: [] };
    for (const t of tasks.split(/\s+/).filter((x) => x !== "")) {
      const optional = t.endsWith("?");
      const task = (optional ? t.slice(0, -1) : t) as Task;
      if (!TASKS.includes(task)) bad(`unknown task "${t}"`);
      (optional ? entry.uses : entry.needs).push(task);
    }
    if (entry.needs.length + entry.uses.length === 0) bad("no task needs it");
    if (out.some((e) => e.pkg === pkg)) bad(`"${pkg}" listed twice`);
    out.push(entry);
  });
  return out;
}

/** Where the list lives (beside this module; `deno task compile` includes it). */
export const PACKAGE_LIST_URL: URL = new URL("./packages.txt", import.meta.url);

/** The list, read from {@link PACKAGE_LIST_URL}. */
export function packageList(): PackageEntry[] {
  return parsePackageList(Deno.readTextFileSync(PACKAGE_LIST_URL));
}

/** Packages `task` installs when missing. */
export function requiredFor(list: readonly PackageEntry[], task: Task): PackageEntry[] {
  return list.filter((e) => e.needs.includes(task));
}

/** Packages `task` uses when present (and does not install). */
export function optionalFor(list: readonly PackageEntry[], task: Task): PackageEntry[] {
  return list.filter((e) => e.uses.includes(task) && !e.needs.includes(task));
}

/** Every package of the list that some task requires (README's first install line). */
export function requiredPackages(list: readonly PackageEntry[]): string[] {
  return list.filter((e) => e.needs.length > 0).map((e) => e.pkg);
}

/** Every package that is only ever optional (README's second install line). */
export function optionalPackages(list: readonly PackageEntry[]): string[] {
  return list.filter((e) => e.needs.length === 0).map((e) => e.pkg);
}

/** Full path of `name` in the first `dirs` entry that holds an executable file of that name. */
export function findCommand(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    if (dir === "") continue;
    const path = `${dir.replace(/\/$/, "")}/${name}`;
    try {
      const st = Deno.statSync(path);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The directories of `$PATH` (the lab runs every command by name through it). */
export function pathDirs(path = Deno.env.get("PATH") ?? ""): string[] {
  return path.split(":").filter((d) => d !== "");
}

/** A package with the commands of it that were not found. */
export interface MissingPackage {
  pkg: string;
  commands: string[];
}

/** The entries of `list` with at least one command for which `has` is false. */
export function missingFrom(
  list: readonly PackageEntry[],
  has: (command: string) => boolean,
): MissingPackage[] {
  return list.map((e) => ({ pkg: e.pkg, commands: e.commands.filter((c) => !has(c)) }))
    .filter((m) => m.commands.length > 0);
}

/** `apt-get install -y PKG…` as one line, the way a user types it. */
export function aptInstallLine(pkgs: readonly string[]): string {
  return `apt-get install -y ${pkgs.join(" ")}`;
}
