import assert from "node:assert/strict";
import {
  Ipv4Packet,
  PROTO_UDP,
  pseudoHeaderSum,
  TCP_ACK,
  TCP_SYN,
  UdpDatagram,
} from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { FRAG_LIFETIME_MS, FRAG_PROBES, FRAG_SLOTS, FragmentTable } from "./fragments.ts";
import { V_DROP, V_FORWARD, V_MIRROR } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  enginePair,
  engineUnderTest,
  feed,
  fragmentFrame,
  learnNeighbors,
  relay,
  SERVER_MAC,
  serverSegment,
  tcpFrame,
  udpFrame,
  VIP,
} from "./testing.ts";

const { cfg } = engineUnderTest();
const PAYLOAD = new Uint8Array(4000).map((_, i) => (i * 31 + 7) & 0xff);

/** The client's 4000-byte datagram to the VIP's UDP echo, cut as Linux does on a 1500 link. */
function clientDatagram(ident = 0x1234, sport = 5555): Uint8Array[] {
  const whole = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport,
    dport: 7001,
    payload: PAYLOAD,
  });
  return fragmentFrame(whole, 1480, ident);
}

/** Backend `backend`'s 4000-byte answer to the client, cut the same way. */
function serverDatagram(backend: number, ident = 0x9876, dport = 5555): Uint8Array[] {
  const whole = udpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: backend,
    dst: CLIENT,
    sport: 7001,
    dport,
    payload: PAYLOAD,
  });
  return fragmentFrame(whole, 1480, ident);
}

/** Puts emitted fragments back together as the endpoint would, checking every IP header. */
function reassemble(frames: Uint8Array[]) {
  const ips = frames.map((f) => {
    const ip = Ipv4Packet.checked(f.subarray(14));
    assert.ok(ip, "an IPv4 frame");
    assert.ok(ip.verifyChecksum(), "IP header checksum valid");
    return ip;
  }).sort((a, b) => a.fragmentOffset - b.fragmentOffset);
  const total = ips.reduce((n, ip) => n + ip.payload.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const ip of ips) {
    assert.equal(ip.fragmentOffset, at, "contiguous");
    assert.equal(ip.ident, ips[0]!.ident, "one datagram");
    assert.equal(ip.src, ips[0]!.src);
    assert.equal(ip.dst, ips[0]!.dst);
    out.set(ip.payload, at);
    at += ip.payload.length;
  }
  assert.equal(ips.at(-1)!.moreFragments, false, "ends with the last fragment");
  const udp = UdpDatagram.checked(out);
  assert.ok(udp, "a whole UDP datagram");
  return { src: ips[0]!.src, dst: ips[0]!.dst, ttl: ips[0]!.ttl, udp };
}

function udpValid(r: ReturnType<typeof reassemble>): boolean {
  return r.udp.verifyWithPseudo(pseudoHeaderSum(r.src, r.dst, PROTO_UDP, r.udp.length));
}

function solo() {
  const t = engineUnderTest();
  learnNeighbors(t.engine);
  return t;
}

Deno.test("fragments: a 4000-byte datagram to the VIP leaves in its three fragments, DNATed", () => {
  const { engine, out } = solo();
  const frags = clientDatagram();
  assert.equal(frags.length, 3);
  // One receive buffer for every frame, as the unit's ring: a view left pointing at the
  // previous frame's L4 header would land in this one's payload.
  const rx = new Uint8Array(2048);
  for (const f of frags) {
    rx.set(f);
    assert.equal(engine.handle(rx, 0, f.length, 0, 10), V_FORWARD);
  }
  assert.equal(out.emitted.length, 3);
  assert.ok(out.emitted.every((e) => e.iface === 1), "toward the backends");
  const r = reassemble(out.emitted.map((e) => e.frame));
  assert.ok(BACKENDS.includes(r.dst), "destination rewritten to a backend");
  assert.equal(r.src, CLIENT, "pure DNAT keeps the client's address");
  assert.equal(r.ttl, 63);
  assert.deepEqual([r.udp.srcPort, r.udp.dstPort], [5555, 7001]);
  assert.deepEqual(r.udp.payload, PAYLOAD);
  assert.ok(udpValid(r), "the first fragment's L4 checksum update covers the whole datagram");
  // The later fragments' payloads leave byte for byte: no L4 header is read or written there.
  for (let i = 1; i < 3; i++) {
    assert.deepEqual(out.emitted[i]!.frame.subarray(34), frags[i]!.subarray(34), `fragment ${i}`);
  }
  assert.equal(engine.counters.get(EV.fragments_forwarded), 3);
  assert.equal(engine.flows.count, 1, "one flow for the whole datagram");
  assert.equal(engine.ctx.frags.live(10), 0, "the entry ends with the datagram's last byte");
});

