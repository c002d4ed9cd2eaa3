/**
 * `tandem lab demo`: bring the lab up, run traffic, crash the active unit mid-stream, and print
 * what survived and who took over.
 * @module
 */

import { nsCurl, startTraffic } from "./harness.ts";
import { sleep } from "./netns.ts";
import {
  crash,
  DEFAULT_PREFIX,
  labDown,
  type LabMode,
  labUp,
  revive,
  type Unit,
} from "./topology.ts";
import type { TrafficReport } from "./traffic.ts";

/** Options of `labDemo`. */
export interface DemoOptions {
  prefix?: string;
  mode?: LabMode;
  /** Persistent connections; default 100. */
  conns?: number;
  /** Traffic before and after the crash, each; default 3000 ms. */
  phaseMs?: number;
  /** Program the units run instead of tandem (see `LabUpOptions.unitCommand`). */
  unitCommand?: string[];
  /** Where the report goes; default console.log. */
  log?: (line: string) => void;
}

/** What the demo observed. */
export interface DemoResult {
  report: TrafficReport;
  /** The survivor's `/status`, or an error message when it could not be read. */
  survivorStatus: unknown;
  lines: string[];
}

function field(o: unknown, key: string): unknown {
  return typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined;
}

/** The plain-text summary of a demo run (pure; exported for tests). */
export function demoSummary(
  mode: LabMode,
  crashed: Unit,
  survivor: Unit,
  r: TrafficReport,
  status: unknown,
): string[] {
  const roles = [
    field(status, "receiver") === true ? "receiver" : "",
    field(status, "forwarder") === true ? "forwarder" : "",
  ]
    .filter((x) => x !== "").join("+") || "neither receiver nor forwarder";
  const state = field(status, "state");
  const m = r.opsAroundMark;
  return [
    `tandem lab demo: mode ${mode}, crashed unit ${crashed}`,
    `  connections survived: ${r.tcp.completed}/${Math.max(r.tcp.opened, r.conns.length)} ` +
    `(resets ${r.tcp.resets}, errors ${r.tcp.errors}, corrupt bytes ${r.tcp.corruptBytes})`,
    `  longest stall: ${r.tcp.maxStallMs.toFixed(1)} ms ` +
    `(RTT p50 ${r.tcp.p50RttMs.toFixed(3)} ms, p99 ${r.tcp.p99RttMs.toFixed(3)} ms)`,
    `  short connections: ${r.churn.completed}/${r.churn.opened} completed` +
    (m === null
      ? ""
      : `; ${m.completed}/${m.opened} of those opened in the ${m.windowMs} ms before the crash`),
    `  udp: ${r.udp.sent} sent, ${r.udp.received} echoed, ${r.udp.lost} lost, ${r.udp.corrupt} corrupt`,
    typeof state === "string"
      ? `  took over: unit ${survivor} (state ${state}, ${roles})`
      : `  took over: unit ${survivor} did not report a status (${String(status)})`,
  ];
}

/** Runs the demo; the lab is always torn down at the end. */
export async function labDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const phase = opts.phaseMs ?? 3000;
  const log = opts.log ?? ((l: string) => console.log(l));
  const crashed: Unit = "a";
  const survivor: Unit = "b";
  try {
    const lab = await labUp({ prefix, mode: opts.mode, unitCommand: opts.unitCommand });
    log(`lab ${prefix} up (mode ${lab.mode}); traffic for ${phase} ms, then crash unit ${crashed}`);
    const traffic = await startTraffic(prefix, {
      conns: opts.conns ?? 100,
      intervalMs: 20,
      churnMs: 5,
      udp: 20,
      durationMs: 2 * phase,
    });
    await sleep(phase);
    await traffic.mark();
    await crash(prefix, crashed);
    log(`unit ${crashed} crashed; traffic continues for ${phase} ms`);
    const report = await traffic.done;
    let status: unknown;
    try {
      status = await nsCurl(prefix, survivor, "/status");
    } catch (e) {
      status = (e as Error).message;
    }
    const lines = demoSummary(lab.mode, crashed, survivor, report, status);
    for (const l of lines) log(l);
    await revive(prefix, crashed);
    return { report, survivorStatus: status, lines };
  } finally {
    await labDown(prefix);
  }
}
