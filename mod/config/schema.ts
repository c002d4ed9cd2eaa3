/**
 * The zod schema of the YAML config (DESIGN.md "Config file"). It checks the shape and each
 * value on its own and turns text into numbers (addresses, ports, durations); checks that need
 * several fields at once live in `load.ts`. Unknown keys are errors so a typo is never silently
 * ignored.
 * @module
 */

import { z } from "zod";
import { type Mode, MODES, type Role } from "../ha/types.ts";
import {
  type Ip6,
  ipv4ToString,
  ipv6ToString,
  parseIpv4,
  parseIpv6,
  parseMac,
} from "../wire/addr.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../log/log.ts";

/** Every topology mode (DESIGN.md "Roles and the three topologies"). */
export { MODES } from "../ha/types.ts";
/** Boot roles. */
export const ROLES: readonly Role[] = ["active", "standby"];
/** Backend schedulers. */
export const SCHEDULERS = ["round-robin", "maglev"] as const;
/** One of {@link SCHEDULERS}. */
export type Scheduler = typeof SCHEDULERS[number];
/** Service protocols. */
export const PROTOCOLS = ["tcp", "udp"] as const;
/** One of {@link PROTOCOLS}. */
export type Protocol = typeof PROTOCOLS[number];

/** Interface names in the config (they also name things in logs and status). */
export const INTERFACE_NAME = /^[a-z][a-z0-9_-]{0,14}$/;
/** Linux IFNAMSIZ is 16 including the NUL, so a TAP name has at most 15 characters. */
const TAP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/**
 * An address and port; `text` is the canonical `a.b.c.d:port` or `[v6]:port` (RFC 5952 §6).
 * For IPv6, `address6` holds the four words and `address` its low word (as the engine's
 * `ip`), so code that only compares IPv4 numbers must check `address6` first.
 */
export interface Endpoint {
  address: number;
  address6?: Ip6;
  port: number;
  text: string;
}

/** An address with its prefix length; IPv6 as in {@link Endpoint} (`address` = low word). */
export interface Cidr {
  address: number;
  address6?: Ip6;
  prefix: number;
}

/** An IPv4 number or IPv6 words, as endpoints and CIDRs carry them. */
export interface Addr {
  address: number;
  address6?: Ip6;
}

/** Same family and same address (IPv6 compares all four words, not just the low one). */
export function sameAddr(a: Addr, b: Addr): boolean {
  if (a.address6 === undefined || b.address6 === undefined) {
    return a.address6 === b.address6 && a.address === b.address;
  }
  for (let i = 0; i < 4; i++) if (a.address6[i] !== b.address6[i]) return false;
  return true;
}

/** The address as text: dotted quad, or RFC 5952 IPv6 (without brackets). */
export function addrText(a: Addr): string {
  return a.address6 === undefined ? ipv4ToString(a.address) : ipv6ToString(a.address6);
}

/** `ipv4` or `ipv6`: the family of an address. */
export function family(a: Addr): "ipv4" | "ipv6" {
  return a.address6 === undefined ? "ipv4" : "ipv6";
}

/** Parses a bare IPv4 or IPv6 address (no brackets) into an {@link Addr}. */
export function parseAddr(text: string): Addr | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { address: v4 };
  if (!text.includes(":")) return undefined;
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { address: v6[3]!, address6: v6 };
}

/**
 * Parses `a.b.c.d:port` or `[v6]:port` (RFC 3986 §3.2.2 brackets; port 1..65535, or 0..65535
 * with `allowPortZero`).
 */
export function parseEndpoint(text: string, allowPortZero = false): Endpoint | undefined {
  const m = /^(?:([0-9.]+)|\[([0-9A-Fa-f:.]+)\]):(\d{1,5})$/.exec(text);
  if (m === null || m[3] === undefined) return undefined;
  const port = Number(m[3]);
  if (port > 65535 || (port === 0 && !allowPortZero)) return undefined;
  if (m[1] !== undefined) {
    const address = parseIpv4(m[1]);
    if (address === undefined) return undefined;
    return { address, port, text: `${ipv4ToString(address)}:${port}` };
  }
  const address6 = m[2] === undefined ? undefined : parseIpv6(m[2]);
  if (address6 === undefined) return undefined;
  return { address: address6[3]!, address6, port, text: `[${ipv6ToString(address6)}]:${port}` };
}

