import assert from "node:assert/strict";
import { decodeRow, encodeRow, SYNC_ROW } from "../flow/fields.ts";
import { ARP_REQUEST, ArpPacket, BROADCAST_MAC, TCP_ACK, TCP_SYN } from "../wire/mod.ts";
import { readU32 } from "../wire/bytes.ts";
import { EV } from "./counters.ts";
import { MF_PEER_EMITS } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  GW,
  learnNeighbors,
  mirrorIn,
  parseOut,
  serverSegment,
  tsOpt,
  udpFrame,
  VIP,
} from "./testing.ts";
import { Engine } from "./engine.ts";

Deno.test("takeover: a gratuitous ARP from the virtual MAC for every floating address", () => {
  const { cfg, out, engine } = engineUnderTest();
  assert.equal(engine.announce(), 2);
  assert.equal(out.emitted.length, 2);
  const want = [[0, VIP], [1, GW]] as const;
  out.emitted.forEach((e, i) => {
    assert.equal(e.iface, want[i]![0]);
    assert.deepEqual([...e.frame.subarray(0, 6)], [...BROADCAST_MAC]);
    assert.deepEqual([...e.frame.subarray(6, 12)], [...cfg.virtualMacs[e.iface]!]);
    const a = ArpPacket.checked(e.frame.subarray(14))!;
    assert.equal(a.op, ARP_REQUEST);
    assert.equal(a.spa, want[i]![1]);
    assert.equal(a.tpa, want[i]![1], "RFC 5227: sender and target are the claimed address");
    assert.deepEqual([...a.sha], [...cfg.virtualMacs[e.iface]!]);
  });
  assert.equal(engine.counters.get(EV.garp_sent), 2);
});

/** An established flow through `e`: SYN 100, SYN-ACK 900 with timestamps, ACK. */
function establish(e: Engine, cfgOf = e.config) {
  feed(e, clientSyn(cfgOf, 4000, 100), 0, 1);
  feed(
    e,
    serverSegment(cfgOf, BACKENDS[0]!, 4000, {
      flags: TCP_SYN | TCP_ACK,
      seq: 900,
      ack: 101,
      options: tsOpt(7, 9),
    }),
    1,
    2,
  );
  feed(
    e,
    clientSegment(cfgOf, 4000, { flags: TCP_ACK, seq: 101, ack: 901, options: tsOpt(11, 7) }),
    0,
    3,
  );
}

/** SACK blocks must come back: Linux answers an old segment with its current ACK. */
function checkProbes(e: Engine, out: ReturnType<typeof engineUnderTest>["out"], off = 0) {
  out.clear();
  assert.equal(e.probe(4), 2);
  assert.equal(e.counters.get(EV.probes_sent), 2);
  const toClient = out.emitted.filter((x) => x.iface === 0).map((x) => parseOut(x.frame));
  const toServer = out.emitted.filter((x) => x.iface === 1).map((x) => parseOut(x.frame));
  assert.equal(toClient.length, 1);
  assert.equal(toServer.length, 1);
  const c = toClient[0]!;
  assert.equal(c.ip.src, VIP);
  assert.equal(c.ip.dst, CLIENT);
  assert.equal(c.tcp!.srcPort, 7000);
  assert.equal(c.tcp!.dstPort, 4000);
  assert.equal(c.tcp!.seqNumber, 900, "the client's RCV.NXT (901) − 1: an old sequence number");
  assert.equal(c.tcp!.ackNumber, 101, "the server's last ack, in the client's terms");
  assert.equal(c.tcp!.flags, TCP_ACK);
  assert.equal(c.tcp!.payloadLength, 0);
  assert.ok(c.tcp!.verifyChecksum(c.ip.src, c.ip.dst));
  assert.equal(readU32(c.tcp!.options, 4), 7, "TSval: the server's last (PAWS passes)");
  assert.equal(readU32(c.tcp!.options, 8), 11, "TSecr: the client's last");
  const s = toServer[0]!;
  assert.equal(s.ip.src, CLIENT);
  assert.equal(s.ip.dst, BACKENDS[0]);
  assert.equal(s.tcp!.srcPort, 4000);
  assert.equal(s.tcp!.dstPort, 7000);
  assert.equal(s.tcp!.seqNumber, (101 + off - 1) >>> 0, "the server's RCV.NXT − 1, in its terms");
  assert.equal(s.tcp!.ackNumber, 901);
  assert.equal(readU32(s.tcp!.options, 4), 11);
  assert.equal(readU32(s.tcp!.options, 8), 7);
  assert.ok(s.tcp!.verifyChecksum(s.ip.src, s.ip.dst));
}

Deno.test("takeover: established flows get one keep-alive probe toward each endpoint", () => {
  const { out, engine } = engineUnderTest();
  learnNeighbors(engine);
  establish(engine);
  checkProbes(engine, out);
  assert.equal(engine.probe(10_000), 0, "idle flows are not probed");
});

