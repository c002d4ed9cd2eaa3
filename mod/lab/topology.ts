/**
 * Builds and tears down the lab (DESIGN.md "The lab") in network namespaces, starts the backend
 * servers and the two tandem units, and simulates crashes (the Linux reference pair's crash.sh:
 * drop everything at ingress and egress, then freeze the process).
 * @module
 */

import {
  hasCommand,
  killPid,
  nsExec,
  nsRun,
  pidAlive,
  procState,
  run,
  sh,
  sleep,
  spawnInNs,
  stopPid,
  tail,
  waitExit,
} from "./netns.ts";
import { labConfigText } from "../config/lab_config.ts";
import { LOCAL_API_DIR } from "../api/local_api.ts";

/** An appliance of the pair. */
export type Unit = "a" | "b";
/** Topology mode (DESIGN.md "Roles and the three topologies"). */
export type LabMode = "active-forward" | "standby-forward" | "standby-first";
/** Boot role of a unit. */
export type UnitRole = "active" | "standby";

/** Every mode, for validation and for tests that loop over them. */
export const LAB_MODES: readonly LabMode[] = ["active-forward", "standby-forward", "standby-first"];
export const DEFAULT_PREFIX = "tnd";
export const DEFAULT_MODE: LabMode = "standby-forward";
/** Where each lab keeps configs, keys, pid files and logs. */
export const STATE_ROOT = "/run/tandem-lab";
/**
 * How long a lab process (server, unit, traffic generator) may take to start and answer:
 * a Deno process compiling and loading its modules on a busy machine.
 */
export const DEFAULT_READY_TIMEOUT_MS = 20_000;
/** Status API of each unit, inside its own namespace. */
export const API_ADDR = "127.0.0.1:9090";

/**
 * The lab's addresses, all from documentation ranges: IPv4 (RFC 5737) and, beside every one of
 * them, IPv6 (`*6`, from 2001:db8::/32, RFC 3849; /64 subnets, RFC 4291 §2.5.4).
 */
export const LAB_ADDRESSES = {
  client: "198.51.100.2",
  vip: "198.51.100.10",
  gateway: "203.0.113.1",
  backends: ["203.0.113.20", "203.0.113.21"],
  client6: "2001:db8:100::2",
  vip6: "2001:db8:100::10",
  gateway6: "2001:db8:113::1",
  backends6: ["2001:db8:113::20", "2001:db8:113::21"],
  prefix6: 64,
  units: {
    a: {
      front: "198.51.100.3",
      back: "203.0.113.3",
      front6: "2001:db8:100::3",
      back6: "2001:db8:113::3",
      ha: "192.0.2.1",
    },
    b: {
      front: "198.51.100.4",
      back: "203.0.113.4",
      front6: "2001:db8:100::4",
      back6: "2001:db8:113::4",
      ha: "192.0.2.2",
    },
  },
  ports: { tcpEcho: 7000, udpEcho: 7001, http: 80, peer: 4790 },
} as const;

/** True when the kernel has IPv6 (without it the lab is IPv4 only, as it used to be). */
export async function kernelHasIpv6(): Promise<boolean> {
  return await Deno.stat("/proc/sys/net/ipv6").then(() => true, () => false);
}

/** The lab's addresses as `lab up` prints them: each IPv4 address with its IPv6 twin. */
export function labAddressLines(ipv6 = true): string[] {
  const A = LAB_ADDRESSES;
  const two = (v4: string, v6: string): string => ipv6 ? `${v4} ${v6}` : v4;
  return [
    `client ${two(A.client, A.client6)}`,
    `VIP ${two(A.vip, A.vip6)} (front), gateway ${two(A.gateway, A.gateway6)} (back)`,
    ...(["a", "b"] as const).map((u) =>
      `unit ${u}: front ${two(A.units[u].front, A.units[u].front6)}, ` +
      `back ${two(A.units[u].back, A.units[u].back6)}, ha ${A.units[u].ha}`
    ),
    `backends ${A.backends.join(" ")}${ipv6 ? ` ${A.backends6.join(" ")}` : ""}`,
  ];
}

