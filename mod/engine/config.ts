/**
 * What the engine is told at start: interfaces, floating addresses, services, table size,
 * timeouts and the virtual MACs. Built from the YAML config by `unit/setup.ts`, or by tests
 * directly (`testing.ts`).
 * @module
 */

import type { Ip6 } from "../wire/addr.ts";

/**
 * IPv6 addresses are four 32-bit words in network order (`wire/addr.ts`). Wherever one appears
 * beside an IPv4 `ip`, that `ip` holds its low word, so a flow's tuple columns hold the low
 * words of either family and the high words sit in their own columns (`flow/fields.ts`).
 */
export type { Ip6 };

export interface EngineInterface {
  name: string;
  mac: Uint8Array;
  /** Self address (ARP, ping, the source of ARP requests). */
  ip: number;
  prefix: number;
  /** IPv6 self address (NDP, ping6, the source of neighbour solicitations), if any. */
  ip6?: Ip6;
  prefix6?: number;
  /**
   * 802.1Q VLAN id (1..4094) when the interface is a VLAN on a trunk TAP; absent or 0:
   * untagged. The engine never sees tags: the unit's edge strips and inserts them
   * (`unit/trunk.ts`).
   */
  vlan?: number;
  /** Largest IP packet sent out of it, header included (default {@link DEFAULT_MTU}). */
  mtu?: number;
}

/** Ethernet's MTU (RFC 894): the default of every interface. */
export const DEFAULT_MTU = 1500;

export interface EngineFloating {
  /** The IPv4 address, or the low word of `ip6`. */
  ip: number;
  prefix: number;
  iface: number;
  /** Set for an IPv6 floating address (announced by unsolicited neighbour advertisements). */
  ip6?: Ip6;
}

export interface EngineBackend {
  /** The IPv4 address, or the low word of `ip6`. */
  ip: number;
  /** Set for an IPv6 backend (of an IPv6 service). */
  ip6?: Ip6;
  port: number;
  /** Share of new flows (default 1); 0 takes none. */
  weight?: number;
  /** Operator state at start (default enabled); `tandem backend` changes it at run time. */
  admin?: "enabled" | "draining" | "maintenance";
}

/** A service's backend checks (`health/`); kind `none` means every backend counts as up. */
export interface EngineHealth {
  kind: "tcp" | "http" | "none";
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** Port to check; 0 = each backend's own. */
  port: number;
  path: string;
  expect: number;
}

export interface EngineService {
  name: string;
  proto: 6 | 17;
  /** The IPv4 VIP, or the low word of `vip6`. */
  vip: number;
  /** Set for an IPv6 service: its VIP; its backends and SNAT address are IPv6 too. */
  vip6?: Ip6;
  port: number;
  /** Interface the VIP lives on (where clients are). */
  iface: number;
  backends: EngineBackend[];
  scheduler: "round-robin" | "maglev";
  /** SNAT address (a floating address on the backend side), or 0 for pure DNAT. */
  snatIp: number;
  /** The IPv6 SNAT address of an IPv6 service (`snatIp` is then its low word). */
  snatIp6?: Ip6;
  /** Per-flow TCP sequence offset (claims 23, 24). */
  randomizeIsn: boolean;
  /**
   * Mid-stream pickup (conntrack's "loose" rule): a TCP segment of a flow this unit does not
   * know re-creates it, as established. Only for maglev services without SNAT or offset.
   */
  pickup?: boolean;
  /** Backend checks; absent = none. */
  health?: EngineHealth;
  /** A flow whose backend is down or gone is reset at its next packet (IPVS expire_nodest_conn). */
  resetOnDown?: boolean;
  /** Source-IP affinity in ms (persistence templates in the flow table); 0 or absent = none. */
  persistenceMs?: number;
  /**
   * SYN proxy with cookies (RFC 4987 §3.6; claims 23, 24): `auto` engages under a SYN flood.
   * Absent = off.
   */
  synProxy?: "off" | "on" | "auto";
  /** Removed by a reload and kept for its flows: matches no new packet. */
  retired?: boolean;
}

/** Idle timeouts in ms, per tracking state. */
export interface EngineTimeouts {
  tcpSyn: number;
  tcpEstablished: number;
  tcpFin: number;
  tcpTimeWait: number;
  tcpClose: number;
  udp: number;
  udpStream: number;
  icmp: number;
}

export interface EngineConfig {
  interfaces: EngineInterface[];
  floating: EngineFloating[];
  services: EngineService[];
  capacity: number;
  timeouts: EngineTimeouts;
  /**
   * MAC the floating addresses answer with, one per interface, shared by both units (as
   * VRRP's virtual MAC, RFC 5798 §7.3): a takeover only has to move the address in the
   * switches, not in every neighbour's ARP cache. Derived from the pair's identity, never
   * from the services, so editing a backend does not move it.
   */
  virtualMacs: Uint8Array[];
  /** Packets held per unresolved neighbour while ARP resolves. */
  arpQueueLimit: number;
  /** Flows of a service a reload removed are reset at their next packet (default: kept). */
  resetRemoved?: boolean;
  /**
   * What a mirror record the peer only keeps state from carries (`peer.mirror_payload`):
   * `headers` (the default) cuts the frame after its L4 header (`MF_HEADERS`), `full` sends it
   * whole. Records the peer emits are always whole. Live: a reload changes what later records
   * carry.
   */
  mirrorPayload?: "headers" | "full";
}

/** virtio_net_hdr flags (include/uapi/linux/virtio_net.h). */
export const VNET_NEEDS_CSUM = 1;
export const VNET_DATA_VALID = 2;
/** Length of the virtio_net_hdr a TAP opened with IFF_VNET_HDR puts before each frame. */
export const VNET_HDR_LEN = 10;
