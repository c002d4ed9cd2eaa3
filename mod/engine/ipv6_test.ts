/**
 * IPv6 through the engine (RFC 8200, RFC 4861, RFC 4443): neighbour discovery for self and
 * floating addresses, DNAT of an IPv6 service both ways, the pair's mirror records, ICMPv6
 * echo, errors and Packet Too Big, fragments, hop limits and takeover announcements.
 * @module
 */
import assert from "node:assert/strict";
import {
  buildNeighborAdvert,
  buildNeighborSolicit,
  ETHERTYPE_IPV6,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_TIME_EXCEEDED,
  internetChecksum,
  Ipv6Packet,
  NA_OVERRIDE,
  NA_ROUTER,
  NA_SOLICITED,
  NDP_NEIGHBOR_ADVERT,
  NDP_NEIGHBOR_SOLICIT,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  readU16,
  readU32,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  writeIpv6Header,
  writeU16,
} from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { Engine } from "./engine.ts";
import { V_DROP, V_FORWARD, V_MIRROR, V_QUEUED, V_REPLY } from "./output.ts";
import {
  a6,
  BACK_SELF,
  BACKENDS6,
  CLIENT6,
  CLIENT_MAC,
  config6,
  data6,
  engine6,
  feed,
  FRONT_SELF,
  GW6,
  labEngineConfig,
  learn6,
  RecordingOutput,
  relay,
  seeded,
  SERVER_MAC,
  syn6,
  VIP6,
} from "./testing.ts";

/** Ethernet + IPv6 + UDP with a valid checksum. */
function udp6(
  dstMac: Uint8Array,
  src: Uint32Array,
  dst: Uint32Array,
  sport: number,
  dport: number,
  payload: Uint8Array,
  hopLimit = 64,
): Uint8Array {
  const len = 8 + payload.length;
  const buf = new Uint8Array(14 + 40 + len);
  buf.set(dstMac, 0);
  buf.set(CLIENT_MAC, 6);
  writeU16(buf, 12, ETHERTYPE_IPV6);
  writeIpv6Header(buf, 14, len, PROTO_UDP, hopLimit, src, dst);
  writeU16(buf, 54, sport);
  writeU16(buf, 56, dport);
  writeU16(buf, 58, len);
  buf.set(payload, 62);
  writeU16(buf, 60, l4Checksum(buf, 54, buf.length, PROTO_UDP) || 0xffff);
  return buf;
}

/** The RFC 8200 §8.1 checksum of `buf[at, end)` under the frame's own IPv6 pseudo-header. */
function l4Checksum(buf: Uint8Array, at: number, end: number, proto: number): number {
  const ip = new Ipv6Packet();
  assert.ok(ip.checkHeader(buf, 14, buf.length));
  return internetChecksum(buf, at, end, ip.pseudoSum(end - at, proto));
}

/** An emitted IPv6 frame, checked, with its addresses as text. */
function parse6(frame: Uint8Array) {
  assert.equal(readU16(frame, 12), ETHERTYPE_IPV6, "an IPv6 frame");
  const ip = Ipv6Packet.checked(frame.subarray(14));
  assert.ok(ip, "a valid IPv6 packet");
  const words = (f: (i: number) => number) => Uint32Array.from([0, 1, 2, 3].map(f));
  // A whole upper-layer checksum over the emitted bytes must verify: an independent recompute.
  const l4 = 14 + ip.payloadOff;
  assert.equal(
    internetChecksum(
      frame,
      l4,
      14 + ip.packetEnd,
      ip.pseudoSum(ip.packetEnd - ip.payloadOff, ip.protocol),
    ),
    0,
    "upper-layer checksum",
  );
  return {
    ip,
    src: words((i) => ip.src(i)),
    dst: words((i) => ip.dst(i)),
    l4,
    proto: ip.protocol,
    hop: ip.hopLimit,
  };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>, msg?: string) =>
  assert.deepEqual(Array.from(a), Array.from(b), msg);