/** The namespaces of one lab. */
export interface LabNamespaces {
  client: string;
  a: string;
  b: string;
  server: string;
  /** Holds the two bridges `brf` (front) and `brb` (back). */
  sw: string;
}

/** Options of `labUp`. */
export interface LabUpOptions {
  /** Namespace prefix, /^[a-z][a-z0-9]{0,5}$/; default `tnd`. */
  prefix?: string;
  mode?: LabMode;
  /** Do not start the echo/HTTP servers in the server namespace. */
  noServers?: boolean;
  /** Which units to start; default both (`[]` = topology and servers only). */
  units?: Unit[];
  /** `hold_new_flows` in ms for active-forward (see DESIGN.md). */
  holdNewFlows?: number;
  /** The echo service uses maglev with mid-stream pickup. */
  pickup?: boolean;
  /** Extra top-level config lines per unit (fail-safes: `track`, `preempt`, `notify`). */
  unitConfig?: Partial<Record<Unit, string[]>>;
  /** Source-IP persistence of the echo service (config duration, e.g. `60s`). */
  persistence?: string;
  /** Extra `tandem run` arguments for both units. */
  extraArgs?: string[];
  /** Bound on each readiness wait; default `DEFAULT_READY_TIMEOUT_MS`. */
  readyTimeoutMs?: number;
  /** TAP checksum/segmentation offload in the units (default true); false = plain frames. */
  offload?: boolean;
  /**
   * Puts the back segment on this 802.1Q VLAN: the server's addresses move to `eth0.<vlan>`
   * and the units' back interface becomes `vlan: <vlan>` on its TAP (a trunk). Implies
   * `offload: false`. Default: untagged, as DESIGN.md's lab.
   */
  vlan?: number;
  /** The units' CPU scheduling (config `scheduling`); default nice (a deployment: realtime). */
  scheduling?: "realtime" | "nice" | "normal";
  /**
   * The program a unit runs, before `run --config …`; default `tandemCommand()`. For tests and
   * benchmarks that stand in another program for tandem.
   */
  unitCommand?: string[];
  /**
   * Dual stack (default true, when the kernel has IPv6): the client's, servers' and units'
   * IPv6 addresses and the IPv6 services. false: the IPv4-only lab.
   */
  ipv6?: boolean;
}

/** What `labUp` built. */
export interface LabInfo {
  prefix: string;
  mode: LabMode;
  stateDir: string;
  ns: LabNamespaces;
  units: Unit[];
  /** Pids of the running units and servers. */
  pids: { a?: number; b?: number; servers?: number; tagger?: number };
  addresses: typeof LAB_ADDRESSES;
  /** Whether the lab is dual stack (the `*6` addresses exist and the units serve them). */
  ipv6: boolean;
}

/** Persisted so that later calls (`restart`, the CLI) know how the lab was started. */
interface LabState {
  mode: LabMode;
  holdNewFlows?: number;
  extraArgs: string[];
  units: Unit[];
  unitCommand?: string[];
}

const PREFIX_RE = /^[a-z][a-z0-9]{0,5}$/;

/** Returns a reason when `prefix` is not a valid lab prefix, else null. */
export function checkPrefix(prefix: string): string | null {
  return PREFIX_RE.test(prefix) ? null : `bad lab prefix "${prefix}": must match ${PREFIX_RE}`;
}

function mustPrefix(prefix: string): void {
  const bad = checkPrefix(prefix);
  if (bad !== null) throw new Error(bad);
}

/** Namespace names of the lab with `prefix`. */
export function labNamespaces(prefix: string): LabNamespaces {
  return {
    client: `${prefix}-client`,
    a: `${prefix}-a`,
    b: `${prefix}-b`,
    server: `${prefix}-server`,
    sw: `${prefix}-sw`,
  };
}

/** State directory of the lab with `prefix`. */
export function labStateDir(prefix: string): string {
  return `${STATE_ROOT}/${prefix}`;
}

/** The repository root (this file is `<root>/mod/lab/topology.ts`). */
function repoRoot(): string {
  return new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
}

