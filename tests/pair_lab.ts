/**
 * What the pair's lab tests share: a lab under test and its timing, both units' status, a
 * settled pair, equal tables, and survival of every connection of a traffic run.
 * @module
 */
import assert from "node:assert/strict";
import { nsCurl } from "../mod/lab/harness.ts";
import type { TrafficReport } from "../mod/lab/traffic.ts";
import { nsRun } from "../mod/lab/netns.ts";
import type { FlowInfo, Mode, StatusSnapshot } from "../mod/api/snapshot.ts";
import { labPairTiming, type PairTiming, unitStatus, waitFor } from "./helpers.ts";

export type U = "a" | "b";
export const other = (u: U): U => (u === "a" ? "b" : "a");

export const status = (prefix: string, u: U): Promise<StatusSnapshot> => unitStatus(prefix, u);

/** Both units' status, asked at once (so both describe nearly the same moment). */
export async function both(prefix: string): Promise<Record<U, StatusSnapshot>> {
  const [a, b] = await Promise.all([status(prefix, "a"), status(prefix, "b")]);
  return { a, b };
}

/** A lab under test: its prefix and the pair's timing from its units' config. */
export interface PairLab {
  prefix: string;
  timing: PairTiming;
}

export function pairLab(prefix: string, mode: Mode): PairLab {
  return { prefix, timing: labPairTiming(prefix, mode) };
}

/** The largest flow table of the two units right now: what a bulk sync may have to move. */
async function flowCount(prefix: string): Promise<number> {
  const s = await both(prefix).catch(() => null);
  return s === null ? 0 : Math.max(s.a.flows.count, s.b.flows.count);
}

/**
 * Waits until the pair is settled (one active, one synced standby) and returns who is which.
 * With `rejoined`, that unit must also have completed a bulk sync at or after `since` (unix
 * ms): a unit that wakes from a freeze still reports its old state until its loop has turned,
 * and must not be taken for settled.
 */
export async function settled(
  lab: PairLab,
  opts: { rejoined?: U; since?: number; active?: U } = {},
): Promise<{ active: U; standby: U }> {
  const flows = await flowCount(lab.prefix);
  return await waitFor("a settled pair", async () => {
    const s = await both(lab.prefix);
    if (opts.rejoined !== undefined) {
      const synced = s[opts.rejoined].events.some((e) =>
        e.kind === "role" && /bulk sync complete/.test(e.detail) && e.at >= (opts.since ?? 0) - 5
      );
      if (!synced) return undefined;
    }
    // A status read just after a role request may still show the old roles: `active` says
    // which unit must hold the role before the pair counts as settled.
    if (s.a.state === "active" && s.b.state === "standby" && opts.active !== "b") {
      return { active: "a" as U, standby: "b" as U };
    }
    if (s.b.state === "active" && s.a.state === "standby" && opts.active !== "a") {
      return { active: "b" as U, standby: "a" as U };
    }
    return undefined;
  }, lab.timing.settleMs(flows));
}

/** A flow as a line, for the difference of the two tables. */
function flowKey(f: FlowInfo): string {
  return `${f.proto} ${f.client} -> ${f.vip} -> ${f.backend} ${f.state}`;
}

/** What tells two tables apart, for the message of a failed comparison. */
export async function tableReport(prefix: string): Promise<string> {
  const lines: string[] = [];
  const keys: Record<U, Set<string>> = { a: new Set(), b: new Set() };
  for (const u of ["a", "b"] as U[]) {
    try {
      const s = await status(prefix, u);
      const c = s.counters;
      const pick = Object.keys(c).filter((k) =>
        /^(flows_|mirror_|sync_|peer_tx|drop_mirror|drop_peer_bad|drop_peer_wrong)/.test(k)
      ).map((k) => `${k}=${c[k]}`).join(" ");
      lines.push(
        `${u}: ${s.state}/${s.role}, ${s.flows.count} flows, digest ${s.flows.digest}, ` +
          `sync ${s.sync.state} ${s.sync.done}/${s.sync.total}; ${pick}`,
      );
      for (const e of s.events.slice(-6)) lines.push(`  ${e.at} ${e.kind}: ${e.detail}`);
      const flows = await nsCurl(prefix, u, "/flows?limit=1000") as { flows: FlowInfo[] };
      for (const f of flows.flows) keys[u].add(flowKey(f));
    } catch (e) {
      lines.push(`${u}: ${(e as Error).message}`);
    }
    // The kernel's count of peer datagrams dropped for a full socket buffer.
    const snmp = await nsRun(`${prefix}-${u}`, ["cat", "/proc/net/snmp"]);
    const udp = snmp.stdout.split("\n").filter((l) => l.startsWith("Udp:"));
    if (udp.length === 2) {
      const [h, v] = udp.map((l) => l.split(/\s+/));
      const at = h!.indexOf("RcvbufErrors");
      lines.push(`  ${u} kernel UDP RcvbufErrors=${v![at]} InErrors=${v![h!.indexOf("InErrors")]}`);
    }
  }
  const only = (x: U, y: U) => [...keys[x]].filter((k) => !keys[y].has(k)).slice(0, 10);
  lines.push(`only in a (of the busiest 1000): ${JSON.stringify(only("a", "b"))}`);
  lines.push(`only in b (of the busiest 1000): ${JSON.stringify(only("b", "a"))}`);
  return lines.join("\n");
}

/** Both units hold the same flows once traffic has drained (determinism rule). */
export async function assertSameTables(lab: PairLab, phase: string): Promise<void> {
  const t0 = performance.now();
  let same: Record<U, StatusSnapshot>;
  try {
    same = await waitFor(`equal digests (${phase})`, async () => {
      const s = await both(lab.prefix);
      return s.a.flows.digest === s.b.flows.digest ? s : undefined;
    }, lab.timing.convergeMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await tableReport(lab.prefix)}`);
  }
  assert.equal(same.a.flows.count, same.b.flows.count, phase);
  assert.ok(same.a.flows.count > 0, `${phase}: flows exist`);
  console.log(
    `  tables equal ${phase}: ${same.a.flows.count} flows, ` +
      `${Math.round(performance.now() - t0)} ms after settling (bound ${lab.timing.convergeMs} ms)`,
  );
}

export function assertSurvived(r: TrafficReport, raw: string): void {
  const what = r.errorSamples.length > 0 ? `${raw} (${r.errorSamples.join("; ")})` : raw;
  assert.equal(r.tcp.resets, 0, `${what}: resets`);
  assert.equal(r.tcp.errors, 0, `${what}: errors`);
  assert.equal(r.tcp.corruptBytes, 0, `${what}: corrupt bytes`);
  assert.equal(r.tcp.completed, r.tcp.opened, `${what}: every persistent connection completed`);
  assert.equal(r.churn.failed, 0, `${what}: churn failures`);
  assert.equal(r.churn.resets, 0, `${what}: churn resets`);
  assert.equal(r.churn.completed, r.churn.opened, `${what}: every short connection completed`);
  assert.equal(r.udp.corrupt, 0, `${what}: corrupt UDP`);
}

export const TRAFFIC = {
  conns: 200,
  intervalMs: 20,
  churnMs: 5,
  udp: 20,
  durationMs: 4500,
  timeoutMs: 8000,
};
