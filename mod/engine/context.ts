/**
 * What every stage of the engine shares: the config, the flow table, the neighbour caches,
 * the counters, the output port, the unit's roles, and the lookups on addresses (self,
 * floating, connected route, service). One instance per engine; the stages are plain
 * functions of (packet, context).
 * @module
 */
import { FlowTable } from "../flow/table.ts";
import { BackendPool } from "./backends.ts";
import { HealthChecks } from "./health.ts";
import { prefixMask, sameSubnet } from "../wire/addr.ts";
import { DEFAULT_MTU, type EngineConfig } from "./config.ts";
import { Counters, EV } from "./counters.ts";
import { FragmentTable } from "./fragments.ts";
import { Neighbors } from "./neighbors.ts";
import type { ArpWatch } from "./monitor.ts";
import type { EngineOutput, MirrorOut } from "./output.ts";
import { V_DROP } from "./output.ts";
import { SynSecret } from "./syncookie.ts";
import { HeldSegments, SynProxyState } from "./synproxy.ts";

/**
 * What this unit is in the pair right now; the pair state machine decides (`ha/pair.ts`,
 * `rolesFor`) and the unit copies it here.
 */
export interface EngineRoles {
  /** Owns the floating addresses: answers ARP for them, makes every decision. */
  receiver: boolean;
  /** Emits data packets toward clients and servers. */
  forwarder: boolean;
  /** A peer is there: every packet is mirrored to it. */
  mirror: boolean;
  /** `hold_new_flows`: the first packet of a new flow waits for the peer's ack. */
  holdNewFlows: boolean;
  /**
   * Just handed the receiver role over (planned switchover): frames still arriving for the
   * virtual MAC go to the new receiver unprocessed, instead of being dropped.
   */
  relay: boolean;
  /**
   * Alone after losing the peer link, both units perhaps serving (a split brain): a frame of a
   * flow we do not know goes to the peer's own MAC over the LAN instead of being dropped
   * (`split.ts`).
   */
  bounce: boolean;
}

export class EngineCtx {
  cfg: EngineConfig;
  readonly flows: FlowTable;
  /** IPv4 datagrams in fragments being followed (`fragments.ts`). */
  readonly frags: FragmentTable = new FragmentTable();
  readonly neighbors: Neighbors[];
  readonly counters: Counters = new Counters();
  readonly out: EngineOutput;
  /** Uniform u32 source: randomness is an input (determinism rule). */
  readonly rng: () => number;
  /** Per service: its backends' states and the scheduler over the usable ones. */
  pools: BackendPool[];
  /** This unit's backend health checks (both units run them). */
  health: HealthChecks;
  readonly roles: EngineRoles = {
    receiver: true,
    forwarder: true,
    mirror: false,
    holdNewFlows: false,
    relay: false,
    bounce: false,
  };
  /** The peer unit's own MAC on each interface, as it told us (`CTRL_MACS`); null: unknown. */
  peerMacs: (Uint8Array | null)[] = [];
  /** Frames the engine builds (ARP, ICMP, RST, probes) are written here. */
  readonly scratch: Uint8Array = new Uint8Array(2048);
  /** The one mirror record, refilled per packet (see `deliver.ts`). */
  readonly rec: MirrorOut;
  /** Self and floating addresses as arrays the stages can scan inline (see `classify.ts`). */
  readonly selfAddrs: Uint32Array;
  readonly floatingAddrs: Uint32Array;
  /** IPv6 self addresses, four words per interface (all zero: the interface has none). */
  readonly self6: Uint32Array;
  /** IPv6 floating addresses, four words each, and the interface of each. */
  readonly floating6: Uint32Array;
  readonly floating6Iface: Int32Array;
  /**
   * The high words of each service's VIP (zeros for IPv4), three per service; a reload
   * (`reconfigure.ts`) rebuilds it with the services.
   */
  vipHi: Uint32Array;
  /** Each interface's IPv6 prefix as network and mask words (four each; see `route6`). */
  readonly #net6: Uint32Array;
  readonly #scratch6 = new Uint32Array(4);
  readonly #mask6: Uint32Array;
  /** Per interface: the largest IP packet it sends (`mtu.ts`); and the smallest of them. */
  readonly mtus: Uint16Array;
  readonly minMtu: number;
  /** The SYN-cookie secret both units hold (`CTRL_SECRET`; claims 23, 24). */
  readonly synSecret: SynSecret = new SynSecret();
  /** Per service: SYN rate and whether `auto` sends cookies (`synproxy.ts`). */
  syn: SynProxyState;
  /** Client segments waiting for their proxied flow's backend handshake. */
  readonly synHeld: HeldSegments = new HeldSegments();
  /** Frames the SYN proxy originates toward backends (mirrored, so not `scratch`). */
  readonly synBuf: Uint8Array = new Uint8Array(128);
  /** Told of every ARP sender (fail-safe gateway checks, `monitor.ts`); null when none. */
  arpWatch: ArpWatch | null = null;