/** True when running as a `deno compile`d binary rather than under `deno run`/`deno test`. */
export function isCompiled(): boolean {
  const exe = Deno.execPath().split("/").pop() ?? "";
  return import.meta.url.includes("/deno-compile-") || !/^deno(\.exe)?$/.test(exe);
}

/** How to run the `tandem` program: the binary itself, or `deno run -A <root>/main.ts`. */
export function tandemCommand(): string[] {
  if (isCompiled()) return [Deno.execPath()];
  return [Deno.execPath(), "run", "-A", `${repoRoot()}/main.ts`];
}

/**
 * How to run a lab helper process. Compiled: `tandem lab serve|traffic`. Under Deno the module is
 * run directly, so the lab works before and independently of `main.ts`'s command dispatch.
 */
export function labToolCommand(tool: "serve" | "traffic" | "vlan-tag"): string[] {
  if (isCompiled()) return [Deno.execPath(), "lab", tool];
  const file = { serve: "servers.ts", traffic: "traffic.ts", "vlan-tag": "vlan_tag.ts" }[tool];
  return [Deno.execPath(), "run", "-A", `${repoRoot()}/mod/lab/${file}`];
}

/** Working directory for lab processes: the repo root under Deno (so deno.json is found). */
export function labCwd(prefix: string): string {
  return isCompiled() ? labStateDir(prefix) : repoRoot();
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `ip -n NS -batch -`: one process per namespace instead of one per command. */
function ipBatch(ns: string, lines: string[]): Promise<string> {
  return sh(["ip", "-n", ns, "-batch", "-"], lines.join("\n") + "\n");
}

async function nsExists(ns: string): Promise<boolean> {
  try {
    await Deno.stat(`/run/netns/${ns}`);
    return true;
  } catch {
    return false;
  }
}

/** Pid recorded in `<stateDir>/<name>.pid`, if any. */
export async function readPid(
  prefix: string,
  name: Unit | "servers" | "tagger",
): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await Deno.readTextFile(`${labStateDir(prefix)}/${name}.pid`), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function readState(prefix: string): Promise<LabState> {
  try {
    return JSON.parse(await Deno.readTextFile(`${labStateDir(prefix)}/lab.json`)) as LabState;
  } catch {
    throw new Error(`lab "${prefix}" is not up (no ${labStateDir(prefix)}/lab.json)`);
  }
}

/** Builds namespaces, bridges, veths, TAPs and addresses (no processes). */
async function buildTopology(
  prefix: string,
  offload: boolean,
  vlan: number | undefined,
  ipv6: boolean,
): Promise<void> {
  const ns = labNamespaces(prefix);
  const all = [ns.client, ns.a, ns.b, ns.server, ns.sw];
  for (const n of all) await sh(["ip", "netns", "add", n]);

  // IPv6 lives only where the lab puts addresses: the client and the server, with router
  // advertisements ignored and no autoconfiguration (RFC 4862 §5.5), so no address or route
  // appears that the lab did not ask for. The appliances' and the switch's kernels have no
  // IPv6 at all: set before any device exists, `default` keeps it off every TAP, veth and
  // bridge there, so no link-local address (RFC 4291 §2.5.6) lets the kernel answer NDP for
  // the tandem process, nor send its own RS/MLD noise. Appliances must not route in the
  // kernel either: the tandem process is the only forwarder there.
  const haveV6 = await kernelHasIpv6();
  const v6 = haveV6 && ipv6;
  const haveBrNf = await Deno.stat("/proc/sys/net/bridge").then(() => true, () => false);
  await Promise.all(all.map((n) => {
    const keys: string[] = [];
    if (v6 && (n === ns.client || n === ns.server)) {
      keys.push(
        ...["all", "default"].flatMap((c) => [
          `net.ipv6.conf.${c}.disable_ipv6=0`,
          `net.ipv6.conf.${c}.accept_ra=0`,
          `net.ipv6.conf.${c}.autoconf=0`,
          // Every address here is the lab's own: no duplicate address detection, so the
          // link-local one is usable at once as well (RFC 4862 §5.4).
          `net.ipv6.conf.${c}.accept_dad=0`,
        ]),
      );
    } else if (haveV6) {
      keys.push("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }
    if (n === ns.a || n === ns.b) keys.push("net.ipv4.ip_forward=0");
    // With br_netfilter loaded, bridged IPv4 would pass through iptables and a bridge would
    // silently drop malformed frames before a unit can count them: lab bridges are plain wires.
    if (haveBrNf && (n === ns.a || n === ns.b || n === ns.sw)) {
      keys.push(
        ...["iptables", "ip6tables", "arptables"].map((t) => `net.bridge.bridge-nf-call-${t}=0`),
      );
    }
    return keys.length > 0 ? nsExec(n, ["sysctl", "-qw", ...keys]) : Promise.resolve("");
  }));

  // forward_delay 0 + no STP: ports forward at once instead of after 2 x 15 s of listening.
  // No multicast snooping: neighbour solicitations go to solicited-node groups (RFC 4861
  // §7.2.2) that the tandem process never joins with MLD, so the bridges must flood them.
  const bridge = (name: string): string =>
    `link add ${name} type bridge forward_delay 0 stp_state 0 mcast_snooping 0`;
  await ipBatch(ns.sw, ["link set lo up", bridge("brf"), bridge("brb")]);

  // Each veth is created inside its namespace with its peer placed straight into the switch,
  // so no interface name is ever used in the root namespace (labs with other prefixes coexist).
  const veth = (ifname: string, swPort: string): string =>
    `link add ${ifname} type veth peer name ${swPort} netns ${ns.sw}`;
  await ipBatch(ns.client, [
    "link set lo up",
    veth("eth0", "cf"),
    `addr add ${LAB_ADDRESSES.client}/24 dev eth0`,
    // nodad: usable at once, not after a second of duplicate address detection (RFC 4862 §5.4).
    // No default route: the VIP is on-link.
    ...(v6 ? [`addr add ${LAB_ADDRESSES.client6}/${LAB_ADDRESSES.prefix6} dev eth0 nodad`] : []),
    "link set eth0 up",
  ]);
  // With a VLAN the servers' segment is tagged on the wire: their addresses live on a VLAN
  // interface, so every frame to and from them carries the tag (the lab's bridges pass tags
  // through). The kernel may lack 8021q, so that interface is a TAP whose frames `vlan_tag.ts`
  // tags onto a second TAP bridged with eth0 (`startVlanTagger`).
  const serverDev = vlan === undefined ? "eth0" : VLAN_ACCESS;
  await ipBatch(ns.server, [
    "link set lo up",
    veth("eth0", "sb"),
    "link set eth0 up",
    ...(vlan === undefined ? [] : [
      `link add br0 type bridge forward_delay 0 stp_state 0`,
      `tuntap add dev ${VLAN_TRUNK} mode tap`,
      `tuntap add dev ${VLAN_ACCESS} mode tap`,
      "link set eth0 master br0",
      `link set ${VLAN_TRUNK} master br0`,
      `link set ${VLAN_TRUNK} up`,
      "link set br0 up",
    ]),
    ...LAB_ADDRESSES.backends.map((b) => `addr add ${b}/24 dev ${serverDev}`),
    ...(v6
      ? LAB_ADDRESSES.backends6.map((b) =>
        `addr add ${b}/${LAB_ADDRESSES.prefix6} dev ${serverDev} nodad`
      )
      : []),
    `link set ${serverDev} up`,
    `route add default via ${LAB_ADDRESSES.gateway}`,
    // The family follows from the gateway's address.
    ...(v6 ? [`route add default via ${LAB_ADDRESSES.gateway6} dev ${serverDev}`] : []),
  ]);
  for (const u of ["a", "b"] as const) {
    // The appliance kernel holds no address on front/back: the tandem process speaks for the
    // self and floating addresses through the TAPs.
    await ipBatch(ns[u], [
      "link set lo up",
      veth("eth0", `${u}f`),
      veth("eth1", `${u}b`),
      bridge("front"),
      bridge("back"),
      "tuntap add dev tnd-front mode tap",
      "tuntap add dev tnd-back mode tap",
      "link set eth0 master front",
      "link set tnd-front master front",
      "link set eth1 master back",
      "link set tnd-back master back",
      ...["eth0", "eth1", "tnd-front", "tnd-back", "front", "back"].map((d) => `link set ${d} up`),
    ]);
  }
  await ipBatch(ns.a, [
    `link add ha0 mtu 9000 type veth peer name ha0 netns ${ns.b} mtu 9000`,
    `addr add ${LAB_ADDRESSES.units.a.ha}/30 dev ha0`,
    "link set ha0 up",
  ]);
  await ipBatch(ns.b, [`addr add ${LAB_ADDRESSES.units.b.ha}/30 dev ha0`, "link set ha0 up"]);
  // The HA link is a point-to-point cable: permanent neighbour entries, so a unit that was
  // frozen for seconds is heard again at once instead of after ARP gave up on it and retries.
  const haMac = async (n: string) =>
    (JSON.parse(await nsExec(n, ["ip", "-j", "link", "show", "ha0"])) as { address: string }[])[0]!
      .address;
  const [macA, macB] = [await haMac(ns.a), await haMac(ns.b)];
  await ipBatch(ns.a, [
    `neigh replace ${LAB_ADDRESSES.units.b.ha} lladdr ${macB} dev ha0 nud permanent`,
  ]);
  await ipBatch(ns.b, [
    `neigh replace ${LAB_ADDRESSES.units.a.ha} lladdr ${macA} dev ha0 nud permanent`,
  ]);
  await ipBatch(ns.sw, [
    ...["cf", "af", "bf"].map((p) => `link set ${p} master brf up`),
    ...["ab", "bb", "sb"].map((p) => `link set ${p} master brb up`),
    "link set brf up",
    "link set brb up",
  ]);

  // Units open their TAPs with offload (virtio_net_hdr): partial checksums and GSO frames
  // arrive marked as such. Only without offload must the veths compute checksums in software,
  // or frames read from a TAP carry only the pseudo-header sum and look corrupt.
  if (!offload && hasCommand("ethtool")) {
    const ends: [string, string][] = [
      [ns.client, "eth0"],
      [ns.server, "eth0"],
      [ns.a, "eth0"],
      [ns.a, "eth1"],
      [ns.a, "ha0"],
      [ns.b, "eth0"],
      [ns.b, "eth1"],
      [ns.b, "ha0"],
      ...["cf", "af", "bf", "ab", "bb", "sb"].map((p): [string, string] => [ns.sw, p]),
    ];
    await Promise.all(ends.map(([n, dev]) => nsExec(n, ["ethtool", "-K", dev, "tx", "off"])));
  }
}

/** The servers' VLAN interface and its tagged twin (TAPs; see `buildTopology`). */
const VLAN_ACCESS = "vlan0";
const VLAN_TRUNK = "vlan0-trunk";

/**
 * Starts the servers' 802.1Q tagger (`vlan_tag.ts`) in `<prefix>-server`; resolves once it
 * holds both TAPs.
 */
async function startVlanTagger(prefix: string, vlan: number, timeoutMs: number): Promise<number> {
  const dir = labStateDir(prefix);
  const log = `${dir}/tagger.log`;
  const pid = await spawnInNs(
    labNamespaces(prefix).server,
    [
      ...labToolCommand("vlan-tag"),
      "--access",
      VLAN_ACCESS,
      "--trunk",
      VLAN_TRUNK,
      "--vlan",
      String(vlan),
    ],
    log,
    `${dir}/tagger.pid`,
    labCwd(prefix),
  );
  await waitFor(
    "vlan tagger",
    pid,
    log,
    timeoutMs,
    () => Deno.readTextFile(log).then((t) => t.includes(`vlan ${vlan}:`), () => false),
  );
  return pid;
}

async function waitFor(
  what: string,
  pid: number,
  logFile: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) {
      throw new Error(
        `${what} exited before it was ready; tail of ${logFile}:\n${await tail(logFile)}`,
      );
    }
    if (await probe()) return;
    if (performance.now() >= deadline) {
      throw new Error(
        `${what} not ready after ${timeoutMs} ms; tail of ${logFile}:\n${await tail(logFile)}`,
      );
    }
    await sleep(100);
  }
}

/** The addresses of family `-4`/`-6` in namespace `ns` (every device); [] when it has none. */
export async function nsAddresses(ns: string, fam: "-4" | "-6"): Promise<string[]> {
  const r = await nsRun(ns, ["ip", "-j", fam, "addr", "show"]);
  if (r.code !== 0) return [];
  try {
    const links = JSON.parse(r.stdout || "[]") as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? ""))
      .filter((a) => a !== "");
  } catch {
    return [];
  }
}