Deno.test("ipv6: a neighbour solicitation for the VIP is answered from the virtual MAC, only by the receiver", () => {
  const { cfg, out, engine } = engine6();
  engine.roles.mirror = true; // in a pair (a solo unit also re-announces, as for ARP)
  const ns = new Uint8Array(100);
  const n = buildNeighborSolicit(ns, CLIENT_MAC, CLIENT6, VIP6);
  assert.equal(feed(engine, ns.slice(0, n), 0, 1), V_REPLY);
  assert.equal(out.emitted.length, 1);
  const na = out.emitted[0]!.frame;
  same(na.subarray(0, 6), CLIENT_MAC);
  same(na.subarray(6, 12), cfg.virtualMacs[0]!);
  const p = parse6(na);
  assert.equal(p.hop, 255, "RFC 4861 §7.1.2");
  assert.equal(na[p.l4], NDP_NEIGHBOR_ADVERT);
  assert.equal(na[p.l4 + 4]! & 0xe0, NA_ROUTER | NA_SOLICITED | NA_OVERRIDE);
  same([0, 1, 2, 3].map((i) => readU32(na, p.l4 + 8 + i * 4)), VIP6);
  same(p.dst, CLIENT6);
  // The solicitation taught the engine where the client is.
  assert.ok(engine.neighbors[0]!.lookup(CLIENT6[3]!, CLIENT6, 0));
  assert.equal(engine.counters.get(EV.ndp_advertisements), 1);

  // A standby does not speak for the VIP, but answers for its own self address.
  const b = engine6("b");
  b.engine.roles.receiver = false;
  assert.equal(feed(b.engine, ns.slice(0, n), 0, 1), V_DROP);
  assert.equal(b.out.emitted.length, 0);
  const n2 = buildNeighborSolicit(ns, CLIENT_MAC, CLIENT6, FRONT_SELF.b);
  assert.equal(feed(b.engine, ns.slice(0, n2), 0, 2), V_REPLY);
  same(b.out.emitted[0]!.frame.subarray(6, 12), b.cfg.interfaces[0]!.mac);

  // Solo (no peer: perhaps a split), a claim on one segment is made on all (see arp.ts).
  const solo = engine6();
  buildNeighborSolicit(ns, CLIENT_MAC, CLIENT6, VIP6);
  assert.equal(feed(solo.engine, ns.slice(0, n), 0, 1), V_REPLY);
  assert.equal(solo.out.emitted.length, 1 + 4);
  assert.equal(solo.engine.counters.get(EV.unsolicited_na_sent), 2);
});

Deno.test("ipv6: solicitations that fail RFC 4861 §7.1 are counted, not answered", () => {
  const { out, engine } = engine6();
  const ns = new Uint8Array(100);
  const n = buildNeighborSolicit(ns, CLIENT_MAC, CLIENT6, VIP6);
  const bad = ns.slice(0, n);
  bad[14 + 7] = 64; // hop limit not 255: from off-link
  assert.equal(feed(engine, bad, 0, 1), V_DROP);
  const bad2 = ns.slice(0, n);
  bad2[14 + 40 + 1] = 1; // code 1
  // (the checksum now fails too; either way the message is refused)
  assert.equal(feed(engine, bad2, 0, 1), V_DROP);
  assert.equal(out.emitted.length, 0);
  assert.equal(engine.counters.get(DROP.bad_ndp) + engine.counters.get(DROP.bad_icmp), 2);
});

Deno.test("ipv6: a SYN to the IPv6 VIP is DNATed to an IPv6 backend, and the SYN-ACK back", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  assert.equal(feed(engine, syn6(cfg), 0, 10), V_FORWARD);
  assert.equal(out.emitted.length, 1);
  const fw = out.emitted[0]!;
  assert.equal(fw.iface, 1);
  const p = parse6(fw.frame);
  same(p.src, CLIENT6);
  same(p.dst, BACKENDS6[0]!);
  assert.equal(p.hop, 63, "hop limit decremented (RFC 8200 §3)");
  assert.equal(readU16(fw.frame, p.l4 + 2), 7000);
  const seq = readU32(fw.frame, p.l4 + 4);
  assert.notEqual(seq, 1000, "the ISN offset applies to IPv6 flows too (claims 23, 24)");
  assert.equal(engine.flows.count, 1);
  const f = [...engine.flows.ids()][0]!;
  assert.equal(engine.flows.isV6(f), true);

  // The server answers from its address to the client.
  const synAck = data6(
    cfg.interfaces[1]!.mac,
    SERVER_MAC,
    BACKENDS6[0]!,
    CLIENT6,
    7000,
    40000,
    5000,
    (seq + 1) >>> 0,
    TCP_SYN | TCP_ACK,
  );
  assert.equal(feed(engine, synAck, 1, 11), V_FORWARD);
  const back = parse6(out.emitted[1]!.frame);
  same(back.src, VIP6);
  same(back.dst, CLIENT6);
  assert.equal(readU32(out.emitted[1]!.frame, back.l4 + 8), 1001, "ack back in the client's space");
  same(out.emitted[1]!.frame.subarray(0, 6), CLIENT_MAC);
  same(out.emitted[1]!.frame.subarray(6, 12), cfg.interfaces[0]!.mac);
});

