/**
 * Lab plumbing shared by the lab-based suites: bounded commands, backend servers (the lab's echo
 * servers plus an iperf3 server on :80), iperf3 and UDP-rate runs from the client namespace, and
 * the Linux reference pair (driven by `mod/lab/linux_pair.ts`; its single-router variant here).
 *
 * Both labs use the same names (`<P>-client`, `<P>-a`, `<P>-b`, `<P>-server`), addresses and
 * services, so the same helpers drive either. Processes are only ever ended by pid.
 * @module
 */

import { hasCommand, pidAlive, spawnInNs, stopPid } from "../mod/lab/netns.ts";
import { labStateDir, labToolCommand, nsAddresses } from "../mod/lab/topology.ts";
import { ALL_BACKEND_ADDRESSES } from "../mod/lab/servers.ts";
import {
  cmd,
  type CmdResult,
  linuxMissing as linuxPairMissing,
  linuxScript,
  mustCmd,
} from "../mod/lab/linux_pair.ts";

// The Linux pair's driver lives with the lab (the demo runs it too).
export {
  cmd,
  type CmdResult,
  linuxCrash,
  linuxLabDown,
  linuxLabUp,
  linuxPairDir,
  linuxPairUp,
  linuxPrimaryAt,
  mustCmd,
  parseNotifyLog,
} from "../mod/lab/linux_pair.ts";