/** Parses `v6/len` with len 1..128 (RFC 4291 §2.3 prefix notation). */
export function parseCidr6(text: string): Cidr | undefined {
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined || !m[1].includes(":")) {
    return undefined;
  }
  const address6 = parseIpv6(m[1]);
  const prefix = Number(m[2]);
  if (address6 === undefined || prefix < 1 || prefix > 128) return undefined;
  return { address: address6[3]!, address6, prefix };
}

/** Parses `a.b.c.d/len` with len 1..32 (a /0 "subnet" would claim the whole Internet). */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  const address = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (address === undefined || prefix < 1 || prefix > 32) return undefined;
  return { address, prefix };
}

const DURATION_UNITS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
/** `busy_poll`'s default, ms (docs/performance.md has the measurement behind it). */
export const DEFAULT_BUSY_POLL_MS = 0;

/** Parses `200us`, `250ms`, `1.5s`, `2m`, `2h` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)$/.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  const unit = DURATION_UNITS[m[2]];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/** Quotes a user value for an error message, bounded so a huge value cannot flood the line. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (value === null || value === undefined) text = String(value);
  else if (Array.isArray(value)) text = "a list";
  else if (typeof value === "object") text = "a mapping";
  else text = String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Issue for a value that failed a conversion; `input` lets the error name the bad text. */
function fail(ctx: z.RefinementCtx<string>, input: string, message: string): typeof z.NEVER {
  ctx.addIssue({ code: "custom", message, input });
  return z.NEVER;
}

/** A string with a message that says what kind of text was expected. */
function text(what: string): z.ZodString {
  return z.string({
    error: (iss) => iss.input === undefined ? undefined : `${show(iss.input)} is not ${what}`,
  });
}

function pattern(re: RegExp, what: string): z.ZodString {
  return text(what).regex(re, {
    error: (iss) => `${show(iss.input)} is not ${what} (must match ${re.source})`,
  });
}

const endpoint = (allowPortZero = false) =>
  text("an IPv4 address:port").transform((s, ctx) => {
    const e = parseEndpoint(s, allowPortZero);
    if (e === undefined) return fail(ctx, s, `${show(s)} is not an IPv4 address:port`);
    if (e.address6 !== undefined) {
      return fail(ctx, s, `${show(s)} is IPv6; only IPv4 is supported here`);
    }
    return e;
  });

/** Endpoints of services: either family. */
const endpoint46 = text("an IPv4 or [IPv6]:port address").transform((s, ctx) =>
  parseEndpoint(s) ?? fail(ctx, s, `${show(s)} is not an IPv4 or [IPv6]:port address`)
);

/** What a backend string that is no endpoint is told (the mapping form says the same). */
const BAD_BACKEND = "is not an IPv4 or [IPv6]:port address";

const cidr = text("an IPv4 address/prefix").transform((s, ctx) =>
  parseCidr(s) ?? fail(ctx, s, `${show(s)} is not an IPv4 address/prefix (e.g. 198.51.100.3/24)`)
);

const ipv4 = text("an IPv4 address").transform((s, ctx) => {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return v4;
  return fail(
    ctx,
    s,
    parseIpv6(s) === undefined
      ? `${show(s)} is not an IPv4 address`
      : `${show(s)} is IPv6; only IPv4 is supported here`,
  );
});

/** A bare address of either family (a service's `source_nat`). */
const ip46 = text("an IPv4 or IPv6 address").transform((s, ctx) =>
  parseAddr(s) ?? fail(ctx, s, `${show(s)} is not an IPv4 or IPv6 address`)
);

