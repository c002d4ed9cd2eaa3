/**
 * The `forward` suite: traffic through ONE unit (tandem `active-forward` with only unit a up)
 * beside the Linux kernel doing the same job on the reference lab (`lab.sh` plus the pair's own
 * DNAT ruleset on `<P>-a`, no keepalived or conntrackd), then through the mirrored pair (tandem
 * `standby-forward` beside the Linux pair of `up.sh`), and tandem's pair in `active-forward`
 * too (its mirroring is asynchronous and carries headers only). Measured from the client namespace:
 * iperf3 TCP throughput (1 and 8 streams), 64-byte UDP packets delivered per second, and TCP echo
 * round-trip times (the lab traffic generator's p50/p99). Each figure is measured `benchRuns()`
 * times in the same lab and reported as median (min–max). In tandem's pair it also reads the
 * units' busy-poll time around each RTT run and, after a minute of one saturating TCP stream,
 * their longest loop pause. Around the 8-stream, 64-byte UDP and pair TCP runs it reads how busy
 * each unit's loop thread was (and how much of that in the kernel) and how idle the machine was
 * (`cpu.ts`): whether a figure is a saturated unit or a waiting one.
 * @module
 */

import { labDown, labUp, readPid } from "../mod/lab/topology.ts";
import { nsCurl, startTraffic } from "../mod/lab/harness.ts";
import type { StatusSnapshot } from "../mod/api/snapshot.ts";
import {
  iperf,
  type IperfResult,
  labMissing,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairUp,
  linuxRouterDown,
  linuxRouterUp,
  startServers,
  type UdpRate,
  udpRate,
  waitFor,
} from "./labs.ts";
import { type CpuSample, sampleCpu } from "./cpu.ts";
import {
  benchRuns,
  int,
  isoDate,
  median,
  medianRange,
  NA,
  num,
  type Row,
  type SuiteResult,
} from "./report.ts";

/** Prefixes of the suite's own labs. */
const TANDEM_ONE = "bf1";
const TANDEM_PAIR = "bf2";
const TANDEM_AF = "bf6";
const LINUX = "lx1";

/** Seconds per iperf3 run and per UDP blast. */
const IPERF_SECONDS = 5;
const UDP_SECONDS = 3;

/**
 * Seconds of one-stream iperf3 before reading the units' longest loop pause: 60 fills the
 * counter's 60 s window with saturation. `TANDEM_BENCH_SATURATE_S` overrides, at least 5.
 */
const SATURATE_SECONDS = 60;

function saturateSeconds(): number {
  const n = Number(Deno.env.get("TANDEM_BENCH_SATURATE_S") ?? SATURATE_SECONDS);
  return Number.isFinite(n) ? Math.max(5, n) : SATURATE_SECONDS;
}

/**
 * What one side (tandem or Linux) measured: one sample per successful run of each figure, so a
 * failed run leaves an entry in `errors` and none here.
 */
export interface ForwardSide {
  tcp1: IperfResult[];
  tcp8: IperfResult[];
  udp: UdpRate[];
  rtt: Rtt[];
  pairTcp1: IperfResult[];
  pairUdp: UdpRate[];
  pairRtt: Rtt[];
  /** The pair in `active-forward` (tandem only): TCP 1 stream and echo RTT. */
  afTcp1: IperfResult[];
  afRtt: Rtt[];
  /** Both units' busy-poll time during each pair RTT run, % of one core (tandem only). */
  pairBusyPoll: number[];
  /** CPU around each run of: one unit, 8 streams; one unit, 64-byte UDP; the pair, 1 stream. */
  tcp8Cpu: CpuSample[];
  udpCpu: CpuSample[];
  pairTcp1Cpu: CpuSample[];
  /** The pair after saturation (tandem only). */
  saturation?: Saturation;
  errors: string[];
  skipped?: string;
}

/** One TCP stream through the pair for `SATURATE_SECONDS`, then each unit's longest loop pause. */
export interface Saturation {
  gbps: number;
  seconds: number;
  /** `loop_longest_pause_60s_us` per unit; absent on a unit too old to count it. */
  pauseUs: { a?: number; b?: number };
}

