/**
 * Loads the YAML config, applies command-line overrides, validates it (shape via zod, then the
 * checks that span fields) and resolves it into a {@link Config} of numbers ready for the engine.
 * Every problem becomes one {@link ConfigError} naming the field, so the CLI can print one line
 * and exit 2 (DESIGN.md "Command line").
 * @module
 */

import type { EngineTimeouts } from "../engine/config.ts";
import { createHash } from "node:crypto";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import type { Mode, Role } from "../ha/types.ts";
import { type Ip6, ipv4ToString, ipv6ToString, sameSubnet, sameSubnet6 } from "../wire/addr.ts";
import type { LogFormat, LogLevel } from "../log/log.ts";
import {
  type Addr,
  addrText,
  type BackendAdmin,
  configSchema,
  type Endpoint,
  type HealthKind,
  type ParsedConfig,
  type Protocol,
  sameAddr,
  type Scheduler,
  show,
} from "./schema.ts";

/** A bad config: `field` is the dotted path (`services[1].backends[0]`), "" for the whole file. */
export class ConfigError extends Error {
  readonly field: string;
  /** 1-based line for YAML syntax errors. */
  readonly line: number | undefined;

  constructor(field: string, detail: string, line?: number) {
    super(field === "" ? `config: ${detail}` : `config: ${field}: ${detail}`);
    this.name = "ConfigError";
    this.field = field;
    this.line = line;
  }
}

/** Command-line flags that win over the file. */
export interface Overrides {
  role?: Role;
  mode?: Mode;
  /** `a.b.c.d:port` for the status API. */
  api?: string;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
}

/** Reads a whole file; injected so tests need no files and no permissions. */
export type ReadFile = (path: string) => Uint8Array;

/** One TAP interface of the unit. Its index in `Config.interfaces` is its stable id. */
export interface InterfaceConfig {
  name: string;
  tap: string;
  /** Self address (ARP, ping, neighbour resolution by a non-receiver). */
  address: number;
  prefix: number;
  /** IPv6 self address (NDP, ping6) and its prefix length, when the interface is dual stack. */
  address6?: Ip6;
  prefix6?: number;
  mac: Uint8Array;
  /** True when `mac` was derived from node and interface name, not given in the file. */
  macDerived: boolean;
  /** Open the TAP with checksum/segmentation offload (GSO frames up to 64 KiB). */
  offload: boolean;
  /** 802.1Q VLAN id on a trunk TAP; 0 when untagged. */
  vlan: number;
  /** Largest IP packet sent out of it (RFC 1191 next-hop MTU); default 1500. */
  mtu: number;
}

/** A floating address; only the receiver announces it (DESIGN.md "Losing a unit"). */
export interface FloatingConfig {
  /** The IPv4 address, or the low word of `address6`. */
  address: number;
  /** Set for an IPv6 floating address. */
  address6?: Ip6;
  prefix: number;
  interface: string;
}

/** A backend and the interface whose subnet reaches it. */
export interface BackendConfig extends Endpoint {
  interface: string;
  /** Share of new flows relative to the service's other backends; 0 takes none. */
  weight: number;
  /** Operator state at load (`tandem backend` changes it at run time). */
  admin: BackendAdmin;
}

/** A service's health checks (schema defaults filled in; times in ms). */
export interface HealthConfig {
  kind: HealthKind;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** Port to check; 0 = each backend's own. */
  port: number;
  path: string;
  expect: number;
}

