/**
 * The `synflood` suite: the SYN proxy under a SYN flood, beside the Linux reference pair in the
 * same run. `hping3 -S` at the VIP's TCP echo (7000) from the client namespace, 10k SYN/s by
 * default (`-i u100`; `TANDEM_SYN_FLOOD=flood` for `--flood`), while the lab's traffic generator
 * holds persistent echo connections and opens short ones (churn). Measured per side:
 *
 * - SYNs hping3 sent, and their rate;
 * - tandem (`standby-forward`, the lab's `syn_proxy: auto`): SYNs the receiver answered with
 *   cookies per second, cookies validated, invalid cookie ACKs dropped, and the flow table's
 *   peak during the flood against its capacity;
 * - Linux (keepalived + conntrackd + nftables DNAT): the backend kernel's SYN cookies (it is the
 *   backend that answers them there) and conntrack's peak entry count on the active router;
 * - both: the legitimate sessions kept (persistent and churn, done/opened) and the longest stall.
 *
 * Every run builds a fresh lab (leftover half-open state of a previous flood would inflate the
 * peaks); each figure is the median (min–max) of `runs` runs. `TANDEM_BENCH_RUNS` sets the runs,
 * `TANDEM_BENCH_SYNFLOOD_MS` the flood's length.
 * @module
 */

import { labDown, labUp } from "../mod/lab/topology.ts";
import { nsCurl, startTraffic } from "../mod/lab/harness.ts";
import type { TrafficOptions, TrafficReport } from "../mod/lab/traffic.ts";
import type { StatusSnapshot } from "../mod/api/snapshot.ts";
import { hasCommand } from "../mod/lab/netns.ts";
import {
  labMissing,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairUp,
  ns,
  nsCmd,
  sleep,
  startServers,
  VIP,
  waitFor,
} from "./labs.ts";
import { medianRange } from "./failover.ts";
import { isoDate, NA, type Row, type SuiteResult } from "./report.ts";

/** Lab prefixes of the suite (registered in main.ts for Ctrl-C teardown). */
export const SYNFLOOD_TANDEM_PREFIX = "bsf";
export const SYNFLOOD_LINUX_PREFIX = "bsl";

const TITLE = "The SYN proxy under a SYN flood, legitimate sessions beside it";
/** Default flood length. */
const FLOOD_MS = 5000;
/** Steady traffic before the flood starts, and after it ends. */
const LEAD_MS = 1000;
const TAIL_MS = 1000;
/** How often the state table is polled during the flood. */
const POLL_MS = 200;
const LINUX_ADVERT_S = 1;

/** The legitimate traffic beside the flood (as the SYN proxy lab test). */
export const SYNFLOOD_TRAFFIC = {
  conns: 50,
  intervalMs: 20,
  churnMs: 20,
  udp: 0,
  timeoutMs: 8000,
} satisfies Omit<TrafficOptions, "target" | "port" | "udpPort" | "durationMs">;

/** hping3's pace arguments: 10k SYN/s, or as fast as it can. */
export function floodPace(env: string | undefined): string[] {
  return env === "flood" ? ["--flood"] : ["-i", "u100"];
}

/** One run of the flood on one side; a field is undefined where it does not apply or failed. */
export interface FloodSample {
  /** SYNs hping3 says it sent. */
  sent?: number;
  /** How long hping3 ran, s. */
  floodSeconds?: number;
  /** tandem: the receiver's counters over the flood. */
  cookiesSent?: number;
  cookiesValid?: number;
  cookiesInvalid?: number;
  /** tandem: times `auto` engaged the proxy. */
  proxyEngaged?: number;
  /** The backend kernel's TcpExt SyncookiesSent / Recv / Failed over the flood. */
  backendCookiesSent?: number;
  backendCookiesValid?: number;
  backendCookiesInvalid?: number;
  /** Peak entries of the state table (tandem: flows; Linux: conntrack), and before the flood. */
  tablePeak?: number;
  tableBefore?: number;
  tableCapacity?: number;
  report?: TrafficReport;
  error?: string;
}

