/**
 * The `failover` suite (issue 8): for each tandem mode, and for the Linux pair (keepalived
 * VRRPv3 with 0.1 s adverts + conntrackd FT-FW + nftables DNAT), what the lab's traffic (echo
 * connections checked byte for byte, churn, UDP flows) sees when:
 *
 * - the active or the standby unit is frozen (drop rules + SIGSTOP) or killed (SIGKILL);
 *   which of them is the receiver or the forwarder depends on the mode;
 * - the roles are handed over on purpose (SIGUSR1; Linux: keepalived stopped gracefully);
 * - the peer link loses 5% of its packets each way for the whole run;
 * - the peer link is cut for 4 s while both units live (split brain), then heals.
 *
 * Each scenario runs `runs` times; figures are the median and the range. The failure comes
 * one second into steady traffic.
 * @module
 */

import {
  crash,
  kill,
  LAB_MODES,
  labDown,
  type LabMode,
  labUp,
  readPid,
  restart,
  revive,
} from "../mod/lab/topology.ts";
import { nsCurl, startTraffic } from "../mod/lab/harness.ts";
import type { TrafficOptions, TrafficReport } from "../mod/lab/traffic.ts";
import type { StatusSnapshot } from "../mod/api/snapshot.ts";
import {
  linuxCrash,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairUp,
  linuxPrimaryAt,
  ns,
  sleep,
  startServers,
  waitFor,
} from "./labs.ts";
import { labMissing } from "./labs.ts";
import { nsExec, nsRun } from "../mod/lab/netns.ts";
import { benchRuns, isoDate, medianRange, NA, type Row, type SuiteResult } from "./report.ts";

// Re-exported: synflood.ts and bench/mod.ts import it from here.
export { medianRange };

/** The traffic of every run (the lab tests run four times as many connections). */
export const FAILOVER_TRAFFIC = {
  conns: 50,
  intervalMs: 20,
  churnMs: 10,
  udp: 10,
  durationMs: 3500,
  timeoutMs: 8000,
} satisfies Omit<TrafficOptions, "target" | "port" | "udpPort">;
/** Steady traffic before the failure. */
const FAIL_AFTER_MS = 1000;
const SPLIT_MS = 4000;
const LINUX_ADVERT_S = 0.1;

export const SCENARIOS = [
  "freeze active",
  "kill active",
  "freeze standby",
  "kill standby",
  "planned switchover",
  "5% peer-link loss",
  "4 s split",
] as const;
export type Scenario = typeof SCENARIOS[number];

/** What each mode puts on the active and the standby unit (DESIGN.md "Topologies"). */
const ROLES: Record<LabMode, { active: string; standby: string }> = {
  "active-forward": { active: "receiver + forwarder", standby: "not on the path" },
  "standby-forward": { active: "receiver", standby: "forwarder" },
  "standby-first": { active: "forwarder", standby: "receiver" },
};

/** One run of one scenario. */
export interface Sample {
  report?: TrafficReport;
  /** Failure → the survivor serves alone (tandem: its "peer dead" event), ms. */
  detectionMs?: number;
  /** Frames the survivor replayed for its dead peer. */
  replayed?: number;
  /** Peer-link batches resent on a NACK, by the units that ran throughout. */
  resent?: number;
  /** Batches given up on (switchover and loss only: elsewhere the link is cut by design). */
  lost?: number;
  /** How long the freeze command (drop rules, then SIGSTOP) took, ms. */
  commandMs?: number;
  /** "peer dead" events where no unit failed (switchover, loss). */
  falseFailovers?: number;
  error?: string;
}

/** A column of the table: a tandem mode or the Linux pair, each scenario's samples. */
export interface Column {
  label: string;
  samples: Partial<Record<Scenario, Sample[]>>;
}

type U = "a" | "b";
const other = (u: U): U => (u === "a" ? "b" : "a");

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

async function status(prefix: string, u: U): Promise<StatusSnapshot> {
  return await nsCurl(prefix, u, "/status") as StatusSnapshot;
}

/**
 * Both units settled, one active and one standby; who is active. With `since`, the standby must
 * also have finished a bulk sync at or after it (a unit coming back).
 */
