import assert from "node:assert/strict";
import { ST_TCP_ESTABLISHED, ST_TCP_SYN_RECV, ST_TCP_TIME_WAIT } from "../flow/states.ts";
import { Ipv4Packet, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from "../wire/mod.ts";
import type { EngineConfig } from "./config.ts";
import { DROP, EV } from "./counters.ts";
import type { Engine } from "./engine.ts";
import { MIRROR_ROW } from "../flow/fields.ts";
import {
  MF_HEADERS,
  MF_NO_FLOW,
  MF_PEER_EMITS,
  MF_RELAY,
  V_DROP,
  V_FORWARD,
  V_MIRROR,
} from "./output.ts";
import {
  BACKENDS,
  BACKENDS6,
  CLIENT,
  CLIENT6,
  CLIENT_MAC,
  clientSegment,
  clientSyn,
  data6,
  engine6,
  enginePair,
  engineUnderTest,
  feed,
  learn6,
  learnNeighbors,
  mirrorIn,
  relay,
  SERVER_MAC,
  serverSegment,
  syn6,
  tsOpt,
  udpFrame,
  VIP,
  VIP6,
} from "./testing.ts";

Deno.test("replica: the forwarder applies the receiver's records verbatim and emits with its own MAC", () => {
  const { a, b } = enginePair(false);
  const frames = [
    clientSyn(a.cfg, 40000),
    udpFrame({ dstMac: a.cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 5000, dport: 7001 }),
    serverSegment(a.cfg, BACKENDS[0]!, 40000, { flags: TCP_SYN | TCP_ACK, seq: 9, ack: 1001 }),
  ];
  frames.forEach((f, i) => assert.equal(feed(a.engine, f, i < 2 ? 0 : 1, 5), V_MIRROR));
  assert.equal(a.out.emitted.length, 0, "the receiver emits no data packet");
  const sentByA = a.out.mirrored.map((m) => m.frame);
  assert.deepEqual(relay(a.out, b.engine), [V_FORWARD, V_FORWARD, V_FORWARD]);
  assert.equal(b.out.emitted.length, 3);
  b.out.emitted.forEach((e, i) => {
    assert.equal(e.iface, i < 2 ? 1 : 0);
    assert.deepEqual([...e.frame.subarray(6, 12)], [...b.cfg.interfaces[e.iface]!.mac], "own MAC");
    assert.deepEqual([...e.frame.subarray(0, 6)], [...sentByA[i]!.subarray(0, 6)], "a's next hop");
    assert.deepEqual(e.frame.subarray(12), sentByA[i]!.subarray(12), "the rest byte for byte");
  });
  assert.equal(b.engine.flows.count, 2);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest, "determinism: equal tables");
  const fa = a.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  const fb = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  assert.equal(b.engine.flows.c.state[fb], ST_TCP_SYN_RECV);
  for (const k of ["rSeqNext", "rAck", "rWin", "tcpBits", "seqOffset", "backend"] as const) {
    assert.equal(b.engine.flows.c[k][fb], a.engine.flows.c[k][fa], k);
  }
  assert.equal(b.engine.flows.c.created[fb], 5, "stamped with the receiver's clock");
  assert.equal(b.engine.counters.get(EV.mirror_in), 3);
  assert.equal(b.engine.counters.get(EV.forwarded), 3);
  // b learned the next hops, so after a takeover it needs no ARP.
  assert.deepEqual([...b.engine.neighbors[1]!.lookup(BACKENDS[0]!)!], [...SERVER_MAC]);
  assert.deepEqual([...b.engine.neighbors[0]!.lookup(CLIENT)!], [...CLIENT_MAC]);
});

Deno.test("replica: a record without MF_PEER_EMITS only keeps state (active-forward's standby)", () => {
  const { a, b } = enginePair(true);
  feed(a.engine, clientSyn(a.cfg, 40000), 0, 1);
  assert.equal(a.out.emitted.length, 1);
  assert.equal(a.out.mirrored[0]!.flags & MF_PEER_EMITS, 0);
  assert.deepEqual(relay(a.out, b.engine), [V_MIRROR]);
  assert.equal(b.out.emitted.length, 0, "the standby never emits a data packet");
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
  assert.equal(b.engine.counters.get(EV.forwarded), 0);
});

