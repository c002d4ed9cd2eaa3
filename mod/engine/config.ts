/**
 * What the engine is told at start: interfaces, floating addresses, services, table size,
 * timeouts and the virtual MACs. Built from the YAML config by `unit/setup.ts`, or by tests
 * directly (`testing.ts`).
 * @module
 */

export interface EngineInterface {
  name: string;
  mac: Uint8Array;
  /** Self address (ARP, ping, the source of ARP requests). */
  ip: number;
  prefix: number;
}

export interface EngineFloating {
  ip: number;
  prefix: number;
  iface: number;
}

export interface EngineBackend {
  ip: number;
  port: number;
}

export interface EngineService {
  name: string;
  proto: 6 | 17;
  vip: number;
  port: number;
  /** Interface the VIP lives on (where clients are). */
  iface: number;
  backends: EngineBackend[];
  scheduler: "round-robin" | "maglev";
  /** SNAT address (a floating address on the backend side), or 0 for pure DNAT. */
  snatIp: number;
  /** Per-flow TCP sequence offset (claims 23, 24). */
  randomizeIsn: boolean;
  /**
   * Mid-stream pickup (conntrack's "loose" rule): a TCP segment of a flow this unit does not
   * know re-creates it, as established. Only for maglev services without SNAT or offset.
   */
  pickup?: boolean;
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
}

/** virtio_net_hdr flags (include/uapi/linux/virtio_net.h). */
export const VNET_NEEDS_CSUM = 1;
export const VNET_DATA_VALID = 2;
/** Length of the virtio_net_hdr a TAP opened with IFF_VNET_HDR puts before each frame. */
export const VNET_HDR_LEN = 10;
