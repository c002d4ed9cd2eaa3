import assert from "node:assert/strict";
import { fold, pseudoHeaderSum, TCP_ACK, TCP_RST, TCP_SYN } from "../wire/mod.ts";
import { readU32 } from "../wire/bytes.ts";
import { V_FORWARD } from "./output.ts";
import { Engine } from "./engine.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  GW,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  RecordingOutput,
  SERVER_MAC,
  serverSegment,
  udpFrame,
  VIP,
} from "./testing.ts";
import type { EngineConfig } from "./config.ts";

function engine(patch: Partial<EngineConfig["services"][number]> = {}, rng = () => 0x10000) {
  const base = labEngineConfig("a");
  const cfg = labEngineConfig("a", { services: base.services.map((s) => ({ ...s, ...patch })) });
  const out = new RecordingOutput();
  const e = new Engine(cfg, out, rng);
  learnNeighbors(e);
  return { cfg, out, engine: e };
}

/** SACK option: NOP NOP kind 5 len 18, two blocks. */
function sack(...edges: number[]): Uint8Array {
  const o = new Uint8Array(2 + 2 + edges.length * 4);
  o[0] = 1;
  o[1] = 1;
  o[2] = 5;
  o[3] = 2 + edges.length * 4;
  const dv = new DataView(o.buffer);
  edges.forEach((e, i) => dv.setUint32(4 + i * 4, e >>> 0));
  return o;
}

Deno.test("nat: the original direction goes to the backend, TTL − 1, checksums valid", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  assert.equal(feed(engine, clientSyn(cfg, 40000, 1000), 0, 1), V_FORWARD);
  const e = out.emitted[0]!;
  assert.equal(e.iface, 1);
  assert.deepEqual([...e.frame.subarray(0, 6)], [...SERVER_MAC]);
  assert.deepEqual(
    [...e.frame.subarray(6, 12)],
    [...cfg.interfaces[1]!.mac],
    "sent from our own MAC",
  );
  const { ip, tcp } = parseOut(e.frame);
  assert.equal(ip.src, CLIENT, "pure DNAT keeps the client address");
  assert.equal(ip.dst, BACKENDS[0]);
  assert.equal(ip.ttl, 63);
  assert.equal(tcp!.srcPort, 40000);
  assert.equal(tcp!.dstPort, 7000);
  assert.equal(tcp!.seqNumber, 1000, "no offset configured");
  assert.ok(ip.verifyChecksum());
  assert.ok(tcp!.verifyChecksum(ip.src, ip.dst));
});

Deno.test("nat: the reply direction comes back from the VIP, payload untouched", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  feed(engine, clientSyn(cfg, 40000), 0, 1);
  const payload = new TextEncoder().encode("hello");
  feed(
    engine,
    serverSegment(cfg, BACKENDS[0]!, 40000, { flags: 0x18, seq: 5000, ack: 1001, payload }),
    1,
    2,
  );
  const e = out.emitted[1]!;
  assert.equal(e.iface, 0);
  assert.deepEqual([...e.frame.subarray(0, 6)], [...CLIENT_MAC]);
  const { ip, tcp } = parseOut(e.frame);
  assert.deepEqual([ip.src, tcp!.srcPort, ip.dst, tcp!.dstPort], [VIP, 7000, CLIENT, 40000]);
  assert.equal(ip.ttl, 63);
  assert.deepEqual([tcp!.seqNumber, tcp!.ackNumber], [5000, 1001]);
  assert.equal(new TextDecoder().decode(tcp!.payload), "hello");
  assert.ok(ip.verifyChecksum() && tcp!.verifyChecksum(ip.src, ip.dst));
});