/** One load-balanced service on a floating address. */
export interface ServiceConfig {
  name: string;
  listen: Endpoint;
  protocol: Protocol;
  backends: BackendConfig[];
  scheduler: Scheduler;
  /** Floating address to SNAT to (IPv6: its low word); undefined = keep the client's source. */
  sourceNat: number | undefined;
  /** The IPv6 SNAT address of an IPv6 service. */
  sourceNat6?: Ip6;
  /** Per-flow TCP sequence offset (claims 23, 24). */
  randomizeIsn: boolean;
  /** Mid-stream pickup of unknown TCP flows (see the schema). */
  pickup: boolean;
  /** SYN proxy with cookies: `off` for udp and for pickup services unless set. */
  synProxy: "off" | "on" | "auto";
  /** The interface where the VIP (`listen`) lives. */
  interface: string;
  health: HealthConfig;
  /** Flows to a backend that is down or gone: kept, or reset at their next packet. */
  onBackendDown: "keep" | "reset";
  /** Source-IP affinity in ms; 0 = none. */
  persistenceMs: number;
}

/** The peer link; absent when the unit works alone. */
export interface PeerConfig {
  listen: Endpoint;
  address: Endpoint;
  /** Absolute path of the pre-shared key file. */
  keyFile: string;
  /** The key: the file's bytes without a trailing newline. */
  key: Uint8Array;
  heartbeatIntervalMs: number;
  /** Missed heartbeats before the peer is declared dead. */
  deadAfter: number;
  /** 0 = off; only with active-forward. */
  holdNewFlowsMs: number;
  /** What state-only mirror records carry (`engine/config.ts` `mirrorPayload`); live. */
  mirrorPayload: "headers" | "full";
  garpRepeat: number;
  probe: boolean;
}

/** The status API. */
export interface ApiConfig {
  listen: Endpoint;
  /** Absolute path, if a token file was given. */
  tokenFile: string | undefined;
  /** Bearer token for `POST /failover` (trimmed file content). */
  token: string | undefined;
}

/** Flow timeouts in ms: exactly what the engine takes. */
export type TimeoutsMs = EngineTimeouts;

/** The resolved config: numbers, not strings; everything cross-checked. */
export interface Config {
  node: { name: string };
  role: Role;
  mode: Mode;
  interfaces: InterfaceConfig[];
  floating: FloatingConfig[];
  services: ServiceConfig[];
  /** Flows of a service a reload removed: kept until they end, or reset. */
  onServiceRemoved: "keep" | "reset";
  peer: PeerConfig | undefined;
  /**
   * The pair's identity, 1..65535: `peer.pair_id`, or derived from the two HA endpoints (the
   * same on both units), or from the node name for a unit without a peer. The virtual MACs
   * derive from it, so editing a service never moves them.
   */
  pairId: number;
  api: ApiConfig;
  flows: { capacity: number };
  timeouts: TimeoutsMs;
  log: { level: LogLevel; format: LogFormat };
  scheduling: "realtime" | "nice" | "normal";
  /** Busy-poll bound of the idle loop, ms; 0 = off. */
  busyPollMs: number;
  failsafe: FailsafeConfig;
}

/** Fail-safes (`track:`) resolved: interfaces by index, devices named. */
export interface TrackConfig {
  links: { interface: string; iface: number; device: string }[];
  gateways: { address: number; interface: string; iface: number }[];
  intervalMs: number;
  fall: number;
  rise: number;
}

/** Fail-safes, preemption, maintenance state and notify (docs/failsafe.md). */
export interface FailsafeConfig {
  /** null: nothing tracked. */
  track: TrackConfig | null;
  preempt: boolean;
  preemptDelayMs: number;
  /** Absolute directory for state that survives a restart. */
  stateDir: string;
  /** Absolute path of the notify script, if any. */
  notify: string | undefined;
}

/** Minimum pre-shared key length: 128 bits. */
export const MIN_KEY_BYTES = 16;
const MAX_INTERFACES = 8;

/** Maps Deno's filesystem errors to the plain phrase people know from the shell. */
function ioReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "No such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "Is a directory";
  const message = err instanceof Error ? err.message : String(err);
  // Deno appends "(os error N): op 'path'"; the path is already in our message.
  return message.replace(/\s*\(os error \d+\).*$/s, "");
}

function readOrFail(readFile: ReadFile, path: string, field: string, shown: string): Uint8Array {
  try {
    return readFile(path);
  } catch (err) {
    throw new ConfigError(field, `cannot read ${shown}: ${ioReason(err)}`);
  }
}

