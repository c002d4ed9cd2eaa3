/**
 * Where the CPU went during one measured run of the forward bench: how busy each unit's loop
 * thread was, how much of that was kernel work, and how much of the machine stayed idle.
 *
 * A throughput figure alone does not say whether a unit was saturated or waiting: profiles showed
 * a unit's loop thread at a whole core, 90% of it in the kernel (TAP reads and writes, and the
 * receiving stack a TAP write runs inline), while the machine still had a quarter of its CPU idle
 * (docs/performance.md). These rows keep that visible beside every run.
 *
 * Read from /proc (proc(5)): the `cpu` line of /proc/stat, and utime and stime of
 * /proc/<pid>/task/<pid>/stat (the main thread: the loop's).
 * @module
 */

/** A thread's CPU time so far, in clock ticks. */
export interface ThreadTicks {
  user: number;
  system: number;
}

/** The machine's CPU time so far, in clock ticks over all CPUs. */
export interface MachineTicks {
  idle: number;
  total: number;
}

/** How a thread used the CPU over an interval. */
export interface ThreadUse {
  /** Time on a CPU, % of one core. */
  busy: number;
  /** Of that, % in the kernel. */
  kernel: number;
}

/**
 * utime and stime (fields 14 and 15) of a `/proc/<pid>/task/<tid>/stat` line. The command name
 * (field 2) is in parentheses and may hold spaces and parentheses, so fields are counted after
 * the last `)`. Undefined for a line that does not parse.
 */
export function parseTaskStat(line: string): ThreadTicks | undefined {
  const close = line.lastIndexOf(")");
  if (close < 0) return undefined;
  // Field 3 (state) is the first after the name: field n is at index n - 3.
  const rest = line.slice(close + 1).trim().split(/\s+/);
  const user = Number(rest[14 - 3]), system = Number(rest[15 - 3]);
  return Number.isInteger(user) && Number.isInteger(system) ? { user, system } : undefined;
}

/**
 * Idle and total ticks from /proc/stat's aggregate `cpu` line: user nice system idle iowait irq
 * softirq steal (guest time is already inside user). Idle counts iowait too.
 */
export function parseProcStat(text: string): MachineTicks | undefined {
  const line = text.split("\n").find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isInteger(x))) return undefined;
  return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
}

/** A thread's use between two readings over `wallMs` of wall time; `hz`: ticks per second. */
export function threadUse(
  before: ThreadTicks,
  after: ThreadTicks,
  wallMs: number,
  hz: number,
): ThreadUse | undefined {
  const user = after.user - before.user, system = after.system - before.system;
  if (!(wallMs > 0) || !(hz > 0) || user < 0 || system < 0) return undefined;
  const ticks = user + system;
  return {
    busy: (100 * ticks * 1000) / (hz * wallMs),
    kernel: ticks === 0 ? 0 : (100 * system) / ticks,
  };
}

/** % of the machine's CPU time that was idle between two readings. */
export function idlePercent(before: MachineTicks, after: MachineTicks): number | undefined {
  const total = after.total - before.total;
  return total > 0 ? (100 * (after.idle - before.idle)) / total : undefined;
}

let hzCache: number | undefined;

/** USER_HZ, the unit of /proc's times: `getconf CLK_TCK`, 100 when it cannot be asked. */
export async function clockTicks(): Promise<number> {
  if (hzCache !== undefined) return hzCache;
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    hzCache = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    hzCache = 100;
  }
  return hzCache;
}

async function readThread(pid: number): Promise<ThreadTicks | undefined> {
  try {
    return parseTaskStat(await Deno.readTextFile(`/proc/${pid}/task/${pid}/stat`));
  } catch {
    return undefined;
  }
}

async function readMachine(): Promise<MachineTicks | undefined> {
  try {
    return parseProcStat(await Deno.readTextFile("/proc/stat"));
  } catch {
    return undefined;
  }
}

/** What {@link sampleCpu} saw: each named thread's use (absent when unreadable), machine idle. */
export interface CpuSample {
  threads: Record<string, ThreadUse | undefined>;
  idle: number | undefined;
}

/**
 * Runs `fn` and reads, around it, the main threads of `pids` (name → pid) and the machine. The
 * readings bracket the whole of `fn`, so its own start-up and teardown are inside the interval.
 */
export async function sampleCpu<T>(
  pids: Record<string, number | undefined>,
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: CpuSample }> {
  const hz = await clockTicks();
  const names = Object.keys(pids);
  const read = () => Promise.all(names.map((n) => pids[n] ? readThread(pids[n]!) : undefined));
  const [t0, m0] = [await read(), await readMachine()];
  const start = performance.now();
  const value = await fn();
  const wallMs = performance.now() - start;
  const [t1, m1] = [await read(), await readMachine()];
  const threads: Record<string, ThreadUse | undefined> = {};
  names.forEach((n, i) => {
    const [b, a] = [t0[i], t1[i]];
    threads[n] = b && a ? threadUse(b, a, wallMs, hz) : undefined;
  });
  return { value, cpu: { threads, idle: m0 && m1 ? idlePercent(m0, m1) : undefined } };
}