Deno.test("ipv6: flows whose addresses differ only in high words stay apart; an IPv4 lookup of the low words finds neither", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  assert.equal(feed(engine, syn6(cfg, 40000), 0, 1), V_FORWARD);
  const hiLess = syn6(cfg, 40000);
  // Same low words, other high words: a different client.
  hiLess[14 + 8 + 4] = hiLess[14 + 8 + 4]! ^ 1;
  // Fix the TCP checksum for the changed source.
  writeU16(hiLess, 14 + 40 + 16, 0);
  writeU16(hiLess, 14 + 40 + 16, l4Checksum(hiLess, 54, hiLess.length, PROTO_TCP));
  out.clear();
  assert.equal(feed(engine, hiLess, 0, 2), V_FORWARD, "a new flow, not the first one's");
  assert.equal(engine.flows.count, 2);
  const [f0, f1] = [...engine.flows.ids()];
  const c = engine.flows.c;
  assert.equal(c.oSrc[f0!], c.oSrc[f1!], "same low word");
  assert.notEqual(c.oSrcHi1[f0!], c.oSrcHi1[f1!]);
  // An IPv4 packet with those low words finds neither (and no IPv4 service there).
  assert.equal(engine.flows.lookup(6, c.oSrc[f0!]!, 40000, c.oDst[f0!]!, 7000), -1);
});

Deno.test("ipv6: an unresolved backend is solicited from the back self address; the advert releases the SYN", () => {
  const { cfg, out, engine } = engine6();
  engine.neighbors[0]!.learn(CLIENT6[3]!, CLIENT_MAC, 0, 0, CLIENT6, 0);
  assert.equal(feed(engine, syn6(cfg), 0, 1), V_QUEUED);
  assert.equal(out.emitted.length, 1);
  const ns = out.emitted[0]!.frame;
  same(ns.subarray(0, 6), [0x33, 0x33, 0xff, 0x00, 0x00, 0x20]);
  const p = parse6(ns);
  same(p.src, BACK_SELF.a);
  same(p.dst, a6("ff02::1:ff00:20"), "the target's solicited-node address");
  assert.equal(ns[p.l4], NDP_NEIGHBOR_SOLICIT);
  same([0, 1, 2, 3].map((k) => readU32(ns, p.l4 + 8 + k * 4)), BACKENDS6[0]!, "the target");
  assert.equal(engine.counters.get(EV.ndp_solicitations), 1);
  // The backend answers; the SYN leaves.
  const na = new Uint8Array(100);
  const n = buildNeighborAdvert(
    na,
    SERVER_MAC,
    cfg.interfaces[1]!.mac,
    BACKENDS6[0]!,
    BACK_SELF.a,
    BACKENDS6[0]!,
    NA_SOLICITED | NA_OVERRIDE,
  );
  out.clear();
  assert.equal(feed(engine, na.slice(0, n), 1, 2), V_REPLY);
  assert.equal(out.emitted.length, 1);
  same(out.emitted[0]!.frame.subarray(0, 6), SERVER_MAC);
  same(parse6(out.emitted[0]!.frame).dst, BACKENDS6[0]!);
  // Unanswered solicitations are retried, then the queue is dropped and counted.
  const e2 = engine6();
  e2.engine.neighbors[0]!.learn(CLIENT6[3]!, CLIENT_MAC, 0, 0, CLIENT6, 0);
  feed(e2.engine, syn6(e2.cfg), 0, 0);
  for (let t = 0; t <= 2000; t += 100) e2.engine.tick(t);
  assert.equal(e2.engine.counters.get(EV.ndp_solicitations), 3);
  assert.equal(e2.engine.counters.get(DROP.arp_unresolved), 1);
});

Deno.test("ipv6: the peer applies the mirror record: same flow, same digest, and emits when told", () => {
  const a = engine6("a", {}, 1), b = engine6("b", {}, 2);
  learn6(a.engine);
  Object.assign(a.engine.roles, { receiver: true, forwarder: false, mirror: true });
  Object.assign(b.engine.roles, { receiver: false, forwarder: true, mirror: true });
  assert.equal(feed(a.engine, syn6(a.cfg), 0, 1), V_MIRROR);
  assert.equal(a.out.emitted.length, 0, "the receiver that is not the forwarder emits nothing");
  b.engine.neighbors[0]!.learn(CLIENT6[3]!, CLIENT_MAC, 0, 0, CLIENT6, 0);
  assert.deepEqual(relay(a.out, b.engine), [V_FORWARD]);
  assert.equal(b.engine.flows.count, 1);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
  const p = parse6(b.out.emitted[0]!.frame);
  same(p.dst, BACKENDS6[0]!);
  // The next hop was learned from the record.
  assert.ok(b.engine.neighbors[1]!.lookup(BACKENDS6[0]![3]!, BACKENDS6[0]!, 0));
  // Expiry by the original tuple, high words included.
  const f = [...a.engine.flows.ids()][0]!, c = a.engine.flows.c;
  const t = {
    proto: 6,
    srcIp: c.oSrc[f]!,
    srcPort: c.oSport[f]!,
    dstIp: c.oDst[f]!,
    dstPort: c.oDport[f]!,
    srcHi0: c.oSrcHi0[f]!,
    srcHi1: c.oSrcHi1[f]!,
    srcHi2: c.oSrcHi2[f]!,
    dstHi0: c.oDstHi0[f]!,
    dstHi1: c.oDstHi1[f]!,
    dstHi2: c.oDstHi2[f]!,
  };
  assert.equal(b.engine.applyExpire({ ...t, srcHi0: 0 }), false, "the IPv4 tuple of those words");
  assert.equal(b.engine.applyExpire(t), true);
  assert.equal(b.engine.flows.count, 0);
});

