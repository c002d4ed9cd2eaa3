import assert from "node:assert/strict";
import {
  ETHERTYPE_IPV6,
  Ipv4Packet,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_PSH,
  writeIpv6Header,
  writeU16,
} from "../wire/mod.ts";
import type { EngineConfig } from "./config.ts";
import { DROP, EV } from "./counters.ts";
import { headersEnd } from "./deliver.ts";
import {
  MF_HEADERS,
  MF_NEW_FLOW,
  MF_PEER_EMITS,
  MF_WANT_ACK,
  V_DROP,
  V_FORWARD,
  V_MIRROR,
} from "./output.ts";
import {
  a6,
  BACKENDS,
  CLIENT,
  CLIENT6,
  CLIENT_MAC,
  clientSegment,
  clientSyn,
  data6,
  engine6,
  engineUnderTest,
  feed,
  fragmentFrame,
  learn6,
  learnNeighbors,
  pingFrame,
  SERVER_MAC,
  syn6,
  tcpFrame,
  tsOpt,
  udpFrame,
  VIP,
  VIP6,
} from "./testing.ts";

function setup(
  roles: { receiver?: boolean; forwarder?: boolean; mirror?: boolean; hold?: boolean },
  over: Partial<EngineConfig> = {},
) {
  const t = engineUnderTest("a", over);
  learnNeighbors(t.engine);
  const r = t.engine.roles;
  r.receiver = roles.receiver ?? true;
  r.forwarder = roles.forwarder ?? true;
  r.mirror = roles.mirror ?? false;
  r.holdNewFlows = roles.hold ?? false;
  return t;
}

Deno.test("deliver: a solo unit (receiver and forwarder, no peer) emits and mirrors nothing", () => {
  const { cfg, out, engine } = setup({});
  assert.equal(feed(engine, clientSyn(cfg), 0, 1), V_FORWARD);
  assert.equal(out.emitted.length, 1);
  assert.equal(out.mirrored.length, 0);
  assert.equal(engine.counters.get(EV.forwarded), 1);
  assert.equal(engine.counters.get(EV.mirror_out), 0);
  assert.equal(engine.counters.get(EV.tx_packets), 1);
  assert.equal(engine.counters.get(EV.tx_bytes), 54);
});

Deno.test("deliver: active-forward (forwarder with a peer) emits and mirrors; the peer does not emit", () => {
  const { cfg, out, engine } = setup({ mirror: true });
  assert.equal(feed(engine, clientSyn(cfg), 0, 7), V_FORWARD);
  assert.equal(out.emitted.length, 1);
  assert.equal(out.mirrored.length, 1);
  const m = out.mirrored[0]!;
  assert.equal(m.flags, MF_NEW_FLOW, "new flow, and the peer must not emit");
  assert.equal(m.egress, 1);
  assert.deepEqual(m.frame, out.emitted[0]!.frame, "the record carries the frame as sent");
  assert.equal(m.flow!.oSrc, CLIENT);
  assert.equal(m.flow!.rSrc, BACKENDS[0]);
  feed(engine, clientSegment(cfg, 40000, { seq: 1001 }), 0, 8);
  assert.equal(out.mirrored[1]!.flags, 0, "later packets are not new");
  assert.equal(engine.counters.get(EV.mirror_out), 2);
});

Deno.test("deliver: active-forward sends a new flow's record before its first frame, later ones batched", () => {
  const { cfg, out, engine } = setup({ mirror: true });
  feed(engine, clientSyn(cfg), 0, 7);
  assert.equal(out.emitted[0]!.flushed, 1, "the SYN left after its flow's record");
  feed(engine, clientSegment(cfg, 40000, { seq: 1001 }), 0, 8);
  assert.equal(out.emitted[1]!.flushed, 1, "an established flow's records wait for the batch");
  // Solo: nothing to flush before.
  const solo = setup({});
  feed(solo.engine, clientSyn(solo.cfg), 0, 7);
  assert.equal(solo.out.emitted[0]!.flushed, 0);
});

Deno.test("deliver: a receiver that is not the forwarder mirrors with MF_PEER_EMITS and emits nothing", () => {
  const { cfg, out, engine } = setup({ forwarder: false, mirror: true });
  assert.equal(feed(engine, clientSyn(cfg), 0, 1), V_MIRROR);
  assert.equal(out.emitted.length, 0);
  assert.equal(out.mirrored.length, 1);
  assert.equal(out.mirrored[0]!.flags, MF_NEW_FLOW | MF_PEER_EMITS);
  assert.deepEqual([...out.mirrored[0]!.frame.subarray(0, 6)], [...SERVER_MAC], "next hop set");
  assert.equal(engine.counters.get(EV.forwarded), 0);
});