Deno.test("fragments: the reply direction gets the un-DNAT, even out of order after the first", () => {
  const { engine, out } = solo();
  for (const f of clientDatagram()) feed(engine, f, 0, 10);
  const backend = reassemble(out.emitted.map((e) => e.frame)).dst;
  out.clear();
  const [first, middle, last] = serverDatagram(backend);
  for (const f of [first!, last!, middle!]) assert.equal(feed(engine, f.slice(), 1, 20), V_FORWARD);
  assert.ok(out.emitted.every((e) => e.iface === 0), "toward the client");
  const r = reassemble(out.emitted.map((e) => e.frame));
  assert.equal(r.src, VIP, "the answer comes from the VIP");
  assert.equal(r.dst, CLIENT);
  assert.deepEqual([r.udp.srcPort, r.udp.dstPort], [7001, 5555]);
  assert.ok(udpValid(r));
  assert.equal(engine.ctx.frags.live(20), 0);
});

Deno.test("fragments: one that overtakes its first is dropped and counted; the rest still pass", () => {
  const { engine, out } = solo();
  const [first, middle, last] = clientDatagram();
  assert.equal(feed(engine, middle!, 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.fragment_no_first), 1);
  assert.equal(engine.flows.count, 0, "a later fragment never creates a flow");
  assert.equal(feed(engine, first!, 0, 2), V_FORWARD);
  assert.equal(feed(engine, last!, 0, 3), V_FORWARD);
  assert.equal(out.emitted.length, 2);
  // Two thirds of the datagram passed: the entry lives on until it expires.
  assert.equal(engine.ctx.frags.live(3), 1);
  assert.equal(engine.ctx.frags.live(2 + FRAG_LIFETIME_MS), 0);
});

Deno.test("fragments: an entry expires 30 s after its first fragment", () => {
  const { engine } = solo();
  const [first, middle, last] = clientDatagram();
  assert.equal(feed(engine, first!, 0, 1000), V_FORWARD);
  assert.equal(feed(engine, middle!, 0, 1000 + FRAG_LIFETIME_MS - 1), V_FORWARD);
  assert.equal(feed(engine, last!, 0, 1000 + FRAG_LIFETIME_MS), V_DROP);
  assert.equal(engine.counters.get(DROP.fragment_no_first), 1);
});

Deno.test("fragments: a fragment whose flow ended is dropped, not sent to a reused row", () => {
  const { engine, out } = solo();
  const [first, middle] = clientDatagram();
  feed(engine, first!, 0, 1);
  const f = engine.flows.lookup(PROTO_UDP, CLIENT, 5555, VIP, 7001) >> 1;
  engine.flows.remove(f);
  // Another flow between the same hosts takes the row.
  feed(engine, clientDatagram(0x777, 6000)[0]!, 0, 2);
  assert.equal(engine.flows.lookup(PROTO_UDP, CLIENT, 6000, VIP, 7001) >> 1, f, "the same row");
  out.clear();
  assert.equal(feed(engine, middle!, 0, 3), V_DROP);
  assert.equal(engine.counters.get(DROP.fragment_no_first), 1);
  assert.equal(out.emitted.length, 0);
});