Deno.test("ipv6: ICMPv6 echo to the VIP and to a self address is answered", () => {
  const { cfg, out, engine } = engine6();
  for (
    const [dst, dstMac] of [[VIP6, cfg.virtualMacs[0]!], [
      FRONT_SELF.a,
      cfg.interfaces[0]!.mac,
    ]] as const
  ) {
    const len = 8 + 4;
    const buf = new Uint8Array(14 + 40 + len);
    buf.set(dstMac, 0);
    buf.set(CLIENT_MAC, 6);
    writeU16(buf, 12, ETHERTYPE_IPV6);
    writeIpv6Header(buf, 14, len, PROTO_ICMPV6, 64, CLIENT6, dst);
    buf[54] = 128;
    writeU16(buf, 58, 0x1234);
    writeU16(buf, 60, 7);
    buf.set([1, 2, 3, 4], 62);
    writeU16(buf, 56, l4Checksum(buf, 54, buf.length, PROTO_ICMPV6));
    out.clear();
    assert.equal(feed(engine, buf, 0, 1), V_REPLY);
    const r = parse6(out.emitted[0]!.frame);
    assert.equal(out.emitted[0]!.frame[r.l4], ICMPV6_ECHO_REPLY);
    same(r.src, dst);
    same(r.dst, CLIENT6);
    same(out.emitted[0]!.frame.subarray(6, 12), dstMac);
  }
  assert.equal(engine.counters.get(EV.icmp_echo_replies), 2);
});

Deno.test("ipv6: refusals — TCP RST and ICMPv6 port unreachable for nothing served", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  const rst = data6(cfg.virtualMacs[0]!, CLIENT_MAC, CLIENT6, VIP6, 40001, 9999, 1, 0, TCP_SYN);
  assert.equal(feed(engine, rst, 0, 1), V_DROP);
  const r = parse6(out.emitted[0]!.frame);
  assert.equal(r.proto, PROTO_TCP);
  assert.equal(out.emitted[0]!.frame[r.l4 + 13]! & TCP_RST, TCP_RST);
  same(r.src, VIP6);
  out.clear();
  const u = udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 9999, new Uint8Array([1]));
  assert.equal(feed(engine, u, 0, 2), V_DROP);
  const e = parse6(out.emitted[0]!.frame);
  assert.equal(out.emitted[0]!.frame[e.l4], ICMPV6_DEST_UNREACHABLE);
  assert.equal(out.emitted[0]!.frame[e.l4 + 1], 4, "port unreachable");
  assert.equal(engine.counters.get(DROP.no_service), 2);
});

Deno.test("ipv6: a zero UDP checksum is invalid in IPv6 and dropped (RFC 8200 §8.1)", () => {
  const { cfg, engine } = engine6();
  learn6(engine);
  const u = udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, new Uint8Array([1, 2]));
  writeU16(u, 60, 0);
  assert.equal(feed(engine, u, 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.bad_udp_checksum), 1);
  const good = udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, new Uint8Array([1, 2]));
  assert.equal(feed(engine, good, 0, 2), V_FORWARD);
});

Deno.test("ipv6: hop limit 1 gets time exceeded from the ingress self, and no flow", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  const u = udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, new Uint8Array([9]), 1);
  assert.equal(feed(engine, u, 0, 1), V_DROP);
  const e = parse6(out.emitted[0]!.frame);
  assert.equal(out.emitted[0]!.frame[e.l4], ICMPV6_TIME_EXCEEDED);
  same(e.src, FRONT_SELF.a);
  same(e.dst, CLIENT6);
  assert.equal(engine.flows.count, 0);
});

