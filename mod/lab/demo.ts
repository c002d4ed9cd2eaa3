/**
 * `tandem lab demo`: bring the lab up, run traffic, crash a unit mid-stream, and tell what
 * happened as it happens: lab up, traffic steady, crash, takeover, survival. Then the same
 * situation with the Linux reference pair (keepalived + conntrackd + nftables) when it can run
 * here, and the figures side by side: connections that survived, failure detection, longest
 * stall. The formatting is pure (`demoSummary`, `progressBar`, `rolesOf`) and tested without root.
 * @module
 */

import { nsCurl, startTraffic, type TrafficRun } from "./harness.ts";
import {
  linuxCrash,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairUp,
  linuxPrimaryAt,
} from "./linux_pair.ts";
import { sleep } from "./netns.ts";
import {
  crash,
  DEFAULT_MODE,
  DEFAULT_PREFIX,
  DEFAULT_READY_TIMEOUT_MS,
  labDown,
  type LabMode,
  labUp,
  revive,
  startLabServers,
  type Unit,
} from "./topology.ts";
import type { TrafficOptions, TrafficReport } from "./traffic.ts";

/** Options of `labDemo`. */
export interface DemoOptions {
  prefix?: string;
  mode?: LabMode;
  /** The unit to crash; default `a` (the active unit). */
  crash?: Unit;
  /** Persistent connections; default 100. */
  conns?: number;
  /** Steady traffic before the crash, and traffic after it; default 3000 ms each. */
  phaseMs?: number;
  /** Program the units run instead of tandem (see `LabUpOptions.unitCommand`). */
  unitCommand?: string[];
  /** Also run the Linux reference pair when it can run here; default true. */
  linux?: boolean;
  /** Where the story goes, a line at a time; default console.log. */
  log?: (line: string) => void;
  /**
   * A status line that each call replaces (elapsed time during the traffic phases). Default: on
   * a terminal, rewritten in place; otherwise not shown.
   */
  progress?: (text: string) => void;
}

/** What one side of the demo observed. */
export interface DemoRun {
  /** `tandem standby-forward`, `Linux pair (VRRP 0.1 s)`. */
  label: string;
  report?: TrafficReport;
  /** Crash complete → the survivor took over, ms; undefined when nothing took over. */
  detectionMs?: number;
  /** Who serves after the crash, in words. */
  after?: string;
  errors: string[];
}

/** What the demo observed. */
export interface DemoResult {
  tandem: DemoRun;
  /** The Linux pair's run, or why it did not run. */
  linux: DemoRun | { skipped: string };
  /** The closing figures (`demoSummary`). */
  lines: string[];
}

/** VRRP advert interval of the Linux pair in the demo (keepalived's fast setting). */
export const LINUX_ADVERT_S = 0.1;

function field(o: unknown, key: string): unknown {
  return typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined;
}

/** `active, receiver+forwarder` from a unit's `/status` (pure). */
export function rolesOf(status: unknown): string {
  const state = field(status, "state");
  const roles = [
    field(status, "receiver") === true ? "receiver" : "",
    field(status, "forwarder") === true ? "forwarder" : "",
  ].filter((x) => x !== "").join("+") || "neither receiver nor forwarder";
  return typeof state === "string" ? `${state}, ${roles}` : "no status";
}

/** `[#####.....] 1.5 / 3.0 s` (pure). */
export function progressBar(label: string, elapsedMs: number, totalMs: number, width = 20): string {
  const f = totalMs > 0 ? Math.min(1, Math.max(0, elapsedMs / totalMs)) : 1;
  const done = Math.round(f * width);
  return `${label} [${"#".repeat(done)}${".".repeat(width - done)}] ` +
    `${(Math.min(elapsedMs, totalMs) / 1000).toFixed(1)} / ${(totalMs / 1000).toFixed(1)} s`;
}

const ms = (v: number | undefined): string => (v === undefined ? "-" : `${Math.round(v)} ms`);

/** One line of what survived a run (pure). */
export function survivalLine(r: TrafficReport): string {
  return `${r.tcp.completed}/${Math.max(r.tcp.opened, r.conns.length)} echo connections and ` +
    `${r.churn.completed}/${r.churn.opened} short ones completed (resets ${
      r.tcp.resets + r.churn.resets
    }, corrupt bytes ${r.tcp.corruptBytes}); longest stall ${ms(r.tcp.maxStallMs)}`;
}