Deno.test("nat: SNAT rewrites the client to the floating address and back", () => {
  const { cfg, out, engine: e } = engine({ snatIp: GW });
  feed(e, clientSyn(cfg, 40000), 0, 1);
  const o = parseOut(out.emitted[0]!.frame);
  const port = o.tcp!.srcPort;
  assert.equal(o.ip.src, GW);
  assert.ok(port >= 1024);
  assert.ok(o.tcp!.verifyChecksum(o.ip.src, o.ip.dst));
  const back = serverSegment(cfg, BACKENDS[0]!, 0, { flags: TCP_SYN | TCP_ACK });
  const b = parseOut(back);
  b.ip.dst = GW;
  b.ip.fillChecksum();
  b.tcp!.dstPort = port;
  b.tcp!.fillChecksum(b.ip.src, GW);
  assert.equal(feed(e, back, 1, 2), V_FORWARD);
  const r = parseOut(out.emitted[1]!.frame);
  assert.deepEqual([r.ip.src, r.tcp!.srcPort, r.ip.dst, r.tcp!.dstPort], [
    VIP,
    7000,
    CLIENT,
    40000,
  ]);
  assert.ok(r.ip.verifyChecksum() && r.tcp!.verifyChecksum(r.ip.src, r.ip.dst));
});

Deno.test("nat: a sequence offset shifts the client's seq in and the server's ack and SACK out", () => {
  const off = 0xfffffff0; // wraps: 1000 + off mod 2^32
  const { cfg, out, engine: e } = engine({ randomizeIsn: true }, () => off);
  feed(e, clientSyn(cfg, 40000, 1000), 0, 1);
  const o = parseOut(out.emitted[0]!.frame).tcp!;
  assert.equal(o.seqNumber, (1000 + off) >>> 0);
  // The client's SACK blocks name the server's sequence space: untouched.
  const seg = clientSegment(cfg, 40000, { seq: 1001, ack: 9000, options: sack(9100, 9200) });
  feed(e, seg, 0, 2);
  const o2 = parseOut(out.emitted[1]!.frame);
  assert.equal(o2.tcp!.seqNumber, (1001 + off) >>> 0);
  assert.equal(o2.tcp!.ackNumber, 9000);
  assert.equal(readU32(o2.tcp!.options, 4), 9100);
  assert.ok(o2.tcp!.verifyChecksum(o2.ip.src, o2.ip.dst));
  // The server acks and SACKs the shifted client bytes: shifted back, checksum kept right.
  const shifted = (n: number) => (n + off) >>> 0;
  const back = serverSegment(cfg, BACKENDS[0]!, 40000, {
    seq: 9000,
    ack: shifted(1001),
    options: sack(shifted(2001), shifted(3001), shifted(4001), shifted(5001)),
  });
  feed(e, back, 1, 3);
  const r = parseOut(out.emitted[2]!.frame);
  assert.equal(r.tcp!.seqNumber, 9000, "the server's own sequence is not offset");
  assert.equal(r.tcp!.ackNumber, 1001);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => readU32(r.tcp!.options, 4 + i * 4)),
    [2001, 3001, 4001, 5001],
  );
  assert.ok(r.tcp!.verifyChecksum(r.ip.src, r.ip.dst));
  // A reply without ACK (a bare RST) has no ack number to shift.
  const rst = serverSegment(cfg, BACKENDS[0]!, 40000, { flags: TCP_RST, seq: 9001, ack: 12345 });
  feed(e, rst, 1, 4);
  const rr = parseOut(out.emitted[3]!.frame);
  assert.equal(rr.tcp!.ackNumber, 12345);
  assert.ok(rr.tcp!.verifyChecksum(rr.ip.src, rr.ip.dst));
});

Deno.test("nat: SACK edges at an odd offset keep a valid checksum", () => {
  const off = 0x01020304;
  const { cfg, out, engine: e } = engine({ randomizeIsn: true }, () => off);
  feed(e, clientSyn(cfg, 40000, 1000), 0, 1);
  // One NOP before the SACK option: its edges start at an odd offset in the segment.
  const o = new Uint8Array(1 + 10 + 1);
  o[0] = 1;
  o[1] = 5;
  o[2] = 10;
  new DataView(o.buffer).setUint32(3, (1500 + off) >>> 0);
  new DataView(o.buffer).setUint32(7, (1600 + off) >>> 0);
  feed(
    e,
    serverSegment(cfg, BACKENDS[0]!, 40000, { seq: 9000, ack: (1001 + off) >>> 0, options: o }),
    1,
    2,
  );
  const r = parseOut(out.emitted[1]!.frame);
  assert.equal(readU32(r.tcp!.options, 3), 1500);
  assert.equal(readU32(r.tcp!.options, 7), 1600);
  assert.ok(r.tcp!.verifyChecksum(r.ip.src, r.ip.dst));
});