async function curlOk(ns: string, url: string): Promise<boolean> {
  // -g: the brackets of an IPv6 URL are literal, not a glob.
  const r = await nsRun(ns, ["curl", "-gsf", "-o", "/dev/null", "-m", "1", url]);
  return r.code === 0;
}

/**
 * Starts the lab servers in `<prefix>-server` (pid file in the lab's state directory); resolves
 * once every backend address, IPv4 and IPv6, answers HTTP.
 */
export async function startLabServers(prefix: string, timeoutMs: number): Promise<number> {
  const dir = labStateDir(prefix);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const ns = labNamespaces(prefix).server;
  const log = `${dir}/servers.log`;
  // IPv6 only where the namespace has it: the Linux pair's lab and an IPv4-only lab do not.
  const held = await nsAddresses(ns, "-6");
  const addresses: string[] = [
    ...LAB_ADDRESSES.backends,
    ...LAB_ADDRESSES.backends6.filter((a) => held.includes(a)),
  ];
  const pid = await spawnInNs(
    ns,
    [...labToolCommand("serve"), ...addresses.flatMap((a) => ["--address", a])],
    log,
    `${dir}/servers.pid`,
    labCwd(prefix),
  );
  await waitFor("lab servers", pid, log, timeoutMs, async () => {
    const oks = await Promise.all(
      addresses.map((b) => curlOk(ns, b.includes(":") ? `http://[${b}]/` : `http://${b}/`)),
    );
    return oks.every((x) => x);
  });
  return pid;
}