Deno.test("deliver: a receiver with neither forwarding nor a peer drops, counted", () => {
  const { cfg, out, engine } = setup({ forwarder: false, mirror: false });
  assert.equal(feed(engine, clientSyn(cfg), 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.no_forwarder), 1);
  assert.equal(out.emitted.length + out.mirrored.length, 0);
});

Deno.test("deliver: hold_new_flows holds the first packet of a new flow until the ack; later ones go", () => {
  const { cfg, out, engine } = setup({ mirror: true, hold: true });
  assert.equal(feed(engine, clientSyn(cfg), 0, 1), V_FORWARD);
  assert.equal(out.emitted.length, 0, "held, not sent");
  assert.equal(out.held.length, 1);
  assert.equal(out.mirrored[0]!.flags, MF_NEW_FLOW | MF_WANT_ACK);
  assert.equal(out.held[0]!.mseq, out.mirrored[0]!.mseq);
  assert.deepEqual(out.held[0]!.frame, out.mirrored[0]!.frame);
  assert.equal(engine.counters.get(EV.held_new_flows), 1);
  feed(engine, clientSegment(cfg, 40000, { seq: 1001 }), 0, 2);
  assert.equal(out.emitted.length, 1, "established packets are not held");
  assert.equal(out.held.length, 1);
});

Deno.test("deliver: the frame leaves with the next hop's MAC and the egress port's own MAC", () => {
  const { cfg, out, engine } = setup({});
  feed(engine, clientSyn(cfg), 0, 1);
  const f = out.emitted[0]!.frame;
  assert.deepEqual([...f.subarray(0, 6)], [...SERVER_MAC]);
  assert.deepEqual([...f.subarray(6, 12)], [...cfg.interfaces[1]!.mac]);
});

Deno.test("deliver: a destination with no connected route is dropped and counted", () => {
  const base = engineUnderTest().cfg.services[0]!;
  // A service whose backend (192.0.2.99) sits on no connected subnet.
  const t = engineUnderTest("a", {
    services: [{ ...base, backends: [{ ip: 0xc0000263, port: 7000 }] }],
  });
  learnNeighbors(t.engine);
  assert.equal(feed(t.engine, clientSyn(t.cfg), 0, 1), V_DROP);
  assert.equal(t.engine.counters.get(DROP.no_route), 1);
  assert.equal(t.out.emitted.length, 0);
});

Deno.test("deliver: a queued packet whose flow ended before ARP answered is dropped, not sent", () => {
  const { cfg, out, engine } = engineUnderTest();
  engine.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0, 0);
  feed(engine, clientSyn(cfg), 0, 1);
  const f = engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  engine.flows.remove(f);
  out.clear();
  const reply = new Uint8Array(42);
  reply.set(cfg.interfaces[1]!.mac, 0);
  reply.set(SERVER_MAC, 6);
  reply.set([0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2], 12);
  reply.set(SERVER_MAC, 22);
  new DataView(reply.buffer).setUint32(28, BACKENDS[0]!);
  reply.set(cfg.interfaces[1]!.mac, 32);
  new DataView(reply.buffer).setUint32(38, cfg.interfaces[1]!.ip);
  feed(engine, reply, 1, 2);
  assert.equal(out.emitted.length, 0);
  assert.equal(engine.counters.get(DROP.no_flow), 1);
});

// Header-only mirroring (`MF_HEADERS`, `mirror_payload`).

const DATA = new Uint8Array(1000).map((_, i) => i & 0xff);

/** A client's datagram to the VIP's UDP echo service, carrying `payload`. */
const clientDatagram = (cfg: EngineConfig, payload: Uint8Array = DATA) =>
  udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5000,
    dport: 7001,
    payload,
  });

/** An established flow of the client's through `engine`; its records and frames cleared. */
function established(t: ReturnType<typeof setup>): void {
  feed(t.engine, clientSyn(t.cfg, 40000, 1000), 0, 1);
  t.out.clear();
}

