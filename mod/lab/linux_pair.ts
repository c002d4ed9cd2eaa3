/**
 * The Linux reference pair (keepalived VRRPv3 + conntrackd FT-FW + nftables DNAT) in a lab of its
 * own, driven through its scripts in `shared/anchors/linux-pair/` (`lab.sh`, `up.sh`, `crash.sh`,
 * `down.sh`), which are run, never copied. Its lab has the same names (`<P>-client`, `<P>-a`,
 * `<P>-b`, `<P>-server`), addresses and services as tandem's, so the same traffic runs through
 * either. Used by `tandem lab demo` and the benchmarks.
 * @module
 */

import { hasCommand, stopPid } from "./netns.ts";
import { labStateDir, STATE_ROOT } from "./topology.ts";

/** Result of a bounded command. `timedOut` when it was killed at its deadline. */
export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const dec = new TextDecoder();

/**
 * Runs `args` (no shell) and kills it after `timeoutMs`: no step may hang the run. Never throws;
 * a missing binary is code 127.
 */
export async function cmd(args: readonly string[], timeoutMs: number): Promise<CmdResult> {
  const [bin, ...rest] = args;
  if (bin === undefined) return { code: 127, stdout: "", stderr: "empty command", timedOut: false };
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const out = await new Deno.Command(bin, {
      args: rest,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).output();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      timedOut: ac.signal.aborted,
    };
  } catch (e) {
    return { code: 127, stdout: "", stderr: `${bin}: ${(e as Error).message}`, timedOut: false };
  } finally {
    clearTimeout(timer);
  }
}

/** `cmd` that throws (with its stderr) unless it exits 0. */
export async function mustCmd(args: readonly string[], timeoutMs: number): Promise<string> {
  const r = await cmd(args, timeoutMs);
  if (r.code !== 0) {
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${r.code}`;
    throw new Error(`${args.join(" ")}: ${why}: ${r.stderr.trim().slice(-500)}`);
  }
  return r.stdout;
}

/** The repository root (this file is `<root>/mod/lab/linux_pair.ts`). */
const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Where the Linux pair's scripts live: `TANDEM_LINUX_PAIR`, else `shared/` beside the repo. */
export function linuxPairDir(): string {
  return Deno.env.get("TANDEM_LINUX_PAIR") ?? `${REPO_ROOT}/../shared/anchors/linux-pair`;
}

/** The commands the pair's scripts run (packages keepalived, conntrackd, nftables, bash). */
export const LINUX_PAIR_COMMANDS: readonly string[] = ["keepalived", "conntrackd", "nft", "bash"];

/** Why the Linux pair cannot run here (scripts or commands missing), or null when it can. */
export function linuxMissing(): string | null {
  const dir = linuxPairDir();
  for (const f of ["lab.sh", "up.sh", "crash.sh", "down.sh"]) {
    try {
      Deno.statSync(`${dir}/${f}`);
    } catch {
      return `Linux reference pair scripts not found in ${dir} (set TANDEM_LINUX_PAIR)`;
    }
  }
  const missing = LINUX_PAIR_COMMANDS.filter((c) => !hasCommand(c));
  return missing.length > 0 ? `Linux reference pair needs ${missing.join(", ")} on PATH` : null;
}

/** Path of one of the pair's scripts. */
export function linuxScript(name: string): string {
  return `${linuxPairDir()}/${name}`;
}

/** `lab.sh up PREFIX`: the reference topology, with the same addresses as tandem's lab. */
export async function linuxLabUp(prefix: string): Promise<void> {
  await mustCmd(["bash", linuxScript("lab.sh"), "up", prefix], 30_000);
}

/** `up.sh ADVERT PREFIX`: keepalived + conntrackd + DNAT on both units; a wins the election. */
export async function linuxPairUp(prefix: string, advertSeconds: number): Promise<void> {
  await mustCmd(["bash", linuxScript("up.sh"), String(advertSeconds), prefix], 60_000);
}

/** `crash.sh <P>-<unit>`: power loss of a unit. */
export async function linuxCrash(prefix: string, unit: "a" | "b"): Promise<void> {
  await mustCmd(["bash", linuxScript("crash.sh"), `${prefix}-${unit}`], 10_000);
}

/** Unix ms of the first `primary` line in unit `unit`'s keepalived notify log at or after `since`. */
export async function linuxPrimaryAt(
  prefix: string,
  unit: "a" | "b",
  since: number,
): Promise<number | undefined> {
  let text = "";
  try {
    text = await Deno.readTextFile(`/tmp/${prefix}-linux-pair-${unit}/notify.log`);
  } catch {
    return undefined;
  }
  return parseNotifyLog(text, since);
}

/** First `primary` transition (unix ms) at or after `since` in a notify.log ("<unix s> primary"). */
export function parseNotifyLog(text: string, since: number): number | undefined {
  for (const line of text.split("\n")) {
    const m = line.match(/^(\d+(?:\.\d+)?)\s+primary\b/);
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    if (at >= since) return at;
  }
  return undefined;
}

/**
 * Tears the Linux pair and its lab down, whatever state they are in: `down.sh` (which also
 * thaws a crashed unit), then every process still in the lab's namespaces (servers, traffic
 * generators) by pid, then `lab.sh down`, then up.sh's and our state directories.
 */
export async function linuxLabDown(prefix: string): Promise<void> {
  await cmd(["bash", linuxScript("down.sh"), prefix], 20_000);
  for (const n of ["client", "a", "b", "server", "sw"]) {
    const r = await cmd(["ip", "netns", "pids", `${prefix}-${n}`], 5000);
    const pids = r.stdout.split(/\s+/).map(Number).filter((p) => Number.isInteger(p) && p > 1);
    await Promise.all(pids.map((p) => stopPid(p, 1000)));
  }
  await cmd(["bash", linuxScript("lab.sh"), "down", prefix], 20_000);
  for (const u of ["a", "b"]) {
    await Deno.remove(`/tmp/${prefix}-linux-pair-${u}`, { recursive: true }).catch(() => {});
  }
  await Deno.remove(labStateDir(prefix), { recursive: true }).catch(() => {});
  await Deno.remove(STATE_ROOT).catch(() => {});
}