Deno.test("ipv6: a packet over the egress MTU gets Packet Too Big with that MTU", () => {
  const base = config6();
  base.interfaces[1]!.mtu = 1280;
  const out = new RecordingOutput();
  const engine = new Engine(base, out, seeded(1));
  learn6(engine);
  const u = udp6(base.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, new Uint8Array(1300));
  assert.equal(feed(engine, u, 0, 1), V_DROP);
  const e = parse6(out.emitted[0]!.frame);
  assert.equal(out.emitted[0]!.frame[e.l4], ICMPV6_PACKET_TOO_BIG);
  assert.equal(readU32(out.emitted[0]!.frame, e.l4 + 4), 1280);
  assert.ok(out.emitted[0]!.frame.length - 14 <= 1280, "the error fits the minimum MTU");
  assert.equal(engine.counters.get(DROP.too_big), 1);
  assert.equal(engine.flows.count, 0);
});

Deno.test("ipv6: a backend's ICMPv6 error about a flow reaches the client in its own terms", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  const u = udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, new Uint8Array([1, 2, 3]));
  assert.equal(feed(engine, u, 0, 1), V_FORWARD);
  const sent = out.emitted[0]!.frame;
  const ps = parse6(sent);
  // The backend says Packet Too Big about the datagram it got (quoting it as it arrived).
  const quote = sent.subarray(14);
  const len = 8 + quote.length;
  const err = new Uint8Array(14 + 40 + len);
  err.set(cfg.interfaces[1]!.mac, 0);
  err.set(SERVER_MAC, 6);
  writeU16(err, 12, ETHERTYPE_IPV6);
  writeIpv6Header(err, 14, len, PROTO_ICMPV6, 64, ps.dst, ps.src);
  err[54] = ICMPV6_PACKET_TOO_BIG;
  err.set([0, 0, 5, 0], 58);
  err.set(quote, 62);
  writeU16(err, 56, l4Checksum(err, 54, err.length, PROTO_ICMPV6));
  out.clear();
  assert.equal(feed(engine, err, 1, 2), V_FORWARD);
  const r = parse6(out.emitted[0]!.frame);
  same(r.src, VIP6);
  same(r.dst, CLIENT6);
  assert.equal(r.hop, 63, "forwarded: hop limit decremented");
  const f = out.emitted[0]!.frame;
  assert.equal(f[r.l4], ICMPV6_PACKET_TOO_BIG);
  // The quote is now the client's own datagram: client → VIP, its ports.
  const q = Ipv6Packet.checked(f.subarray(r.l4 + 8))!;
  same([0, 1, 2, 3].map((i) => q.src(i)), CLIENT6);
  same([0, 1, 2, 3].map((i) => q.dst(i)), VIP6);
  assert.equal(readU16(f, r.l4 + 8 + 40), 5000);
  assert.equal(readU16(f, r.l4 + 8 + 42), 7001);
});

Deno.test("ipv6: fragments of a tracked UDP flow follow the first fragment's NAT", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  // One datagram of 3000 bytes in three fragments (RFC 8200 §4.5), id 0x1234.
  const payload = new Uint8Array(3000).map((_, i) => i % 251);
  const whole = udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, payload);
  const udp = whole.subarray(54);
  const pieces = [[0, 1200], [1200, 2400], [2400, udp.length]];
  pieces.forEach(([from, to], i) => {
    const chunk = udp.subarray(from, to);
    const len = 8 + chunk.length;
    const fr = new Uint8Array(14 + 40 + len);
    fr.set(whole.subarray(0, 14), 0);
    writeIpv6Header(fr, 14, len, 44, 64, CLIENT6, VIP6);
    fr[54] = PROTO_UDP;
    writeU16(fr, 56, (from! & 0xfff8) | (i < 2 ? 1 : 0));
    fr.set([0, 0, 0x12, 0x34], 58);
    fr.set(chunk, 62);
    assert.equal(feed(engine, fr, 0, i + 1), V_FORWARD, `fragment ${i}`);
  });
  assert.equal(out.emitted.length, 3);
  for (const e of out.emitted) {
    const ip = Ipv6Packet.checked(e.frame.subarray(14))!;
    same([0, 1, 2, 3].map((i) => ip.dst(i)), BACKENDS6[engine.flows.c.backend[0]!]!);
    assert.equal(ip.fragmentId, 0x1234);
  }
  assert.equal(engine.counters.get(EV.fragments_forwarded), 3);
  // A later fragment of an unknown datagram is dropped and counted.
  const stray = out.emitted[1]!.frame.slice();
  stray.set([0, 0, 0x99, 0x99], 14 + 40 + 4);
  stray.set(cfg.virtualMacs[0]!, 0);
  const ip = Ipv6Packet.checked(stray.subarray(14))!;
  for (let i = 0; i < 4; i++) ip.setSrc(i, CLIENT6[i]!), ip.setDst(i, VIP6[i]!);
  assert.equal(feed(engine, stray, 0, 9), V_DROP);
  assert.equal(engine.counters.get(DROP.fragment_no_first), 1);
});