Deno.test("fragments: a flood of first fragments fills the fixed table, then is counted", () => {
  const { engine } = solo();
  const table = engine.ctx.frags;
  const arrays = [table.ref.buffer.byteLength];
  const n = FRAG_SLOTS + 4000;
  let forwarded = 0;
  for (let id = 0; id < n; id++) {
    // Tiny first fragments of distinct datagrams that never end (no last fragment follows).
    const whole = udpFrame({
      dstMac: cfg.virtualMacs[0]!,
      src: CLIENT,
      dst: VIP,
      sport: 5555,
      dport: 7001,
      payload: new Uint8Array(16),
    });
    if (feed(engine, fragmentFrame(whole, 16, id)[0]!, 0, 5) === V_FORWARD) forwarded++;
  }
  const full = engine.counters.get(DROP.fragment_table_full);
  assert.equal(forwarded + full, n, "every first fragment forwarded or counted");
  assert.ok(full >= n - FRAG_SLOTS, `at least the overflow is counted (${full})`);
  assert.ok(table.live(5) <= FRAG_SLOTS);
  assert.ok(table.live(5) > FRAG_SLOTS * 0.8, "the table is used, not refused early");
  assert.deepEqual([table.ref.buffer.byteLength], arrays, "no growth");
  // A flood of later fragments without a first touches no state at all.
  const later = clientDatagram(0xbeef)[1]!;
  for (let i = 0; i < 1000; i++) feed(engine, later, 0, 6);
  assert.equal(engine.counters.get(DROP.fragment_no_first), 1000);
  // Once the entries expire, datagrams pass again.
  const [a, b, c] = clientDatagram(0xcafe);
  for (const f of [a!, b!, c!]) assert.equal(feed(engine, f, 0, 6 + FRAG_LIFETIME_MS), V_FORWARD);
});

Deno.test("FragmentTable: bounded windows, refresh of a key, and completion in any order", () => {
  const t = new FragmentTable(64);
  let ok = 0;
  for (let i = 0; i < 1000; i++) {
    t.key.set([i, 2, 3]);
    if (t.insert(i * 2, 1, 2, 0) >= 0) ok++;
  }
  assert.ok(ok <= 64, `${ok} entries in 64 slots`);
  assert.equal(t.live(0), ok);
  assert.throws(() => new FragmentTable(100), RangeError);
  assert.throws(() => new FragmentTable(FRAG_PROBES / 2), RangeError);
  const u = new FragmentTable(64);
  u.key.set([10, 20, (7 << 8) | 17]);
  const s = u.insert(42, 1, 2, 0);
  assert.equal(u.find(1), s);
  assert.equal(u.ref[s], 42);
  u.key.set([10, 20, (8 << 8) | 17]);
  assert.equal(u.find(1), -1, "another identification is another datagram");
  u.key.set([10, 20, (7 << 8) | 17]);
  // Last fragment first: its end gives the length; the datagram completes with the middle.
  assert.equal(u.account(s, 0, 1480, true), false);
  assert.equal(u.account(s, 2960, 1048, false), false);
  assert.equal(u.account(s, 1480, 1480, true), true);
  assert.equal(u.find(1), -1, "a complete datagram's entry is freed");
});