/** Reads and resolves a config file. Relative key/token paths resolve against its folder. */
export function loadConfig(
  path: string,
  overrides: Overrides = {},
  readFile: ReadFile = Deno.readFileSync,
): Config {
  const bytes = readOrFail(readFile, path, "", path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError("", `${path} is not UTF-8 text`);
  }
  return parseConfig(text, dirname(resolve(path)), overrides, readFile);
}

/** `["services", 1, "backends", 0]` → `services[1].backends[0]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** zod's own wording starts like this; our schema's custom messages never do. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized)/;

const KIND: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

/** One zod issue → the field it concerns and what is wrong with it. */
function describeIssue(issue: z.core.$ZodIssue): { field: string; detail: string } {
  const field = fieldPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  const missing = !("input" in issue) || input === undefined;
  const custom = !ZOD_DEFAULT.test(issue.message);
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0] ?? "?";
      return { field: fieldPath([...issue.path, key]), detail: "unknown key" };
    }
    case "invalid_type":
      if (missing) return { field, detail: "missing (required)" };
      if (custom) return { field, detail: issue.message };
      return {
        field,
        detail: `expected ${KIND[issue.expected] ?? issue.expected}, got ${show(input)}`,
      };
    case "invalid_value":
      if (missing) return { field, detail: "missing (required)" };
      return { field, detail: custom ? issue.message : `${show(input)} is not allowed` };
    case "invalid_key": {
      const inner = issue.issues[0];
      return { field, detail: inner?.message ?? `${show(input)} is not a valid key` };
    }
    case "too_small":
    case "too_big": {
      if (custom) return { field, detail: issue.message };
      const isSmall = issue.code === "too_small";
      const bound = Number(isSmall ? issue.minimum : (issue as { maximum: number }).maximum);
      if (issue.origin === "array") {
        const n = Array.isArray(input) ? input.length : 0;
        return {
          field,
          detail: isSmall
            ? `needs at least ${bound} ${bound === 1 ? "entry" : "entries"}`
            : `allows at most ${bound} entries (got ${n})`,
        };
      }
      if (issue.origin === "string") {
        return { field, detail: isSmall ? "must not be empty" : `is longer than ${bound}` };
      }
      return {
        field,
        detail: `${show(input)} must be ${isSmall ? "at least" : "at most"} ${bound}`,
      };
    }
    default:
      return { field, detail: issue.message };
  }
}

/** YAML text → plain data; syntax errors name the line. */
function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err !== undefined) {
    const line = err.linePos?.[0]?.line;
    // The message repeats the position and appends a code excerpt; keep only the first clause.
    const what = (err.message.split("\n")[0] ?? err.message).replace(
      / at line \d+, column \d+:?$/,
      "",
    );
    throw new ConfigError("", line === undefined ? what : `line ${line}: ${what}`, line);
  }
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError("", err instanceof Error ? err.message : String(err));
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Flags win over the file: write them into the raw data before validation. */
function applyOverrides(raw: Record<string, unknown>, o: Overrides): void {
  if (o.role !== undefined) raw.role = o.role;
  if (o.mode !== undefined) raw.mode = o.mode;
  if (o.api !== undefined) {
    if (raw.api === undefined || raw.api === null) raw.api = { listen: o.api };
    else if (isPlainObject(raw.api)) raw.api = { ...raw.api, listen: o.api };
  }
  if (o.logLevel !== undefined || o.logFormat !== undefined) {
    if (raw.log === undefined || raw.log === null) raw.log = {};
    if (isPlainObject(raw.log)) {
      const log = { ...raw.log };
      if (o.logLevel !== undefined) log.level = o.logLevel;
      if (o.logFormat !== undefined) log.format = o.logFormat;
      raw.log = log;
    }
  }
}

/**
 * A deterministic, locally administered unicast MAC from node and interface name, so the same
 * config gives the same MAC across restarts (neighbour caches stay valid) and the two units differ.
 */