/**
 * The closing figures: tandem beside the Linux pair (or the reason it did not run), one row per
 * figure (pure; exported for tests).
 */
export function demoSummary(
  crashed: Unit,
  tandem: DemoRun,
  linux: DemoRun | { skipped: string },
): string[] {
  const runs = "skipped" in linux ? [tandem] : [tandem, linux];
  const cell = (run: DemoRun, f: (r: TrafficReport) => string): string =>
    run.report ? f(run.report) : "-";
  const rows: [string, (run: DemoRun) => string][] = [
    [
      "echo connections that survived",
      (x) => cell(x, (r) => `${r.tcp.completed}/${Math.max(r.tcp.opened, r.conns.length)}`),
    ],
    [
      "short connections completed",
      (x) => cell(x, (r) => `${r.churn.completed}/${r.churn.opened}`),
    ],
    [
      "  opened in the 50 ms before the crash",
      (x) =>
        cell(
          x,
          (r) => r.opsAroundMark ? `${r.opsAroundMark.completed}/${r.opsAroundMark.opened}` : "-",
        ),
    ],
    [
      "resets, corrupt bytes",
      (x) => cell(x, (r) => `${r.tcp.resets + r.churn.resets}, ${r.tcp.corruptBytes}`),
    ],
    ["failure detection", (x) => ms(x.detectionMs)],
    ["longest stall, echo connections", (x) => cell(x, (r) => ms(r.tcp.maxStallMs))],
    ["longest stall, short connections", (x) => cell(x, (r) => ms(r.churn.maxStallMs))],
    ["UDP datagrams lost", (x) => cell(x, (r) => `${r.udp.lost} of ${r.udp.sent}`)],
    ["after the crash", (x) => x.after ?? "-"],
  ];
  const table = [
    ["", ...runs.map((r) => r.label)],
    ...rows.map(([name, f]) => [name, ...runs.map(f)]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = [`Unit ${crashed} crashed under traffic:`];
  for (const row of table) {
    lines.push("  " + row.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd());
  }
  if ("skipped" in linux) lines.push(`Linux reference pair not run: ${linux.skipped}.`);
  for (const run of runs) for (const e of run.errors) lines.push(`${run.label}: ${e}`);
  return lines;
}

/** Traffic of both runs. */
function demoTraffic(conns: number, runMs: number): Partial<TrafficOptions> {
  return { conns, intervalMs: 20, churnMs: 5, udp: 20, durationMs: runMs, timeoutMs: 10_000 };
}

/** Polls `fn` every 20 ms until it returns a value or `ms` passed. */
async function poll<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const end = performance.now() + ms;
  for (;;) {
    const late = performance.now() >= end;
    const v = await fn().catch(() => undefined);
    if (v !== undefined || late) return v;
    await sleep(20);
  }
}

/** The story teller: step lines, and a progress line that each update replaces. */
class Teller {
  #log: (line: string) => void;
  #progress: (text: string) => void;
  #started = performance.now();
  constructor(opts: DemoOptions) {
    const tty = Deno.stdout.isTerminal();
    const enc = new TextEncoder();
    let shown = false;
    // On a terminal a step line first clears the progress line it replaces.
    this.#log = opts.log ?? ((line) => {
      if (shown) Deno.stdout.writeSync(enc.encode("\r\x1b[2K"));
      shown = false;
      console.log(line);
    });
    this.#progress = opts.progress ?? ((text) => {
      if (!tty) return;
      shown = true;
      Deno.stdout.writeSync(enc.encode(`\r\x1b[2K${text}`));
    });
  }
  line(text: string): void {
    this.#log(text);
  }
  step(text: string): void {
    this.#log(`[${((performance.now() - this.#started) / 1000).toFixed(1).padStart(5)} s] ${text}`);
  }
  /** Shows a progress bar for `totalMs` while the traffic runs. */
  async wait(label: string, totalMs: number): Promise<void> {
    const t0 = performance.now();
    for (;;) {
      const elapsed = performance.now() - t0;
      this.#progress(progressBar(label, elapsed, totalMs));
      if (elapsed >= totalMs) break;
      await sleep(Math.min(100, totalMs - elapsed));
    }
    this.#progress("");
  }
}

