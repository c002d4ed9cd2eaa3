/**
 * Test fixtures for the engine: the lab's addresses as an `EngineConfig`, an output port that
 * records, a relay that feeds one engine's mirror records to another through the real
 * peer-link codec, and builders for the frames clients and servers send.
 * @module
 */
import {
  buildTcpData6,
  buildTcpSyn6,
  EthernetRepr,
  ETHERTYPE_IPV4,
  IcmpPacket,
  IcmpRepr,
  Ipv4Packet,
  Ipv4Repr,
  PROTO_TCP,
  PROTO_UDP,
  TCP_SYN,
  TcpRepr,
  TcpSegment,
  UdpDatagram,
  UdpRepr,
} from "../wire/mod.ts";
import { parseIpv4, parseIpv6, parseMac } from "../wire/addr.ts";
import type { EngineConfig } from "./config.ts";
import { type EngineOutput, MF_NO_FLOW, MF_RELAY, type MirrorOut } from "./output.ts";
import { Engine } from "./engine.ts";
import type { FlowEntry } from "../flow/fields.ts";
import type { FlowTable } from "../flow/table.ts";
import {
  decodeRecord,
  encodeRecord,
  type MirrorRecordIn,
  type PeerRecordOut,
  recordSize,
  RecordSlots,
  wireBuf,
} from "../peer/records.ts";
import { xorshift32 } from "../util/prng.ts";

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
  vnet: Uint8Array | null;
  /** How many mirror records had been flushed to the peer when this frame was emitted. */
  flushed: number;
}

/** A mirror record as the unit would put it on the peer link, with what it said. */
export interface RecordedMirror {
  mseq: number;
  flags: number;
  egress: number;
  /** The flow's fields when the record was made (undefined for `MF_NO_FLOW`). */
  flow: FlowEntry | undefined;
  frame: Uint8Array;
  /** The record's wire bytes (type, len, body), for feeding a peer engine. */
  wire: Uint8Array;
}

/**
 * An output port that keeps copies of everything the engine sends, and encodes each mirror
 * record with the real peer-link codec so a test can hand it to another engine.
 */
export class RecordingOutput implements EngineOutput {
  emitted: Recorded[] = [];
  mirrored: RecordedMirror[] = [];
  held: { iface: number; frame: Uint8Array; mseq: number }[] = [];
  expired: FlowEntry[] = [];
  #mseq = 0;
  #flushed = 0;

  emit(iface: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array | null): void {
    this.emitted.push({
      iface,
      frame: buf.slice(off, end),
      vnet: vnet && vnet.slice(),
      flushed: this.#flushed,
    });
  }
  flush(): void {
    this.#flushed = this.#mseq;
  }
  mirror(rec: MirrorOut): number {
    const mseq = ++this.#mseq;
    const out: PeerRecordOut = { type: "mirror", mseq, rec };
    const wire = new Uint8Array(recordSize(out));
    encodeRecord(wireBuf(wire), 0, out);
    this.mirrored.push({
      mseq,
      flags: rec.flags,
      egress: rec.egress,
      flow: rec.flow >= 0 ? rec.flows.entry(rec.flow) : undefined,
      frame: rec.frame.slice(rec.frameOff, rec.frameEnd),
      wire,
    });
    return mseq;
  }
  hold(
    iface: number,
    buf: Uint8Array,
    off: number,
    end: number,
    _v: Uint8Array,
    mseq: number,
  ): void {
    this.held.push({ iface, frame: buf.slice(off, end), mseq });
  }
  expire(flows: FlowTable, flow: number): void {
    this.expired.push(flows.entry(flow));
  }
  relayed: { ingress: number; frame: Uint8Array; wire: Uint8Array }[] = [];
  relay(ingress: number, buf: Uint8Array, off: number, end: number, vnet: Uint8Array): void {
    // Encoded as the unit does: a MIRROR without a flow, flagged MF_RELAY.
    const rec: MirrorOut = {
      flags: MF_RELAY | MF_NO_FLOW,
      time: 0,
      ingress,
      egress: ingress,
      nextHop: new Uint8Array(6),
      flows: undefined as unknown as FlowTable,
      flow: -1,
      frame: buf,
      frameOff: off,
      frameEnd: end,
      vnet,
    };
    const out: PeerRecordOut = { type: "mirror", mseq: 0, rec };
    const wire = new Uint8Array(recordSize(out));
    encodeRecord(wireBuf(wire), 0, out);
    this.relayed.push({ ingress, frame: buf.slice(off, end), wire });
  }
  clear(): void {
    this.relayed = [];
    this.emitted = [];
    this.mirrored = [];
    this.held = [];
    this.expired = [];
  }
}

const slots = new RecordSlots();

/** Decodes a recorded mirror record as the peer's link would (the result is reused per call). */
export function mirrorIn(m: { wire: Uint8Array }): MirrorRecordIn {
  const wire = m.wire.slice();
  const rec = decodeRecord(wire[0]!, wireBuf(wire), 3, wire.length - 3, slots);
  if (rec?.type !== "mirror") throw new Error("not a mirror record");
  return rec;
}