Deno.test("ipv6: a takeover announces the IPv6 floating addresses by unsolicited advertisements", () => {
  const { cfg, out, engine } = engine6();
  assert.equal(engine.announce(), 4, "two gratuitous ARPs and two advertisements");
  const nas = out.emitted.filter((e) => readU16(e.frame, 12) === ETHERTYPE_IPV6);
  assert.equal(nas.length, 2);
  for (const [i, e] of nas.entries()) {
    const p = parse6(e.frame);
    same(e.frame.subarray(0, 6), [0x33, 0x33, 0, 0, 0, 1]);
    same(e.frame.subarray(6, 12), cfg.virtualMacs[e.iface]!);
    same(p.dst, a6("ff02::1"));
    assert.equal(e.frame[p.l4 + 4]! & (NA_SOLICITED | NA_OVERRIDE), NA_OVERRIDE);
    same([0, 1, 2, 3].map((k) => readU32(e.frame, p.l4 + 8 + k * 4)), [VIP6, GW6][i]!);
  }
  assert.equal(engine.counters.get(EV.unsolicited_na_sent), 2);
});

Deno.test("ipv6: probes after a takeover go to both endpoints of an established IPv6 flow", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  feed(engine, syn6(cfg), 0, 1);
  const seq = readU32(out.emitted[0]!.frame, 54 + 4);
  feed(
    engine,
    data6(
      cfg.interfaces[1]!.mac,
      SERVER_MAC,
      BACKENDS6[0]!,
      CLIENT6,
      7000,
      40000,
      5000,
      seq + 1,
      TCP_SYN | TCP_ACK,
    ),
    1,
    2,
  );
  feed(
    engine,
    data6(cfg.virtualMacs[0]!, CLIENT_MAC, CLIENT6, VIP6, 40000, 7000, 1001, 5001, TCP_ACK),
    0,
    3,
  );
  out.clear();
  assert.equal(engine.probe(4), 2);
  const [toClient, toServer] = out.emitted.map((e) => parse6(e.frame));
  same(toClient!.src, VIP6);
  same(toClient!.dst, CLIENT6);
  same(toServer!.src, CLIENT6);
  same(toServer!.dst, BACKENDS6[0]!);
});

Deno.test("ipv6: malformed IPv6 is counted, never thrown", () => {
  const { cfg, engine } = engine6();
  const good = syn6(cfg);
  const cases: [string, (f: Uint8Array) => Uint8Array][] = [
    ["truncated header", (f) => f.slice(0, 30)],
    ["payload length past the frame", (f) => (writeU16(f, 18, 2000), f)],
    ["version 4 in an IPv6 frame", (f) => (f[14] = 0x45, f)],
    ["extension header past the end", (f) => (f[20] = 0, f.slice(0, 56))],
  ];
  for (const [name, mutate] of cases) {
    assert.equal(feed(engine, mutate(good.slice()), 0, 1), V_DROP, name);
  }
  assert.equal(engine.counters.get(DROP.bad_ipv6_header), cases.length);
});