  constructor(cfg: EngineConfig, out: EngineOutput, rng: () => number) {
    this.cfg = cfg;
    this.out = out;
    this.rng = rng;
    this.flows = new FlowTable(cfg.capacity);
    this.selfAddrs = Uint32Array.from(cfg.interfaces.map((i) => i.ip));
    this.floatingAddrs = Uint32Array.from(cfg.floating.filter((f) => !f.ip6).map((f) => f.ip));
    this.self6 = new Uint32Array(cfg.interfaces.length * 4);
    cfg.interfaces.forEach((x, i) => x.ip6 && this.self6.set(x.ip6, i * 4));
    const fl6 = cfg.floating.filter((f) => f.ip6);
    this.floating6 = new Uint32Array(fl6.length * 4);
    fl6.forEach((f, i) => this.floating6.set(f.ip6!, i * 4));
    this.floating6Iface = Int32Array.from(fl6.map((f) => f.iface));
    this.#net6 = new Uint32Array(cfg.interfaces.length * 4).fill(0xffffffff);
    this.#mask6 = new Uint32Array(cfg.interfaces.length * 4).fill(0xffffffff);
    cfg.interfaces.forEach((x, i) => {
      if (x.ip6 === undefined) return;
      const prefix = x.prefix6 ?? 64;
      for (let w = 0; w < 4; w++) {
        const bits = Math.max(0, Math.min(32, prefix - w * 32));
        const m = bits === 0 ? 0 : prefixMask(bits);
        this.#mask6[i * 4 + w] = m;
        this.#net6[i * 4 + w] = (x.ip6[w]! & m) >>> 0;
      }
    });
    this.vipHi = vipHiOf(cfg.services);
    this.mtus = Uint16Array.from(cfg.interfaces.map((i) => i.mtu ?? DEFAULT_MTU));
    this.minMtu = Math.min(...this.mtus);
    this.neighbors = cfg.interfaces.map(() => new Neighbors(cfg.arpQueueLimit));
    this.pools = cfg.services.map((s) => new BackendPool(s));
    this.health = new HealthChecks(this);
    this.syn = new SynProxyState(cfg.services.length);
    this.rec = {
      flags: 0,
      time: 0,
      ingress: 0,
      egress: 0,
      nextHop: new Uint8Array(6),
      flows: this.flows,
      flow: -1,
      frame: this.scratch,
      frameOff: 0,
      frameEnd: 0,
      vnet: new Uint8Array(10),
    };
  }

  /** Counts a drop under `slot` and returns the drop verdict. */
  drop(slot: number): number {
    this.counters.drop(slot);
    return V_DROP;
  }

  /** Sends a frame and counts it. */
  emit(iface: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array | null): void {
    this.counters.add(EV.tx_packets);
    this.counters.add(EV.tx_bytes, end - off);
    this.out.emit(iface, buf, off, end, vnet);
  }

  /** Sends the first `len` bytes of the scratch buffer (a frame the engine built). */
  emitScratch(iface: number, len: number): void {
    if (len > 0) this.emit(iface, this.scratch, 0, len, null);
  }

  // Every address below is an IPv4 address `ip`, or the low word `ip` of an IPv6 address
  // whose high words are `hi[at, at + 3)` (a packet's `hi` holds the destination's at 3).
  // The `*6` methods take an IPv6 address as its four words instead: the per-packet IPv6 path
  // calls them, so no 32-bit word travels as a number argument, which V8 would box when the
  // call is not inlined.

  /**
   * The interface whose IPv6 self address is `a` (four words), or -1. (IPv4 selves are scanned
   * inline by `classify.ts`, from `selfAddrs`.)
   */
  self6Iface(a: Uint32Array): number {
    return find6(this.self6, a);
  }

  /** The index of the IPv6 floating address `a` (four words), or -1. */
  floating6Index(a: Uint32Array): number {
    return find6(this.floating6, a);
  }

