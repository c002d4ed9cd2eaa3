/**
 * The engine's inputs and outputs. The engine is pure: config, time and
 * randomness come in; frames, mirror records and expiries go out through an
 * `EngineSink` that the runtime (or a test) implements.
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

export interface EngineService {
  name: string;
  proto: 6 | 17;
  vip: number;
  port: number;
  /** Interface the VIP lives on (where clients are). */
  iface: number;
  backends: { ip: number; port: number }[];
  scheduler: "round-robin" | "maglev";
  /** SNAT address (a floating address on the backend side), or 0 for pure DNAT. */
  snatIp: number;
  /** Per-flow TCP sequence offset (claims 23, 24). */
  randomizeIsn: boolean;
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
   * MAC the floating addresses answer with, one per interface, shared by both
   * units (as VRRP's virtual MAC, RFC 5798 §7.3): a takeover only has to move
   * the address in the switches, not in every neighbour's ARP cache.
   */
  virtualMacs: Uint8Array[];
  /** Packets held per unresolved neighbour while ARP resolves. */
  arpQueueLimit: number;
}

/** Flags of a mirror record. */
export const MF_NEW_FLOW = 1;
export const MF_WANT_ACK = 2;
/** A frame without a flow (e.g. a translated ICMP error): emit as is. */
export const MF_NO_FLOW = 4;
/**
 * The sender did not emit this packet: the peer must (standby-forward and
 * standby-first, claims 19-24). Without it the record only keeps state.
 */
export const MF_PEER_EMITS = 8;

/**
 * One packet as the receiver processed it, with every decision it made
 * (determinism rule): the flow's two tuples, state and sequence offset, the
 * egress port and next-hop MAC, and the rewritten frame.
 */
export interface MirrorRecord {
  flags: number;
  /** The receiver's clock for this packet (ms). */
  time: number;
  ingress: number;
  egress: number;
  state: number;
  service: number;
  proto: number;
  oSrc: number;
  oSport: number;
  oDst: number;
  oDport: number;
  rSrc: number;
  rSport: number;
  rDst: number;
  rDport: number;
  seqOffset: number;
  nextHop: Uint8Array;
  /** The frame's TAP offload header (virtio_net_hdr); absent or zeros when none. */
  vnet?: Uint8Array;
  /** Rewritten frame; the forwarder sets its own source MAC. */
  frame: Uint8Array;
}

export interface EngineSink {
  /**
   * Sends a frame now. The frame buffer is reused after the call returns.
   * `vnet` is the offload header to send it with (a forwarded GSO frame keeps
   * its own); omitted for frames the engine made.
   */
  emit(iface: number, frame: Uint8Array, vnet?: Uint8Array): void;
  /** Queues a mirror record for the peer; returns its mirror sequence number. Copies what it keeps. */
  mirror(rec: MirrorRecord): number;
  /** Holds a frame until the peer acks `mseq` or the hold times out (`hold_new_flows`). */
  hold(iface: number, frame: Uint8Array, mseq: number, vnet?: Uint8Array): void;
  /** A flow the receiver expired; the peer must drop it too. */
  expire(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): void;
}

/** virtio_net_hdr flags (include/uapi/linux/virtio_net.h). */
export const VNET_NEEDS_CSUM = 1;
export const VNET_DATA_VALID = 2;
export const VNET_HDR_LEN = 10;

/** What `handle` did with a frame. */
export const V_DROP = 0;
export const V_FORWARD = 1;
export const V_REPLY = 2;
/** Mirrored to the forwarder, not emitted here. */
export const V_MIRROR = 3;
/** Queued until its next hop resolves. */
export const V_QUEUED = 4;