const cidr6 = text("an IPv6 address/prefix").transform((s, ctx) =>
  parseCidr6(s) ??
    fail(ctx, s, `${show(s)} is not an IPv6 address/prefix (e.g. 2001:db8:100::3/64)`)
);

/** A floating address: IPv4 or IPv6 CIDR. */
const cidr46 = text("an IPv4 or IPv6 address/prefix").transform((s, ctx) =>
  parseCidr(s) ?? parseCidr6(s) ??
    fail(
      ctx,
      s,
      `${
        show(s)
      } is not an IPv4 or IPv6 address/prefix (e.g. 198.51.100.10/24, 2001:db8:100::10/64)`,
    )
);

const mac = text("a MAC address").transform((s, ctx) => {
  const bytes = parseMac(s);
  if (bytes === undefined) {
    return fail(ctx, s, `${show(s)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  // The I/G bit (IEEE 802) marks group addresses; a host interface needs a unicast one.
  if ((bytes[0]! & 1) !== 0) return fail(ctx, s, `${show(s)} is a multicast MAC address`);
  if (bytes.every((b) => b === 0)) return fail(ctx, s, `${show(s)} is the all-zero MAC address`);
  return bytes;
});

/** A duration in `[minMs, maxMs]`, resolved to milliseconds. */
function duration(minMs: number, maxMs: number) {
  const range = `${fmtMs(minMs)}..${fmtMs(maxMs)}`;
  return text("a duration (e.g. 10ms, 1.5s, 2m, 2h)").transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      return fail(ctx, s, `${show(s)} is not a duration (e.g. 10ms, 1.5s, 2m, 2h)`);
    }
    if (ms < minMs || ms > maxMs) return fail(ctx, s, `${show(s)} is out of range ${range}`);
    return ms;
  });
}

function fmtMs(ms: number): string {
  if (ms === 0) return "0ms";
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000 * 24}h`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function int(min: number, max: number) {
  return z.number({
    error: (iss) => iss.input === undefined ? undefined : `${show(iss.input)} is not an integer`,
  }).int({ error: (iss) => `${show(iss.input)} is not an integer` })
    .min(min, { error: (iss) => `${show(iss.input)} is out of range ${min}..${max}` })
    .max(max, { error: (iss) => `${show(iss.input)} is out of range ${min}..${max}` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? undefined
        : `must be one of ${values.join(", ")} (got ${show(iss.input)})`,
  });
}

const bool = z.boolean({
  error: (iss) => iss.input === undefined ? undefined : `${show(iss.input)} is not true or false`,
});

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Default timeouts in ms, in the spirit of nf_conntrack (see DESIGN.md "Connection tracking"). */
export const DEFAULT_TIMEOUTS_MS = {
  tcpSyn: 30 * SECOND,
  tcpEstablished: 2 * HOUR,
  tcpFin: 2 * MINUTE,
  tcpTimeWait: 2 * MINUTE,
  tcpClose: 10 * SECOND,
  udp: 30 * SECOND,
  udpStream: 3 * MINUTE,
  icmp: 30 * SECOND,
} as const;

/** The API address used when neither the file nor `--api` gives one. */
export const DEFAULT_API = "127.0.0.1:9090";

const timeout = duration(SECOND, 30 * DAY);

const interfaceSchema = z.strictObject({
  tap: pattern(TAP_NAME, "a TAP device name"),
  address: cidr,
  /** IPv6 self address (NDP, ping6), beside the IPv4 one: dual stack. */
  address6: cidr6.optional(),
  mac: mac.optional(),
  /** Checksum and segmentation offload on the TAP (virtio_net_hdr, GSO frames). */
  offload: z.boolean().default(true),
  /**
   * 802.1Q VLAN id: the interface is that VLAN on a trunk TAP (several interfaces may then
   * name the same `tap`, at most one of them untagged). 0 and 4095 are reserved (802.1Q §9.6).
   */
  vlan: int(1, 4094).optional(),
  /**
   * Largest IP packet sent out of the interface (RFC 791 §3.2: every link carries 68).
   * Bigger tracked packets with DF get ICMP fragmentation needed (RFC 1191); without DF they
   * are dropped, not fragmented.
   */
  mtu: int(68, 65535).default(1500),
});

const floatingSchema = z.strictObject({
  /** IPv4, or IPv6 within its interface's `address6` subnet. */
  address: cidr46,
  interface: text("an interface name"),
});

/** Operator states of a backend (HAProxy's drain and maint, IPVS weight 0). */
export const BACKEND_ADMIN = ["enabled", "draining", "maintenance"] as const;
/** One of {@link BACKEND_ADMIN}. */
export type BackendAdmin = typeof BACKEND_ADMIN[number];
/** Health-check kinds. */
export const HEALTH_KINDS = ["tcp", "http", "none"] as const;
/** One of {@link HEALTH_KINDS}. */
export type HealthKind = typeof HEALTH_KINDS[number];
/** Largest backend weight (IPVS allows more, but 256 levels are plenty for a few backends). */
export const MAX_WEIGHT = 256;

const backendObject = z.strictObject({
  address: endpoint46,
  weight: int(0, MAX_WEIGHT).default(1),
  admin: oneOf(BACKEND_ADMIN).default("enabled"),
});

/**
 * `a.b.c.d:port`, or `{ address, weight, admin }`. Parsed by hand rather than as a union, so
 * that a bad field of the mapping form is named (a union only says neither form matched).
 */
const backendSchema = z.unknown().transform((v, ctx) => {
  if (typeof v === "string") {
    const e = parseEndpoint(v);
    if (e === undefined) {
      ctx.addIssue({ code: "custom", message: `${show(v)} ${BAD_BACKEND}`, input: v });
      return z.NEVER;
    }
    return { ...e, weight: 1, admin: "enabled" as BackendAdmin };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    ctx.addIssue({
      code: "custom",
      message: `${show(v)} is not a backend (address:port or { address, weight, admin })`,
      input: v,
    });
    return z.NEVER;
  }
  const r = backendObject.safeParse(v);
  if (!r.success) {
    for (const iss of r.error.issues) {
      ctx.addIssue({ code: "custom", message: iss.message, path: iss.path, input: v });
    }
    return z.NEVER;
  }
  return { ...r.data.address, weight: r.data.weight, admin: r.data.admin };
});

/**
 * Backend health checks, with the defaults keepalived and HAProxy users expect: every 2 s, a
 * 1 s timeout, down after 3 failures in a row, up again after 2 successes.
 */
const healthSchema = z.strictObject({
  kind: oneOf(HEALTH_KINDS).default("tcp"),
  interval: duration(100, 10 * MINUTE).default(2 * SECOND),
  timeout: duration(10, MINUTE).default(SECOND),
  rise: int(1, 100).default(2),
  fall: int(1, 100).default(3),
  /** Another port to check than the backend's (0: the backend's own). */
  port: int(0, 65535).default(0),
  /** `http`: the path to GET and the status to expect. */
  path: pattern(/^\/[\x21-\x7e]{0,200}$/, "an HTTP path (/...)").default("/"),
  expect: int(100, 599).default(200),
});

const serviceSchema = z.strictObject({
  name: pattern(SERVICE_NAME, "a service name"),
  /** `a.b.c.d:port` or `[v6]:port`; backends and source_nat must be the same family. */
  listen: endpoint46,
  protocol: oneOf(PROTOCOLS),
  backends: z.array(backendSchema).min(1).max(256),
  health: healthSchema.optional(),
  /**
   * What happens to a flow whose backend goes down or leaves the config: `keep` lets it go on
   * (it may still work, or end by itself); `reset` answers its next packet with RSTs to both
   * ends (IPVS `expire_nodest_conn`).
   */
  on_backend_down: oneOf(["keep", "reset"] as const).default("keep"),
  /** Source-IP affinity: a client's new flows go to its last backend for this long. */
  persistence: duration(SECOND, DAY).optional(),
  scheduler: oneOf(SCHEDULERS).default("round-robin"),
  source_nat: ip46.optional(),
  randomize_isn: bool.default(false),
  /**
   * Mid-stream pickup (conntrack's "loose" rule): a TCP segment of an unknown flow re-creates
   * it instead of being dropped. Only with maglev, no source NAT and no sequence offset.
   */
  pickup: bool.default(false),
  /**
   * SYN proxy with cookies (RFC 4987 §3.6; claims 23, 24): `auto` (the default for tcp) sends
   * cookies only under a SYN flood, `on` always, `off` never.
   */
  syn_proxy: oneOf(["off", "on", "auto"] as const).optional(),
});

const peerSchema = z.strictObject({
  listen: endpoint(),
  address: endpoint(),
  key_file: text("a file path").min(1),
  // 4 ms × 6: a dead peer is detected in 24 ms (DESIGN.md: ≤ 25 ms); the chance that 6
  // heartbeats in a row are lost to 5% link loss is 1.6e-8.
  heartbeat_interval: duration(1, 10 * SECOND).default(4),
  dead_after: int(2, 100).default(6),
  hold_new_flows: duration(0, SECOND).default(0),
  /**
   * What a mirror record the peer only keeps state from carries (active-forward, or a receiver
   * forwarding for a less fit peer): `headers` cuts the frame after its TCP or UDP header, since
   * the peer never emits it; `full` sends it whole. Frames the peer emits are always whole.
   * Live: a reload changes what later records carry.
   */
  mirror_payload: oneOf(["headers", "full"] as const).default("headers"),
  garp_repeat: int(1, 20).default(3),
  probe: bool.default(true),
  /**
   * The pair's identity (as VRRP's virtual router id): the virtual MACs derive from it. Default:
   * derived from the two HA endpoints, the same on both units.
   */
  pair_id: int(1, 65535).optional(),
});

const apiSchema = z.strictObject({
  // Port 0 lets a test ask the kernel for a free port.
  listen: endpoint(true).default(parseEndpoint(DEFAULT_API)!),
  token_file: text("a file path").min(1).optional(),
});

const timeoutsSchema = z.strictObject({
  tcp_syn: timeout.default(DEFAULT_TIMEOUTS_MS.tcpSyn),
  tcp_established: timeout.default(DEFAULT_TIMEOUTS_MS.tcpEstablished),
  tcp_fin: timeout.default(DEFAULT_TIMEOUTS_MS.tcpFin),
  tcp_time_wait: timeout.default(DEFAULT_TIMEOUTS_MS.tcpTimeWait),
  tcp_close: timeout.default(DEFAULT_TIMEOUTS_MS.tcpClose),
  udp: timeout.default(DEFAULT_TIMEOUTS_MS.udp),
  udp_stream: timeout.default(DEFAULT_TIMEOUTS_MS.udpStream),
  icmp: timeout.default(DEFAULT_TIMEOUTS_MS.icmp),
});

/** Fail-safe check defaults (keepalived `track_script`-like: interval 1 s, fall 3, rise 2). */
export const DEFAULT_TRACK = { intervalMs: SECOND, fall: 3, rise: 2 } as const;
/** Where a unit keeps state that must survive a restart (unit maintenance). */
export const DEFAULT_STATE_DIR = "/var/lib/tandem";

/** `track:` what the unit watches besides its peer (fail-safes, docs/failsafe.md). */
const trackSchema = z.strictObject({
  /** Carrier of a NIC; `device` defaults to the interface's TAP. */
  links: z.array(z.strictObject({
    interface: text("an interface name"),
    device: pattern(TAP_NAME, "a network device name").optional(),
  })).max(16).default([]),
  /** A next hop that must answer ARP on its interface (IPv4 only). */
  gateways: z.array(z.strictObject({ address: ipv4, interface: text("an interface name") }))
    .max(16).default([]),
  interval: duration(100, MINUTE).default(DEFAULT_TRACK.intervalMs),
  fall: int(1, 100).default(DEFAULT_TRACK.fall),
  rise: int(1, 100).default(DEFAULT_TRACK.rise),
});

/** The whole file. Output: checked values with numbers; cross-field checks follow in `load.ts`. */
export const configSchema = z.strictObject({
  node: z.strictObject({ name: pattern(NODE_NAME, "a node name") }),
  role: oneOf(ROLES as readonly [Role, ...Role[]]).optional(),
  mode: oneOf(MODES as readonly [Mode, ...Mode[]]).optional(),
  interfaces: z.record(
    pattern(INTERFACE_NAME, "an interface name"),
    interfaceSchema,
  ),
  floating: z.array(floatingSchema).min(1).max(64),
  services: z.array(serviceSchema).min(1).max(1024),
  /**
   * Flows of a service that a reload removed: `keep` lets them run until they end (their NAT
   * lives in the flow, not in the service); `reset` sends RSTs to both ends at their next packet.
   */
  on_service_removed: oneOf(["keep", "reset"] as const).default("keep"),
  peer: peerSchema.optional(),
  api: apiSchema.default({ listen: parseEndpoint(DEFAULT_API)!, token_file: undefined }),
  flows: z.strictObject({ capacity: int(1024, 16_777_216).default(1_048_576) })
    .default({ capacity: 1_048_576 }),
  timeouts: timeoutsSchema.default({
    tcp_syn: DEFAULT_TIMEOUTS_MS.tcpSyn,
    tcp_established: DEFAULT_TIMEOUTS_MS.tcpEstablished,
    tcp_fin: DEFAULT_TIMEOUTS_MS.tcpFin,
    tcp_time_wait: DEFAULT_TIMEOUTS_MS.tcpTimeWait,
    tcp_close: DEFAULT_TIMEOUTS_MS.tcpClose,
    udp: DEFAULT_TIMEOUTS_MS.udp,
    udp_stream: DEFAULT_TIMEOUTS_MS.udpStream,
    icmp: DEFAULT_TIMEOUTS_MS.icmp,
  }),
  log: z.strictObject({
    level: oneOf(LOG_LEVELS).default("info"),
    format: oneOf(LOG_FORMATS).default("text"),
  }).default({ level: "info", format: "text" }),
  /**
   * CPU priority of the unit, so heartbeats never wait behind other load:
   * `realtime` (SCHED_RR at a low priority, like keepalived's `vrrp_rt_priority`
   * and conntrackd's `Scheduler RR`: an appliance's default), `nice` (-10; shares
   * a host with other work), `normal`. Measured in the lab: with every core busy
   * and iperf3 saturating the pair, `nice` units saw 27-72 ms gaps in heartbeats
   * and failed over falsely; `realtime` units did not (docs/pair.md).
   */
  scheduling: oneOf(["realtime", "nice", "normal"] as const).default("realtime"),
  /**
   * How long an idle data-plane loop keeps polling before it sleeps (Linux's
   * `net.core.busy_poll`): a frame that comes within it skips a thread wake-up. It costs up to
   * this much CPU after every burst of traffic; 0 turns it off. See docs/performance.md.
   */
  busy_poll: duration(0, 10).default(DEFAULT_BUSY_POLL_MS),
  track: trackSchema.optional(),
  /** The configured-active unit takes its role back once synced and healthy (default off). */
  preempt: bool.default(false),
  preempt_delay: duration(0, HOUR).default(0),
  /** State that survives a restart (unit maintenance). */
  state_dir: text("a directory path").min(1).default(DEFAULT_STATE_DIR),
  /** Run as `notify STATE REASON` on every state change of the unit. */
  notify: text("a file path").min(1).optional(),
});

/** What {@link configSchema} produces. */
export type ParsedConfig = z.output<typeof configSchema>;