async function settled(prefix: string, since?: number): Promise<U> {
  return await waitFor("a settled pair", async () => {
    const [a, b] = await Promise.all([status(prefix, "a"), status(prefix, "b")]);
    const s = { a, b };
    for (const act of ["a", "b"] as U[]) {
      const sb = s[other(act)];
      if (s[act].state !== "active" || sb.state !== "standby") continue;
      if (
        since === undefined ||
        sb.events.some((e) => /bulk sync complete/.test(e.detail) && e.at >= since)
      ) return act;
    }
    return undefined;
  }, 20_000);
}

const ha0Rules = (table: string, rule: string) =>
  `table netdev ${table} {\n  chain c {\n    type filter hook ingress device ha0 priority -400; policy accept;\n    ${rule}\n  }\n}\n`;

/** Loads `rules` into both units' namespaces (tandem and Linux labs name them alike). */
async function bothNft(prefix: string, rules: string): Promise<void> {
  for (const u of ["a", "b"] as U[]) await nsExec(ns(prefix, u), ["nft", "-f", "-"], rules);
}

async function bothNftDelete(prefix: string, table: string): Promise<void> {
  for (const u of ["a", "b"] as U[]) {
    await nsRun(ns(prefix, u), ["nft", "delete", "table", "netdev", table]);
  }
}

const LOSS = ha0Rules("tandem_loss", "numgen random mod 100 < 5 drop");
const CUT = ha0Rules("tandem_cut", "drop");

/**
 * The peer-link faults, the same for either pair: 5% loss each way from now on, or a cut held
 * for `SPLIT_MS`. Returns when the fault began.
 */
function linkFault(prefix: string, sc: "5% peer-link loss" | "4 s split"): () => Promise<number> {
  if (sc === "5% peer-link loss") return async () => (await bothNft(prefix, LOSS), Date.now());
  return async () => {
    await bothNft(prefix, CUT);
    const at = Date.now();
    await sleep(SPLIT_MS);
    await bothNftDelete(prefix, "tandem_cut");
    return at;
  };
}

/** Runs traffic; `act` starts one second in and returns the moment the failure was complete. */
async function withTraffic(
  prefix: string,
  durationMs: number,
  act: () => Promise<number>,
): Promise<{ report: TrafficReport; failedAt: number }> {
  const run = await startTraffic(prefix, { ...FAILOVER_TRAFFIC, durationMs });
  run.done.catch(() => {}); // awaited below
  try {
    await run.ready();
    await sleep(FAIL_AFTER_MS);
    const failedAt = await act();
    const timeout = new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error("traffic generator did not finish")), durationMs + 30_000)
    );
    return { report: await Promise.race([run.done, timeout]), failedAt };
  } catch (e) {
    await run.stop().catch(() => {});
    throw e;
  }
}

