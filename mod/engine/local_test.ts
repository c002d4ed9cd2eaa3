import assert from "node:assert/strict";
import { ICMP_ECHO_REPLY, IcmpPacket, TCP_ACK, TCP_RST } from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { V_DROP, V_REPLY } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  clientSyn,
  engineUnderTest,
  feed,
  learnNeighbors,
  parseOut,
  pingFrame,
  serverSegment,
  tcpFrame,
  udpFrame,
  VIP,
} from "./testing.ts";

Deno.test("local: ping to a self address is answered from the unit's own MAC", () => {
  const { cfg, out, engine } = engineUnderTest();
  const self = cfg.interfaces[0]!;
  assert.equal(feed(engine, pingFrame(self.mac, self.ip), 0, 1), V_REPLY);
  const e = out.emitted[0]!;
  assert.equal(e.iface, 0);
  assert.deepEqual([...e.frame.subarray(0, 6)], [...CLIENT_MAC]);
  assert.deepEqual([...e.frame.subarray(6, 12)], [...self.mac]);
  const r = parseOut(e.frame);
  assert.equal(r.ip.src, self.ip);
  assert.equal(r.ip.dst, CLIENT);
  assert.equal(r.ip.ttl, 64);
  assert.ok(r.ip.verifyChecksum());
  assert.equal(r.icmp!.type, ICMP_ECHO_REPLY);
  assert.equal(r.icmp!.echoId, 0x1234);
  assert.equal(r.icmp!.echoSeq, 1);
  assert.ok(r.icmp!.verifyChecksum());
  assert.equal(engine.counters.get(EV.icmp_echo_replies), 1);
});

Deno.test("local: ping to the VIP is answered from the virtual MAC, by the receiver only", () => {
  const { cfg, out, engine } = engineUnderTest();
  assert.equal(feed(engine, pingFrame(cfg.virtualMacs[0]!, VIP), 0, 1), V_REPLY);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(6, 12)], [...cfg.virtualMacs[0]!]);
  assert.equal(parseOut(out.emitted[0]!.frame).ip.src, VIP);
  out.clear();
  engine.roles.receiver = false;
  // Broadcast-addressed, so the frame passes L2 on the non-receiver and is judged on L3.
  assert.equal(feed(engine, pingFrame(new Uint8Array(6).fill(255), VIP), 0, 2), V_DROP);
  assert.equal(out.emitted.length, 0);
  assert.equal(engine.counters.get(DROP.not_receiver), 1);
});

Deno.test("local: a self address refuses TCP with a RST and UDP with port unreachable", () => {
  const { cfg, out, engine } = engineUnderTest();
  const self = cfg.interfaces[0]!;
  const syn = tcpFrame({
    dstMac: self.mac,
    src: CLIENT,
    dst: self.ip,
    sport: 5,
    dport: 22,
    seq: 77,
  });
  assert.equal(feed(engine, syn, 0, 1), V_DROP);
  const rst = parseOut(out.emitted[0]!.frame);
  assert.equal(rst.ip.src, self.ip);
  assert.equal(rst.ip.dst, CLIENT);
  assert.equal(rst.tcp!.flags, TCP_RST | TCP_ACK);
  assert.equal(rst.tcp!.ackNumber, 78, "SEG.SEQ + SEG.LEN (the SYN counts one)");
  assert.equal(rst.tcp!.srcPort, 22);
  assert.equal(rst.tcp!.dstPort, 5);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(6, 12)], [...self.mac]);
  assert.equal(engine.counters.get(DROP.local_unhandled), 1);
  assert.equal(engine.counters.get(EV.tcp_rst_sent), 1);
  const dg = udpFrame({ dstMac: self.mac, src: CLIENT, dst: self.ip, sport: 5, dport: 53 });
  assert.equal(feed(engine, dg, 0, 2), V_DROP);
  const u = parseOut(out.emitted[1]!.frame);
  assert.equal(u.icmp!.type, 3);
  assert.equal(u.icmp!.code, 3);
  assert.equal(u.ip.src, self.ip);
  assert.equal(engine.counters.get(DROP.local_unhandled), 2);
  assert.equal(engine.counters.get(EV.icmp_errors_sent), 1);
  assert.equal(engine.flows.count, 0, "no flow for local traffic");
});

Deno.test("local: a RST to a self address is never answered; other ICMP to self is counted", () => {
  const { cfg, out, engine } = engineUnderTest();
  const self = cfg.interfaces[0]!;
  feed(
    engine,
    tcpFrame({ dstMac: self.mac, src: CLIENT, dst: self.ip, sport: 5, dport: 22, flags: TCP_RST }),
    0,
    1,
  );
  assert.equal(out.emitted.length, 0);
  const p = pingFrame(self.mac, self.ip);
  p[34] = 13; // timestamp request
  p[36] = 0;
  p[37] = 0;
  new IcmpPacket(p, 34, p.length).fillChecksum();
  assert.equal(feed(engine, p, 0, 2), V_DROP);
  assert.equal(engine.counters.get(DROP.icmp_unhandled), 1);
  assert.equal(out.emitted.length, 0);
});

Deno.test("local: only the receiver handles data packets from the network", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  engine.roles.receiver = false;
  // A server's reply addressed to this unit's own MAC (a stale cache): still not ours to forward.
  const reply = serverSegment(cfg, BACKENDS[0]!, 40000);
  reply.set(cfg.interfaces[1]!.mac, 0);
  assert.equal(feed(engine, reply, 1, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.not_receiver), 1);
  const syn = clientSyn(cfg);
  syn.set(cfg.interfaces[0]!.mac, 0);
  assert.equal(feed(engine, syn, 0, 2), V_DROP);
  assert.equal(engine.counters.get(DROP.not_receiver), 2);
  assert.equal(out.emitted.length + out.mirrored.length, 0);
  assert.equal(engine.flows.count, 0);
});