Deno.test("replica: state updates follow the receiver, established and closed", () => {
  const { a, b } = enginePair(true);
  feed(a.engine, clientSyn(a.cfg, 40000, 100), 0, 1);
  feed(
    a.engine,
    serverSegment(a.cfg, BACKENDS[0]!, 40000, { flags: TCP_SYN | TCP_ACK, seq: 7, ack: 101 }),
    1,
    2,
  );
  feed(a.engine, clientSegment(a.cfg, 40000, { seq: 101, ack: 8 }), 0, 3);
  relay(a.out, b.engine);
  const fb = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  assert.equal(b.engine.flows.c.state[fb], ST_TCP_ESTABLISHED);
  assert.equal(b.engine.flows.c.packets[fb], 3);
  assert.equal(b.engine.flows.c.lastSeen[fb], 3);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
});

Deno.test("replica: a flow of the same tuple that decided differently is replaced by the receiver's", () => {
  const { a, b } = enginePair(true);
  // b holds a stale flow for the tuple, to the other backend (e.g. from before a split).
  b.engine.flows.addEntry({
    proto: 6,
    state: ST_TCP_ESTABLISHED,
    oSrc: CLIENT,
    oSport: 40000,
    oDst: VIP,
    oDport: 7000,
    backend: 1,
    rSrc: BACKENDS[1]!,
    rSport: 7000,
    rDst: CLIENT,
    rDport: 40000,
  });
  feed(a.engine, clientSyn(a.cfg, 40000), 0, 1);
  relay(a.out, b.engine);
  assert.equal(b.engine.flows.count, 1);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
  const fb = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  assert.equal(b.engine.flows.c.rSrc[fb], BACKENDS[0]);
});

Deno.test("replica: bad records are dropped and counted, and change nothing", () => {
  const { a, b } = enginePair(false);
  feed(a.engine, clientSyn(a.cfg, 40000), 0, 1);
  const m = a.out.mirrored[0]!;
  const cases: [string, (r: ReturnType<typeof mirrorIn>) => void][] = [
    ["egress out of range", (r) => r.egress = 9],
    ["frame too short", (r) => r.frameEnd = r.frameOff + 13],
    ["not IPv4", (r) => r.buf[r.frameOff + 12] = 0x86],
    ["state out of range", (r) => r.view.setUint8(r.rowOff + MIRROR_ROW.offsets[1]!, 99)],
    ["state none", (r) => r.view.setUint8(r.rowOff + MIRROR_ROW.offsets[1]!, 0)],
    ["protocol 1", (r) => r.view.setUint8(r.rowOff + MIRROR_ROW.offsets[0]!, 1)],
  ];
  cases.forEach(([name, spoil], i) => {
    const r = mirrorIn(m);
    spoil(r);
    assert.equal(b.engine.applyMirror(r), V_DROP, name);
    assert.equal(b.engine.counters.get(DROP.mirror_bad_record), i + 1, name);
  });
  assert.equal(b.engine.flows.count, 0);
  assert.equal(b.out.emitted.length, 0);
  assert.equal(b.engine.applyMirror(mirrorIn(m)), V_FORWARD, "the good one still applies");
});

Deno.test("replica: a service or backend index this unit lacks is kept (the peer reloaded first)", () => {
  const { a, b } = enginePair(false);
  feed(a.engine, clientSyn(a.cfg, 40000), 0, 1);
  const r = mirrorIn(a.out.mirrored[0]!);
  r.view.setUint16(r.rowOff + MIRROR_ROW.offsets[2]!, 9);
  r.view.setUint16(r.rowOff + MIRROR_ROW.offsets[3]!, 7);
  assert.notEqual(b.engine.applyMirror(r), V_DROP);
  assert.equal(b.engine.flows.count, 1);
  const f = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  assert.deepEqual([b.engine.flows.c.service[f], b.engine.flows.c.backend[f]], [9, 7]);
});

