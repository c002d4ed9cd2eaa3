import assert from "node:assert/strict";
import { DROP, EV } from "./counters.ts";
import { MF_NEW_FLOW, MF_PEER_EMITS, MF_WANT_ACK, V_DROP, V_FORWARD, V_MIRROR } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  learnNeighbors,
  SERVER_MAC,
  VIP,
} from "./testing.ts";

function setup(
  roles: { receiver?: boolean; forwarder?: boolean; mirror?: boolean; hold?: boolean },
) {
  const t = engineUnderTest();
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