/** Starts `unit` with `role` using the lab's stored mode; resolves once `/healthz` answers. */
async function startUnit(
  prefix: string,
  unit: Unit,
  role: UnitRole,
  st: LabState,
  timeoutMs: number,
): Promise<number> {
  const dir = labStateDir(prefix);
  const ns = labNamespaces(prefix)[unit];
  const cfg = `${dir}/${unit}.yaml`;
  const log = `${dir}/${unit}.log`;
  const args = [
    ...(st.unitCommand ?? tandemCommand()),
    "run",
    "--config",
    cfg,
    "--role",
    role,
    "--mode",
    st.mode,
    ...st.extraArgs,
  ];
  await Deno.writeTextFile(log, `--- ${new Date().toISOString()} start ${args.join(" ")}\n`, {
    append: true,
  });
  const pid = await spawnInNs(ns, args, log, `${dir}/${unit}.pid`, labCwd(prefix));
  await waitFor(
    `unit ${unit}`,
    pid,
    log,
    timeoutMs,
    () => curlOk(ns, `http://${API_ADDR}/healthz`),
  );
  return pid;
}

/**
 * Builds the lab and starts servers and units; returns once every started piece is ready.
 * An existing lab with the same prefix is torn down first. On failure the lab is left up for
 * inspection (callers run `labDown`, as `withLab` does).
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  mustPrefix(prefix);
  const mode = opts.mode ?? DEFAULT_MODE;
  if (!LAB_MODES.includes(mode)) throw new Error(`bad lab mode "${mode}"`);
  if (opts.holdNewFlows !== undefined && mode !== "active-forward") {
    // The other two modes never emit before both units have the packet (DESIGN.md table).
    throw new Error(`holdNewFlows only applies to mode active-forward, not ${mode}`);
  }
  if (
    opts.vlan !== undefined && !(Number.isInteger(opts.vlan) && opts.vlan >= 1 && opts.vlan <= 4094)
  ) {
    throw new Error(`bad lab vlan ${opts.vlan}: must be 1..4094`);
  }
  if (opts.vlan !== undefined && opts.offload === true) {
    throw new Error("a lab with a vlan runs without offload (trunks carry plain frames)");
  }
  const offload = opts.vlan === undefined && opts.offload !== false;
  const units = opts.units ?? ["a", "b"];
  const ipv6 = opts.ipv6 !== false && await kernelHasIpv6();
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  await labDown(prefix);

  const dir = labStateDir(prefix);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = `${dir}/peer.key`;
  const tokenFile = `${dir}/api.token`;
  await Deno.writeTextFile(keyFile, hex(crypto.getRandomValues(new Uint8Array(32))) + "\n", {
    mode: 0o600,
  });
  await Deno.writeTextFile(tokenFile, hex(crypto.getRandomValues(new Uint8Array(16))) + "\n", {
    mode: 0o600,
  });
  for (const u of ["a", "b"] as const) {
    await Deno.writeTextFile(
      `${dir}/${u}.yaml`,
      labConfigText({
        unit: u,
        keyFile,
        tokenFile,
        holdNewFlows: opts.holdNewFlows,
        pickup: opts.pickup,
        // State that survives a unit's restart (maintenance) lives with the lab and goes with it.
        stateDir: `${dir}/${u}-state`,
        extra: opts.unitConfig?.[u],
        persistence: opts.persistence,
        offload,
        vlan: opts.vlan,
        ipv6,
        // The lab shares its cores with the clients and servers it measures: real-time units
        // starve them (stalls of seconds under load), so the lab runs its units at nice.
        scheduling: opts.scheduling ?? "nice",
      }),
    );
  }
  const st: LabState = {
    mode,
    holdNewFlows: opts.holdNewFlows,
    extraArgs: opts.extraArgs ?? [],
    units,
    unitCommand: opts.unitCommand,
  };
  await Deno.writeTextFile(`${dir}/lab.json`, JSON.stringify(st) + "\n");

  await buildTopology(prefix, offload, opts.vlan, ipv6);
  const info: LabInfo = {
    prefix,
    mode,
    stateDir: dir,
    ns: labNamespaces(prefix),
    units,
    pids: {},
    addresses: LAB_ADDRESSES,
    ipv6,
  };
  if (opts.vlan !== undefined) {
    info.pids.tagger = await startVlanTagger(prefix, opts.vlan, timeoutMs);
  }
  if (!opts.noServers) info.pids.servers = await startLabServers(prefix, timeoutMs);
  // a first, so it is up as the active unit before b joins as standby.
  for (const u of (["a", "b"] as const).filter((x) => units.includes(x))) {
    info.pids[u] = await startUnit(prefix, u, u === "a" ? "active" : "standby", st, timeoutMs);
  }
  return info;
}

/**
 * Stops every process of the lab (pid files first, then anything left in its namespaces, by pid),
 * deletes its namespaces, which removes every veth, bridge and TAP, and removes its state
 * directory (and `STATE_ROOT` when no other lab is left in it). Idempotent.
 */