/** An EXPIRE record's tuple for IPv4 addresses. */
const tuple4 = (
  proto: number,
  srcIp: number,
  srcPort: number,
  dstIp: number,
  dstPort: number,
  hi = [0, 0, 0, 0, 0, 0],
) => ({
  proto,
  srcIp,
  srcPort,
  dstIp,
  dstPort,
  srcHi0: hi[0]!,
  srcHi1: hi[1]!,
  srcHi2: hi[2]!,
  dstHi0: hi[3]!,
  dstHi1: hi[4]!,
  dstHi2: hi[5]!,
});

Deno.test("replica: applyExpire removes a flow by its original tuple only", () => {
  const { a, b } = enginePair(true);
  feed(a.engine, clientSyn(a.cfg, 40000), 0, 1);
  relay(a.out, b.engine);
  const e = b.engine;
  assert.equal(e.applyExpire(tuple4(6, BACKENDS[0]!, 7000, CLIENT, 40000)), false, "reply tuple");
  assert.equal(e.applyExpire(tuple4(17, CLIENT, 40000, VIP, 7000)), false, "other protocol");
  assert.equal(
    e.applyExpire(tuple4(6, CLIENT, 40000, VIP, 7000, [0, 0, 0, 0, 0, 1])),
    false,
    "an IPv6 tuple with the same low words",
  );
  assert.equal(b.engine.flows.count, 1);
  assert.equal(e.applyExpire(tuple4(6, CLIENT, 40000, VIP, 7000)), true);
  assert.equal(b.engine.flows.count, 0);
  assert.equal(b.engine.counters.get(EV.flows_expired), 1);
});

// Header-only records (`MF_HEADERS`): the replica must end up with exactly the row a whole
// record gives, sequence tracking and byte counts included (the digest covers neither).

type Built = ReturnType<typeof engineUnderTest>;

/**
 * A receiver in active-forward (`mirrorPayload` as given) and its standby, both fed by `build`
 * with the same seed, so two such pairs make the same decisions.
 */
function activeForward(
  build: (unit: "a" | "b", over: Partial<EngineConfig>, seed: number) => Built,
  mirrorPayload: "headers" | "full",
) {
  const a = build("a", { mirrorPayload }, 1), b = build("b", { mirrorPayload }, 2);
  Object.assign(a.engine.roles, { receiver: true, forwarder: true, mirror: true });
  Object.assign(b.engine.roles, { receiver: false, forwarder: false, mirror: true });
  return { a, b };
}

/** Every live flow of `e` as entries, by original tuple. */
function rows(e: Engine) {
  return [...e.flows.ids()].map((f) => e.flows.entry(f))
    .sort((x, y) => x.oSport - y.oSport || x.proto - y.proto);
}

/**
 * Drives the same connection through a full-record pair and a header-only one: `frames(a)`
 * yields each frame with its ingress, built from the receiver's decisions so far. After every
 * frame, each standby's rows must equal its receiver's (a later segment overwrites the
 * sequence state, so only a check per step catches a wrong SEG.LEN). Returns both pairs.
 */