export function deriveMac(node: string, iface: string): Uint8Array {
  const digest = createHash("sha256").update(`tandem-mac\0${node}\0${iface}`).digest();
  const mac = new Uint8Array(digest.subarray(0, 6));
  // IEEE 802: bit 1 of the first octet = locally administered, bit 0 = group; set U/L, clear I/G.
  mac[0] = (mac[0]! | 0x02) & 0xfe;
  return mac;
}

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Parses and resolves config text. `baseDir` anchors relative `key_file`/`token_file` paths;
 * `readFile` reads those two files.
 */
export function parseConfig(
  text: string,
  baseDir: string,
  overrides: Overrides = {},
  readFile: ReadFile = Deno.readFileSync,
): Config {
  const raw = parseYaml(text);
  if (!isPlainObject(raw)) {
    throw new ConfigError(
      "",
      raw === null ? "the file is empty" : "the top level must be a mapping",
    );
  }
  applyOverrides(raw, overrides);
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const issues = result.error.issues;
    // An unknown key usually explains a "missing" one next to it (a typo), so report it first.
    const first = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
    if (first === undefined) throw new ConfigError("", "invalid config");
    const { field, detail } = describeIssue(first);
    throw new ConfigError(field, detail);
  }
  return resolveConfig(result.data, baseDir, readFile);
}

function resolveConfig(p: ParsedConfig, baseDir: string, readFile: ReadFile): Config {
  if (p.role === undefined) {
    throw new ConfigError("role", "missing: set role in the config or pass --role");
  }
  if (p.mode === undefined) {
    throw new ConfigError("mode", "missing: set mode in the config or pass --mode");
  }
  const mode = p.mode;

  const interfaces = resolveInterfaces(p);
  const floating = resolveFloating(p, interfaces);
  const services = resolveServices(p, interfaces, floating);

  let peer: PeerConfig | undefined;
  let pairId = derivePairId([p.node.name]);
  if (p.peer !== undefined) {
    const pp = p.peer;
    if (pp.listen.text === pp.address.text) {
      throw new ConfigError("peer.address", `${pp.address.text} is the same as peer.listen`);
    }
    if (pp.hold_new_flows > 0 && mode !== "active-forward") {
      // Only in active-forward can a packet leave before the standby has it (DESIGN.md table).
      throw new ConfigError(
        "peer.hold_new_flows",
        `only valid with mode active-forward (mode is ${mode})`,
      );
    }
    const keyFile = resolvePath(baseDir, pp.key_file);
    let key = readOrFail(readFile, keyFile, "peer.key_file", keyFile);
    if (key.length > 0 && key[key.length - 1] === 0x0a) key = key.subarray(0, key.length - 1);
    if (key.length > 0 && key[key.length - 1] === 0x0d) key = key.subarray(0, key.length - 1);
    if (key.length < MIN_KEY_BYTES) {
      throw new ConfigError(
        "peer.key_file",
        `${keyFile} holds ${key.length} bytes; the key needs at least ${MIN_KEY_BYTES}`,
      );
    }
    pairId = pp.pair_id ?? derivePairId([pp.listen.text, pp.address.text].sort());
    peer = {
      listen: pp.listen,
      address: pp.address,
      keyFile,
      key: new Uint8Array(key),
      heartbeatIntervalMs: pp.heartbeat_interval,
      deadAfter: pp.dead_after,
      holdNewFlowsMs: pp.hold_new_flows,
      mirrorPayload: pp.mirror_payload,
      garpRepeat: pp.garp_repeat,
      probe: pp.probe,
    };
  }

  let token: string | undefined;
  let tokenFile: string | undefined;
  if (p.api.token_file !== undefined) {
    tokenFile = resolvePath(baseDir, p.api.token_file);
    const bytes = readOrFail(readFile, tokenFile, "api.token_file", tokenFile);
    token = new TextDecoder().decode(bytes).trim();
    if (token === "") throw new ConfigError("api.token_file", `${tokenFile} is empty`);
  }

  const t = p.timeouts;
  return {
    node: { name: p.node.name },
    role: p.role,
    mode,
    interfaces,
    floating,
    services,
    onServiceRemoved: p.on_service_removed,
    peer,
    pairId,
    api: { listen: p.api.listen, tokenFile, token },
    flows: { capacity: p.flows.capacity },
    timeouts: {
      tcpSyn: t.tcp_syn,
      tcpEstablished: t.tcp_established,
      tcpFin: t.tcp_fin,
      tcpTimeWait: t.tcp_time_wait,
      tcpClose: t.tcp_close,
      udp: t.udp,
      udpStream: t.udp_stream,
      icmp: t.icmp,
    },
    log: { level: p.log.level, format: p.log.format },
    scheduling: p.scheduling,
    busyPollMs: p.busy_poll,
    failsafe: resolveFailsafe(p, interfaces, floating, baseDir),
  };
}

