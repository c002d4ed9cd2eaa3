/**
 * `deno task bench [suite...] [--write]`: measures tandem beside the Linux reference pair
 * (DESIGN.md "Targets") and prints one table per suite; `--write` also rewrites each suite's
 * section of `BENCHMARKS.md`. Suites: engine, forward, failover, synflood, memory, sync (none named =
 * all).
 * Lab suites need root and skip with a reason without it; every lab is torn down on the way out,
 * also on Ctrl-C.
 * @module
 */

import { parseArgs } from "node:util";
import { labDown } from "../mod/lab/topology.ts";
import { engineSuite } from "./engine.ts";
import { forwardSuite } from "./forward.ts";
import { failoverSuite } from "./failover.ts";
import { memorySuite } from "./memory.ts";
import { SYNFLOOD_LINUX_PREFIX, SYNFLOOD_TANDEM_PREFIX, synfloodSuite } from "./synflood.ts";
import { syncSuite } from "./sync.ts";
import { cmd, linuxLabDown, linuxMissing, REPO_ROOT } from "./labs.ts";
import {
  isoDate,
  isSuite,
  replaceSection,
  type SuiteName,
  type SuiteResult,
  SUITES,
  textTable,
  writeSection,
} from "./report.ts";

const RUNNERS: Record<SuiteName, () => SuiteResult | Promise<SuiteResult>> = {
  engine: engineSuite,
  forward: forwardSuite,
  failover: failoverSuite,
  synflood: synfloodSuite,
  memory: memorySuite,
  sync: syncSuite,
};

/** Every lab prefix a suite may build: torn down again on Ctrl-C. */
const TANDEM_PREFIXES = ["bf1", "bf2", "bf3", "bf4", "bf5", "bf6", SYNFLOOD_TANDEM_PREFIX];
const LINUX_PREFIXES = ["lx1", "lx2", SYNFLOOD_LINUX_PREFIX];

export const USAGE = `usage: deno task bench [${SUITES.join("|")}]... [--write] [--file PATH]
  no suite named: run all. --write: update each suite's section of BENCHMARKS.md.`;

/** Parsed command line, or a message for bad input. */
export function parseBenchArgs(
  args: string[],
): { suites: SuiteName[]; write: boolean; file: string } | string {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { write: { type: "boolean" }, file: { type: "string" } },
    });
  } catch (e) {
    return (e as Error).message;
  }
  const bad = parsed.positionals.filter((s) => !isSuite(s));
  if (bad.length > 0) return `unknown suite ${bad.map((s) => `"${s}"`).join(", ")}`;
  const named = parsed.positionals as SuiteName[];
  return {
    // Always in the canonical order, each once.
    suites: named.length === 0 ? [...SUITES] : SUITES.filter((s) => named.includes(s)),
    write: parsed.values.write ?? false,
    file: parsed.values.file ?? `${REPO_ROOT}/BENCHMARKS.md`,
  };
}

/** One line about the machine the figures come from. */
async function machineLine(): Promise<string> {
  const read = (p: string): string => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return "";
    }
  };
  const cpu = read("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? "unknown CPU";
  const cores = navigator.hardwareConcurrency;
  const load = read("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  const kernel = (await cmd(["uname", "-r"], 3000)).stdout.trim();
  const iperf = (await cmd(["iperf3", "--version"], 3000)).stdout.split("\n")[0]?.trim() ?? "";
  const ka = await cmd(["keepalived", "--version"], 3000);
  const keepalived = (ka.stdout + ka.stderr).split("\n")[0]?.trim() ?? "";
  return `${cores} cores (${cpu}), Linux ${kernel}, Deno ${Deno.version.deno}` +
    (iperf ? `, ${iperf}` : "") + (keepalived ? `, ${keepalived}` : "") +
    `; load average ${load} when the run began.`;
}

async function teardownAll(): Promise<void> {
  for (const p of TANDEM_PREFIXES) await labDown(p).catch(() => {});
  if (!linuxMissing()) { for (const p of LINUX_PREFIXES) await linuxLabDown(p).catch(() => {}); }
}

async function main(args: string[]): Promise<number> {
  const o = parseBenchArgs(args);
  if (typeof o === "string") {
    console.error(`bench: ${o}\n${USAGE}`);
    return 2;
  }
  let interrupted = false;
  const onInt = (): void => {
    if (interrupted) return;
    interrupted = true;
    console.error("bench: interrupted; tearing the labs down");
    teardownAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInt);
  const machine = await machineLine();
  console.log(`bench: ${machine}`);
  if (o.write) {
    let doc = "";
    try {
      doc = await Deno.readTextFile(o.file);
    } catch {
      doc = "";
    }
    const body = `Last run ${isoDate(Date.now())}: ${machine}`;
    await Deno.writeTextFile(o.file, replaceSection(doc, "machine", body));
  }
  const t0 = performance.now();
  let failed = 0;
  for (const s of o.suites) {
    const started = performance.now();
    let r: SuiteResult;
    try {
      r = await RUNNERS[s]();
    } catch (e) {
      failed++;
      r = {
        suite: s,
        title: "failed",
        date: isoDate(Date.now()),
        rows: [],
        notes: [],
        skipped: `failed: ${(e as Error).message.split("\n")[0]}`,
      };
    }
    console.log(`\n${textTable(r)}\n   (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    // A suite that could not run at all leaves the figures of its last real run in place.
    if (o.write && r.rows.length > 0) await writeSection(o.file, r);
    else if (o.write) console.log(`   (${s}: section of ${o.file} left as it was)`);
  }
  console.log(`\nbench: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (o.write) console.log(`bench: wrote ${o.file}`);
  Deno.removeSignalListener("SIGINT", onInt);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