function bothWays(
  build: (unit: "a" | "b", over: Partial<EngineConfig>, seed: number) => Built,
  learn: (e: Engine) => void,
  frames: (a: Built) => Generator<[Uint8Array, number]>,
) {
  const full = activeForward(build, "full"), hdr = activeForward(build, "headers");
  learn(full.a.engine);
  learn(hdr.a.engine);
  const run = (a: Built, b: Built) => {
    const sizes: number[] = [], flags: number[] = [], steps: unknown[] = [];
    let now = 10;
    for (const [frame, ingress] of frames(a)) {
      assert.equal(feed(a.engine, frame, ingress, now++), V_FORWARD);
      for (const m of a.out.mirrored) sizes.push(m.frame.length), flags.push(m.flags);
      for (const v of relay(a.out, b.engine)) assert.equal(v, V_MIRROR);
      assert.deepEqual(rows(b.engine), rows(a.engine), `step ${steps.length}`);
      steps.push(rows(b.engine));
    }
    return { sizes, flags, steps };
  };
  const f = run(full.a, full.b), h = run(hdr.a, hdr.b);
  assert.deepEqual(h.steps, f.steps, "the same rows at every step");
  assert.ok(f.flags.every((x) => (x & MF_HEADERS) === 0), "full: nothing cut");
  assert.ok(h.flags.filter((x) => (x & MF_HEADERS) !== 0).length >= 3, "data segments cut");
  const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
  assert.ok(sum(h.sizes) < sum(f.sizes) / 4, `${sum(h.sizes)} vs ${sum(f.sizes)} bytes mirrored`);
  assert.equal(hdr.b.out.emitted.length + full.b.out.emitted.length, 0, "the standby never emits");
  return { full, hdr };
}

function* connection4(a: Built): Generator<[Uint8Array, number]> {
  const cfg = a.cfg, sport = 40000;
  yield [clientSyn(cfg, sport, 1000), 0];
  const f = a.engine.flows.lookup(6, CLIENT, sport, VIP, 7000) >> 1;
  const be = a.engine.flows.c.rSrc[f]!;
  const ts = (v: number, e: number) => ({ options: tsOpt(v, e) });
  const data = (n: number) => new Uint8Array(n).map((_, i) => i * 7);
  yield [serverSegment(cfg, be, sport, { flags: TCP_SYN | TCP_ACK, seq: 5000, ack: 1001 }), 1];
  yield [clientSegment(cfg, sport, { seq: 1001, ack: 5001, ...ts(1, 0) }), 0];
  const pa = TCP_PSH | TCP_ACK;
  yield [clientSegment(cfg, sport, { flags: pa, seq: 1001, ack: 5001, payload: data(1000) }), 0];
  yield [
    serverSegment(cfg, be, sport, { flags: pa, seq: 5001, ack: 2001, payload: data(1448) }),
    1,
  ];
  yield [
    serverSegment(cfg, be, sport, { seq: 6449, ack: 2001, payload: data(700), ...ts(9, 2) }),
    1,
  ];
  yield [clientSegment(cfg, sport, { seq: 2001, ack: 7149, ...ts(3, 9) }), 0];
  const fin = TCP_FIN | TCP_ACK;
  yield [clientSegment(cfg, sport, { flags: fin, seq: 2001, ack: 7149, payload: data(100) }), 0];
  yield [serverSegment(cfg, be, sport, { flags: fin, seq: 7149, ack: 2102 }), 1];
  yield [clientSegment(cfg, sport, { seq: 2102, ack: 7150 }), 0];
}

Deno.test("replica: header-only records leave the same rows as whole ones (IPv4 TCP connection)", () => {
  const { full, hdr } = bothWays(engineUnderTest, learnNeighbors, connection4);
  const want = rows(full.a.engine);
  assert.equal(want.length, 1);
  assert.deepEqual(rows(full.b.engine), want, "whole records: the standby matches the receiver");
  assert.deepEqual(rows(hdr.b.engine), want, "header-only records: the same row");
  assert.equal(hdr.b.engine.flows.digest, full.a.engine.flows.digest);
  const r = rows(hdr.b.engine)[0]!;
  // SEG.LEN counts the payload and FIN, so the FIN's data and the FIN itself are in oSeqNext.
  assert.deepEqual([r.oSeqNext, r.rSeqNext], [2102, 7150]);
  assert.equal(r.state, ST_TCP_TIME_WAIT);
  assert.equal(r.packets, 10);
  assert.equal(r.bytes, 10 * 40 + 12 * 3 + 1000 + 1448 + 700 + 100, "IP lengths, payloads in");
});

