import assert from "node:assert/strict";
import { ST_TCP_ESTABLISHED, ST_TCP_SYN_RECV } from "../flow/states.ts";
import { TCP_ACK, TCP_SYN } from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { MIRROR_ROW } from "../flow/fields.ts";
import { MF_PEER_EMITS, V_DROP, V_FORWARD, V_MIRROR } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  clientSegment,
  clientSyn,
  enginePair,
  feed,
  mirrorIn,
  relay,
  SERVER_MAC,
  serverSegment,
  udpFrame,
  VIP,
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