/** The repository root (this file is `<root>/bench/labs.ts`). */
export const REPO_ROOT: string = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** The lab VIP and the port iperf3 listens on (the lab's HTTP service port, see `startServers`). */
export const VIP = "198.51.100.10";
export const IPERF_PORT = 80;
export const UDP_PORT = 7001;

/** `cmd` inside network namespace `ns`. */
export function nsCmd(ns: string, args: readonly string[], timeoutMs: number): Promise<CmdResult> {
  return cmd(["ip", "netns", "exec", ns, ...args], timeoutMs);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` every 50 ms until it returns a value; throws after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const end = performance.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (performance.now() >= end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await sleep(50);
  }
}

/** Namespaces of a lab (tandem's and the Linux pair's share this naming). */
export function ns(prefix: string, which: "client" | "a" | "b" | "server"): string {
  return `${prefix}-${which}`;
}

// ------------------------------------------------------------------ servers

/** Pids of the servers a benchmark started in a lab's server namespace. */
export interface BenchServers {
  echo: number;
  iperf: number;
}

/**
 * Starts the lab's echo servers (TCP 7000, UDP 7001; their HTTP moved to 8080, which is no
 * service) and `iperf3 -s` on port 80, the lab's HTTP service, so iperf3 reaches the backends
 * through the VIP without any change to the lab's service list. Waits until both listen.
 */
export async function startServers(prefix: string): Promise<BenchServers> {
  const dir = labStateDir(prefix);
  await Deno.mkdir(dir, { recursive: true });
  const server = ns(prefix, "server");
  // Only the backend addresses the namespace has: the Linux pair's lab is IPv4 only, and the
  // echo server exits when it cannot bind one of its addresses.
  const have = new Set([
    ...await nsAddresses(server, "-4"),
    ...await nsAddresses(server, "-6"),
  ]);
  const addresses = ALL_BACKEND_ADDRESSES.filter((a) => have.has(a));
  const echo = await spawnInNs(
    server,
    [
      ...labToolCommand("serve"),
      "--http-port",
      "8080",
      ...addresses.flatMap((a) => ["--address", a]),
    ],
    `${dir}/bench-servers.log`,
    `${dir}/bench-servers.pid`,
    REPO_ROOT,
  );
  const iperf = await spawnInNs(
    server,
    ["iperf3", "-s", "-p", String(IPERF_PORT)],
    `${dir}/bench-iperf3.log`,
    `${dir}/bench-iperf3.pid`,
  );
  await waitFor("echo and iperf3 servers", async () => {
    for (const [pid, log] of [[echo, "bench-servers.log"], [iperf, "bench-iperf3.log"]] as const) {
      if (pidAlive(pid)) continue;
      const tail = (await Deno.readTextFile(`${dir}/${log}`).catch(() => "")).trim().slice(-300);
      throw new Error(`a server exited at start (${log}: ${tail || "empty"})`);
    }
    const r = await nsCmd(server, ["ss", "-Hltn"], 3000);
    return r.stdout.includes(":7000") && r.stdout.includes(`:${IPERF_PORT}`) ? true : undefined;
  }, 15_000);
  return { echo, iperf };
}

/** Stops what `startServers` started. */
export async function stopServers(s: BenchServers | undefined): Promise<void> {
  if (!s) return;
  await Promise.all([stopPid(s.echo, 1000), stopPid(s.iperf, 1000)]);
}

// ------------------------------------------------------------------ iperf3

/** What one iperf3 TCP run measured. */
export interface IperfResult {
  gbps: number;
  retransmits: number;
}

/**
 * Reads `iperf3 -J` output: receiver-side throughput in Gbit/s and the sender's retransmits.
 * Undefined when the JSON is missing the figures or reports an error.
 */
export function parseIperf(json: string): IperfResult | undefined {
  let d: unknown;
  try {
    d = JSON.parse(json);
  } catch {
    return undefined;
  }
  const end = (d as { end?: Record<string, unknown>; error?: string }).end;
  if ((d as { error?: string }).error || !end) return undefined;
  const recv = end.sum_received as { bits_per_second?: number } | undefined;
  const sent = end.sum_sent as { retransmits?: number } | undefined;
  if (typeof recv?.bits_per_second !== "number") return undefined;
  return { gbps: recv.bits_per_second / 1e9, retransmits: sent?.retransmits ?? 0 };
}

/** iperf3 TCP from the client to VIP:80 for `seconds` with `streams` parallel streams. */
export async function iperf(
  prefix: string,
  streams: number,
  seconds: number,
): Promise<IperfResult> {
  const args = ["iperf3", "-c", VIP, "-p", String(IPERF_PORT), "-t", String(seconds), "-J"];
  if (streams > 1) args.push("-P", String(streams));
  args.push("--connect-timeout", "3000");
  const r = await nsCmd(ns(prefix, "client"), args, (seconds + 15) * 1000);
  const res = parseIperf(r.stdout);
  if (!res) {
    throw new Error(
      `iperf3 -P ${streams} in ${prefix}: ${r.timedOut ? "timed out" : `exit ${r.code}`} ` +
        `${(r.stdout.match(/"error":\s*"[^"]*"/)?.[0] ?? r.stderr).slice(0, 300)}`,
    );
  }
  return res;
}

// ------------------------------------------------------------------ small-packet rate

/** What a UDP blast delivered. */
export interface UdpRate {
  sent: number;
  received: number;
  seconds: number;
  /** Datagrams that arrived at the server per second. */
  pps: number;
  /** Fraction of sent datagrams that never arrived (0..1). */
  loss: number;
}

const COUNT_TABLE = "tandem_bench";

/** Extracts the packet count of the named nftables counter from `nft -j list counter …`. */
export function parseNftCounter(json: string): number | undefined {
  try {
    const d = JSON.parse(json) as { nftables?: { counter?: { packets?: number } }[] };
    for (const item of d.nftables ?? []) {
      if (typeof item.counter?.packets === "number") return item.counter.packets;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Sender processes of {@link udpRate}. */
const SENDERS = 2;

/**
 * Blasts `payload`-byte UDP datagrams from the client to VIP:7001 for `seconds`
 * (bench/udp_blast.ts, sendmmsg over FFI; {@link SENDERS} processes sharing `flows` sockets) and
 * counts what arrives at the server with an nftables counter in its input hook, which also drops
 * them, so no echo comes back to load the path in the other direction.
 */
export async function udpRate(
  prefix: string,
  seconds: number,
  payload = 64,
  flows = 4,
): Promise<UdpRate> {
  const server = ns(prefix, "server");
  const rules = `table ip ${COUNT_TABLE} {
  counter udp_in { }
  chain input {
    type filter hook input priority -10; policy accept;
    udp dport ${UDP_PORT} counter name "udp_in" drop
  }
}
`;
  await nsCmd(server, ["nft", "delete", "table", "ip", COUNT_TABLE], 3000);
  const file = await Deno.makeTempFile({ prefix: "tandem-bench-nft-" });
  try {
    await Deno.writeTextFile(file, rules);
    await mustCmd(["ip", "netns", "exec", server, "nft", "-f", file], 5000);
    // Two senders, one per core: with one, the Linux side was bound by its own sender (the
    // kernel forwards in the sender's softirq, on the sender's CPU time).
    const runs = await Promise.all(
      Array.from({ length: SENDERS }, () =>
        nsCmd(ns(prefix, "client"), [
          Deno.execPath(),
          "run",
          "-A",
          `${REPO_ROOT}/bench/udp_blast.ts`,
          "--target",
          VIP,
          "--port",
          String(UDP_PORT),
          "--size",
          String(payload),
          "--seconds",
          String(seconds),
          "--flows",
          String(Math.max(1, Math.round(flows / SENDERS))),
        ], (seconds + 20) * 1000)),
    );
    const blast = { sent: 0, seconds: 0 };
    for (const r of runs) {
      const last = r.stdout.trim().split("\n").pop() ?? "";
      if (r.code !== 0 || !last.startsWith("{")) {
        throw new Error(`udp_blast in ${prefix}: exit ${r.code}: ${r.stderr.trim().slice(-300)}`);
      }
      const one = JSON.parse(last) as { sent: number; seconds: number };
      blast.sent += one.sent;
      blast.seconds = Math.max(blast.seconds, one.seconds);
    }
    await sleep(300); // stragglers still queued in the appliance
    const c = await nsCmd(
      server,
      ["nft", "-j", "list", "counter", "ip", COUNT_TABLE, "udp_in"],
      3000,
    );
    const received = parseNftCounter(c.stdout);
    if (received === undefined) throw new Error(`nft counter unreadable: ${c.stderr.trim()}`);
    return {
      sent: blast.sent,
      received,
      seconds: blast.seconds,
      pps: received / blast.seconds,
      loss: blast.sent > 0 ? Math.max(0, 1 - received / blast.sent) : 0,
    };
  } finally {
    await Deno.remove(file).catch(() => {});
    await nsCmd(server, ["nft", "delete", "table", "ip", COUNT_TABLE], 3000);
  }
}

// ------------------------------------------------------------------ the Linux reference pair

/** Why the Linux comparison cannot run here (the pair, and iperf3 for the bulk runs), or null. */
export function linuxMissing(): string | null {
  return linuxPairMissing() ??
    (hasCommand("iperf3") ? null : "Linux comparison needs iperf3 on PATH");
}

/** Why the tandem lab benchmarks cannot run here, or null. */
export function labMissing(): string | null {
  let root = false;
  try {
    root = Deno.uid() === 0;
  } catch {
    root = false;
  }
  if (!root) return "needs root (network namespaces, TAP devices, nftables)";
  const missing = ["ip", "nft", "curl", "setsid", "iperf3", "ss"].filter((c) => !hasCommand(c));
  return missing.length > 0 ? `needs ${missing.join(", ")} on PATH` : null;
}

/**
 * The Linux pair's DNAT ruleset, read from `up.sh` itself (its `nft -f -` here-document), so the
 * single-router comparison runs exactly the rules the pair runs.
 */
export async function linuxDnatRules(): Promise<string> {
  const text = await Deno.readTextFile(linuxScript("up.sh"));
  const m = text.match(/<<'NFT'\n([\s\S]*?)\nNFT\n/);
  if (!m?.[1]) throw new Error(`no nftables here-document in ${linuxScript("up.sh")}`);
  return m[1] + "\n";
}

/**
 * Makes `<P>-a` a single Linux router doing the pair's job without the pair: IP forwarding, the
 * VIP and gateway addresses, and the DNAT rules; no keepalived, no conntrackd.
 */
export async function linuxRouterUp(prefix: string): Promise<void> {
  const a = ns(prefix, "a");
  await mustCmd(["ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv4.ip_forward=1"], 5000);
  await mustCmd(["ip", "-n", a, "addr", "add", `${VIP}/24`, "dev", "eth0"], 5000);
  await mustCmd(["ip", "-n", a, "addr", "add", "203.0.113.1/24", "dev", "eth1"], 5000);
  const file = await Deno.makeTempFile({ prefix: "tandem-bench-nft-" });
  try {
    await Deno.writeTextFile(file, await linuxDnatRules());
    await mustCmd(["ip", "netns", "exec", a, "nft", "-f", file], 5000);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Undoes `linuxRouterUp` so `up.sh` can start the pair on the same lab. */
export async function linuxRouterDown(prefix: string): Promise<void> {
  const a = ns(prefix, "a");
  await cmd(["ip", "netns", "exec", a, "nft", "flush", "ruleset"], 5000);
  await cmd(["ip", "-n", a, "addr", "del", `${VIP}/24`, "dev", "eth0"], 5000);
  await cmd(["ip", "-n", a, "addr", "del", "203.0.113.1/24", "dev", "eth1"], 5000);
  // Clients and servers learned the VIP and gateway at a's MAC; the pair announces them again.
  for (const n of [ns(prefix, "client"), ns(prefix, "server")]) {
    await cmd(["ip", "-n", n, "neigh", "flush", "all"], 5000);
  }
}