Deno.test("replica: header-only records leave the same rows as whole ones (IPv6, ISN offset)", () => {
  const { full, hdr } = bothWays(engine6, learn6, function* (a) {
    const cfg = a.cfg, sport = 40000, m = CLIENT_MAC, vm = cfg.virtualMacs;
    const c = (seq: number, ack: number, flags: number, n = 0) =>
      data6(vm[0]!, m, CLIENT6, VIP6, sport, 7000, seq, ack, flags, new Uint8Array(n));
    yield [syn6(cfg, sport, 1000), 0];
    const f = [...a.engine.flows.ids()][0]!, be = BACKENDS6[a.engine.flows.c.backend[f]!]!;
    const s = (seq: number, ack: number, flags: number, n = 0) =>
      data6(vm[1]!, SERVER_MAC, be, CLIENT6, 7000, sport, seq, ack, flags, new Uint8Array(n));
    yield [s(5000, 1001, TCP_SYN | TCP_ACK), 1];
    // The offset moves the client's sequence numbers: the server acks them moved.
    const off = a.engine.flows.c.seqOffset[f]!;
    assert.notEqual(off, 0, "an offset applies");
    const o = (n: number) => (n + off) >>> 0;
    yield [c(1001, 5001, TCP_ACK), 0];
    yield [c(1001, 5001, TCP_PSH | TCP_ACK, 1200), 0];
    yield [s(5001, o(2201), TCP_PSH | TCP_ACK, 1400), 1];
    yield [c(2201, 6401, TCP_FIN | TCP_ACK, 50), 0];
    yield [s(6401, o(2252), TCP_FIN | TCP_ACK), 1];
    yield [c(2252, 6402, TCP_ACK), 0];
  });
  const want = rows(full.a.engine);
  assert.equal(want.length, 1);
  assert.deepEqual(rows(full.b.engine), want);
  assert.deepEqual(rows(hdr.b.engine), want);
  const r = want[0]!;
  assert.deepEqual([r.oSeqNext, r.rSeqNext], [(2252 + r.seqOffset) >>> 0, 6402]);
  assert.equal(r.state, ST_TCP_TIME_WAIT);
  assert.equal(r.bytes, 8 * 60 + 12 + 1200 + 1400 + 50, "the SYN's 12 option bytes too");
});

Deno.test("replica: a header-only UDP record counts the whole datagram", () => {
  const { full, hdr } = bothWays(engineUnderTest, learnNeighbors, function* (a) {
    for (let i = 0; i < 4; i++) {
      const payload = new Uint8Array(300 * (i + 1));
      yield [
        udpFrame({
          dstMac: a.cfg.virtualMacs[0]!,
          src: CLIENT,
          dst: VIP,
          sport: 5000,
          dport: 7001,
          payload,
        }),
        0,
      ];
    }
  });
  const want = rows(full.a.engine);
  assert.deepEqual(rows(hdr.b.engine), want);
  assert.deepEqual(rows(full.b.engine), want);
  assert.equal(want[0]!.bytes, 4 * 28 + 300 + 600 + 900 + 1200);
});

/** A header-only record of a data segment from a receiver in active-forward, and its standby. */
function cutRecord() {
  const { a, b } = activeForward(engineUnderTest, "headers");
  learnNeighbors(a.engine);
  feed(a.engine, clientSyn(a.cfg, 40000, 1000), 0, 1);
  relay(a.out, b.engine);
  feed(
    a.engine,
    clientSegment(a.cfg, 40000, { seq: 1001, options: tsOpt(5, 6), payload: new Uint8Array(900) }),
    0,
    2,
  );
  const m = a.out.mirrored[0]!;
  assert.equal(m.flags, MF_HEADERS);
  return { a, b, m };
}

