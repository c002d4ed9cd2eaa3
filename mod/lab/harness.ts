/**
 * Helpers for integration tests and benchmarks that run in the lab: build a lab for the length of
 * a callback, skip cleanly without root or tools, query a unit's API, run commands and traffic in
 * the client namespace.
 * @module
 */

import { hasCommand, nsRun, run, type RunResult, tail } from "./netns.ts";
import {
  API_ADDR,
  DEFAULT_READY_TIMEOUT_MS,
  labCwd,
  labDown,
  type LabInfo,
  labNamespaces,
  labStateDir,
  labToolCommand,
  labUp,
  type LabUpOptions,
  type Unit,
} from "./topology.ts";
import { DEFAULT_TRAFFIC, type TrafficOptions, type TrafficReport } from "./traffic.ts";

/** True when running as root (namespaces, TAPs and nftables need it). */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** The commands the lab itself runs (mod/lab): namespaces, sysctls, daemons, crash, readiness. */
export const LAB_COMMANDS: readonly string[] = ["ip", "sysctl", "setsid", "nft", "curl"];

/**
 * A reason to skip a lab test, naming what is missing (root, or a command of the lab or one of
 * `extra` that the test runs itself), or null when all is there. `deno task test` installs
 * them (mod/setup/packages.txt).
 */
export function requireLabTools(...extra: string[]): string | null {
  if (!isRoot()) return "lab tests need root (network namespaces, TAP devices, nftables)";
  const missing = [...LAB_COMMANDS, ...extra].filter((c) => !hasCommand(c));
  if (missing.length > 0) return `lab tests need ${missing.join(", ")} on PATH`;
  return null;
}

/**
 * Builds a lab, runs `fn`, and always tears the lab down, even when `fn` or `labUp` fails.
 * The lab's state directory goes with it, so when `fn` fails the tail of each unit's log is
 * printed first.
 */
export async function withLab(
  opts: LabUpOptions & { prefix: string },
  fn: (lab: LabInfo) => Promise<void>,
): Promise<void> {
  try {
    const lab = await labUp(opts);
    await fn(lab);
  } catch (e) {
    for (const u of ["a", "b"] as const) {
      const file = `${labStateDir(opts.prefix)}/${u}.log`;
      if (await Deno.stat(file).then(() => true, () => false)) {
        console.error(`--- lab ${opts.prefix}: tail of ${u}.log\n${await tail(file, 20)}`);
      }
      console.error(
        `--- lab ${opts.prefix}: ${u}'s drops and peer link\n${await counters(opts.prefix, u)}`,
      );
    }
    // Connections that never connected: were the servers' listen queues full (a starved server)?
    const listen = await nsRun(labNamespaces(opts.prefix).server, [
      "nstat",
      "-az",
      "TcpExtListenOverflows",
      "TcpExtListenDrops",
      "TcpExtTCPReqQFullDrop",
    ]).catch(() => null);
    if (listen?.code === 0) {
      console.error(`--- lab ${opts.prefix}: server listen queues\n${listen.stdout.trim()}`);
    }
    throw e;
  } finally {
    await labDown(opts.prefix);
  }
}

/** A unit's non-zero drop, peer-link and takeover counters, for a failed test's story. */
async function counters(prefix: string, u: "a" | "b"): Promise<string> {
  try {
    const s = await nsCurl(prefix, u, "/status") as { counters: Record<string, number> };
    return Object.entries(s.counters)
      .filter(([k, v]) => v !== 0 && /drop|peer|nack|resen|replay|relay|probe|heartbeat/.test(k))
      .map(([k, v]) => `${k}=${v}`).join(" ");
  } catch (e) {
    return `(no status: ${(e as Error).message})`;
  }
}

/** Options of `nsCurl`. */
export interface CurlOptions {
  method?: "GET" | "POST";
  /** Send the lab's API bearer token (needed for `POST /failover`). */
  auth?: boolean;
  timeoutMs?: number;
}

