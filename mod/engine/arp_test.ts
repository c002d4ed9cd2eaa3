import assert from "node:assert/strict";
import { ARP_REPLY, ARP_REQUEST, ArpPacket, BROADCAST_MAC, buildArpFrame } from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { V_DROP, V_QUEUED, V_REPLY } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  clientSyn,
  engineUnderTest,
  feed,
  GW,
  SERVER_MAC,
  VIP,
} from "./testing.ts";

function arpFrame(op: number, sha: Uint8Array, spa: number, tpa: number, dst = BROADCAST_MAC) {
  const b = new Uint8Array(42);
  buildArpFrame(b, op, sha, spa, new Uint8Array(6), tpa, dst);
  return b;
}

Deno.test("ARP: the receiver answers for a floating address with the virtual MAC", () => {
  const { cfg, out, engine } = engineUnderTest();
  engine.roles.mirror = true; // paired: the peer does not answer, the reply alone will do
  assert.equal(feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, VIP), 0, 1), V_REPLY);
  assert.equal(out.emitted.length, 1);
  const e = out.emitted[0]!;
  assert.equal(e.iface, 0);
  assert.deepEqual([...e.frame.subarray(0, 6)], [...CLIENT_MAC], "unicast to the asker");
  assert.deepEqual([...e.frame.subarray(6, 12)], [...cfg.virtualMacs[0]!]);
  const r = ArpPacket.checked(e.frame.subarray(14))!;
  assert.equal(r.op, ARP_REPLY);
  assert.deepEqual([...r.sha], [...cfg.virtualMacs[0]!]);
  assert.equal(r.spa, VIP);
  assert.deepEqual([...r.tha], [...CLIENT_MAC]);
  assert.equal(r.tpa, CLIENT);
  assert.equal(engine.counters.get(EV.arp_replies), 1);
  // The asker is learned: a frame to it needs no ARP request.
  assert.deepEqual([...engine.neighbors[0]!.lookup(CLIENT)!], [...CLIENT_MAC]);
});

Deno.test("ARP: without a peer, answering for a floating address claims every one on every segment", () => {
  const { cfg, out, engine } = engineUnderTest();
  assert.equal(engine.roles.mirror, false);
  assert.equal(feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, VIP), 0, 1), V_REPLY);
  assert.equal(out.emitted.length, 1 + cfg.floating.length, "the reply, then a GARP for each");
  assert.equal(ArpPacket.checked(out.emitted[0]!.frame.subarray(14))!.op, ARP_REPLY);
  const garps = out.emitted.slice(1).map((e) => ({
    iface: e.iface,
    ip: ArpPacket.checked(e.frame.subarray(14))!.spa,
    src: [...e.frame.subarray(6, 12)],
  }));
  assert.deepEqual(
    garps,
    cfg.floating.map((f) => ({ iface: f.iface, ip: f.ip, src: [...cfg.virtualMacs[f.iface]!] })),
  );
  assert.ok(new Set(garps.map((g) => g.iface)).size > 1, "the servers' side too");
  // A question about the unit itself claims nothing.
  out.clear();
  feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, cfg.interfaces[0]!.ip), 0, 2);
  assert.equal(out.emitted.length, 1);
});

Deno.test("ARP: a gratuitous ARP for a floating address is not answered (RFC 5227 §3)", () => {
  const { cfg, out, engine } = engineUnderTest();
  const other = new Uint8Array([2, 0, 0, 0, 0, 0x42]);
  assert.equal(feed(engine, arpFrame(ARP_REQUEST, other, VIP, VIP), 0, 1), V_REPLY);
  assert.equal(out.emitted.length, 0, "an announcement asks nothing");
  // A real question is answered.
  feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, VIP), 0, 2);
  assert.equal(ArpPacket.checked(out.emitted[0]!.frame.subarray(14))!.op, ARP_REPLY);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(6, 12)], [...cfg.virtualMacs[0]!]);
});

Deno.test("ARP: a floating address on another interface is not answered there", () => {
  const { out, engine } = engineUnderTest();
  // The gateway address lives on the back interface (1): asked on the front, silence.
  assert.equal(feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, GW), 0, 1), V_DROP);
  assert.equal(out.emitted.length, 0);
  assert.equal(engine.counters.get(DROP.not_for_us), 1);
});