/** The events of `/status` that say a unit took over from a dead peer. */
function tookOverAt(status: unknown, since: number): number | undefined {
  const events = field(status, "events");
  if (!Array.isArray(events)) return undefined;
  const e = events.find((e) =>
    field(e, "kind") === "role" && /peer dead/.test(String(field(e, "detail"))) &&
    Number(field(e, "at")) >= since - 5
  );
  return e === undefined ? undefined : Number(field(e, "at"));
}

/**
 * Runs traffic on `prefix`; once it is steady and `phaseMs` later, marks the moment and crashes
 * with `doCrash`, then hands `afterCrash` the unix ms when the crash was complete and when it
 * began; after `phaseMs` more, stops the traffic and returns its report.
 */
async function underTraffic(
  t: Teller,
  prefix: string,
  conns: number,
  phaseMs: number,
  doCrash: () => Promise<void>,
  afterCrash: (crashAt: number, startedAt: number) => Promise<void>,
): Promise<TrafficReport> {
  // Long enough for both phases; stopped once the second one is over.
  const run: TrafficRun = await startTraffic(prefix, demoTraffic(conns, 10 * phaseMs + 60_000));
  run.done.catch(() => {}); // awaited below
  try {
    await run.ready();
    t.step(
      `traffic steady: ${conns} echo connections (a message each 20 ms), a short connection ` +
        "every 5 ms, 20 UDP flows",
    );
    await t.wait("traffic", phaseMs);
    await run.mark();
    const startedAt = Date.now();
    await doCrash();
    const crashAt = Date.now();
    await afterCrash(crashAt, startedAt);
    await t.wait("traffic after the crash", phaseMs);
  } finally {
    await run.stop().catch(() => {});
  }
  return await run.done;
}

/** tandem's half of the demo, in lab `prefix`. */
async function tandemRun(t: Teller, o: Scenario): Promise<DemoRun> {
  const survivor: Unit = o.crash === "a" ? "b" : "a";
  const out: DemoRun = { label: "", errors: [] };
  try {
    t.step(
      `lab ${o.prefix} up: namespaces, bridges, TAPs; starting units a (active) and b (standby)`,
    );
    const lab = await labUp({ prefix: o.prefix, mode: o.mode, unitCommand: o.unitCommand });
    out.label = `tandem ${lab.mode}`;
    const pair = await poll(async () => {
      const [a, b] = await Promise.all([
        nsCurl(o.prefix, "a", "/status"),
        nsCurl(o.prefix, "b", "/status"),
      ]);
      return field(a, "state") === "active" && field(b, "state") === "standby"
        ? { a, b }
        : undefined;
    }, DEFAULT_READY_TIMEOUT_MS);
    if (pair === undefined) throw new Error("the pair did not settle (a active, b standby)");
    t.step(`pair ready (${lab.mode}): a is ${rolesOf(pair.a)}; b is ${rolesOf(pair.b)}`);
    const victim = o.crash === "a" ? pair.a : pair.b;
    out.report = await underTraffic(t, o.prefix, o.conns, o.phaseMs, async () => {
      await crash(o.prefix, o.crash);
      t.step(
        `crashed unit ${o.crash} (was ${rolesOf(victim)}): its traffic dropped, its process frozen`,
      );
    }, async (crashAt, startedAt) => {
      const took = await poll(async () => {
        const s = await nsCurl(o.prefix, survivor, "/status");
        const at = tookOverAt(s, startedAt);
        return at === undefined ? undefined : { s, at };
      }, DEFAULT_READY_TIMEOUT_MS);
      if (took === undefined) {
        out.errors.push(`unit ${survivor} did not take over`);
        t.step(`unit ${survivor} did not take over`);
        return;
      }
      out.detectionMs = Math.max(0, took.at - crashAt);
      out.after = `${survivor} ${rolesOf(took.s)}`;
      t.step(
        `takeover: unit ${survivor} is ${rolesOf(took.s)}, ${ms(out.detectionMs)} after the crash`,
      );
    });
    t.step(`survival: ${survivalLine(out.report)}`);
    await revive(o.prefix, o.crash);
  } catch (e) {
    out.errors.push((e as Error).message.split("\n")[0]!);
    t.step(`failed: ${out.errors.at(-1)}`);
  } finally {
    await labDown(o.prefix);
    t.step(`lab ${o.prefix} down`);
  }
  if (out.label === "") out.label = `tandem ${o.mode}`;
  return out;
}