/** One scenario on a settled tandem pair; leaves the pair settled again. */
async function tandemScenario(prefix: string, sc: Scenario): Promise<Sample> {
  const active = await settled(prefix);
  const standby = other(active);
  const start = { a: await status(prefix, "a"), b: await status(prefix, "b") };
  const t0 = Date.now();
  const victim = sc.endsWith("active") ? active : standby;
  let duration = FAILOVER_TRAFFIC.durationMs;
  let act: () => Promise<number>;
  const out: Sample = {};
  switch (sc) {
    case "freeze active":
    case "freeze standby":
      act = async () => {
        const t = Date.now();
        await crash(prefix, victim);
        out.commandMs = Date.now() - t;
        return Date.now();
      };
      break;
    case "kill active":
    case "kill standby":
      act = async () => {
        // The unit is gone at the signal; waiting for its exit (a large heap takes a while to
        // unmap) is not the survivor's detection time.
        const pid = await readPid(prefix, victim);
        if (pid !== undefined) Deno.kill(pid, "SIGKILL");
        const at = Date.now();
        await kill(prefix, victim);
        return at;
      };
      break;
    case "planned switchover":
      act = async () => {
        Deno.kill((await readPid(prefix, active))!, "SIGUSR1");
        return Date.now();
      };
      break;
    case "5% peer-link loss":
    case "4 s split":
      act = linkFault(prefix, sc);
      if (sc === "4 s split") duration += SPLIT_MS;
      break;
  }
  try {
    const { report, failedAt } = await withTraffic(prefix, duration, act);
    out.report = report;
    const failure = sc.startsWith("freeze") || sc.startsWith("kill");
    if (failure) {
      const s = await status(prefix, other(victim));
      const e = s.events.find((e) => e.at >= t0 && /peer dead/.test(e.detail));
      if (e) out.detectionMs = Math.max(0, e.at - failedAt);
    }
  } finally {
    if (sc === "5% peer-link loss") await bothNftDelete(prefix, "tandem_loss");
    if (sc === "4 s split") await bothNftDelete(prefix, "tandem_cut");
    const back = Date.now();
    if (sc.startsWith("freeze")) await revive(prefix, victim);
    if (sc.startsWith("kill")) await restart(prefix, victim, "standby");
    const rejoined = sc.startsWith("freeze") || sc.startsWith("kill") || sc === "4 s split";
    await settled(prefix, rejoined ? back - 5 : undefined).catch(() => {});
  }
  const end = { a: await status(prefix, "a"), b: await status(prefix, "b") };
  // A killed unit restarts with fresh counters: only a unit that ran throughout is counted.
  const kept: U[] = sc.startsWith("kill") ? [other(victim)] : ["a", "b"];
  const delta = (k: string) =>
    kept.reduce((n, u) => n + (end[u].counters[k] ?? 0) - (start[u].counters[k] ?? 0), 0);
  out.replayed = delta("replayed");
  out.resent = delta("peer_batches_resent");
  // Batches sent into a frozen unit or across a cut are lost by design; elsewhere they count.
  if (sc === "planned switchover" || sc === "5% peer-link loss") {
    out.lost = delta("drop_peer_batches_lost");
    out.falseFailovers = (["a", "b"] as U[]).reduce(
      (n, u) => n + end[u].events.filter((e) => e.at >= t0 && /peer dead/.test(e.detail)).length,
      0,
    );
  }
  return out;
}

/** Every scenario `runs` times on one tandem mode, in one lab. */
export async function failoverTandem(prefix: string, mode: LabMode, runs: number): Promise<Column> {
  const col: Column = { label: mode, samples: {} };
  try {
    await labUp({ prefix, mode, noServers: true });
    await settled(prefix);
    await startServers(prefix);
    for (let r = 0; r < runs; r++) {
      for (const sc of SCENARIOS) {
        const list = col.samples[sc] ??= [];
        try {
          list.push(await tandemScenario(prefix, sc));
        } catch (e) {
          list.push({ error: firstLine(e) });
        }
      }
    }
  } catch (e) {
    for (const sc of SCENARIOS) (col.samples[sc] ??= []).push({ error: firstLine(e) });
  } finally {
    await labDown(prefix);
  }
  return col;
}

/** The Linux pair's scenarios: a power loss covers freeze and kill; the backup is off-path. */
const LINUX_SCENARIOS: readonly Scenario[] = [
  "freeze active",
  "planned switchover",
  "5% peer-link loss",
  "4 s split",
];

/** One scenario on a fresh Linux pair (a crashed or stopped keepalived is not brought back). */
async function linuxScenario(prefix: string, sc: Scenario): Promise<Sample> {
  const out: Sample = {};
  try {
    await linuxLabUp(prefix);
    await linuxPairUp(prefix, LINUX_ADVERT_S);
    await startServers(prefix);
    const t0 = Date.now();
    let duration = FAILOVER_TRAFFIC.durationMs;
    let act: () => Promise<number>;
    switch (sc) {
      case "planned switchover":
        act = async () => {
          // SIGTERM: keepalived sends a priority-0 advert and the backup takes over at once.
          const pid = Number(await Deno.readTextFile(`/tmp/${prefix}-linux-pair-a/k.pid`));
          Deno.kill(pid, "SIGTERM");
          return Date.now();
        };
        break;
      case "5% peer-link loss":
      case "4 s split":
        act = linkFault(prefix, sc);
        if (sc === "4 s split") duration += SPLIT_MS;
        break;
      default:
        act = async () => (await linuxCrash(prefix, "a"), Date.now());
    }
    const { report, failedAt } = await withTraffic(prefix, duration, act);
    out.report = report;
    if (sc === "freeze active" || sc === "planned switchover") {
      const at = await linuxPrimaryAt(prefix, "b", t0);
      if (at !== undefined) out.detectionMs = Math.max(0, at - failedAt);
    }
  } catch (e) {
    out.error = firstLine(e);
  } finally {
    await linuxLabDown(prefix);
  }
  return out;
}