/** One column: its runs, or why it did not run. */
export interface FloodSide {
  label: string;
  samples: FloodSample[];
  skipped?: string;
}

/** Everything the table is built from. */
export interface SynfloodFigures {
  floodMs: number;
  /** hping3's pace arguments, e.g. `-i u100`. */
  pace: string;
  runs: number;
  tandem: FloodSide;
  linux: FloodSide;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

// ------------------------------------------------------------------ measuring

/** hping3 at the VIP's TCP echo from the client namespace (`ip netns exec` execs into it). */
function startFlood(prefix: string, pace: string[]): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns(prefix, "client"), "hping3", ...pace, "-S", "-p", "7000", VIP],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads hping3's "N packets transmitted" from its statistics. */
export function parseHpingSent(text: string): number | undefined {
  const m = /(\d+) packets transmitted/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Stops hping3 with SIGINT (it prints its statistics then), SIGKILL if it has not exited within
 * 3 s, and returns how many SYNs it sent.
 */
async function stopFlood(hping: Deno.ChildProcess): Promise<number | undefined> {
  try {
    hping.kill("SIGINT");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      hping.kill("SIGKILL");
    } catch {
      // gone
    }
  }, 3000);
  try {
    const out = await hping.output();
    const dec = new TextDecoder();
    return parseHpingSent(dec.decode(out.stderr) + dec.decode(out.stdout));
  } finally {
    clearTimeout(timer);
  }
}

/** TcpExt counters of a namespace's kernel, from its `/proc/net/netstat`. */
export function parseNetstat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split("\n");
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const keys = lines[i]!.trim().split(/\s+/);
    const vals = lines[i + 1]!.trim().split(/\s+/);
    if (keys[0] !== "TcpExt:" || vals[0] !== "TcpExt:") continue;
    for (let k = 1; k < keys.length; k++) out[keys[k]!] = Number(vals[k]);
  }
  return out;
}

async function backendCookies(prefix: string): Promise<Record<string, number>> {
  const r = await nsCmd(ns(prefix, "server"), ["cat", "/proc/net/netstat"], 3000);
  return parseNetstat(r.stdout);
}

async function status(prefix: string, u: "a" | "b"): Promise<StatusSnapshot> {
  return await nsCurl(prefix, u, "/status") as StatusSnapshot;
}

/** The state table's size and capacity on one side. */
type TableReader = () => Promise<{ count: number; capacity?: number } | undefined>;

/** conntrack's entry count and limit in a Linux router's namespace. */
function conntrackReader(prefix: string): TableReader {
  return async () => {
    const r = await nsCmd(ns(prefix, "a"), [
      "cat",
      "/proc/sys/net/netfilter/nf_conntrack_count",
      "/proc/sys/net/netfilter/nf_conntrack_max",
    ], 3000);
    const [count, max] = r.stdout.trim().split(/\s+/).map(Number);
    return count === undefined || !Number.isFinite(count)
      ? undefined
      : { count, capacity: Number.isFinite(max) ? max : undefined };
  };
}

/**
 * One flood under legitimate traffic on a lab that is up with its servers: traffic steady, then
 * `floodMs` of hping3 with the table polled, then the traffic's end. `counters` reads the side's
 * own counters (tandem: the receiver's), before and after.
 */