/** Fetches `path` from `unit`'s status API inside its namespace and parses the JSON body. */
export async function nsCurl(
  prefix: string,
  unit: Unit,
  path: string,
  opts: CurlOptions = {},
): Promise<unknown> {
  const args = ["curl", "-sS", "-f", "-m", String((opts.timeoutMs ?? 3000) / 1000)];
  if (opts.method === "POST") args.push("-X", "POST");
  if (opts.auth) {
    const token = (await Deno.readTextFile(`${labStateDir(prefix)}/api.token`)).trim();
    args.push("-H", `Authorization: Bearer ${token}`);
  }
  args.push(`http://${API_ADDR}${path.startsWith("/") ? path : `/${path}`}`);
  const r = await nsRun(labNamespaces(prefix)[unit], args);
  if (r.code !== 0) throw new Error(`curl ${path} on unit ${unit} failed: ${r.stderr.trim()}`);
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`curl ${path} on unit ${unit}: not JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/** Runs `args` in the client namespace; never throws for a non-zero exit. */
export function clientRun(prefix: string, args: string[]): Promise<RunResult> {
  return nsRun(labNamespaces(prefix).client, args);
}

/** A traffic run in progress in the client namespace. */
export interface TrafficRun {
  /** Resolves with the report when the generator has ended. */
  done: Promise<TrafficReport>;
  /**
   * Resolves once every persistent connection and UDP flow is up (the generator's ready file):
   * the traffic is steady from then on. Rejects when the generator ends first, or after the
   * lab's readiness bound plus the connect timeout.
   */
  ready(): Promise<void>;
  /** Creates the mark file now (e.g. right before a crash); resolves once it exists. */
  mark(): Promise<void>;
  /** Asks the generator to stop early; `done` resolves shortly after. */
  stop(): Promise<void>;
}

/** The `lab traffic` flags for `opts` (exported for tests). */
export function trafficArgs(opts: Partial<TrafficOptions>): string[] {
  const flags: [string, string | number | undefined][] = [
    ["--target", opts.target],
    ["--family", opts.family],
    ["--port", opts.port],
    ["--udp-port", opts.udpPort],
    ["--conns", opts.conns],
    ["--interval-ms", opts.intervalMs],
    ["--churn-ms", opts.churnMs],
    ["--udp", opts.udp],
    ["--duration-ms", opts.durationMs],
    ["--timeout-ms", opts.timeoutMs],
    ["--stop-file", opts.stopFile],
    ["--mark-file", opts.markFile],
    ["--ready-file", opts.readyFile],
  ];
  return flags.flatMap(([f, v]) => (v === undefined ? [] : [f, String(v)]));
}

let trafficSeq = 0;

/**
 * Starts the traffic generator in the client namespace. Mark and stop files live in the lab's
 * state directory unless given in `opts`.
 */
export async function startTraffic(
  prefix: string,
  opts: Partial<TrafficOptions> = {},
): Promise<TrafficRun> {
  const dir = labStateDir(prefix);
  await Deno.mkdir(dir, { recursive: true });
  const n = `${Deno.pid}-${trafficSeq++}`;
  const markFile = opts.markFile ?? `${dir}/traffic-${n}.mark`;
  const stopFile = opts.stopFile ?? `${dir}/traffic-${n}.stop`;
  const readyFile = opts.readyFile ?? `${dir}/traffic-${n}.ready`;
  for (const f of [markFile, stopFile, readyFile]) await Deno.remove(f).catch(() => {});
  const cmd = [
    "ip",
    "netns",
    "exec",
    labNamespaces(prefix).client,
    ...labToolCommand("traffic"),
    ...trafficArgs({ ...opts, markFile, stopFile, readyFile }),
  ];
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd: labCwd(prefix),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const done = child.output().then((out) => {
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const last = stdout.trim().split("\n").pop() ?? "";
    if (out.code !== 0 || !last.startsWith("{")) {
      throw new Error(`lab traffic exited ${out.code}: ${stderr.trim().slice(-2000)}`);
    }
    return JSON.parse(last) as TrafficReport;
  });
  let ended = false;
  done.then(() => ended = true, () => ended = true);
  // The generator starts (a Deno process) within the lab's readiness bound, then connects
  // within its connect timeout.
  const readyWithin = DEFAULT_READY_TIMEOUT_MS + (opts.timeoutMs ?? DEFAULT_TRAFFIC.timeoutMs);
  const ready = async (): Promise<void> => {
    const deadline = performance.now() + readyWithin;
    for (;;) {
      if (await Deno.stat(readyFile).then(() => true, () => false)) return;
      if (ended) throw new Error("lab traffic ended before all its connections were up");
      if (performance.now() >= deadline) {
        throw new Error(`lab traffic not ready after ${readyWithin} ms`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    done,
    ready,
    mark: () => Deno.writeTextFile(markFile, `${Date.now()}\n`),
    stop: () => Deno.writeTextFile(stopFile, ""),
  };
}

/** Lists the namespaces that exist now (`ip netns list`), names only. */
export async function listNamespaces(): Promise<string[]> {
  const r = await run(["ip", "netns", "list"]);
  return r.stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter((s) => s !== "");
}
