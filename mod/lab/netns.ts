/**
 * Process and namespace helpers for the lab: run a command and fail loudly, run one inside a
 * network namespace, start a detached daemon there and learn its real pid, signal and reap by pid.
 *
 * Processes are only ever addressed by pid (never by name) so that two labs with different
 * prefixes, or other work on the machine, are never touched.
 * @module
 */

/** Result of a command that was allowed to fail. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

function quote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

/** Runs `args` (no shell) and returns its exit code and output; never throws for a non-zero exit. */
export async function run(args: readonly string[], stdin?: string): Promise<RunResult> {
  const [cmd, ...rest] = args;
  if (cmd === undefined) throw new Error("run: empty command");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args: rest,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    // A missing binary is reported like a shell would, so callers handle one shape.
    return { code: 127, stdout: "", stderr: `${cmd}: ${(e as Error).message}` };
  }
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs `args` and returns stdout; throws an Error naming the command and its stderr on failure. */
export async function sh(args: readonly string[], stdin?: string): Promise<string> {
  const r = await run(args, stdin);
  if (r.code !== 0) {
    throw new Error(`command failed (exit ${r.code}): ${quote(args)}\n${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** `sh` inside network namespace `ns` (via `ip netns exec`). */
export function nsExec(ns: string, args: readonly string[], stdin?: string): Promise<string> {
  return sh(["ip", "netns", "exec", ns, ...args], stdin);
}

/** `run` inside network namespace `ns`; never throws for a non-zero exit. */
export function nsRun(ns: string, args: readonly string[], stdin?: string): Promise<RunResult> {
  return run(["ip", "netns", "exec", ns, ...args], stdin);
}

/** True when an executable named `name` is on PATH. */
export function hasCommand(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (dir === "") continue;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts `args` in namespace `ns` as a detached daemon (own session, so it outlives this
 * process), stdout and stderr appended to `logFile`, stdin from /dev/null. Returns its pid.
 *
 * `setsid -f sh -c 'echo $$ > pidfile; exec ip netns exec NS …'`: the shell writes its own pid and
 * then execs; `ip netns exec` execs the command too, so the pid written is the daemon's own pid.
 * `cwd` (default `/`) is the daemon's working directory.
 */
export async function spawnInNs(
  ns: string,
  args: readonly string[],
  logFile: string,
  pidFile?: string,
  cwd = "/",
): Promise<number> {
  const pf = pidFile ?? await Deno.makeTempFile({ prefix: "tandem-lab-pid-" });
  await Deno.remove(pf).catch(() => {});
  const script = 'pf=$1; log=$2; cd "$3" || exit 1; shift 3; exec >>"$log" 2>&1 </dev/null; ' +
    'echo $$ >"$pf"; exec ip netns exec "$@"';
  const r = await run(["setsid", "-f", "sh", "-c", script, "sh", pf, logFile, cwd, ns, ...args]);
  if (r.code !== 0) throw new Error(`spawn failed: ${quote(args)} in ${ns}: ${r.stderr.trim()}`);
  for (let i = 0; i < 200; i++) {
    try {
      const pid = Number.parseInt((await Deno.readTextFile(pf)).trim(), 10);
      if (Number.isInteger(pid) && pid > 0) {
        if (pidFile === undefined) await Deno.remove(pf).catch(() => {});
        await waitInNs(pid, ns);
        return pid;
      }
    } catch {
      // not written yet
    }
    await sleep(10);
  }
  throw new Error(`spawn: no pid file ${pf} after 2 s for ${quote(args)} in ${ns}`);
}

/**
 * The pid file is written before `ip netns exec` has switched namespace: wait (bounded) until
 * the process's network namespace is `ns`, so callers see it where they expect it.
 */
async function waitInNs(pid: number, ns: string): Promise<void> {
  let want: number | null = null;
  try {
    want = Deno.statSync(`/run/netns/${ns}`).ino;
  } catch {
    return;
  }
  for (let i = 0; i < 200 && pidAlive(pid); i++) {
    try {
      if (Deno.statSync(`/proc/${pid}/ns/net`).ino === want) return;
    } catch {
      return;
    }
    await sleep(5);
  }
}

/** Process state letter from /proc (R, S, T, Z, …) or undefined when the pid does not exist. */
export function procState(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    const close = stat.lastIndexOf(")");
    return stat.slice(close + 2, close + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie (our daemons are reparented, maybe never reaped). */
export function pidAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== "Z" && s !== "X";
}

/** Sends `signal` to `pid`; returns false when the process is already gone. */
export function killPid(pid: number, signal: Deno.Signal = "SIGTERM"): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    Deno.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pid` to exit (or become a zombie); true when it did. */
export async function waitExit(pid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (pidAlive(pid)) {
    if (performance.now() >= deadline) return false;
    await sleep(10);
  }
  return true;
}

/** SIGCONT (it may be frozen), SIGTERM, then SIGKILL after `graceMs`. True when it is gone. */
export async function stopPid(pid: number, graceMs = 3000): Promise<boolean> {
  if (!pidAlive(pid)) return true;
  killPid(pid, "SIGCONT");
  killPid(pid, "SIGTERM");
  if (await waitExit(pid, graceMs)) return true;
  killPid(pid, "SIGKILL");
  return await waitExit(pid, 2000);
}

/** Last `lines` lines of a text file, or a note that it cannot be read. */
export async function tail(path: string, lines = 30): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch (e) {
    return `(cannot read ${path}: ${(e as Error).message})`;
  }
}