Deno.test("fragments: the forwarder applies each fragment's record and emits what a decided", () => {
  const { a, b } = enginePair(false);
  const frags = clientDatagram();
  for (const f of frags) assert.equal(feed(a.engine, f, 0, 10), V_MIRROR);
  assert.equal(a.out.emitted.length, 0);
  const sent = a.out.mirrored.map((m) => m.frame);
  assert.ok(a.out.mirrored.every((m) => m.flow !== undefined), "each record names its flow");
  assert.deepEqual(relay(a.out, b.engine), [V_FORWARD, V_FORWARD, V_FORWARD]);
  b.out.emitted.forEach((e, i) => assert.deepEqual(e.frame.subarray(12), sent[i]!.subarray(12)));
  const r = reassemble(b.out.emitted.map((e) => e.frame));
  assert.ok(BACKENDS.includes(r.dst));
  assert.ok(udpValid(r));
  assert.equal(b.engine.flows.digest, a.engine.flows.digest, "determinism: equal tables");
  const fa = a.engine.flows.lookup(PROTO_UDP, CLIENT, 5555, VIP, 7001) >> 1;
  const fb = b.engine.flows.lookup(PROTO_UDP, CLIENT, 5555, VIP, 7001) >> 1;
  assert.equal(
    b.engine.flows.c.packets[fb],
    a.engine.flows.c.packets[fa],
    "every fragment counted",
  );
  assert.equal(b.engine.flows.c.bytes[fb], a.engine.flows.c.bytes[fa]);
  assert.equal(b.engine.ctx.frags.live(10), 0, "b followed the datagram to its end");
});

Deno.test("fragments: a survivor finishes a datagram whose first fragment its dead peer handled", () => {
  const { a, b } = enginePair(true);
  const [first, middle, last] = clientDatagram();
  feed(a.engine, first!, 0, 10);
  relay(a.out, b.engine);
  assert.equal(b.engine.ctx.frags.live(10), 1, "b learned the datagram from the record");
  // a dies; b takes over as receiver and forwarder and gets the rest from the client.
  Object.assign(b.engine.roles, { receiver: true, forwarder: true, mirror: false });
  learnNeighbors(b.engine);
  assert.equal(feed(b.engine, middle!, 0, 11), V_FORWARD);
  assert.equal(feed(b.engine, last!, 0, 11), V_FORWARD);
  const r = reassemble([a.out.emitted[0]!.frame, ...b.out.emitted.map((e) => e.frame)]);
  assert.ok(udpValid(r));
  assert.deepEqual(r.udp.payload, PAYLOAD);
});

Deno.test("fragments: a TCP segment in fragments leaves the sequence state alone on both units", () => {
  const { a, b } = enginePair(false);
  feed(a.engine, clientSyn(a.cfg, 40000, 100), 0, 1);
  const fa = a.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  const backend = a.engine.flows.c.rSrc[fa]!;
  feed(
    a.engine,
    serverSegment(a.cfg, backend, 40000, { flags: TCP_SYN | TCP_ACK, ack: 101 }),
    1,
    2,
  );
  feed(a.engine, clientSegment(a.cfg, 40000, { seq: 101, ack: 1001 }), 0, 3);
  relay(a.out, b.engine);
  b.out.clear();
  const fb = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  const before = [a.engine.flows.c.oSeqNext[fa], b.engine.flows.c.oSeqNext[fb]];
  assert.deepEqual(before, [101, 101]);
  // 3000 bytes of data in one segment, cut in three; the later fragments' first bytes would
  // read as a TCP header with other ports and sequence numbers if anyone looked.
  const seg = tcpFrame({
    dstMac: a.cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 40000,
    dport: 7000,
    flags: TCP_ACK,
    seq: 101,
    ack: 1001,
    payload: new Uint8Array(3000).fill(0x55),
  });
  seg[14 + 6] = 0; // tcpFrame sets DF; a fragmented segment has it clear
  new Ipv4Packet(seg, 14).fillChecksum();
  for (const f of fragmentFrame(seg, 1480, 0x4321)) assert.equal(feed(a.engine, f, 0, 4), V_MIRROR);
  assert.deepEqual(relay(a.out, b.engine), [V_FORWARD, V_FORWARD, V_FORWARD]);
  assert.deepEqual([a.engine.flows.c.oSeqNext[fa], b.engine.flows.c.oSeqNext[fb]], before);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
  assert.ok(b.out.emitted.every((e) => new Ipv4Packet(e.frame, 14).dst === backend));
});