async function floodRun(
  prefix: string,
  floodMs: number,
  pace: string[],
  table: TableReader,
  counters?: () => Promise<Record<string, number>>,
): Promise<FloodSample> {
  const out: FloodSample = {};
  const run = await startTraffic(prefix, {
    ...SYNFLOOD_TRAFFIC,
    durationMs: LEAD_MS + floodMs + TAIL_MS,
  });
  run.done.catch(() => {}); // awaited below
  let hping: Deno.ChildProcess | undefined;
  try {
    await run.ready();
    await sleep(LEAD_MS);
    const before = { own: await counters?.(), backend: await backendCookies(prefix) };
    const t0 = await table().catch(() => undefined);
    out.tableBefore = t0?.count;
    out.tableCapacity = t0?.capacity;
    let peak = t0?.count;
    const started = performance.now();
    hping = startFlood(prefix, pace);
    while (performance.now() - started < floodMs) {
      await sleep(POLL_MS);
      const t = await table().catch(() => undefined);
      if (t !== undefined) peak = Math.max(peak ?? 0, t.count);
    }
    const h = hping;
    hping = undefined;
    out.sent = await stopFlood(h);
    out.floodSeconds = (performance.now() - started) / 1000;
    out.tablePeak = peak;
    const after = { own: await counters?.(), backend: await backendCookies(prefix) };
    const d =
      (a: Record<string, number> | undefined, b: Record<string, number> | undefined) =>
      (k: string): number | undefined =>
        a === undefined || b === undefined ? undefined : (a[k] ?? 0) - (b[k] ?? 0);
    const own = d(after.own, before.own);
    out.cookiesSent = own("syncookies_sent");
    out.cookiesValid = own("syncookies_valid");
    out.cookiesInvalid = own("drop_syncookie_invalid");
    out.proxyEngaged = own("syn_proxy_engaged");
    const be = d(after.backend, before.backend);
    out.backendCookiesSent = be("SyncookiesSent");
    out.backendCookiesValid = be("SyncookiesRecv");
    out.backendCookiesInvalid = be("SyncookiesFailed");
    const timeout = new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error("traffic generator did not finish")), 30_000)
    );
    out.report = await Promise.race([run.done, timeout]);
  } catch (e) {
    await run.stop().catch(() => {});
    throw e;
  } finally {
    if (hping) await stopFlood(hping).catch(() => {});
  }
  return out;
}

/** tandem, standby-forward: one fresh lab per run. */
export async function synfloodTandem(
  prefix: string,
  runs: number,
  floodMs: number,
  pace: string[],
): Promise<FloodSide> {
  const side: FloodSide = { label: "standby-forward", samples: [] };
  for (let r = 0; r < runs; r++) {
    try {
      await labUp({ prefix, mode: "standby-forward", noServers: true });
      // In standby-forward the active unit is the receiver: it answers the SYNs.
      const receiver = await waitFor("a settled pair", async () => {
        const [a, b] = await Promise.all([status(prefix, "a"), status(prefix, "b")]);
        if (a.state === "active" && b.state === "standby") return "a" as const;
        if (b.state === "active" && a.state === "standby") return "b" as const;
        return undefined;
      }, 20_000);
      await startServers(prefix);
      const table: TableReader = async () => {
        const s = await status(prefix, receiver);
        return { count: s.flows.count, capacity: s.flows.capacity };
      };
      side.samples.push(
        await floodRun(
          prefix,
          floodMs,
          pace,
          table,
          async () => (await status(prefix, receiver)).counters,
        ),
      );
    } catch (e) {
      side.samples.push({ error: firstLine(e) });
    } finally {
      await labDown(prefix).catch(() => {});
    }
  }
  return side;
}

/** The Linux pair: one fresh pair per run; a (the VRRP master) is the active router. */
export async function synfloodLinux(
  prefix: string,
  runs: number,
  floodMs: number,
  pace: string[],
): Promise<FloodSide> {
  const label = `Linux pair (advert ${LINUX_ADVERT_S} s)`;
  const missing = linuxMissing();
  if (missing) return { label, samples: [], skipped: missing };
  const side: FloodSide = { label, samples: [] };
  for (let r = 0; r < runs; r++) {
    try {
      await linuxLabUp(prefix);
      await linuxPairUp(prefix, LINUX_ADVERT_S);
      await startServers(prefix);
      side.samples.push(await floodRun(prefix, floodMs, pace, conntrackReader(prefix)));
    } catch (e) {
      side.samples.push({ error: firstLine(e) });
    } finally {
      await linuxLabDown(prefix).catch(() => {});
    }
  }
  return side;
}

// ------------------------------------------------------------------ the table