Deno.test("ipv6: the SYN proxy answers an IPv6 SYN with a cookie, replays the handshake and translates the offset", () => {
  const base = config6();
  base.services = base.services.map((s) => s.name === "echo6" ? { ...s, synProxy: "on" } : s);
  const out = new RecordingOutput();
  const engine = new Engine(base, out, seeded(1));
  learn6(engine);
  // 1. The SYN: a cookie SYN-ACK from the VIP, no flow.
  assert.equal(feed(engine, syn6(base, 40000, 1000), 0, 5), V_REPLY);
  assert.equal(engine.flows.count, 0);
  const sa = out.emitted[0]!.frame, psa = parse6(sa);
  same(psa.src, VIP6);
  same(psa.dst, CLIENT6);
  assert.equal(sa[psa.l4 + 13]! & (TCP_SYN | TCP_ACK), TCP_SYN | TCP_ACK);
  assert.equal(readU32(sa, psa.l4 + 8), 1001);
  const cookie = readU32(sa, psa.l4 + 4);
  // A client whose address differs only in its high words cannot use that cookie.
  const other = Uint32Array.from(CLIENT6);
  other[1] = other[1]! ^ 0x10000;
  const forged = data6(
    base.virtualMacs[0]!,
    CLIENT_MAC,
    other,
    VIP6,
    40000,
    7000,
    1001,
    cookie + 1,
    TCP_ACK,
  );
  out.clear();
  assert.equal(feed(engine, forged, 0, 6), V_DROP);
  assert.equal(engine.counters.get(DROP.syncookie_invalid), 1);
  // 2. The client's ACK with the cookie: a pending flow, and a SYN to the backend.
  const ack = data6(
    base.virtualMacs[0]!,
    CLIENT_MAC,
    CLIENT6,
    VIP6,
    40000,
    7000,
    1001,
    cookie + 1,
    TCP_ACK,
  );
  assert.equal(feed(engine, ack, 0, 7), V_FORWARD);
  assert.equal(engine.flows.count, 1);
  const bsyn = parse6(out.emitted[0]!.frame);
  same(bsyn.src, CLIENT6);
  same(bsyn.dst, BACKENDS6[0]!);
  assert.equal(out.emitted[0]!.frame[bsyn.l4 + 13], TCP_SYN);
  assert.equal(readU32(out.emitted[0]!.frame, bsyn.l4 + 4), 1000, "the client's ISN");
  // 3. The backend's SYN-ACK: the proxy ACKs it; from then on its sequence space is shifted.
  out.clear();
  const b = 7_000_000;
  const bsa = data6(
    base.interfaces[1]!.mac,
    SERVER_MAC,
    BACKENDS6[0]!,
    CLIENT6,
    7000,
    40000,
    b,
    1001,
    TCP_SYN | TCP_ACK,
  );
  feed(engine, bsa, 1, 8);
  const a = parse6(out.emitted[0]!.frame);
  same(a.dst, BACKENDS6[0]!);
  assert.equal(readU32(out.emitted[0]!.frame, a.l4 + 8), b + 1);
  assert.equal(engine.counters.get(EV.syn_proxy_established), 1);
  out.clear();
  const data = data6(
    base.interfaces[1]!.mac,
    SERVER_MAC,
    BACKENDS6[0]!,
    CLIENT6,
    7000,
    40000,
    b + 1,
    1001,
    TCP_ACK,
    new Uint8Array([1, 2, 3]),
  );
  assert.equal(feed(engine, data, 1, 9), V_FORWARD);
  const d = parse6(out.emitted[0]!.frame);
  same(d.src, VIP6);
  assert.equal(readU32(out.emitted[0]!.frame, d.l4 + 4), cookie + 1, "in the client's terms");
});

Deno.test("ipv6: a health check of an IPv6 backend solicits it, then checks it by SYN from the back self", () => {
  const base = config6();
  base.services = base.services.filter((s) => s.name === "echo6").map((s) => ({
    ...s,
    health: {
      kind: "tcp" as const,
      intervalMs: 1000,
      timeoutMs: 500,
      rise: 1,
      fall: 1,
      port: 0,
      path: "/",
      expect: 200,
    },
  }));
  const out = new RecordingOutput();
  const engine = new Engine(base, out, seeded(1));
  // Checks start spread over 10 ms steps.
  engine.tick(0);
  engine.tick(10);
  // Neither backend is known: a solicitation for each, from the back self address.
  const nss = out.emitted.map((e) => parse6(e.frame));
  assert.equal(nss.length, 2);
  for (const [i, ns] of nss.entries()) {
    same(ns.src, BACK_SELF.a);
    same([0, 1, 2, 3].map((k) => readU32(out.emitted[i]!.frame, ns.l4 + 8 + k * 4)), BACKENDS6[i]!);
  }
  // Each answers with a solicited advertisement to the self address (no packet was queued, so
  // the engine has no entry for them: the advertisement alone must teach it).
  out.clear();
  for (const b of BACKENDS6) {
    const na = new Uint8Array(100);
    const n = buildNeighborAdvert(
      na,
      SERVER_MAC,
      base.interfaces[1]!.mac,
      b,
      BACK_SELF.a,
      b,
      NA_SOLICITED | NA_OVERRIDE,
    );
    feed(engine, na.slice(0, n), 1, 1);
  }
  engine.tick(20);
  engine.tick(30);
  const syns = out.emitted.map((e) => ({ e, p: parse6(e.frame) })).filter(({ p }) =>
    p.proto === PROTO_TCP
  );
  assert.equal(syns.length, 2, "a SYN to each backend");
  // Backend 1 answers SYN-ACK: it is checked ok (and the check ends with a reset).
  const { e, p } = syns.find(({ p }) => p.dst[3] === BACKENDS6[1]![3])!;
  same(p.src, BACK_SELF.a);
  const sport = readU16(e.frame, p.l4), iss = readU32(e.frame, p.l4 + 4);
  const synAck = data6(
    base.interfaces[1]!.mac,
    SERVER_MAC,
    BACKENDS6[1]!,
    BACK_SELF.a,
    7000,
    sport,
    99,
    iss + 1,
    TCP_SYN | TCP_ACK,
  );
  feed(engine, synAck, 1, 30);
  assert.equal(engine.ctx.health.status(0, 1)!.last, "ok");
  assert.equal(engine.counters.get(EV.health_checks_ok), 1);
  // The same answer from an address with other high words is not the check's.
  const stray = data6(
    base.interfaces[1]!.mac,
    SERVER_MAC,
    a6("2001:db8:114::21"),
    BACK_SELF.a,
    7000,
    sport,
    99,
    iss + 1,
    TCP_SYN | TCP_ACK,
  );
  feed(engine, stray, 1, 31);
  assert.equal(engine.counters.get(EV.health_checks_ok), 1);
});