Deno.test("deliver: active-forward mirrors a TCP data segment's headers only, options included", () => {
  const t = setup({ mirror: true });
  established(t);
  const seg = clientSegment(t.cfg, 40000, {
    flags: TCP_PSH | TCP_ACK,
    seq: 1001,
    options: tsOpt(7, 9),
    payload: DATA,
  });
  assert.equal(feed(t.engine, seg, 0, 2), V_FORWARD);
  const sent = t.out.emitted[0]!.frame, m = t.out.mirrored[0]!;
  assert.equal(sent.length, 14 + 20 + 32 + DATA.length, "the frame leaves whole");
  assert.equal(m.flags, MF_HEADERS);
  assert.equal(m.frame.length, 14 + 20 + 32, "Ethernet, IPv4, TCP with its 12 option bytes");
  assert.deepEqual(m.frame, sent.subarray(0, m.frame.length), "a prefix of the frame as sent");
  assert.equal(new Ipv4Packet(m.frame, 14).totalLength, 20 + 32 + DATA.length, "length kept");
  assert.equal(t.engine.counters.get(EV.mirror_headers_only), 1);
  // A segment with nothing past its header has nothing to cut: sent whole, unflagged.
  feed(t.engine, clientSegment(t.cfg, 40000, { seq: 2001 }), 0, 3);
  assert.equal(t.out.mirrored[1]!.flags, 0);
  assert.deepEqual(t.out.mirrored[1]!.frame, t.out.emitted[1]!.frame);
  assert.equal(t.engine.counters.get(EV.mirror_headers_only), 1);
});

Deno.test("deliver: active-forward mirrors a UDP datagram's headers only, a new flow's too", () => {
  const t = setup({ mirror: true });
  feed(t.engine, clientDatagram(t.cfg), 0, 1);
  feed(t.engine, clientDatagram(t.cfg), 0, 2);
  assert.deepEqual(t.out.mirrored.map((m) => m.flags), [MF_NEW_FLOW | MF_HEADERS, MF_HEADERS]);
  for (const m of t.out.mirrored) assert.equal(m.frame.length, 14 + 20 + 8);
  assert.equal(t.out.emitted[0]!.frame.length, 14 + 20 + 8 + DATA.length);
});

Deno.test("deliver: an IPv6 TCP segment is mirrored up to its TCP header", () => {
  const { cfg, out, engine } = engine6();
  learn6(engine);
  engine.roles.mirror = true;
  feed(engine, syn6(cfg, 40000, 1000), 0, 1);
  out.clear();
  const seg = data6(
    cfg.virtualMacs[0]!,
    CLIENT_MAC,
    CLIENT6,
    VIP6,
    40000,
    7000,
    1001,
    0,
    0x18,
    DATA,
  );
  assert.equal(feed(engine, seg, 0, 2), V_FORWARD);
  assert.equal(out.mirrored[0]!.flags, MF_HEADERS);
  assert.equal(out.mirrored[0]!.frame.length, 14 + 40 + 20);
  assert.equal(out.emitted[0]!.frame.length, seg.length);
});

Deno.test("deliver: mirror_payload full mirrors whole frames", () => {
  const t = setup({ mirror: true }, { mirrorPayload: "full" });
  established(t);
  feed(t.engine, clientSegment(t.cfg, 40000, { seq: 1001, payload: DATA }), 0, 2);
  const m = t.out.mirrored[0]!;
  assert.equal(m.flags, 0);
  assert.deepEqual(m.frame, t.out.emitted[0]!.frame);
  assert.equal(t.engine.counters.get(EV.mirror_headers_only), 0);
  // Live: the engine reads the setting per packet (a reload replaces the config).
  t.engine.ctx.cfg = { ...t.engine.ctx.cfg, mirrorPayload: "headers" };
  feed(t.engine, clientSegment(t.cfg, 40000, { seq: 2001, payload: DATA }), 0, 3);
  assert.equal(t.out.mirrored[1]!.flags, MF_HEADERS);
});

Deno.test("deliver: frames the peer emits (MF_PEER_EMITS) are always mirrored whole", () => {
  const t = setup({ forwarder: false, mirror: true });
  feed(t.engine, clientSyn(t.cfg, 40000, 1000), 0, 1);
  feed(t.engine, clientSegment(t.cfg, 40000, { seq: 1001, payload: DATA }), 0, 2);
  const m = t.out.mirrored[1]!;
  assert.equal(m.flags, MF_PEER_EMITS);
  assert.equal(m.frame.length, 14 + 20 + 20 + DATA.length);
  assert.equal(t.engine.counters.get(EV.mirror_headers_only), 0);
});