type Pick = (s: FloodSample) => number | undefined;

/** median (min–max) of `f` over the samples that have it. */
function med(side: FloodSide, f: Pick, digits = 0): string {
  if (side.skipped) return NA;
  return medianRange(
    side.samples.flatMap((s) => {
      const v = f(s);
      return v === undefined || !Number.isFinite(v) ? [] : [v];
    }),
    digits,
  );
}

const perSecond = (f: Pick): Pick => (s) => {
  const v = f(s);
  return v === undefined || !s.floodSeconds ? undefined : v / s.floodSeconds;
};

/** A share of what hping3 sent, %. */
const ofSent = (f: Pick): Pick => (s) => {
  const v = f(s);
  return v === undefined || !s.sent ? undefined : (100 * v) / s.sent;
};

/** "done/opened" summed over the runs, for the persistent connections or the churn. */
function kept(side: FloodSide, k: "tcp" | "churn"): string {
  const r = side.samples.flatMap((s) => (s.report ? [s.report] : []));
  if (side.skipped || r.length === 0) return NA;
  const done = r.reduce((n, x) => n + x[k].completed, 0);
  const opened = r.reduce((n, x) => n + x[k].opened, 0);
  return `${done}/${opened}`;
}

const tandemOwn = (f: Pick) => (side: FloodSide, isTandem: boolean) => isTandem ? med(side, f) : NA;