/** TCP echo round trips in µs. */
export interface Rtt {
  p50: number;
  p99: number;
}

/** A side with no samples yet. */
export function emptySide(): ForwardSide {
  return {
    tcp1: [],
    tcp8: [],
    udp: [],
    rtt: [],
    pairTcp1: [],
    pairUdp: [],
    pairRtt: [],
    afTcp1: [],
    afRtt: [],
    pairBusyPoll: [],
    tcp8Cpu: [],
    udpCpu: [],
    pairTcp1Cpu: [],
    errors: [],
  };
}

async function attempt<T>(
  side: ForwardSide,
  what: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    side.errors.push(`${what}: ${(e as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

/** Adds `x` to `xs` when the attempt produced it. */
function add<T>(xs: T[], x: T | undefined): void {
  if (x !== undefined) xs.push(x);
}

/** p50/p99 of TCP echo RTT through the VIP: 10 persistent connections, one message per 10 ms. */
export async function echoRtt(prefix: string): Promise<Rtt> {
  const run = await startTraffic(prefix, {
    conns: 10,
    intervalMs: 10,
    churnMs: 0,
    udp: 0,
    durationMs: 3000,
    timeoutMs: 5000,
  });
  const timeout = new Promise<never>((_, rej) =>
    setTimeout(() => rej(new Error("traffic generator did not finish")), 20_000)
  );
  const r = await Promise.race([run.done, timeout]);
  if (r.tcp.completed < r.tcp.opened || r.tcp.opened === 0) {
    throw new Error(`echo connections failed: ${r.errorSamples.slice(0, 2).join("; ")}`);
  }
  return { p50: r.tcp.p50RttMs * 1000, p99: r.tcp.p99RttMs * 1000 };
}

async function status(prefix: string, u: "a" | "b"): Promise<StatusSnapshot> {
  return await nsCurl(prefix, u, "/status") as StatusSnapshot;
}

/** Unit counters: µs the loop spent busy-polling, and its longest pause in the last 60 s. */
const BUSY_POLL = "loop_busy_poll_us";
const LONGEST_PAUSE = "loop_longest_pause_60s_us";

/** Both units' `counters[name]`, undefined for a unit that does not count it. */
async function unitCounters(prefix: string, name: string): Promise<{ a?: number; b?: number }> {
  const [a, b] = [await status(prefix, "a"), await status(prefix, "b")];
  return { a: a.counters[name], b: b.counters[name] };
}

/**
 * Busy-poll CPU of both units over a run of `wallUs`, % of one core, from their
 * `loop_busy_poll_us` before and after; undefined when either unit lacks the counter.
 */
export function busyPollPercent(
  before: { a?: number; b?: number } | undefined,
  after: { a?: number; b?: number } | undefined,
  wallUs: number,
): number | undefined {
  if (!before || !after || !(wallUs > 0)) return undefined;
  const { a: a0, b: b0 } = before;
  const { a: a1, b: b1 } = after;
  if (a0 === undefined || b0 === undefined || a1 === undefined || b1 === undefined) {
    return undefined;
  }
  return (100 * (a1 - a0 + (b1 - b0))) / wallUs;
}

/**
 * Runs `fn` with the CPU read around it (`units`: the lab's unit processes to read, none for
 * Linux), adding the sample to `cpu` when `fn` succeeded.
 */
async function withCpu<T>(
  side: ForwardSide,
  what: string,
  prefix: string,
  units: readonly ("a" | "b")[],
  cpu: CpuSample[],
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const pids: Record<string, number | undefined> = {};
  for (const u of units) pids[u] = await readPid(prefix, u);
  const r = await attempt(side, what, () => sampleCpu(pids, fn));
  if (r) cpu.push(r.cpu);
  return r?.value;
}

/**
 * Measures one side's single-router figures `runs` times on a lab that is up and serving;
 * `units`: the lab's unit processes, whose loop threads are read.
 */
async function measureOne(
  prefix: string,
  side: ForwardSide,
  runs: number,
  units: readonly ("a" | "b")[],
): Promise<void> {
  for (let r = 0; r < runs; r++) {
    add(side.rtt, await attempt(side, "echo RTT", () => echoRtt(prefix)));
    add(side.tcp1, await attempt(side, "iperf3 1 stream", () => iperf(prefix, 1, IPERF_SECONDS)));
    add(
      side.tcp8,
      await withCpu(
        side,
        "iperf3 8 streams",
        prefix,
        units,
        side.tcp8Cpu,
        () => iperf(prefix, 8, IPERF_SECONDS),
      ),
    );
    add(
      side.udp,
      await withCpu(
        side,
        "UDP 64 B",
        prefix,
        units,
        side.udpCpu,
        () => udpRate(prefix, UDP_SECONDS),
      ),
    );
  }
}

/** The pair figures `runs` times; `units` when the pair is tandem's and has counters to read. */
async function measurePair(
  prefix: string,
  side: ForwardSide,
  runs: number,
  units: boolean,
): Promise<void> {
  const busy = () => attempt(side, "busy-poll counters", () => unitCounters(prefix, BUSY_POLL));
  for (let r = 0; r < runs; r++) {
    const before = units ? await busy() : undefined;
    const t0 = performance.now();
    const rtt = await attempt(side, "pair echo RTT", () => echoRtt(prefix));
    const wallUs = (performance.now() - t0) * 1000;
    const after = units ? await busy() : undefined;
    add(side.pairRtt, rtt);
    if (rtt) add(side.pairBusyPoll, busyPollPercent(before, after, wallUs));
    add(
      side.pairTcp1,
      await withCpu(
        side,
        "pair iperf3",
        prefix,
        units ? ["a", "b"] : [],
        side.pairTcp1Cpu,
        () => iperf(prefix, 1, IPERF_SECONDS),
      ),
    );
    add(side.pairUdp, await attempt(side, "pair UDP 64 B", () => udpRate(prefix, UDP_SECONDS)));
  }
}

/** The `active-forward` pair's figures `runs` times. */
async function measureActiveForward(prefix: string, side: ForwardSide, runs: number) {
  for (let r = 0; r < runs; r++) {
    add(side.afRtt, await attempt(side, "active-forward echo RTT", () => echoRtt(prefix)));
    add(
      side.afTcp1,
      await attempt(side, "active-forward iperf3", () => iperf(prefix, 1, IPERF_SECONDS)),
    );
  }
}

/** Brings up a tandem pair in `mode` and waits until a is active and b standby. */
async function pairUp(prefix: string, mode: "standby-forward" | "active-forward") {
  await labUp({ prefix, mode, noServers: true });
  await waitFor("a settled pair", async () => {
    const [a, b] = [await status(prefix, "a"), await status(prefix, "b")];
    return a.state === "active" && b.state === "standby" ? true : undefined;
  }, 20_000);
  await startServers(prefix);
}

/** Saturates the pair with one TCP stream, then reads the units' longest recent loop pause. */
async function saturate(prefix: string, side: ForwardSide): Promise<void> {
  const seconds = saturateSeconds();
  const load = await attempt(side, "saturating iperf3", () => iperf(prefix, 1, seconds));
  // A pause read without the load would pass for one under saturation: none rather than that.
  if (!load) return;
  const pauseUs = await attempt(side, "loop pause", () => unitCounters(prefix, LONGEST_PAUSE));
  if (pauseUs) side.saturation = { gbps: load.gbps, seconds, pauseUs };
}

/** tandem: one unit, then the mirrored pair, each in a lab of its own, `runs` times each. */
export async function forwardTandem(runs = benchRuns()): Promise<ForwardSide> {
  const side = emptySide();
  try {
    await labUp({ prefix: TANDEM_ONE, units: ["a"], mode: "active-forward", noServers: true });
    // Alone, unit a waits out its boot listen for a peer, then serves solo.
    await waitFor("unit a serving alone", async () => {
      return (await status(TANDEM_ONE, "a")).receiver ? true : undefined;
    }, 15_000);
    await startServers(TANDEM_ONE);
    await measureOne(TANDEM_ONE, side, runs, ["a"]);
  } catch (e) {
    side.errors.push(`single unit lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await labDown(TANDEM_ONE);
  }
  try {
    await pairUp(TANDEM_PAIR, "standby-forward");
    await measurePair(TANDEM_PAIR, side, runs, true);
    await saturate(TANDEM_PAIR, side);
  } catch (e) {
    side.errors.push(`pair lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await labDown(TANDEM_PAIR);
  }
  try {
    await pairUp(TANDEM_AF, "active-forward");
    await measureActiveForward(TANDEM_AF, side, runs);
  } catch (e) {
    side.errors.push(`active-forward pair lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await labDown(TANDEM_AF);
  }
  return side;
}

/** Linux: the kernel as a single DNAT router, then the keepalived + conntrackd pair. */
export async function forwardLinux(runs = benchRuns()): Promise<ForwardSide> {
  const side = emptySide();
  const missing = linuxMissing();
  if (missing) return { ...side, skipped: missing };
  try {
    await linuxLabUp(LINUX);
    await linuxRouterUp(LINUX);
    await startServers(LINUX);
    await measureOne(LINUX, side, runs, []);
    await linuxRouterDown(LINUX);
    await linuxPairUp(LINUX, 0.1);
    await measurePair(LINUX, side, runs, false);
  } catch (e) {
    side.errors.push(`Linux lab: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await linuxLabDown(LINUX);
  }
  return side;
}

/** "median (min–max), median retr" of iperf3 runs. */
const gbps = (rs: IperfResult[]): string =>
  rs.length === 0
    ? NA
    : `${medianRange(rs.map((r) => r.gbps), 2)}, ${int(median(rs.map((r) => r.retransmits)))} retr`;
const pps = (us: UdpRate[]): string => medianRange(us.map((u) => u.pps), int);
const loss = (us: UdpRate[]): string => medianRange(us.map((u) => u.loss * 100), 1);
const offeredOf = (u: UdpRate): number => u.sent / u.seconds;
const offered = (us: UdpRate[]): string => medianRange(us.map(offeredOf), int);
const p50s = (rs: Rtt[]): number[] => rs.map((r) => r.p50);
const p99s = (rs: Rtt[]): number[] => rs.map((r) => r.p99);
const us = (x: number | undefined): string => num(x, 0);

/**
 * "busy (kernel% in the kernel)" of unit `u`'s loop thread: medians over the samples, busy in %
 * of one core.
 */
function threadCell(cpu: CpuSample[], u: "a" | "b"): string {
  const uses = cpu.map((c) => c.threads[u]).filter((x) => x !== undefined);
  const busy = median(uses.map((x) => x.busy)), kernel = median(uses.map((x) => x.kernel));
  return busy === undefined || kernel === undefined
    ? NA
    : `${num(busy, 0)} (${num(kernel, 0)}% in the kernel)`;
}
/** The machine's idle CPU, median (min–max) % over the samples. */
const idleCell = (cpu: CpuSample[]): string =>
  medianRange(cpu.map((c) => c.idle).filter((x) => x !== undefined), 0);

/** tandem / Linux in % from the medians of each side's Gbit/s; undefined when a side has none. */
function ratioOfMedians(t: IperfResult[], l: IperfResult[]): number | undefined {
  const [mt, ml] = [median(t.map((r) => r.gbps)), median(l.map((r) => r.gbps))];
  return mt === undefined || ml === undefined ? undefined : (100 * mt) / ml;
}

/**
 * "ratio (min–max)": the ratio of the medians, and the range of the ratios of run i on both
 * sides, for every i both sides have; the ratio alone when there is only one such run.
 */
function ratioCell(t: IperfResult[], l: IperfResult[]): string {
  const ratio = ratioOfMedians(t, l);
  if (ratio === undefined) return NA;
  const runs = Array.from(
    { length: Math.min(t.length, l.length) },
    (_, i) => (100 * t[i]!.gbps) / l[i]!.gbps,
  );
  return runs.length < 2
    ? num(ratio, 0)
    : `${num(ratio, 0)} (${num(Math.min(...runs), 0)}–${num(Math.max(...runs), 0)})`;
}

/** The larger of the two units' longest loop pause, in µs, and whose it was. */
export function longestPause(
  s: Saturation | undefined,
): { us: number; unit: "a" | "b" } | undefined {
  const { a, b } = s?.pauseUs ?? {};
  if (a !== undefined && (b === undefined || a >= b)) return { us: a, unit: "a" };
  return b === undefined ? undefined : { us: b, unit: "b" };
}

/** The suite's table and interpretation from both sides' figures over `runs` runs each. */
export function forwardResult(
  t: ForwardSide,
  l: ForwardSide,
  now: number,
  runs = benchRuns(),
): SuiteResult {
  const diff = (a?: number, b?: number): number | undefined =>
    a === undefined || b === undefined ? undefined : a - b;
  const hundred = (x: IperfResult[]): string => (x.length > 0 ? "100" : NA);
  const ratio = ratioOfMedians(t.pairTcp1, l.pairTcp1);
  const ratio8 = ratioOfMedians(t.tcp8, l.tcp8);
  const mirrorAddedT = diff(median(p50s(t.pairRtt)), median(p50s(t.rtt)));
  const mirrorAddedL = diff(median(p50s(l.pairRtt)), median(p50s(l.rtt)));
  const afRatio = ratioOfMedians(t.afTcp1, l.pairTcp1);
  const afAdded = diff(median(p50s(t.afRtt)), median(p50s(t.rtt)));
  const pause = longestPause(t.saturation);
  const rows: Row[] = [
    {
      metric: "one unit: TCP 1 stream, Gbit/s",
      tandem: gbps(t.tcp1),
      linux: gbps(l.tcp1),
      target: "",
    },
    {
      metric: "one unit: TCP 8 streams, Gbit/s",
      tandem: gbps(t.tcp8),
      linux: gbps(l.tcp8),
      target: "",
    },
    {
      metric: "one unit: tandem / kernel, TCP 8 streams, %",
      tandem: ratioCell(t.tcp8, l.tcp8),
      linux: hundred(l.tcp8),
      target: "≥ 80",
    },
    {
      metric: "one unit: UDP 64 B delivered, pkt/s",
      tandem: pps(t.udp),
      linux: pps(l.udp),
      target: "",
    },
    {
      metric: "one unit: UDP 64 B offered by the sender, pkt/s",
      tandem: offered(t.udp),
      linux: offered(l.udp),
      target: "",
    },
    { metric: "one unit: UDP 64 B loss, %", tandem: loss(t.udp), linux: loss(l.udp), target: "" },
    {
      metric: "one unit, TCP 8 streams: the unit's loop thread, % of a core",
      tandem: threadCell(t.tcp8Cpu, "a"),
      linux: NA,
      target: "",
    },
    {
      metric: "one unit, TCP 8 streams: machine idle, %",
      tandem: idleCell(t.tcp8Cpu),
      linux: idleCell(l.tcp8Cpu),
      target: "",
    },
    {
      metric: "one unit, UDP 64 B: the unit's loop thread, % of a core",
      tandem: threadCell(t.udpCpu, "a"),
      linux: NA,
      target: "",
    },
    {
      metric: "one unit, UDP 64 B: machine idle, %",
      tandem: idleCell(t.udpCpu),
      linux: idleCell(l.udpCpu),
      target: "",
    },
    {
      metric: "one unit: TCP echo RTT p50, µs",
      tandem: medianRange(p50s(t.rtt)),
      linux: medianRange(p50s(l.rtt)),
      target: "",
    },
    {
      metric: "one unit: TCP echo RTT p99, µs",
      tandem: medianRange(p99s(t.rtt)),
      linux: medianRange(p99s(l.rtt)),
      target: "",
    },
    {
      metric: "one unit: RTT p50 added over Linux, µs",
      tandem: us(diff(median(p50s(t.rtt)), median(p50s(l.rtt)))),
      linux: "0",
      target: "",
    },
    {
      metric: "pair: TCP 1 stream, Gbit/s",
      tandem: gbps(t.pairTcp1),
      linux: gbps(l.pairTcp1),
      target: "≥ 50% of Linux pair",
    },
    {
      metric: "pair: tandem / Linux throughput, %",
      tandem: ratioCell(t.pairTcp1, l.pairTcp1),
      linux: hundred(l.pairTcp1),
      target: "≥ 50",
    },
    {
      metric: "pair, TCP 1 stream: unit a's loop thread, % of a core",
      tandem: threadCell(t.pairTcp1Cpu, "a"),
      linux: NA,
      target: "",
    },
    {
      metric: "pair, TCP 1 stream: unit b's loop thread, % of a core",
      tandem: threadCell(t.pairTcp1Cpu, "b"),
      linux: NA,
      target: "",
    },
    {
      metric: "pair, TCP 1 stream: machine idle, %",
      tandem: idleCell(t.pairTcp1Cpu),
      linux: idleCell(l.pairTcp1Cpu),
      target: "",
    },
    {
      metric: "pair: UDP 64 B delivered, pkt/s",
      tandem: pps(t.pairUdp),
      linux: pps(l.pairUdp),
      target: "≥ 300k pkt/s per unit, < 1% loss",
    },
    {
      metric: "pair: UDP 64 B offered by the sender, pkt/s",
      tandem: offered(t.pairUdp),
      linux: offered(l.pairUdp),
      target: "",
    },
    {
      metric: "pair: UDP 64 B loss, %",
      tandem: loss(t.pairUdp),
      linux: loss(l.pairUdp),
      target: "",
    },
    {
      metric: "pair: TCP echo RTT p50, µs",
      tandem: medianRange(p50s(t.pairRtt)),
      linux: medianRange(p50s(l.pairRtt)),
      target: "",
    },
    {
      metric: "pair: TCP echo RTT p99, µs",
      tandem: medianRange(p99s(t.pairRtt)),
      linux: medianRange(p99s(l.pairRtt)),
      target: "",
    },
    {
      metric: "RTT p50 added by mirroring (pair − one unit), µs",
      tandem: us(mirrorAddedT),
      linux: us(mirrorAddedL),
      target: "≤ 100 µs",
    },
    {
      metric: "active-forward pair: TCP 1 stream, Gbit/s",
      tandem: gbps(t.afTcp1),
      linux: gbps(l.pairTcp1),
      target: "≥ 50% of Linux pair",
    },
    {
      metric: "active-forward pair: tandem / Linux throughput, %",
      tandem: ratioCell(t.afTcp1, l.pairTcp1),
      linux: hundred(l.pairTcp1),
      target: "≥ 50",
    },
    {
      metric: "active-forward pair: TCP echo RTT p50, µs",
      tandem: medianRange(p50s(t.afRtt)),
      linux: medianRange(p50s(l.pairRtt)),
      target: "",
    },
    {
      metric: "active-forward: RTT p50 added by mirroring (pair − one unit), µs",
      tandem: us(afAdded),
      linux: us(mirrorAddedL),
      target: "≤ 100 µs",
    },
    {
      metric: "pair: longest loop pause under saturation, ms",
      tandem: pause ? `${num(pause.us / 1000, 1)} (unit ${pause.unit})` : NA,
      // The kernel forwards in softirq: it has no event loop to pause.
      linux: NA,
      target: "≤ 10",
    },
    {
      metric: "pair: busy-poll CPU during the RTT test, % of a core",
      tandem: medianRange(t.pairBusyPoll, 1),
      linux: NA,
      target: "",
    },
  ];
  const notes: string[] = [
    `Each figure: median (min–max) of ${runs} run${runs === 1 ? "" : "s"} in the same lab; ` +
    "Gbit/s cells add the median retransmits, and the ratios are of the medians, with the " +
    "range of the per-run ratios. Fewer runs where a run failed (see below).",
  ];
  if (l.skipped) notes.push(`Linux column not measured: ${l.skipped}.`);
  const one = ratioOfMedians(t.tcp1, l.tcp1);
  if (one !== undefined) {
    notes.push(
      `One unit, 1 stream: tandem carries ${num(one, 0)}% of the ` +
        "kernel's throughput: every GSO super-frame crosses user space twice (TAP read and write) " +
        "on one JS thread, where the kernel forwards it in softirq without a copy.",
    );
  }
  if (ratio8 !== undefined) {
    notes.push(
      `One unit, 8 streams: tandem carries ${num(ratio8, 0)}% of the kernel's throughput, ` +
        (ratio8 >= 80 ? "meeting the 80% target." : "short of 80%."),
    );
  }
  if (ratio !== undefined) {
    notes.push(
      ratio >= 50
        ? `Mirrored pair: ${num(ratio, 0)}% of the Linux pair, meeting the 50% target.`
        : `Mirrored pair: ${num(ratio, 0)}% of the Linux pair, short of 50%: each frame also ` +
          "crosses the peer link in an authenticated UDP datagram, and conntrackd mirrors only " +
          "connection state, not packets.",
    );
  }
  if (afRatio !== undefined && afAdded !== undefined) {
    notes.push(
      `The active-forward pair carries ${num(afRatio, 0)}% of the Linux pair's throughput and ` +
        `adds ${us(afAdded)} µs to one unit's p50 RTT: the active forwards at once and mirrors ` +
        "headers only, asynchronously (the standby never emits those frames). Its Linux column " +
        "is the same Linux pair as above.",
    );
  }
  const pairPps = median(t.pairUdp.map((u) => u.pps));
  const pairLoss = median(t.pairUdp.map((u) => u.loss));
  if (pairPps !== undefined && pairLoss !== undefined) {
    const lossText = num(pairLoss * 100, 1);
    const offeredText = int(median(t.pairUdp.map(offeredOf)));
    notes.push(
      pairPps >= 300_000
        ? `Small packets through the pair: ${int(pairPps)}/s, meeting 300k` +
          (pairLoss < 0.01 ? ` with ${lossText}% lost.` : `, but ${lossText}% lost, over 1%.`)
        : `Small packets through the pair: ${int(pairPps)}/s, below 300k` +
          (pairLoss < 0.02
            ? `; the sender itself only offered ${offeredText}/s (one process on a ` +
              "2-core machine shared with both units), so this is a floor, not tandem's ceiling."
            : `; ${lossText}% lost in the pair: the unit's loop is saturated (see engine ` +
              "for its CPU cost per packet)."),
    );
  }
  if (mirrorAddedT !== undefined) {
    notes.push(
      mirrorAddedT <= 100
        ? `Mirroring adds ${us(mirrorAddedT)} µs to the p50 RTT, within 100 µs.`
        : `Mirroring adds ${us(mirrorAddedT)} µs to the p50 RTT, over 100 µs: each direction ` +
          "waits for a hop over the peer link and the other unit's loop to wake from poll().",
    );
  }
  if (pause && t.saturation) {
    const ms = pause.us / 1000;
    notes.push(
      `Loop pause: after ${t.saturation.seconds} s of one TCP stream through the pair at ` +
        `${num(t.saturation.gbps, 2)} Gbit/s, the longest pause of unit ${pause.unit}'s loop in ` +
        `the last 60 s was ${num(ms, 1)} ms, ` +
        (ms <= 10
          ? "within 10 ms."
          : "over 10 ms: a pause that long holds every packet of both directions behind it."),
    );
  }
  for (const e of [...t.errors.map((e) => `tandem ${e}`), ...l.errors.map((e) => `Linux ${e}`)]) {
    notes.push(`Failed: ${e}.`);
  }
  return {
    suite: "forward",
    title: "Forwarding through one unit and the pair",
    date: isoDate(now),
    rows,
    notes,
  };
}

/** The `forward` suite (needs root; skips with a reason otherwise). */
export async function forwardSuite(): Promise<SuiteResult> {
  const missing = labMissing();
  if (missing) {
    return {
      suite: "forward",
      title: "Forwarding through one unit and the pair",
      date: isoDate(Date.now()),
      rows: [],
      notes: [],
      skipped: missing,
    };
  }
  const runs = benchRuns();
  const t = await forwardTandem(runs);
  const l = await forwardLinux(runs);
  return forwardResult(t, l, Date.now(), runs);
}