Deno.test("replica: a malformed header-only record is dropped and counted, and changes nothing", () => {
  const { b, m } = cutRecord();
  const before = rows(b.engine);
  const l4 = (r: ReturnType<typeof mirrorIn>) => r.frameOff + 14 + 20;
  const cases: [string, (r: ReturnType<typeof mirrorIn>) => void][] = [
    ["with MF_PEER_EMITS", (r) => r.flags |= MF_PEER_EMITS],
    ["with MF_NO_FLOW", (r) => r.flags |= MF_NO_FLOW],
    ["with MF_RELAY", (r) => r.flags |= MF_RELAY],
    ["cut inside the fixed TCP header", (r) => r.frameEnd = l4(r) + 10],
    ["cut inside the TCP options", (r) => r.frameEnd = l4(r) + 28],
    ["cut inside the IPv4 header", (r) => r.frameEnd = r.frameOff + 14 + 12],
    ["an IP length shorter than the record", (r) => {
      new Ipv4Packet(r.buf, r.frameOff + 14).totalLength = 30;
    }],
    ["a fragment", (r) => r.buf[r.frameOff + 14 + 6] = 0x20],
    ["not the flow's protocol", (r) => r.buf[r.frameOff + 14 + 9] = 17],
  ];
  cases.forEach(([name, spoil], i) => {
    const r = mirrorIn(m);
    spoil(r);
    assert.equal(b.engine.applyMirror(r), V_DROP, name);
    assert.equal(b.engine.counters.get(DROP.mirror_bad_record), i + 1, name);
    assert.deepEqual(rows(b.engine), before, name);
  });
  assert.equal(b.out.emitted.length, 0, "nothing emitted");
  assert.equal(b.engine.applyMirror(mirrorIn(m)), V_MIRROR, "the good one still applies");
  const r = rows(b.engine)[0]!;
  assert.equal(r.oSeqNext, 1001 + 900);
  // A relayed frame is never cut; one that says so is not handled as received.
  const relayed = mirrorIn(m);
  relayed.flags |= MF_RELAY;
  assert.equal(b.engine.applyRelay(relayed, 3), V_DROP);
  assert.equal(b.engine.counters.get(DROP.mirror_bad_record), cases.length + 1);
});

Deno.test("replica: a header-only record is never replayed, even marked for the peer to emit", () => {
  const { a, m } = cutRecord();
  const r = mirrorIn(m), sent = a.out.emitted.length;
  r.flags |= MF_PEER_EMITS;
  assert.equal(a.engine.replay(r), false);
  assert.equal(a.out.emitted.length, sent, "nothing emitted");
});

Deno.test("replica: an IPv6 header-only record's length comes from its payload length", () => {
  const { a, b } = activeForward(engine6, "headers");
  learn6(a.engine);
  feed(a.engine, syn6(a.cfg, 40000, 1000), 0, 1);
  relay(a.out, b.engine);
  const synNext = rows(b.engine)[0]!.oSeqNext;
  const seg = () =>
    data6(
      a.cfg.virtualMacs[0]!,
      CLIENT_MAC,
      CLIENT6,
      VIP6,
      40000,
      7000,
      1001,
      0,
      TCP_ACK,
      new Uint8Array(333),
    );
  feed(a.engine, seg(), 0, 2);
  const m = a.out.mirrored[0]!;
  assert.equal(m.flags, MF_HEADERS);
  assert.equal(m.frame.length, 14 + 40 + 20);
  relay(a.out, b.engine);
  assert.deepEqual(rows(b.engine), rows(a.engine));
  assert.equal(rows(b.engine)[0]!.oSeqNext - synNext, 333, "SEG.LEN from the payload length");
  // A payload length of 0 (a jumbogram, RFC 2675) or one shorter than the headers is refused.
  feed(a.engine, seg(), 0, 3);
  const before = rows(b.engine);
  for (const len of [0, 19]) {
    const bad = mirrorIn(a.out.mirrored[0]!);
    bad.view.setUint16(bad.frameOff + 14 + 4, len);
    assert.equal(b.engine.applyMirror(bad), V_DROP, `payload length ${len}`);
    assert.deepEqual(rows(b.engine), before);
  }
  assert.equal(b.engine.counters.get(DROP.mirror_bad_record), 2);
});