Deno.test("deliver: hold_new_flows holds the whole frame; only the mirror record is cut", () => {
  const t = setup({ mirror: true, hold: true });
  const first = clientDatagram(t.cfg);
  assert.equal(feed(t.engine, first, 0, 1), V_FORWARD);
  assert.equal(t.out.mirrored[0]!.flags, MF_NEW_FLOW | MF_WANT_ACK | MF_HEADERS);
  assert.equal(t.out.mirrored[0]!.frame.length, 14 + 20 + 8);
  assert.equal(t.out.held[0]!.frame.length, first.length, "the held copy is whole");
  assert.deepEqual(t.out.held[0]!.frame.subarray(0, 42), t.out.mirrored[0]!.frame);
});

Deno.test("deliver: IPv4 fragments are mirrored whole, the first one too", () => {
  const t = setup({ mirror: true });
  const whole = clientDatagram(t.cfg, new Uint8Array(4000));
  const frags = fragmentFrame(whole, 1480);
  for (const f of frags) assert.equal(feed(t.engine, f, 0, 1), V_FORWARD);
  assert.equal(t.out.mirrored.length, 3);
  t.out.mirrored.forEach((m, i) => {
    assert.equal(m.flags & MF_HEADERS, 0, `fragment ${i}`);
    assert.deepEqual(m.frame, t.out.emitted[i]!.frame, `fragment ${i}`);
  });
  assert.equal(t.engine.counters.get(EV.mirror_headers_only), 0);
});

/** Ethernet + IPv6 with `ext` (extension headers, the last naming `proto`) + a TCP segment. */
function tcp6With(ext: number[], firstNh: number, payload: number): Uint8Array {
  const len = ext.length + 20 + payload;
  const f = new Uint8Array(14 + 40 + len);
  writeU16(f, 12, ETHERTYPE_IPV6);
  writeIpv6Header(f, 14, len, firstNh, 64, CLIENT6, a6("2001:db8:113::20"));
  f.set(ext, 54);
  f[54 + ext.length + 12] = 5 << 4;
  return f;
}

Deno.test("headersEnd: where a header-only record ends, and what is left whole", () => {
  const whole = (f: Uint8Array) => headersEnd(f, 0, f.length) === f.length;
  const tcp = (options: Uint8Array, n: number) =>
    tcpFrame({
      dstMac: SERVER_MAC,
      src: CLIENT,
      dst: BACKENDS[0]!,
      sport: 1,
      dport: 2,
      flags: TCP_ACK,
      options,
      payload: new Uint8Array(n),
    });
  assert.equal(headersEnd(tcp(new Uint8Array(0), 100), 0, 14 + 40 + 100), 54);
  assert.equal(headersEnd(tcp(tsOpt(1, 2), 100), 0, 14 + 52 + 100), 66, "options included");
  // At an offset inside a larger buffer, as the unit's arena holds frames.
  const inside = new Uint8Array(300);
  inside.set(tcp(new Uint8Array(0), 100), 50);
  assert.equal(headersEnd(inside, 50, 50 + 154), 50 + 54);
  assert.ok(whole(tcp(new Uint8Array(0), 0)), "nothing past the header");
  // Destination options (8 bytes) before TCP: kept, and the TCP header after them.
  const dstOpts = [PROTO_TCP, 0, 1, 4, 0, 0, 0, 0];
  assert.equal(headersEnd(tcp6With(dstOpts, 60, 500), 0, 14 + 40 + 8 + 20 + 500), 82);
  // A Fragment header (even an atomic one) and other protocols: whole.
  assert.ok(whole(tcp6With([PROTO_TCP, 0, 0, 0, 0, 0, 0, 1], 44, 500)));
  assert.ok(whole(tcp6With(dstOpts.map((b, i) => i === 0 ? PROTO_UDP + 1 : b), 60, 500)));
  assert.ok(whole(pingFrame(SERVER_MAC, BACKENDS[0]!)));
  // A data offset past the bytes, or below 5 words, cannot be cut safely.
  const bad = tcp(new Uint8Array(0), 10);
  bad[14 + 20 + 12] = 15 << 4;
  assert.ok(whole(bad));
  bad[14 + 20 + 12] = 4 << 4;
  assert.ok(whole(bad));
  // An IPv4 total length that lies, and a truncated frame.
  const lies = tcp(new Uint8Array(0), 100);
  new Ipv4Packet(lies, 14).totalLength = 2000;
  assert.ok(whole(lies));
  assert.equal(headersEnd(new Uint8Array(10), 0, 10), 10);
});