export async function labDown(prefix: string = DEFAULT_PREFIX): Promise<void> {
  mustPrefix(prefix);
  const dir = labStateDir(prefix);
  const names = ["a", "b", "servers", "tagger"] as const;
  await Promise.all(names.map(async (n) => {
    const pid = await readPid(prefix, n);
    if (pid !== undefined) await stopPid(pid);
    await Deno.remove(`${dir}/${n}.pid`).catch(() => {});
  }));
  const ns = labNamespaces(prefix);
  await Promise.all([ns.client, ns.a, ns.b, ns.server, ns.sw].map(async (n) => {
    if (!await nsExists(n)) return;
    // A unit killed before its exit left its local API record (`api/local_api.ts`) behind.
    await removeLocalApiRecords(n);
    // Anything else still in our namespace was started by this lab (traffic, a crashed unit).
    const r = await run(["ip", "netns", "pids", n]);
    const pids = r.stdout.split(/\s+/).map(Number).filter((p) => Number.isInteger(p) && p > 1);
    await Promise.all(pids.map((p) => stopPid(p, 1000)));
    await run(["ip", "netns", "del", n]);
  }));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  // Only when empty: another lab may be up beside this one.
  await Deno.remove(STATE_ROOT).catch(() => {});
}

/** Removes the local API records of units that ran in namespace `n` (keyed by its inode). */
async function removeLocalApiRecords(n: string): Promise<void> {
  const ino = await Deno.stat(`/run/netns/${n}`).then((s) => s.ino, () => null);
  if (ino === null) return;
  for (const e of await Array.fromAsync(Deno.readDir(LOCAL_API_DIR)).catch(() => [])) {
    if (e.name.startsWith(`api-${ino}-`)) {
      await Deno.remove(`${LOCAL_API_DIR}/${e.name}`).catch(() => {});
    }
  }
  // Only when empty: units outside the lab may have records there.
  await Deno.remove(LOCAL_API_DIR).catch(() => {});
}