function resolveFailsafe(
  p: ParsedConfig,
  interfaces: InterfaceConfig[],
  floating: FloatingConfig[],
  baseDir: string,
): FailsafeConfig {
  const ifaceOf = (field: string, name: string): number => {
    const i = interfaces.findIndex((x) => x.name === name);
    if (i < 0) {
      throw new ConfigError(
        field,
        `${show(name)} is not one of the interfaces (${interfaces.map((x) => x.name).join(", ")})`,
      );
    }
    return i;
  };
  let track: TrackConfig | null = null;
  const t = p.track;
  if (t !== undefined && (t.links.length > 0 || t.gateways.length > 0)) {
    const links = t.links.map((l, i) => {
      const iface = ifaceOf(`track.links[${i}].interface`, l.interface);
      return { interface: l.interface, iface, device: l.device ?? interfaces[iface]!.tap };
    });
    const gateways = t.gateways.map((g, i) => {
      const field = `track.gateways[${i}]`;
      const iface = ifaceOf(`${field}.interface`, g.interface);
      const x = interfaces[iface]!;
      const addr = ipv4ToString(g.address);
      // The probe is an ARP request: only a neighbour on the interface's subnet can answer.
      if (!sameSubnet(g.address, x.address, x.prefix)) {
        throw new ConfigError(
          `${field}.address`,
          `${addr} is not in the subnet of interfaces.${x.name} (${
            ipv4ToString(x.address)
          }/${x.prefix})`,
        );
      }
      if (
        interfaces.some((y) => y.address === g.address) ||
        floating.some((f) => f.address6 === undefined && f.address === g.address)
      ) {
        throw new ConfigError(`${field}.address`, `${addr} is an address of this appliance`);
      }
      return { address: g.address, interface: g.interface, iface };
    });
    track = { links, gateways, intervalMs: t.interval, fall: t.fall, rise: t.rise };
  }
  return {
    track,
    preempt: p.preempt,
    preemptDelayMs: p.preempt_delay,
    stateDir: resolvePath(baseDir, p.state_dir),
    notify: p.notify === undefined ? undefined : resolvePath(baseDir, p.notify),
  };
}