/** The suite's table from measured (or, in its test, fabricated) figures. */
export function synfloodResult(f: SynfloodFigures, now: number): SuiteResult {
  const rows: Row[] = [];
  const line = (
    metric: string,
    cellOf: (side: FloodSide, isTandem: boolean) => string,
    target = "",
  ) =>
    rows.push({
      metric,
      tandem: cellOf(f.tandem, true),
      linux: cellOf(f.linux, false),
      target,
    });
  const both = (p: Pick, digits = 0) => (side: FloodSide) => med(side, p, digits);
  line("SYNs sent by hping3", both((s) => s.sent));
  line("SYNs sent by hping3, per s", both(perSecond((s) => s.sent)));
  line(
    "SYNs answered with cookies by the appliance, per s",
    tandemOwn(perSecond((s) => s.cookiesSent)),
  );
  line(
    "SYNs answered with cookies by the appliance, % of sent",
    (side, t) => (t ? med(side, ofSent((s) => s.cookiesSent), 1) : NA),
  );
  line("cookies validated (sessions opened through the proxy)", tandemOwn((s) => s.cookiesValid));
  line("ACKs with an invalid cookie dropped", tandemOwn((s) => s.cookiesInvalid));
  line("SYN proxy engaged (auto), times", tandemOwn((s) => s.proxyEngaged));
  line("backend kernel: SYN cookies sent, per s", both(perSecond((s) => s.backendCookiesSent)));
  line(
    "backend kernel: cookies validated / failed",
    (side) =>
      side.skipped
        ? NA
        : `${med(side, (s) => s.backendCookiesValid)} / ${
          med(side, (s) => s.backendCookiesInvalid)
        }`,
  );
  line(
    "state table before the flood, entries (tandem: flows; Linux: conntrack on the active router)",
    both((s) => s.tableBefore),
  );
  line("state table peak during the flood, entries", both((s) => s.tablePeak));
  line(
    "state table peak, % of capacity",
    both((s) =>
      s.tablePeak === undefined || !s.tableCapacity ? undefined : (100 * s.tablePeak) /
        s.tableCapacity, 2),
    "no fill-up with half-open flows",
  );
  line("state table capacity, entries", both((s) => s.tableCapacity));
  line("legitimate persistent connections, done/opened", (side) => kept(side, "tcp"), "all");
  line("legitimate new sessions (churn), done/opened", (side) => kept(side, "churn"), "all");
  line(
    "longest stall, persistent / churn, ms",
    (side) =>
      side.skipped
        ? NA
        : `${med(side, (s) => s.report?.tcp.maxStallMs)} / ${
          med(side, (s) => s.report?.churn.maxStallMs)
        }`,
  );

  const notes = [
    `hping3 ${f.pace} -S at VIP:7000 from the client namespace for ${f.floodMs / 1000} s ` +
    `(source ports counting up, one source address), ${f.runs} run(s) per side, each on a fresh ` +
    `lab: figures are the median (min–max), sessions are totals. Beside it: ` +
    `${SYNFLOOD_TRAFFIC.conns} persistent echo connections (a message every ` +
    `${SYNFLOOD_TRAFFIC.intervalMs} ms) and a new short session every ` +
    `${SYNFLOOD_TRAFFIC.churnMs} ms, steady ${LEAD_MS / 1000} s before the flood and ` +
    `${TAIL_MS / 1000} s after it. State tables are polled every ${POLL_MS} ms.`,
    `tandem column: ${f.tandem.label}, the lab's services with syn_proxy: auto; its receiver ` +
    `(the active unit) answers SYNs with cookies once they come faster than its threshold, so ` +
    `the flood reaches neither the flow table nor the backends.`,
    "Linux pair: its SYN cookies live on the backends (the server's kernel answers them); the " +
    "router keeps a conntrack entry per flood SYN (each from a new source port, as it would " +
    "per spoofed SYN), which conntrackd also mirrors to the backup. Its peak is " +
    "nf_conntrack_count in the active router's namespace, against nf_conntrack_max.",
  ];
  const lb = f.linux.samples.filter((s) => s.backendCookiesSent !== undefined);
  if (!f.linux.skipped && lb.length > 0 && lb.every((s) => s.backendCookiesSent === 0)) {
    notes.push(
      "The Linux backends sent no cookies: their SYN queues never overflowed, since the " +
        "client's kernel answers each SYN-ACK to hping3's SYNs with a RST, which frees the entry.",
    );
  }
  for (const side of [f.tandem, f.linux]) {
    if (side.skipped) notes.push(`${side.label} not measured: ${side.skipped}.`);
    for (const s of side.samples) {
      if (s.error) notes.push(`Failed (${side.label}): ${s.error}.`);
    }
  }
  const t = f.tandem.samples.filter((s) => s.tablePeak !== undefined && s.tableCapacity);
  const l = f.linux.samples.filter((s) => s.tablePeak !== undefined);
  if (!f.tandem.skipped && !f.linux.skipped && t.length > 0 && l.length > 0) {
    const peak = (xs: FloodSample[]) => Math.max(...xs.map((s) => s.tablePeak!));
    const tp = peak(t);
    const lp = peak(l);
    notes.push(
      `Highest peak: tandem's flow table ${tp} entries, Linux's conntrack ${lp}` +
        (tp > 0 ? ` (${(lp / tp).toFixed(1)}× tandem's).` : "."),
    );
  }
  return { suite: "synflood", title: TITLE, date: isoDate(now), rows, notes };
}

/** The `synflood` suite (needs root and hping3; skips with a reason otherwise). */
export async function synfloodSuite(): Promise<SuiteResult> {
  const missing = labMissing() ?? (hasCommand("hping3") ? null : "needs hping3 on PATH");
  if (missing) {
    return {
      suite: "synflood",
      title: TITLE,
      date: isoDate(Date.now()),
      rows: [],
      notes: [],
      skipped: missing,
    };
  }
  const runs = Math.max(1, Number(Deno.env.get("TANDEM_BENCH_RUNS") ?? 3));
  const floodMs = Math.max(500, Number(Deno.env.get("TANDEM_BENCH_SYNFLOOD_MS") ?? FLOOD_MS));
  const pace = floodPace(Deno.env.get("TANDEM_SYN_FLOOD"));
  const tandem = await synfloodTandem(SYNFLOOD_TANDEM_PREFIX, runs, floodMs, pace);
  const linux = await synfloodLinux(SYNFLOOD_LINUX_PREFIX, runs, floodMs, pace);
  return synfloodResult({ floodMs, pace: pace.join(" "), runs, tandem, linux }, Date.now());
}