Deno.test("ARP: a non-receiver never answers for a floating address, but always for itself", () => {
  const { cfg, out, engine } = engineUnderTest();
  engine.roles.receiver = false;
  assert.equal(feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, VIP), 0, 1), V_DROP);
  assert.equal(out.emitted.length, 0);
  assert.equal(engine.neighbors[0]!.lookup(CLIENT), undefined, "not learned either");
  const self = cfg.interfaces[0]!;
  assert.equal(feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, self.ip), 0, 2), V_REPLY);
  const r = ArpPacket.checked(out.emitted[0]!.frame.subarray(14))!;
  assert.deepEqual([...r.sha], [...self.mac]);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(6, 12)], [...self.mac]);
  assert.equal(r.spa, self.ip);
});

Deno.test("ARP: a reply resolves a queued packet, which then leaves; unrelated senders are not learned", () => {
  const { cfg, out, engine } = engineUnderTest();
  engine.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0, 0);
  assert.equal(feed(engine, clientSyn(cfg), 0, 1), V_QUEUED);
  const req = ArpPacket.checked(out.emitted[0]!.frame.subarray(14))!;
  assert.equal(req.op, ARP_REQUEST);
  assert.equal(req.spa, cfg.interfaces[1]!.ip, "requests come from the self address");
  assert.deepEqual([...req.sha], [...cfg.interfaces[1]!.mac]);
  assert.equal(req.tpa, BACKENDS[0]);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(0, 6)], [...BROADCAST_MAC]);
  assert.equal(engine.counters.get(EV.arp_requests), 1);
  out.clear();
  // Gratuitous noise from a stranger about someone else: not learned.
  const stranger = new Uint8Array([2, 9, 9, 9, 9, 9]);
  feed(engine, arpFrame(ARP_REQUEST, stranger, 0xcb007163, 0xcb007164), 1, 2);
  assert.equal(engine.neighbors[1]!.lookup(0xcb007163), undefined);
  const reply = arpFrame(
    ARP_REPLY,
    SERVER_MAC,
    BACKENDS[0]!,
    cfg.interfaces[1]!.ip,
    cfg.interfaces[1]!.mac,
  );
  assert.equal(feed(engine, reply, 1, 3), V_REPLY);
  assert.equal(out.emitted.length, 1, "the SYN left");
  assert.deepEqual([...out.emitted[0]!.frame.subarray(0, 6)], [...SERVER_MAC]);
  assert.equal(engine.counters.get(EV.forwarded), 1);
  // Resolved: no more requests for it, and it stays.
  out.clear();
  for (const t of [300, 600, 900, 1200]) engine.tick(t);
  assert.equal(out.emitted.length, 0, "a resolved neighbour is not asked again");
  assert.deepEqual([...engine.neighbors[1]!.lookup(BACKENDS[0]!)!], [...SERVER_MAC]);
});

Deno.test("ARP: an entry we hold is refreshed by any ARP from that neighbour", () => {
  const { engine } = engineUnderTest();
  engine.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0, 0);
  const moved = new Uint8Array([2, 0, 0, 0, 0, 0x77]);
  feed(engine, arpFrame(ARP_REQUEST, moved, CLIENT, 0xc6336463), 0, 1);
  assert.deepEqual([...engine.neighbors[0]!.lookup(CLIENT)!], [...moved]);
});

/** The lab's services with one backend each, so every new flow needs the same neighbour. */
function oneBackend() {
  const base = engineUnderTest().cfg;
  return engineUnderTest("a", {
    services: base.services.map((s) => ({ ...s, backends: [s.backends[0]!] })),
  });
}

Deno.test("ARP: unanswered requests are retried, then the queue is dropped and counted", () => {
  const { cfg, out, engine } = oneBackend();
  engine.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0, 0);
  feed(engine, clientSyn(cfg, 1), 0, 0);
  feed(engine, clientSyn(cfg, 2), 0, 0);
  assert.equal(out.emitted.length, 1, "one request for two queued packets");
  engine.tick(299);
  assert.equal(out.emitted.length, 1);
  engine.tick(300);
  assert.equal(out.emitted.length, 2, "retried after 300 ms");
  engine.tick(600);
  assert.equal(out.emitted.length, 3);
  engine.tick(900);
  assert.equal(engine.counters.get(DROP.arp_unresolved), 2, "both queued packets dropped");
  assert.equal(out.emitted.length, 3, "no request after giving up");
});

Deno.test("ARP: the queue per neighbour is bounded", () => {
  const { cfg, engine } = oneBackend();
  engine.neighbors[0]!.learn(CLIENT, CLIENT_MAC, 0, 0);
  const limit = cfg.arpQueueLimit;
  for (let i = 0; i < limit; i++) {
    assert.equal(feed(engine, clientSyn(cfg, 100 + i), 0, 0), V_QUEUED);
  }
  assert.equal(feed(engine, clientSyn(cfg, 999), 0, 0), V_DROP);
  assert.equal(engine.counters.get(DROP.arp_queue_full), 1);
});