function resolveInterfaces(p: ParsedConfig): InterfaceConfig[] {
  const entries = Object.entries(p.interfaces);
  if (entries.length === 0) throw new ConfigError("interfaces", "needs at least 1 interface");
  if (entries.length > MAX_INTERFACES) {
    throw new ConfigError(
      "interfaces",
      `allows at most ${MAX_INTERFACES} interfaces (got ${entries.length})`,
    );
  }
  const out: InterfaceConfig[] = [];
  for (const [name, i] of entries) {
    const vlan = i.vlan ?? 0;
    for (const other of out) {
      // A TAP may carry several interfaces only as VLANs of a trunk: one per VLAN id, and at
      // most one untagged (IEEE 802.1Q: a frame's VID, or its absence, names its segment).
      if (other.tap === i.tap && other.vlan === vlan) {
        throw vlan === 0
          ? new ConfigError(
            `interfaces.${name}.tap`,
            `${show(i.tap)} is also used by interfaces.${other.name}, and only one interface ` +
              `per TAP may be untagged (give one of them a vlan)`,
          )
          : new ConfigError(
            `interfaces.${name}.vlan`,
            `${vlan} is also used on tap ${show(i.tap)} by interfaces.${other.name}`,
          );
      }
      // Overlapping subnets would make "which interface reaches this backend" ambiguous.
      if (sameSubnet(i.address.address, other.address, Math.min(i.address.prefix, other.prefix))) {
        throw new ConfigError(
          `interfaces.${name}.address`,
          `${
            ipv4ToString(i.address.address)
          }/${i.address.prefix} overlaps interfaces.${other.name}`,
        );
      }
      const a6 = i.address6, o6 = other.address6;
      if (
        a6?.address6 !== undefined && o6 !== undefined &&
        sameSubnet6(a6.address6, o6, Math.min(a6.prefix, other.prefix6 ?? 128))
      ) {
        throw new ConfigError(
          `interfaces.${name}.address6`,
          `${ipv6ToString(a6.address6)}/${a6.prefix} overlaps interfaces.${other.name}`,
        );
      }
      if (i.mac !== undefined && !other.macDerived && equalBytes(i.mac, other.mac)) {
        throw new ConfigError(`interfaces.${name}.mac`, `is also used by interfaces.${other.name}`);
      }
    }
    out.push({
      name,
      tap: i.tap,
      address: i.address.address,
      prefix: i.address.prefix,
      ...(i.address6?.address6 === undefined
        ? {}
        : { address6: i.address6.address6, prefix6: i.address6.prefix }),
      mac: i.mac ?? deriveMac(p.node.name, name),
      macDerived: i.mac === undefined,
      offload: i.offload,
      vlan,
      mtu: i.mtu,
    });
  }
  // A trunk carries plain frames: a tag in front of a GSO or partial-checksum frame would move
  // the virtio_net_hdr's csum_start. And frames cross interfaces, while a plain TAP cannot take
  // a GSO frame from an offload one: with VLANs, no interface may use offload.
  const trunk = out.find((x) => x.vlan !== 0);
  const offloaded = out.find((x) => x.offload);
  if (trunk !== undefined && offloaded !== undefined) {
    throw new ConfigError(
      `interfaces.${offloaded.name}.offload`,
      `must be false when VLANs are configured (interfaces.${trunk.name} is vlan ${trunk.vlan}): ` +
        `set offload: false on every interface`,
    );
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function resolveFloating(p: ParsedConfig, interfaces: InterfaceConfig[]): FloatingConfig[] {
  const out: FloatingConfig[] = [];
  p.floating.forEach((f, i) => {
    const iface = interfaces.find((x) => x.name === f.interface);
    if (iface === undefined) {
      throw new ConfigError(
        `floating[${i}].interface`,
        `${show(f.interface)} is not one of the interfaces (${
          interfaces.map((x) => x.name).join(", ")
        })`,
      );
    }
    const addr = addrText(f.address);
    const v6 = f.address.address6;
    if (v6 === undefined) {
      if (!sameSubnet(f.address.address, iface.address, iface.prefix)) {
        throw new ConfigError(
          `floating[${i}].address`,
          `${addr} is not in the subnet of interfaces.${iface.name} ` +
            `(${ipv4ToString(iface.address)}/${iface.prefix})`,
        );
      }
    } else if (iface.address6 === undefined || iface.prefix6 === undefined) {
      throw new ConfigError(
        `floating[${i}].address`,
        `${addr} is IPv6 but interfaces.${iface.name} has no address6`,
      );
    } else if (!sameSubnet6(v6, iface.address6, iface.prefix6)) {
      throw new ConfigError(
        `floating[${i}].address`,
        `${addr} is not in the subnet of interfaces.${iface.name} ` +
          `(${ipv6ToString(iface.address6)}/${iface.prefix6})`,
      );
    }
    const self = interfaces.find((x) => selfAddrs(x).some((a) => sameAddr(a, f.address)));
    if (self !== undefined) {
      throw new ConfigError(
        `floating[${i}].address`,
        `${addr} is the self address of interfaces.${self.name}`,
      );
    }
    const dup = out.findIndex((x) => sameAddr(x, f.address));
    if (dup >= 0) {
      throw new ConfigError(`floating[${i}].address`, `${addr} is already floating[${dup}]`);
    }
    out.push({
      address: f.address.address,
      ...(v6 === undefined ? {} : { address6: v6 }),
      prefix: f.address.prefix,
      interface: iface.name,
    });
  });
  return out;
}

/** An interface's self addresses: IPv4, and IPv6 when it is dual stack. */
function selfAddrs(x: InterfaceConfig): Addr[] {
  return x.address6 === undefined
    ? [{ address: x.address }]
    : [{ address: x.address }, { address: x.address, address6: x.address6 }];
}

/** The interface whose subnet holds `a` (IPv6: its `address6` subnet). */
function ifaceFor(interfaces: InterfaceConfig[], a: Addr): InterfaceConfig | undefined {
  const v6 = a.address6;
  return v6 === undefined
    ? interfaces.find((x) => sameSubnet(a.address, x.address, x.prefix))
    : interfaces.find((x) =>
      x.address6 !== undefined && sameSubnet6(v6, x.address6, x.prefix6 ?? 128)
    );
}

const familyName = (a: Addr): string => a.address6 === undefined ? "IPv4" : "IPv6";

function resolveServices(
  p: ParsedConfig,
  interfaces: InterfaceConfig[],
  floating: FloatingConfig[],
): ServiceConfig[] {
  const out: ServiceConfig[] = [];
  p.services.forEach((s, i) => {
    const at = `services[${i}]`;
    const vip = floating.find((f) => sameAddr(f, s.listen));
    if (vip === undefined) {
      throw new ConfigError(`${at}.listen`, `${addrText(s.listen)} is not a floating address`);
    }
    // One service, one family: the engine translates addresses, never IPv4 to IPv6 (that is
    // NAT64, RFC 6146, a different thing).
    const mixed = (field: string, a: Addr, shown: string): void => {
      if ((a.address6 === undefined) !== (s.listen.address6 === undefined)) {
        throw new ConfigError(
          field,
          `${shown} is ${familyName(a)} but listen ${s.listen.text} is ${familyName(s.listen)}: ` +
            `a service's listen, backends and source_nat must be one family`,
        );
      }
    };
    const dup = out.findIndex((o) => o.listen.text === s.listen.text && o.protocol === s.protocol);
    if (dup >= 0) {
      throw new ConfigError(
        `${at}.listen`,
        `${s.listen.text}/${s.protocol} is already services[${dup}]`,
      );
    }
    if (s.randomize_isn && s.protocol !== "tcp") {
      throw new ConfigError(`${at}.randomize_isn`, "only applies to protocol tcp");
    }
    if (s.pickup) {
      // Only a decision any unit would make the same way can be re-made mid-stream.
      const why = s.protocol !== "tcp"
        ? "only applies to protocol tcp"
        : s.scheduler !== "maglev"
        ? "needs scheduler maglev (the backend must follow from the tuple alone)"
        : s.source_nat !== undefined
        ? "cannot be used with source_nat (the SNAT port is not in the packet)"
        : s.randomize_isn
        ? "cannot be used with randomize_isn (the sequence offset is not in the packet)"
        : undefined;
      if (why) throw new ConfigError(`${at}.pickup`, why);
    }
    if (s.syn_proxy !== undefined && s.syn_proxy !== "off") {
      // A cookie's ACK looks like a mid-stream segment: pickup would take it as one.
      const why = s.protocol !== "tcp"
        ? "only applies to protocol tcp"
        : s.pickup
        ? "cannot be used with pickup (a cookie's ACK would be taken for a mid-stream segment)"
        : undefined;
      if (why) throw new ConfigError(`${at}.syn_proxy`, why);
    }
    const backends: BackendConfig[] = [];
    s.backends.forEach((b, j) => {
      const field = `${at}.backends[${j}]`;
      mixed(field, b, b.text);
      const iface = ifaceFor(interfaces, b);
      if (iface === undefined) {
        throw new ConfigError(field, `${b.text} is not in the subnet of any interface`);
      }
      if (
        interfaces.some((x) => selfAddrs(x).some((a) => sameAddr(a, b))) ||
        floating.some((f) => sameAddr(f, b))
      ) {
        throw new ConfigError(field, `${b.text} is an address of this appliance`);
      }
      const again = backends.findIndex((o) => o.text === b.text);
      if (again >= 0) {
        throw new ConfigError(field, `${b.text} is already ${at}.backends[${again}]`);
      }
      backends.push({
        address: b.address,
        ...(b.address6 === undefined ? {} : { address6: b.address6 }),
        port: b.port,
        text: b.text,
        interface: iface.name,
        weight: b.weight,
        admin: b.admin,
      });
    });
    const sourceNat = s.source_nat;
    if (sourceNat !== undefined) {
      const field = `${at}.source_nat`;
      const addr = addrText(sourceNat);
      mixed(field, sourceNat, addr);
      const snat = floating.find((f) => sameAddr(f, sourceNat));
      if (snat === undefined) throw new ConfigError(field, `${addr} is not a floating address`);
      // Replies come back to the SNAT address, so it must live where the backends are.
      const away = backends.find((b) => b.interface !== snat.interface);
      if (away !== undefined) {
        throw new ConfigError(
          field,
          `${addr} is on interfaces.${snat.interface} but backend ${away.text} is reached ` +
            `through interfaces.${away.interface}`,
        );
      }
    }
    out.push({
      name: s.name,
      listen: s.listen,
      protocol: s.protocol,
      backends,
      scheduler: s.scheduler,
      sourceNat: sourceNat?.address,
      ...(sourceNat?.address6 === undefined ? {} : { sourceNat6: sourceNat.address6 }),
      randomizeIsn: s.randomize_isn,
      pickup: s.pickup,
      synProxy: s.syn_proxy ?? (s.protocol === "tcp" && !s.pickup ? "auto" : "off"),
      interface: vip.interface,
      health: resolveHealth(s.health, s.protocol, at),
      onBackendDown: s.on_backend_down,
      persistenceMs: s.persistence ?? 0,
    });
  });
  return out;
}

/** No `health` block: no checks (as HAProxy without `check`); a block fills in the defaults. */
function resolveHealth(
  h: ParsedConfig["services"][number]["health"],
  protocol: Protocol,
  at: string,
): HealthConfig {
  if (h === undefined) {
    return {
      kind: "none",
      intervalMs: 2000,
      timeoutMs: 1000,
      rise: 2,
      fall: 3,
      port: 0,
      path: "/",
      expect: 200,
    };
  }
  // A UDP service is checked over TCP on its backends (`port` names the TCP port to try).
  if (h.kind !== "none" && protocol === "udp" && h.port === 0) {
    throw new ConfigError(
      `${at}.health.port`,
      "a udp service's tcp or http check needs the TCP port to connect to",
    );
  }
  if (h.timeout > h.interval) {
    throw new ConfigError(`${at}.health.timeout`, "must not be longer than health.interval");
  }
  return {
    kind: h.kind,
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    rise: h.rise,
    fall: h.fall,
    port: h.port,
    path: h.path,
    expect: h.expect,
  };
}

/** A pair id in 1..65535 from text both units share (FNV-1a, folded to 16 bits). */
export function derivePairId(parts: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(parts.join("|"))) h = Math.imul(h ^ ch, 0x01000193);
  const id = ((h >>> 16) ^ h) & 0xffff;
  return id === 0 ? 1 : id;
}