Deno.test("ipv6: a reload that adds an IPv6 service (or one after it) serves it at once", () => {
  const full = config6();
  const { cfg, out, engine } = engine6("a", {
    services: full.services.filter((s) => s.name !== "udp6"),
  });
  learn6(engine);
  const u = () => udp6(cfg.virtualMacs[0]!, CLIENT6, VIP6, 5000, 7001, new Uint8Array([1]));
  assert.equal(feed(engine, u(), 0, 1), V_DROP, "no service yet");
  engine.reconfigure(full);
  out.clear();
  assert.equal(feed(engine, u(), 0, 2), V_FORWARD, "the added service");
  same(parse6(out.emitted[0]!.frame).dst.subarray(0, 3), BACKENDS6[0]!.subarray(0, 3));
  // And an IPv4 service added after the IPv6 ones is not taken for an IPv6 one.
  const more = {
    ...full,
    services: [...full.services, { ...full.services[0]!, name: "echo-new", port: 7002 }],
  };
  engine.reconfigure(more);
  assert.equal(engine.ctx.serviceFor(6, full.services[0]!.vip, 7002), more.services.length - 1);
});

Deno.test("ipv6: SNAT to the IPv6 gateway address: the backend sees the gateway, the client the VIP", () => {
  const base = config6();
  base.services = base.services.map((s) =>
    s.name === "echo6" ? { ...s, snatIp: GW6[3]!, snatIp6: GW6 } : s
  );
  const out = new RecordingOutput();
  const engine = new Engine(base, out, seeded(3));
  learn6(engine);
  assert.equal(feed(engine, syn6(base, 40000, 1000), 0, 1), V_FORWARD);
  const fw = parse6(out.emitted[0]!.frame);
  same(fw.src, GW6);
  same(fw.dst, BACKENDS6[0]!);
  const sport = readU16(out.emitted[0]!.frame, fw.l4);
  assert.ok(sport >= 1024, `an ephemeral SNAT port, ${sport}`);
  const seq = readU32(out.emitted[0]!.frame, fw.l4 + 4);
  out.clear();
  const synAck = data6(
    base.interfaces[1]!.mac,
    SERVER_MAC,
    BACKENDS6[0]!,
    GW6,
    7000,
    sport,
    5000,
    (seq + 1) >>> 0,
    TCP_SYN | TCP_ACK,
  );
  assert.equal(feed(engine, synAck, 1, 2), V_FORWARD);
  const back = parse6(out.emitted[0]!.frame);
  same(back.src, VIP6);
  same(back.dst, CLIENT6);
  assert.equal(readU16(out.emitted[0]!.frame, back.l4 + 2), 40000);
});

Deno.test("ipv6: routes follow each interface's whole prefix, not just its first 64 bits", () => {
  // The back segment is a /120: 2001:db8:113::20 is on it, 2001:db8:113::1:0:20 is not.
  const cfg = config6();
  cfg.interfaces[1]!.prefix6 = 120;
  const e = new Engine(cfg, new RecordingOutput(), seeded(1));
  const words = (s: string) => a6(s);
  const on = words("2001:db8:113::20"), off = words("2001:db8:113::1:0:20");
  const far = words("2001:db8:114::20"), front = words("2001:db8:100::99");
  assert.equal(e.ctx.route6(on), 1);
  assert.equal(e.ctx.route6(off), -1, "word 2 differs");
  assert.equal(e.ctx.route6(far), -1, "word 1 differs");
  assert.equal(e.ctx.route6(front), 0);
  const low = words("2001:db8:113::120");
  assert.equal(e.ctx.route6(low), -1, "the low word's bits past the prefix");
  // An interface without IPv6 routes nothing.
  const v4only = labEngineConfig("a");
  const e4 = new Engine(v4only, new RecordingOutput(), seeded(1));
  assert.equal(e4.ctx.route6(on), -1);
});
