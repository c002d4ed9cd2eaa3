/**
 * The lab's config for one unit (DESIGN.md "The lab"): taps `tnd-front`/`tnd-back` inside the
 * unit's own namespace, the lab's documentation addresses (RFC 5737), VIP 198.51.100.10 and
 * gateway 203.0.113.1 floating, and the three lab services; by default also dual stack: the
 * IPv6 twins of all of these from 2001:db8::/32 (RFC 3849), VIP 2001:db8:100::10 and gateway
 * 2001:db8:113::1 floating, and the services `echo6`, `udp-echo6` and `http6`.
 * @module
 */

import type { Mode } from "../ha/types.ts";

/** Options of {@link labConfigText}. */
export interface LabConfigOptions {
  unit: "a" | "b";
  /** Absolute path of the peer key file. */
  keyFile: string;
  /** Absolute path of the API token file. */
  tokenFile: string;
  /** `peer.hold_new_flows` in ms (active-forward only). */
  holdNewFlows?: number;
  /** TAP offload (default true in the config); false renders `offload: false`. */
  offload?: boolean;
  /** CPU scheduling of the unit; without it, the config's default (realtime). */
  scheduling?: "realtime" | "nice" | "normal";
  /** Written as `mode:`; without it the mode must come from `--mode`. */
  mode?: Mode;
  /** The echo service schedules by maglev and allows mid-stream pickup (`pickup: true`). */
  pickup?: boolean;
  /** `state_dir` (absolute): the unit's own directory under the lab's state directory. */
  stateDir?: string;
  /** Extra top-level YAML lines (fail-safes: `track`, `preempt`, `notify`). */
  extra?: string[];
  /** Backend health checks (DESIGN.md: tcp, interval 1 s, fall 3, rise 2); default on. */
  health?: boolean;
  /** Source-IP persistence of the echo service (e.g. `60s`). */
  persistence?: string;
  /**
   * The back segment as this 802.1Q VLAN on the back TAP (a trunk, docs/vlan.md); trunks need
   * plain frames, so it implies `offload: false` on both interfaces.
   */
  vlan?: number;
  /**
   * Dual stack (default true): IPv6 self addresses, the two IPv6 floating addresses and the
   * IPv6 twins of the services, after the IPv4 ones (their indices do not move). false: IPv4
   * only, as the lab was before.
   */
  ipv6?: boolean;
}

/** The lab's checks: the UDP echo's hosts are checked on their TCP echo port. */
const health = (port: number): string =>
  `    health: { kind: tcp, interval: 1s, timeout: 500ms, rise: 2, fall: 3, port: ${port} }`;

const UNITS = {
  a: {
    front: "198.51.100.3",
    back: "203.0.113.3",
    front6: "2001:db8:100::3",
    back6: "2001:db8:113::3",
    ha: "192.0.2.1",
    role: "active",
  },
  b: {
    front: "198.51.100.4",
    back: "203.0.113.4",
    front6: "2001:db8:100::4",
    back6: "2001:db8:113::4",
    ha: "192.0.2.2",
    role: "standby",
  },
} as const;

const VIP = "198.51.100.10";
const GATEWAY = "203.0.113.1";
const BACKENDS = ["203.0.113.20", "203.0.113.21"];
const VIP6 = "2001:db8:100::10";
const GATEWAY6 = "2001:db8:113::1";
const BACKENDS6 = ["2001:db8:113::20", "2001:db8:113::21"];
const PEER_PORT = 4790;

/** Renders the YAML of lab unit `a` (boots active) or `b` (boots standby). */
export function labConfigText(opts: LabConfigOptions): string {
  const me = UNITS[opts.unit];
  const peer = UNITS[opts.unit === "a" ? "b" : "a"];
  const off = opts.offload === false || opts.vlan !== undefined ? ", offload: false" : "";
  const vlan = opts.vlan === undefined ? "" : `, vlan: ${opts.vlan}`;
  const ipv6 = opts.ipv6 !== false;
  // `[v6]:port` starts with `[`, a YAML flow sequence: such endpoints are quoted.
  const at = (addr: string, port: number): string =>
    addr.includes(":") ? `"[${addr}]:${port}"` : `${addr}:${port}`;
  const backends = (port: number, v6: boolean): string =>
    `[${(v6 ? BACKENDS6 : BACKENDS).map((b) => at(b, port)).join(", ")}]`;
  const service = (
    name: string,
    port: number,
    protocol: string,
    pickup = false,
    persistence?: string,
    v6 = false,
  ): string[] => [
    `  - name: ${name}`,
    `    listen: ${at(v6 ? VIP6 : VIP, port)}`,
    `    protocol: ${protocol}`,
    `    backends: ${backends(port, v6)}`,
    ...(pickup ? [`    scheduler: maglev`, `    pickup: true`] : [`    scheduler: round-robin`]),
    ...(opts.health === false ? [] : [health(protocol === "udp" ? 7000 : port)]),
    ...(persistence ? [`    persistence: ${persistence}`] : []),
  ];
  const v6self = (addr: string): string => ipv6 ? `, address6: ${addr}/64` : "";
  const lines = [
    `# tandem lab, unit ${opts.unit}`,
    `node: { name: ${opts.unit} }`,
    `role: ${me.role}`,
    ...(opts.mode === undefined ? [] : [`mode: ${opts.mode}`]),
    `interfaces:`,
    `  front: { tap: tnd-front, address: ${me.front}/24${v6self(me.front6)}${off} }`,
    `  back: { tap: tnd-back, address: ${me.back}/24${v6self(me.back6)}${vlan}${off} }`,
    `floating:`,
    `  - { address: ${VIP}/24, interface: front }`,
    `  - { address: ${GATEWAY}/24, interface: back }`,
    ...(ipv6
      ? [
        `  - { address: ${VIP6}/64, interface: front }`,
        `  - { address: ${GATEWAY6}/64, interface: back }`,
      ]
      : []),
    `services:`,
    ...service("echo", 7000, "tcp", opts.pickup === true, opts.persistence),
    ...service("echo-udp", 7001, "udp"),
    ...service("http", 80, "tcp"),
    ...(ipv6
      ? [
        ...service("echo6", 7000, "tcp", opts.pickup === true, opts.persistence, true),
        ...service("udp-echo6", 7001, "udp", false, undefined, true),
        ...service("http6", 80, "tcp", false, undefined, true),
      ]
      : []),
    `peer:`,
    `  listen: ${me.ha}:${PEER_PORT}`,
    `  address: ${peer.ha}:${PEER_PORT}`,
    // JSON strings are valid YAML scalars, so any path is quoted safely.
    `  key_file: ${JSON.stringify(opts.keyFile)}`,
    `  heartbeat_interval: 4ms`,
    `  dead_after: 6`,
    ...(opts.holdNewFlows === undefined ? [] : [`  hold_new_flows: ${opts.holdNewFlows}ms`]),
    ...(opts.scheduling ? [`scheduling: ${opts.scheduling}`] : []),
    `api: { listen: 127.0.0.1:9090, token_file: ${JSON.stringify(opts.tokenFile)} }`,
    ...(opts.stateDir === undefined ? [] : [`state_dir: ${JSON.stringify(opts.stateDir)}`]),
    ...(opts.extra ?? []),
  ];
  return lines.join("\n") + "\n";
}