Deno.test("takeover: probes to the server are in its sequence space when an offset applies", () => {
  const base = engineUnderTest().cfg;
  const off = 0xfffffff0;
  const t = engineUnderTest("a", {
    services: base.services.map((s) => ({ ...s, randomizeIsn: true })),
  });
  const e = new Engine(t.cfg, t.out, () => off);
  learnNeighbors(e);
  feed(e, clientSyn(t.cfg, 4000, 100), 0, 1);
  feed(
    e,
    serverSegment(t.cfg, BACKENDS[0]!, 4000, {
      flags: TCP_SYN | TCP_ACK,
      seq: 900,
      ack: (101 + off) >>> 0,
      options: tsOpt(7, 9),
    }),
    1,
    2,
  );
  feed(
    e,
    clientSegment(t.cfg, 4000, { flags: TCP_ACK, seq: 101, ack: 901, options: tsOpt(11, 7) }),
    0,
    3,
  );
  checkProbes(e, t.out, off);
});

Deno.test("takeover: flows not established, or without a known next hop, are not probed", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  feed(engine, clientSyn(cfg, 4000, 100), 0, 1);
  out.clear();
  assert.equal(engine.probe(2), 0, "a half-open flow");
  // A unit that holds the flow but never learned where the endpoints are cannot probe.
  establish(engine);
  const b = engineUnderTest("b");
  const f = engine.flows.lookup(6, CLIENT, 4000, VIP, 7000) >> 1;
  assert.ok(b.engine.flows.addEntry(engine.flows.entry(f)) >= 0);
  assert.equal(b.engine.probe(4), 0);
  assert.equal(b.out.emitted.length, 0);
});

Deno.test("takeover right after a bulk sync builds its packets from the synced flow's sequence state", () => {
  const a = engineUnderTest("a"), b = engineUnderTest("b");
  learnNeighbors(a.engine);
  learnNeighbors(b.engine);
  // b's slot 0 held another flow before, with other sequence state: nothing of it may survive.
  const stale = b.engine.flows.addEntry({
    proto: 6,
    state: 3,
    oSrc: 1,
    oSport: 1,
    oDst: 2,
    oDport: 2,
    rSrc: 3,
    rSport: 3,
    rDst: 1,
    rDport: 1,
    oSeqNext: 0xdead,
    rSeqNext: 0xbeef,
    oTsVal: 0x1111,
    rTsVal: 0x2222,
    tcpBits: 0x0f,
  });
  b.engine.flows.remove(stale);
  establish(a.engine);
  // The bulk sync as the unit runs it: every field through the wire row.
  const buf = new DataView(new ArrayBuffer(SYNC_ROW.size));
  const fa = a.engine.flows.lookup(6, CLIENT, 4000, VIP, 7000) >> 1;
  encodeRow(a.engine.flows.cols, SYNC_ROW, fa, buf, 0);
  const bt = b.engine.flows;
  bt.clearRow(bt.stage);
  decodeRow(bt.cols, SYNC_ROW, bt.stage, buf, 0);
  const fb = bt.upsert(bt.stage);
  assert.equal(fb, stale, "the same slot is reused");
  assert.deepEqual(bt.entry(fb), a.engine.flows.entry(fa), "every field arrived");
  checkProbes(b.engine, b.out);
});

Deno.test("takeover: replay emits a handed-over frame as it was sent, and only those", () => {
  const a = engineUnderTest("a");
  learnNeighbors(a.engine);
  Object.assign(a.engine.roles, { receiver: true, forwarder: false, mirror: true });
  feed(a.engine, clientSyn(a.cfg, 4000, 100), 0, 1);
  const m = a.out.mirrored[0]!;
  assert.ok(m.flags & MF_PEER_EMITS);
  assert.equal(a.out.emitted.length, 0, "handed over, not sent");
  // The peer died without confirming: the survivor replays it.
  assert.equal(a.engine.replay(mirrorIn(m)), true);
  assert.equal(a.out.emitted.length, 1);
  assert.equal(a.out.emitted[0]!.iface, 1);
  assert.deepEqual(a.out.emitted[0]!.frame, m.frame, "byte for byte what the peer would have sent");
  assert.equal(a.engine.counters.get(EV.replayed), 1);
  // A record the receiver emitted itself (active-forward) is not replayed.
  Object.assign(a.engine.roles, { forwarder: true });
  feed(a.engine, clientSyn(a.cfg, 4001, 100), 0, 2);
  assert.equal(a.engine.replay(mirrorIn(a.out.mirrored[1]!)), false);
  assert.equal(a.engine.counters.get(EV.replayed), 1);
  assert.equal(a.engine.counters.get(EV.replay_skipped), 0, "not a handed-over frame");
});

Deno.test("takeover: a handed-over UDP datagram is not replayed, but counted", () => {
  const a = engineUnderTest("a");
  learnNeighbors(a.engine);
  Object.assign(a.engine.roles, { receiver: true, forwarder: false, mirror: true });
  const udp = udpFrame({
    dstMac: a.cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5000,
    dport: 7001,
  });
  feed(a.engine, udp, 0, 1);
  const m = a.out.mirrored[0]!;
  assert.ok(m.flags & MF_PEER_EMITS, "handed over for emission");
  // A duplicate datagram would reach the application as a second request: lost is safer.
  assert.equal(a.engine.replay(mirrorIn(m)), false);
  assert.equal(a.out.emitted.length, 0);
  assert.equal(a.engine.counters.get(EV.replayed), 0);
  assert.equal(a.engine.counters.get(EV.replay_skipped), 1);
});