export async function failoverLinux(prefix: string, runs: number): Promise<Column> {
  const col: Column = { label: `Linux pair (advert ${LINUX_ADVERT_S} s)`, samples: {} };
  for (let r = 0; r < runs; r++) {
    for (const sc of LINUX_SCENARIOS) {
      (col.samples[sc] ??= []).push(await linuxScenario(prefix, sc));
    }
  }
  return col;
}

// ------------------------------------------------------------------ the table

const reports = (xs: Sample[] | undefined): TrafficReport[] =>
  (xs ?? []).flatMap((s) => (s.report ? [s.report] : []));

/** Connections that survived over those opened, persistent and churn, over all runs. */
function survival(xs: Sample[] | undefined): string {
  const r = reports(xs);
  if (r.length === 0) return NA;
  const done = r.reduce((n, x) => n + x.tcp.completed + x.churn.completed, 0);
  const opened = r.reduce((n, x) => n + x.tcp.opened + x.churn.opened, 0);
  return `${done}/${opened}`;
}

function stall(xs: Sample[] | undefined): string {
  const r = reports(xs);
  if (r.length === 0) return NA;
  return `${medianRange(r.map((x) => x.tcp.maxStallMs))} / ${
    medianRange(r.map((x) => x.churn.maxStallMs))
  }`;
}

function counts(xs: Sample[] | undefined): string {
  const s = (xs ?? []).filter((x) => x.report);
  if (s.length === 0) return NA;
  const t = (k: "replayed" | "resent") => s.reduce((n, x) => n + (x[k] ?? 0), 0);
  return `${t("replayed")} / ${t("resent")}`;
}

/** A per-sample count summed over the runs that have it, or n/a. */
const total = (k: "lost" | "falseFailovers") => (xs: Sample[] | undefined): string => {
  const s = (xs ?? []).filter((x) => x[k] !== undefined);
  return s.length === 0 ? NA : String(s.reduce((n, x) => n + x[k]!, 0));
};

const detection = (xs: Sample[] | undefined): string =>
  medianRange((xs ?? []).flatMap((s) => (s.detectionMs === undefined ? [] : [s.detectionMs])));

const TARGETS: Record<Scenario, string> = {
  "freeze active": "stall ≤ detection + 20 where the forwarder dies",
  "kill active": "stall ≤ detection + 20 where the forwarder dies",
  "freeze standby": "stall ≤ detection + 20 where the forwarder dies",
  "kill standby": "stall ≤ detection + 20 where the forwarder dies",
  "planned switchover": "stall ≤ 20, no false failover",
  "5% peer-link loss": "stall ≤ 50, no false failover, nothing lost",
  "4 s split": "no session lost",
};