/** nftables that drop every packet in, out of and through an appliance (as crash.sh). */
const CRASH_RULES = `table netdev tandem_crash {
  chain e0 { type filter hook ingress device eth0 priority -500; policy drop; }
  chain e1 { type filter hook ingress device eth1 priority -500; policy drop; }
  chain h0 { type filter hook ingress device ha0 priority -500; policy drop; }
}
table inet tandem_crashout {
  chain cout { type filter hook output priority -500; policy drop; }
  chain cfwd { type filter hook forward priority -500; policy drop; }
}
`;

/**
 * Power loss of `unit`: every frame arriving on eth0, eth1 and ha0 is dropped at ingress (before
 * the bridges, so the TAPs see nothing), local output and forwarding are dropped, and the unit's
 * process is frozen with SIGSTOP.
 */
export async function crash(prefix: string, unit: Unit): Promise<void> {
  mustPrefix(prefix);
  const ns = labNamespaces(prefix)[unit];
  await nsExec(ns, ["nft", "-f", "-"], CRASH_RULES);
  const pid = await readPid(prefix, unit);
  if (pid === undefined || !killPid(pid, "SIGSTOP")) return;
  // Signal delivery is asynchronous: return only once the process is really stopped.
  const deadline = performance.now() + 2000;
  while (pidAlive(pid) && procState(pid) !== "T" && performance.now() < deadline) await sleep(2);
}

