/**
 * Test fixtures for the engine: the lab's addresses as an `EngineConfig`, a
 * recording sink, and frame builders for the packets clients and servers send.
 * @module
 */
import {
  EthernetRepr,
  ETHERTYPE_IPV4,
  Ipv4Repr,
  PROTO_TCP,
  PROTO_UDP,
  TcpRepr,
  UdpRepr,
} from "../wire/mod.ts";
import { parseIpv4, parseMac } from "../wire/addr.ts";
import type { EngineConfig, EngineSink, MirrorRecord } from "./types.ts";

export const ip = (s: string): number => parseIpv4(s)!;
export const mac = (s: string): Uint8Array => parseMac(s)!;

export const CLIENT_MAC = mac("02:00:00:00:00:02");
export const SERVER_MAC = mac("02:00:00:00:00:20");
export const VIP = ip("198.51.100.10");
export const CLIENT = ip("198.51.100.2");
export const GW = ip("203.0.113.1");
export const BACKENDS = [ip("203.0.113.20"), ip("203.0.113.21")];

/** The lab's unit `a` (or `b` with its own self addresses and MACs). */
export function labEngineConfig(
  unit: "a" | "b" = "a",
  overrides: Partial<EngineConfig> = {},
): EngineConfig {
  const n = unit === "a" ? 3 : 4;
  return {
    interfaces: [
      { name: "front", mac: mac(`02:00:00:00:0${n}:01`), ip: ip(`198.51.100.${n}`), prefix: 24 },
      { name: "back", mac: mac(`02:00:00:00:0${n}:02`), ip: ip(`203.0.113.${n}`), prefix: 24 },
    ],
    floating: [{ ip: VIP, prefix: 24, iface: 0 }, { ip: GW, prefix: 24, iface: 1 }],
    services: [
      {
        name: "echo",
        proto: 6,
        vip: VIP,
        port: 7000,
        iface: 0,
        backends: BACKENDS.map((b) => ({ ip: b, port: 7000 })),
        scheduler: "round-robin",
        snatIp: 0,
        randomizeIsn: false,
      },
      {
        name: "echo-udp",
        proto: 17,
        vip: VIP,
        port: 7001,
        iface: 0,
        backends: BACKENDS.map((b) => ({ ip: b, port: 7001 })),
        scheduler: "maglev",
        snatIp: 0,
        randomizeIsn: false,
      },
    ],
    capacity: 1024,
    timeouts: {
      tcpSyn: 30_000,
      tcpEstablished: 7_200_000,
      tcpFin: 120_000,
      tcpTimeWait: 120_000,
      tcpClose: 10_000,
      udp: 30_000,
      udpStream: 180_000,
      icmp: 30_000,
    },
    virtualMacs: [mac("02:74:6e:00:00:01"), mac("02:74:6e:00:00:02")],
    arpQueueLimit: 8,
    ...overrides,
  };
}

export interface Recorded {
  iface: number;
  frame: Uint8Array;
  vnet?: Uint8Array;
}

/** A sink that keeps copies of everything the engine sends. */
export class RecordingSink implements EngineSink {
  emitted: Recorded[] = [];
  mirrored: MirrorRecord[] = [];
  held: { iface: number; frame: Uint8Array; mseq: number }[] = [];
  expired: number[][] = [];
  #mseq = 0;
  emit(iface: number, frame: Uint8Array, vnet?: Uint8Array): void {
    this.emitted.push({
      iface,
      frame: Uint8Array.from(frame),
      vnet: vnet && Uint8Array.from(vnet),
    });
  }
  mirror(rec: MirrorRecord): number {
    const frame = Uint8Array.from(rec.frame);
    this.mirrored.push({ ...rec, nextHop: Uint8Array.from(rec.nextHop), frame });
    return ++this.#mseq;
  }
  hold(iface: number, frame: Uint8Array, mseq: number): void {
    this.held.push({ iface, frame: Uint8Array.from(frame), mseq });
  }
  expire(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): void {
    this.expired.push([proto, srcIp, srcPort, dstIp, dstPort]);
  }
  clear(): void {
    this.emitted = [];
    this.mirrored = [];
    this.held = [];
  }
}

export interface SegmentSpec {
  srcMac?: Uint8Array;
  dstMac: Uint8Array;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  flags?: number;
  seq?: number;
  ack?: number;
  payload?: Uint8Array;
  ttl?: number;
  options?: Uint8Array;
}

/** An Ethernet + IPv4 + TCP frame with valid checksums. */
export function tcpFrame(s: SegmentSpec): Uint8Array {
  const tcp: TcpRepr = {
    srcPort: s.sport,
    dstPort: s.dport,
    seqNumber: s.seq ?? 1000,
    ackNumber: s.ack ?? 0,
    flags: s.flags ?? 0x02,
    window: 64240,
    urgent: 0,
    options: s.options ?? new Uint8Array(0),
    payload: s.payload ?? new Uint8Array(0),
  };
  const l4len = TcpRepr.bufferLen(tcp);
  const buf = new Uint8Array(14 + 20 + l4len);
  EthernetRepr.emit({ dst: s.dstMac, src: s.srcMac ?? CLIENT_MAC, etherType: ETHERTYPE_IPV4 }, buf);
  TcpRepr.emit(tcp, buf.subarray(34), s.src, s.dst);
  Ipv4Repr.emit({
    src: s.src,
    dst: s.dst,
    protocol: PROTO_TCP,
    payloadLength: l4len,
    ttl: s.ttl ?? 64,
    dscpEcn: 0,
    ident: 1,
    dontFragment: true,
  }, buf.subarray(14));
  return buf;
}

/** An Ethernet + IPv4 + UDP frame with valid checksums. */
export function udpFrame(s: Omit<SegmentSpec, "flags" | "seq" | "ack">): Uint8Array {
  const payload = s.payload ?? new Uint8Array([1, 2, 3]);
  const buf = new Uint8Array(14 + 20 + 8 + payload.length);
  EthernetRepr.emit({ dst: s.dstMac, src: s.srcMac ?? CLIENT_MAC, etherType: ETHERTYPE_IPV4 }, buf);
  UdpRepr.emit({ srcPort: s.sport, dstPort: s.dport, payload }, buf.subarray(34), s.src, s.dst);
  Ipv4Repr.emit({
    src: s.src,
    dst: s.dst,
    protocol: PROTO_UDP,
    payloadLength: 8 + payload.length,
    ttl: s.ttl ?? 64,
    dscpEcn: 0,
    ident: 1,
    dontFragment: false,
  }, buf.subarray(14));
  return buf;
}