Deno.test("nat: UDP both ways; a zero UDP checksum stays zero (RFC 768)", () => {
  const { cfg, out, engine: e } = engine();
  const d = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5555,
    dport: 7001,
  });
  feed(e, d, 0, 1);
  const o = parseOut(out.emitted[0]!.frame);
  assert.ok(BACKENDS.includes(o.ip.dst));
  assert.deepEqual([o.udp!.srcPort, o.udp!.dstPort], [5555, 7001]);
  assert.ok(o.udp!.checksum !== 0 && o.udp!.verifyChecksum(o.ip.src, o.ip.dst));
  const z = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5556,
    dport: 7001,
  });
  z[40] = 0;
  z[41] = 0;
  feed(e, z, 0, 2);
  assert.equal(parseOut(out.emitted[1]!.frame).udp!.checksum, 0);
  const back = udpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: o.ip.dst,
    dst: CLIENT,
    sport: 7001,
    dport: 5555,
  });
  feed(e, back, 1, 3);
  const r = parseOut(out.emitted[2]!.frame);
  assert.deepEqual([r.ip.src, r.udp!.srcPort, r.ip.dst, r.udp!.dstPort], [VIP, 7001, CLIENT, 5555]);
  assert.ok(r.udp!.verifyChecksum(r.ip.src, r.ip.dst));
});

Deno.test("nat: a partial checksum (offload) gets the new pseudo-header sum; ports and seq plainly", () => {
  const off = 77;
  const { cfg, out, engine: e } = engine({ randomizeIsn: true }, () => off);
  const payload = new Uint8Array(3000).fill(7);
  const seg = clientSegment(cfg, 4100, { flags: TCP_SYN, seq: 500, payload });
  const l4len = seg.length - 34;
  const partial = (s: number, d: number) => fold(pseudoHeaderSum(s, d, 6, l4len));
  seg[50] = partial(CLIENT, VIP) >> 8;
  seg[51] = partial(CLIENT, VIP) & 255;
  e.vnet = new Uint8Array([1, 1, 0, 54, 0x05, 0xb4, 0, 34, 0, 16]); // NEEDS_CSUM, TCPV4
  assert.equal(feed(e, seg, 0, 1), V_FORWARD);
  const o = parseOut(out.emitted[0]!.frame);
  assert.ok(o.ip.verifyChecksum(), "the IP header checksum is always full");
  assert.equal(o.tcp!.checksum, partial(CLIENT, BACKENDS[0]!));
  assert.equal(o.tcp!.seqNumber, 500 + off);
  assert.deepEqual([...out.emitted[0]!.vnet!], [...e.vnet], "the offload header travels along");
  // The server's GSO reply: ack shifted back plainly.
  const back = serverSegment(cfg, BACKENDS[0]!, 4100, {
    flags: TCP_ACK,
    seq: 1,
    ack: 501 + off,
    payload,
  });
  back[50] = partial(BACKENDS[0]!, CLIENT) >> 8;
  back[51] = partial(BACKENDS[0]!, CLIENT) & 255;
  feed(e, back, 1, 2);
  const r = parseOut(out.emitted[1]!.frame);
  assert.equal(r.tcp!.ackNumber, 501);
  assert.equal(r.tcp!.checksum, partial(VIP, CLIENT));
  assert.deepEqual([r.tcp!.srcPort, r.tcp!.dstPort], [7000, 4100]);
});

Deno.test("nat: a UDP checksum that computes to zero is sent as all ones (RFC 768)", () => {
  const { cfg, out, engine: e } = engine();
  const withWord = (w: number) =>
    udpFrame({
      dstMac: cfg.virtualMacs[0]!,
      src: CLIENT,
      dst: VIP,
      sport: 5555,
      dport: 7001,
      payload: new Uint8Array([w >> 8, w & 255]),
    });
  feed(e, withWord(0), 0, 1);
  // With the payload word equal to that checksum the translated datagram sums to zero.
  const c0 = parseOut(out.emitted[0]!.frame).udp!.checksum;
  feed(e, withWord(c0), 0, 2);
  const o = parseOut(out.emitted[1]!.frame);
  assert.equal(o.udp!.checksum, 0xffff);
  assert.ok(o.udp!.verifyChecksum(o.ip.src, o.ip.dst));
});