/** Hands every mirror record `from` recorded to `to`, in order; returns the verdicts. */
export function relay(from: RecordingOutput, to: Engine): number[] {
  const verdicts = from.mirrored.map((m) => to.applyMirror(mirrorIn(m)));
  from.mirrored = [];
  return verdicts;
}

/** A seeded u32 source for engines under test. */
export function seeded(seed = 1): () => number {
  return xorshift32(seed);
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

/** An engine on the lab's unit `a` (or `b`) with a recording output and a seeded rng. */
export function engineUnderTest(
  unit: "a" | "b" = "a",
  overrides: Partial<EngineConfig> = {},
  seed = 1,
): { cfg: EngineConfig; out: RecordingOutput; engine: Engine } {
  const cfg = labEngineConfig(unit, overrides);
  const out = new RecordingOutput();
  return { cfg, out, engine: new Engine(cfg, out, seeded(seed)) };
}

/**
 * Two engines of a pair: `a` the receiver (and forwarder, or not), `b` the peer applying a's
 * records (the forwarder when `a` is not).
 */
export function enginePair(aForwards: boolean): {
  a: ReturnType<typeof engineUnderTest>;
  b: ReturnType<typeof engineUnderTest>;
} {
  const a = engineUnderTest("a", {}, 1), b = engineUnderTest("b", {}, 2);
  learnNeighbors(a.engine);
  Object.assign(a.engine.roles, { receiver: true, forwarder: aForwards, mirror: true });
  Object.assign(b.engine.roles, { receiver: false, forwarder: !aForwards, mirror: true });
  return { a, b };
}

/** Teaches the engine where the client and both servers are. */
export function learnNeighbors(e: Engine): void {
  e.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0, 0);
  for (const b of BACKENDS) e.neighbors[1]!.learn(b, SERVER_MAC, 0, 0);
}

/** Hands a whole frame to the engine. */
export function feed(e: Engine, frame: Uint8Array, ingress: number, now: number): number {
  return e.handle(frame, 0, frame.length, ingress, now);
}

/** Checked views of an emitted Ethernet + IPv4 frame. */
export function parseOut(frame: Uint8Array): {
  ip: Ipv4Packet;
  tcp: TcpSegment | undefined;
  udp: UdpDatagram | undefined;
  icmp: IcmpPacket | undefined;
} {
  const ip = Ipv4Packet.checked(frame.subarray(14));
  if (!ip) throw new Error("not an IPv4 frame");
  const l4 = ip.payload;
  return {
    ip,
    tcp: ip.protocol === PROTO_TCP ? TcpSegment.checked(l4) : undefined,
    udp: ip.protocol === PROTO_UDP ? UdpDatagram.checked(l4) : undefined,
    icmp: ip.protocol === 1 ? IcmpPacket.checked(l4) : undefined,
  };
}

/** The client's SYN to the VIP's TCP echo service. */
export function clientSyn(cfg: EngineConfig, sport = 40000, seq = 1000): Uint8Array {
  return tcpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport, dport: 7000, seq });
}

/** A segment from backend `backend` to the client (reply direction, pure DNAT). */
export function serverSegment(
  cfg: EngineConfig,
  backend: number,
  sport: number,
  s: Partial<SegmentSpec> = {},
): Uint8Array {
  return tcpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: backend,
    dst: CLIENT,
    sport: 7000,
    dport: sport,
    flags: 0x10,
    ...s,
  });
}

/** A segment from the client to the VIP (original direction). */
export function clientSegment(
  cfg: EngineConfig,
  sport: number,
  s: Partial<SegmentSpec> = {},
): Uint8Array {
  return tcpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport,
    dport: 7000,
    flags: 0x10,
    ...s,
  });
}

/** An ICMP echo request frame from the client to `dst` at `dstMac`. */
export function pingFrame(dstMac: Uint8Array, dst: number, ttl = 64): Uint8Array {
  const b = new Uint8Array(14 + 20 + 8 + 4);
  EthernetRepr.emit({ dst: dstMac, src: CLIENT_MAC, etherType: ETHERTYPE_IPV4 }, b);
  IcmpRepr.emit(
    { type: 8, code: 0, rest: 0x12340001, payload: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) },
    b.subarray(34),
  );
  Ipv4Repr.emit({
    src: CLIENT,
    dst,
    protocol: 1,
    payloadLength: 12,
    ttl,
    dscpEcn: 0,
    ident: 7,
    dontFragment: false,
  }, b.subarray(14));
  return b;
}

/** TCP options NOP, NOP, timestamps (`val`, `ecr`), as Linux sends them (RFC 7323 Appendix A). */
export function tsOpt(val: number, ecr: number): Uint8Array {
  const o = new Uint8Array(12);
  o[0] = 1;
  o[1] = 1;
  o[2] = 8;
  o[3] = 10;
  new DataView(o.buffer).setUint32(4, val);
  new DataView(o.buffer).setUint32(8, ecr);
  return o;
}

/**
 * Cuts the Ethernet + IPv4 frame `frame` into IPv4 fragments (RFC 791 §3.2) of at most
 * `chunk` payload bytes each (a multiple of 8), with identification `ident`: each gets a copy
 * of the header with its offset, MF and length, and a fresh header checksum.
 */