async function removeCrashRules(ns: string): Promise<void> {
  await nsRun(ns, ["nft", "delete", "table", "netdev", "tandem_crash"]);
  await nsRun(ns, ["nft", "delete", "table", "inet", "tandem_crashout"]);
}

/** Undoes `crash`: deletes the drop tables and resumes the process with SIGCONT. */
export async function revive(prefix: string, unit: Unit): Promise<void> {
  mustPrefix(prefix);
  await removeCrashRules(labNamespaces(prefix)[unit]);
  const pid = await readPid(prefix, unit);
  if (pid !== undefined) killPid(pid, "SIGCONT");
}

/** SIGKILLs `unit` (a hard crash with no goodbye) and waits for it to be gone. */
export async function kill(prefix: string, unit: Unit): Promise<void> {
  mustPrefix(prefix);
  const pid = await readPid(prefix, unit);
  if (pid === undefined) return;
  killPid(pid, "SIGKILL");
  await waitExit(pid, 5000);
  await Deno.remove(`${labStateDir(prefix)}/${unit}.pid`).catch(() => {});
}

/**
 * Boots `unit` again as `role` (a reboot after `kill` or `crash`): stops any old process,
 * removes crash rules, starts it with the lab's mode and args, waits for `/healthz`.
 * Returns the new pid.
 */
export async function restart(
  prefix: string,
  unit: Unit,
  role: UnitRole,
  readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS,
): Promise<number> {
  mustPrefix(prefix);
  const st = await readState(prefix);
  const old = await readPid(prefix, unit);
  if (old !== undefined) await stopPid(old);
  await removeCrashRules(labNamespaces(prefix)[unit]);
  return await startUnit(prefix, unit, role, st, readyTimeoutMs);
}
