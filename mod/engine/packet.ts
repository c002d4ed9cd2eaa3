/**
 * The frame being handled and what the stages have learned about it. One `Packet` per engine,
 * reset for every frame: its views are re-pointed, never re-created, so handling a frame
 * allocates nothing.
 * @module
 */
import {
  ArpPacket,
  EthernetFrame,
  IcmpPacket,
  Icmpv6Packet,
  Ipv4Packet,
  Ipv6Packet,
  TcpSegment,
  UdpDatagram,
} from "../wire/mod.ts";

/** What `classify` found in the frame. */
export const K_NONE = 0;
export const K_ARP = 1;
export const K_TCP = 2;
export const K_UDP = 3;
export const K_ICMP = 4;
/** IPv4 with another protocol. */
export const K_IP_OTHER = 5;
/**
 * A later IPv4 fragment (offset > 0) of TCP or UDP: no L4 header, its flow is found by its
 * datagram's key (`fragments.ts`).
 */
export const K_FRAGMENT = 6;
/** An ICMPv6 neighbour solicitation or advertisement (RFC 4861): the NDP stage's. */
export const K_NDP = 7;

export class Packet {
  /** The frame is `buf[off, end)`; stages rewrite it in place. */
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  end = 0;
  ingress = 0;
  now = 0;
  /** The frame's offload header (virtio_net_hdr); zeros for a plain frame. */
  vnet: Uint8Array = new Uint8Array(10);
  kind = K_NONE;
  readonly eth = new EthernetFrame();
  readonly arp = new ArpPacket();
  readonly ip = new Ipv4Packet();
  /** The IPv6 header (when `v6`); `ip` is then not pointed at this frame. */
  readonly ip6 = new Ipv6Packet();
  /** The frame is IPv6 (RFC 8200). */
  v6 = false;
  /** L4 protocol (TCP, UDP, ICMP or ICMPv6, ...) of either family. */
  proto = 0;
  /**
   * The high words of the addresses of an IPv6 packet: source 0-2, destination 3-5, all zero
   * for IPv4 (`flow/fields.ts`). Flow-table lookups take them as they are.
   */
  readonly hi = new Uint32Array(6);
  /**
   * An IPv6 packet's whole source and destination, four words each (set by `classify`; the
   * destination is rewritten by `deliver` after the NAT). Scratch for IPv4.
   */
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  readonly tcp = new TcpSegment();
  readonly udp = new UdpDatagram();
  readonly icmp = new IcmpPacket();
  readonly icmp6 = new Icmpv6Packet();
  /** L4 ports (TCP/UDP), 0 otherwise. */
  sport = 0;
  dport = 0;
  /** TCP flags byte, 0 otherwise. */
  tcpFlags = 0;
  /** The destination is one of this unit's self addresses. */
  toSelf = false;
  /** The destination is a floating address. */
  toFloating = false;
  /** The frame came to the virtual MAC, not to this unit's own (`split.ts` bounces only those). */
  viaVirtual = false;
  /**
   * The first fragment (offset 0, MF set) of a TCP or UDP datagram: its L4 header is whole but
   * its L4 checksum covers bytes that are not here.
   */
  firstFragment = false;
  /**
   * The flow-table lookup of this packet's tuple (`FlowTable.lookup`: flow × 2 + direction, or
   * -1), when a stage before conntrack already made it; -2 when none did.
   */
  ref = -2;
  /** The flow the packet belongs to, or -1; `reply` is its direction. */
  flow = -1;
  reply = false;
  /** The flow was created by this packet. */
  created = false;
  /** Interface the packet leaves by (set by `deliver`). */
  egress = -1;

  /** Points at a new frame and forgets everything learned about the previous one. */
  reset(buf: Uint8Array, off: number, end: number, ingress: number, now: number): void {
    this.buf = buf;
    this.off = off;
    this.end = end;
    this.ingress = ingress;
    this.now = now;
    this.kind = K_NONE;
    this.v6 = false;
    this.proto = 0;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.toSelf = false;
    this.toFloating = false;
    this.viaVirtual = false;
    this.firstFragment = false;
    this.ref = -2;
    this.flow = -1;
    this.reply = false;
    this.created = false;
    this.egress = -1;
  }

  /** Offset of the IP header. */
  get l3(): number {
    return this.off + 14;
  }
  /** End of the IP packet (Ethernet padding excluded). */
  get ipEnd(): number {
    return this.v6 ? this.ip6.packetEnd : this.ip.packetEnd;
  }
  /** Offset of the L4 header (after IPv4 options or IPv6 extension headers). */
  get l4(): number {
    return this.v6 ? this.ip6.payloadOff : this.ip.payloadOff;
  }
  /** The source address: IPv4, or the low word of IPv6 (the rest is in `hi`). */
  get src(): number {
    return this.v6 ? this.ip6.src(3) : this.ip.src;
  }
  /** The destination address: IPv4, or the low word of IPv6. */
  get dst(): number {
    return this.v6 ? this.ip6.dst(3) : this.ip.dst;
  }
  /** TTL or hop limit. */
  get ttl(): number {
    return this.v6 ? this.ip6.hopLimit : this.ip.ttl;
  }
}