export function fragmentFrame(frame: Uint8Array, chunk: number, ident = 0x4242): Uint8Array[] {
  const ip = Ipv4Packet.checked(frame.subarray(14));
  if (!ip || chunk % 8 !== 0 || chunk <= 0) throw new Error("bad frame or chunk");
  const hl = ip.headerLen, payload = ip.payload;
  const out: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += chunk) {
    const n = Math.min(chunk, payload.length - at);
    const f = new Uint8Array(14 + hl + n);
    f.set(frame.subarray(0, 14 + hl));
    f.set(payload.subarray(at, at + n), 14 + hl);
    const v = new Ipv4Packet(f, 14);
    v.totalLength = hl + n;
    const more = at + n < payload.length;
    f[14 + 4] = ident >> 8;
    f[14 + 5] = ident & 0xff;
    // Flags and offset: DF clear, MF unless last, offset in 8-byte units.
    const fo = (more ? 0x2000 : 0) | (at / 8);
    f[14 + 6] = fo >> 8;
    f[14 + 7] = fo & 0xff;
    v.fillChecksum();
    out.push(f);
  }
  return out;
}

// IPv6: the lab's IPv6 half (DESIGN.md "The lab"), and the frames its hosts send.

export const a6 = (s: string): Uint32Array => parseIpv6(s)!;
export const CLIENT6 = a6("2001:db8:100::2");
export const VIP6 = a6("2001:db8:100::10");
export const GW6 = a6("2001:db8:113::1");
export const BACKENDS6: Uint32Array[] = [a6("2001:db8:113::20"), a6("2001:db8:113::21")];
export const FRONT_SELF: Record<"a" | "b", Uint32Array> = {
  a: a6("2001:db8:100::3"),
  b: a6("2001:db8:100::4"),
};
export const BACK_SELF: Record<"a" | "b", Uint32Array> = {
  a: a6("2001:db8:113::3"),
  b: a6("2001:db8:113::4"),
};

/** The lab's config with its IPv6 half: selves, floating addresses and an `echo6` service. */
export function config6(unit: "a" | "b" = "a", over: Partial<EngineConfig> = {}): EngineConfig {
  const base = labEngineConfig(unit);
  base.interfaces[0]!.ip6 = FRONT_SELF[unit];
  base.interfaces[0]!.prefix6 = 64;
  base.interfaces[1]!.ip6 = BACK_SELF[unit];
  base.interfaces[1]!.prefix6 = 64;
  base.floating.push({ ip: VIP6[3]!, prefix: 64, iface: 0, ip6: VIP6 });
  base.floating.push({ ip: GW6[3]!, prefix: 64, iface: 1, ip6: GW6 });
  base.services.push({
    name: "echo6",
    proto: 6,
    vip: VIP6[3]!,
    vip6: VIP6,
    port: 7000,
    iface: 0,
    backends: BACKENDS6.map((b) => ({ ip: b[3]!, ip6: b, port: 7000 })),
    scheduler: "round-robin",
    snatIp: 0,
    randomizeIsn: true,
  });
  base.services.push({
    name: "udp6",
    proto: 17,
    vip: VIP6[3]!,
    vip6: VIP6,
    port: 7001,
    iface: 0,
    backends: BACKENDS6.map((b) => ({ ip: b[3]!, ip6: b, port: 7001 })),
    scheduler: "maglev",
    snatIp: 0,
    randomizeIsn: false,
  });
  return { ...base, ...over };
}

export function engine6(
  unit: "a" | "b" = "a",
  over: Partial<EngineConfig> = {},
  seed = 1,
): { cfg: EngineConfig; out: RecordingOutput; engine: Engine } {
  const cfg = config6(unit, over);
  const out = new RecordingOutput();
  const engine = new Engine(cfg, out, seeded(seed));
  return { cfg, out, engine };
}

/** Teaches the engine where the IPv6 client and servers are. */
export function learn6(e: Engine): void {
  e.neighbors[0]!.learn(CLIENT6[3]!, CLIENT_MAC, 0, 0, CLIENT6, 0);
  for (const b of BACKENDS6) e.neighbors[1]!.learn(b[3]!, SERVER_MAC, 0, 0, b, 0);
}

export function syn6(cfg: EngineConfig, sport = 40000, seq = 1000): Uint8Array {
  const buf = new Uint8Array(200);
  const n = buildTcpSyn6(
    buf,
    cfg.virtualMacs[0]!,
    CLIENT_MAC,
    CLIENT6,
    VIP6,
    sport,
    7000,
    seq,
    0,
    TCP_SYN,
    64800,
    1440,
    7,
    true,
  );
  return buf.slice(0, n);
}

export function data6(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: Uint32Array,
  dst: Uint32Array,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload = new Uint8Array(0),
): Uint8Array {
  const buf = new Uint8Array(2000);
  const n = buildTcpData6(
    buf,
    dstMac,
    srcMac,
    src,
    dst,
    sport,
    dport,
    seq,
    ack,
    flags,
    64000,
    payload,
  );
  return buf.slice(0, n);
}