/** The suite's table: each tandem cell lists the three modes in order, " · " between. */
export function failoverResult(
  tandem: Column[],
  linux: Column | undefined,
  now: number,
  runs: number,
  linuxSkipped?: string,
): SuiteResult {
  const rows: Row[] = [];
  const cell = (c: Column | undefined, sc: Scenario, f: (xs: Sample[] | undefined) => string) =>
    c === undefined || c.samples[sc] === undefined ? NA : f(c.samples[sc]);
  const line = (sc: Scenario, metric: string, f: (xs: Sample[] | undefined) => string, t = "") =>
    rows.push({
      metric: `${sc}: ${metric}`,
      tandem: tandem.map((c) => cell(c, sc, f)).join(" · "),
      linux: cell(linux, sc, f),
      target: t,
    });
  for (const sc of SCENARIOS) {
    line(sc, "connections surviving, done/opened", survival, "all");
    if (sc.startsWith("freeze") || sc.startsWith("kill")) {
      line(sc, "detection, ms", detection, "≤ 25");
    }
    if (sc.startsWith("freeze")) {
      line(
        sc,
        "(the freeze command itself, ms)",
        (xs) =>
          medianRange((xs ?? []).flatMap((x) => (x.commandMs === undefined ? [] : [x.commandMs]))),
      );
    }
    line(sc, "longest stall, persistent / churn, ms", stall, TARGETS[sc]);
    if (sc === "planned switchover" || sc === "5% peer-link loss") {
      line(sc, "false failovers", total("falseFailovers"), "0");
      line(sc, "peer-link batches lost for good", total("lost"), "0");
    }
    rows.push({
      metric: `${sc}: frames replayed / peer-link batches resent`,
      tandem: tandem.map((c) => cell(c, sc, counts)).join(" · "),
      linux: NA,
      target: "",
    });
  }
  const notes = [
    `tandem column: ${tandem.map((c) => c.label).join(" · ")}. Each scenario ran ${runs} ` +
    `time(s): stalls and detection are the median (min–max), counts are totals. Traffic: ` +
    `${FAILOVER_TRAFFIC.conns} persistent echo connections (a message every ` +
    `${FAILOVER_TRAFFIC.intervalMs} ms), a short connection every ${FAILOVER_TRAFFIC.churnMs} ms, ` +
    `${FAILOVER_TRAFFIC.udp} UDP flows; the failure comes ${FAIL_AFTER_MS / 1000} s into steady ` +
    `traffic. Detection is counted from when the failure is complete: a kill's signal, or the ` +
    `end of the freeze command (its drop rules take effect part-way through it, so a freeze's ` +
    `stall includes part of the command's own time).`,
    `Who is who: ${
      LAB_MODES.map((m) => `${m}: active = ${ROLES[m].active}, standby = ${ROLES[m].standby}`)
        .join("; ")
    }.`,
    "Where the receiver dies, what it held and had not yet mirrored is gone with it: the " +
    "endpoints resend on their own timers (Linux: tail loss probe or RTO, ≥ 200 ms with one " +
    "segment in flight; a lost SYN waits 1 s). The survivor's probes cannot shorten that.",
  ];
  if (linuxSkipped) notes.push(`Linux column not measured: ${linuxSkipped}.`);
  else {
    notes.push(
      "Linux pair: freeze = crash.sh (power loss; a kill of its daemons would leave the " +
        "kernel forwarding); switchover = keepalived stopped with SIGTERM; its backup is " +
        "not on the data path, so standby failures do not apply.",
    );
  }
  for (const c of [...tandem, ...(linux ? [linux] : [])]) {
    for (const [sc, xs] of Object.entries(c.samples)) {
      for (const x of xs ?? []) if (x.error) notes.push(`Failed (${c.label}, ${sc}): ${x.error}.`);
    }
  }
  return {
    suite: "failover",
    title: "Failures, switchovers and a lossy or cut peer link under traffic",
    date: isoDate(now),
    rows,
    notes,
  };
}

/** The `failover` suite (needs root; skips with a reason otherwise). */
export async function failoverSuite(): Promise<SuiteResult> {
  const title = "Failures, switchovers and a lossy or cut peer link under traffic";
  const missing = labMissing();
  if (missing) {
    return {
      suite: "failover",
      title,
      date: isoDate(Date.now()),
      rows: [],
      notes: [],
      skipped: missing,
    };
  }
  const runs = benchRuns();
  const tandem: Column[] = [];
  let i = 3;
  for (const mode of LAB_MODES) tandem.push(await failoverTandem(`bf${i++}`, mode, runs));
  const linuxSkipped = linuxMissing() ?? undefined;
  const linux = linuxSkipped ? undefined : await failoverLinux("lx2", runs);
  return failoverResult(tandem, linux, Date.now(), runs, linuxSkipped);
}