/** The Linux pair's half: the same traffic and the same crash, in lab `prefix`. */
async function linuxRun(t: Teller, o: Scenario, prefix: string): Promise<DemoRun> {
  const survivor: Unit = o.crash === "a" ? "b" : "a";
  const out: DemoRun = { label: `Linux pair (VRRP ${LINUX_ADVERT_S} s)`, errors: [] };
  try {
    t.step(
      `Linux reference pair in lab ${prefix}: keepalived (VRRPv3, adverts every ` +
        `${LINUX_ADVERT_S} s), conntrackd (FT-FW) and nftables DNAT; a is the master`,
    );
    await linuxLabUp(prefix);
    await linuxPairUp(prefix, LINUX_ADVERT_S);
    await startLabServers(prefix, DEFAULT_READY_TIMEOUT_MS);
    out.report = await underTraffic(t, prefix, o.conns, o.phaseMs, async () => {
      await linuxCrash(prefix, o.crash);
      t.step(`crashed unit ${o.crash} (crash.sh: its traffic dropped, its processes frozen)`);
    }, async (crashAt, startedAt) => {
      if (o.crash === "b") {
        out.after = "a master (the backup was lost)";
        t.step("unit a stays the master: the lost backup carried no traffic");
        return;
      }
      const at = await poll(() => linuxPrimaryAt(prefix, survivor, startedAt), 5000);
      if (at === undefined) {
        out.errors.push(`unit ${survivor} did not become the master within 5 s`);
        t.step(out.errors.at(-1)!);
        return;
      }
      out.detectionMs = Math.max(0, at - crashAt);
      out.after = `${survivor} master`;
      t.step(`takeover: unit ${survivor} is the master, ${ms(out.detectionMs)} after the crash`);
    });
    t.step(`survival: ${survivalLine(out.report)}`);
  } catch (e) {
    out.errors.push((e as Error).message.split("\n")[0]!);
    t.step(`failed: ${out.errors.at(-1)}`);
  } finally {
    await linuxLabDown(prefix);
    t.step(`lab ${prefix} down`);
  }
  return out;
}

/** The scenario, every option resolved. */
interface Scenario {
  prefix: string;
  mode: LabMode;
  crash: Unit;
  conns: number;
  phaseMs: number;
  unitCommand: string[] | undefined;
}

/** The Linux pair's lab prefix beside tandem's `prefix` (both valid, never equal). */
export function linuxPrefix(prefix: string): string {
  const p = `${prefix.slice(0, 5)}x`;
  return p === prefix ? `${prefix.slice(0, 5)}y` : p;
}

/** Runs the demo; every lab it builds is torn down at the end, and on Ctrl-C. */
export async function labDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const o: Scenario = {
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    mode: opts.mode ?? DEFAULT_MODE,
    crash: opts.crash ?? "a",
    conns: opts.conns ?? 100,
    phaseMs: opts.phaseMs ?? 3000,
    unitCommand: opts.unitCommand,
  };
  const t = new Teller(opts);
  const lx = linuxPrefix(o.prefix);
  const skip = opts.linux === false ? "left out (--no-linux)" : linuxMissing();
  // Ctrl-C: tear the labs down before leaving, as the end of the demo does.
  const onInterrupt = async () => {
    t.line("interrupted: tearing the labs down");
    await labDown(o.prefix).catch(() => {});
    if (skip === null) await linuxLabDown(lx).catch(() => {});
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    t.line(
      `tandem lab demo: mode ${o.mode}; unit ${o.crash} crashes under traffic` +
        (skip === null ? ", then the same with the Linux reference pair" : ""),
    );
    const tandem = await tandemRun(t, o);
    let linux: DemoRun | { skipped: string };
    if (skip === null) {
      linux = await linuxRun(t, o, lx);
    } else {
      linux = { skipped: skip };
      t.line(`Linux reference pair skipped: ${skip}`);
    }
    const lines = demoSummary(o.crash, tandem, linux);
    t.line("");
    for (const l of lines) t.line(l);
    return { tandem, linux, lines };
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}