  /** `ip` with its high words `hi[at..]` as four words, in a scratch array. */
  #words(ip: number, hi: Uint32Array, at: number): Uint32Array {
    const a = this.#scratch6;
    a[0] = hi[at]!, a[1] = hi[at + 1]!, a[2] = hi[at + 2]!, a[3] = ip;
    return a;
  }

  isFloating(ip: number, hi: Uint32Array = NO_HI, at = 0): boolean {
    if (!isV4(hi, at)) return this.floating6Index(this.#words(ip, hi, at)) >= 0;
    const fl = this.floatingAddrs;
    for (let i = 0; i < fl.length; i++) if (fl[i] === ip) return true;
    return false;
  }

  /** True when `ip` is a floating address living on interface `iface`. */
  floatingOn(ip: number, iface: number, hi: Uint32Array = NO_HI, at = 0): boolean {
    if (!isV4(hi, at)) {
      const i = this.floating6Index(this.#words(ip, hi, at));
      return i >= 0 && this.floating6Iface[i] === iface;
    }
    const fl = this.cfg.floating;
    for (let i = 0; i < fl.length; i++) {
      if (fl[i]!.ip === ip && fl[i]!.iface === iface && !fl[i]!.ip6) return true;
    }
    return false;
  }

  /**
   * Connected routes only: the interface whose subnet holds `ip`, or -1. With `hi` not all
   * zero, an IPv6 address ({@link route6}); the per-packet paths call the one they need, so
   * each stays small enough to be inlined.
   */
  route(ip: number, hi: Uint32Array = NO_HI, at = 0): number {
    if (!isV4(hi, at)) return this.route6(this.#words(ip, hi, at));
    const ifs = this.cfg.interfaces;
    for (let i = 0; i < ifs.length; i++) {
      const x = ifs[i]!;
      if (sameSubnet(ip, x.ip, x.prefix)) return i;
    }
    return -1;
  }

  /** {@link route} for the IPv6 address `a` (four words): the interfaces' IPv6 prefixes. */
  route6(a: Uint32Array): number {
    const net = this.#net6, mask = this.#mask6;
    for (let i = 0; i < net.length; i += 4) {
      // RFC 4291 §2.5: the prefix covers the high words first, then the low one. An interface
      // without IPv6 has an all-ones mask over an all-ones network: nothing matches it.
      if (
        ((a[0]! & mask[i]!) >>> 0) === net[i] &&
        ((a[1]! & mask[i + 1]!) >>> 0) === net[i + 1] &&
        ((a[2]! & mask[i + 2]!) >>> 0) === net[i + 2] &&
        ((a[3]! & mask[i + 3]!) >>> 0) === net[i + 3]
      ) return i >> 2;
    }
    return -1;
  }

  /** The service listening on `ip:port` for `proto`, or -1. */
  serviceFor(proto: number, ip: number, port: number, hi: Uint32Array = NO_HI, at = 0): number {
    const s = this.cfg.services, vh = this.vipHi;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      if (
        v.proto === proto && v.vip === ip && v.port === port && v.retired !== true &&
        vh[i * 3] === hi[at] && vh[i * 3 + 1] === hi[at + 1] && vh[i * 3 + 2] === hi[at + 2]
      ) return i;
    }
    return -1;
  }

  /** The MAC this unit answers with for `ip` on `iface`: the virtual MAC for a floating one. */
  macFor(ip: number, iface: number, hi: Uint32Array = NO_HI, at = 0): Uint8Array {
    return this.isFloating(ip, hi, at)
      ? this.cfg.virtualMacs[iface]!
      : this.cfg.interfaces[iface]!.mac;
  }
}

/** High words of an IPv4 address. */
const NO_HI = new Uint32Array(3);

function isV4(hi: Uint32Array, at: number): boolean {
  return (hi[at]! | hi[at + 1]! | hi[at + 2]!) === 0;
}

/** Index of the IPv6 address `a` (four words) in `list` (four words each), or -1. */
function find6(list: Uint32Array, a: Uint32Array): number {
  for (let i = 0; i < list.length; i += 4) {
    if (
      list[i + 3] === a[3] && list[i] === a[0] && list[i + 1] === a[1] && list[i + 2] === a[2]
    ) return i >> 2;
  }
  return -1;
}

/** Each service's VIP high words, three per service (zeros for IPv4). */
export function vipHiOf(services: readonly { vip6?: Uint32Array }[]): Uint32Array {
  const out = new Uint32Array(services.length * 3);
  services.forEach((v, i) => v.vip6 && out.set(v.vip6.subarray(0, 3), i * 3));
  return out;
}
