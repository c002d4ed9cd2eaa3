import assert from "node:assert/strict";
import { TCP_ACK, TCP_FIN } from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { V_BOUNCE, V_DROP, V_FORWARD } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  learnNeighbors,
  mac,
  serverSegment,
  tcpFrame,
  VIP,
} from "./testing.ts";

const PEER_FRONT = mac("02:aa:00:00:00:01");
const PEER_BACK = mac("02:aa:00:00:00:02");

/** Unit b alone after the peer link went: receiver, bouncing, knowing a's MACs. */
function solo(bounce = true, macs = true) {
  const t = engineUnderTest("b");
  learnNeighbors(t.engine);
  Object.assign(t.engine.roles, { receiver: true, forwarder: true, mirror: false, bounce });
  if (macs) {
    const m = new Uint8Array(12);
    m.set(PEER_FRONT, 0);
    m.set(PEER_BACK, 6);
    assert.ok(t.engine.setPeerMacs(m));
  }
  return t;
}

Deno.test("split: a client segment of a flow we do not know goes to the peer's own MAC", () => {
  const { cfg, out, engine } = solo();
  const frame = clientSegment(cfg, 41000, { flags: TCP_ACK, seq: 5000 });
  assert.equal(feed(engine, frame, 0, 1), V_BOUNCE);
  assert.equal(out.emitted.length, 1);
  const e = out.emitted[0]!;
  assert.equal(e.iface, 0, "back out of the interface it came in on");
  assert.deepEqual([...e.frame.subarray(0, 6)], [...PEER_FRONT], "to the peer's own MAC");
  assert.deepEqual([...e.frame.subarray(6, 12)], [...cfg.interfaces[0]!.mac], "from ours");
  assert.deepEqual([...e.frame.subarray(12)], [...frame.subarray(12)], "IP and TCP untouched");
  assert.equal(engine.counters.get(EV.split_bounced), 1);
  assert.equal(engine.counters.get(DROP.tcp_no_flow), 0);
  assert.equal(engine.flows.count, 0, "no flow guessed");
});

Deno.test("split: a server's reply of a flow we do not know goes to the peer on the back", () => {
  const { cfg, out, engine } = solo();
  const frame = serverSegment(cfg, BACKENDS[1]!, 41001, { flags: TCP_ACK | TCP_FIN });
  assert.equal(feed(engine, frame, 1, 1), V_BOUNCE);
  assert.equal(out.emitted[0]!.iface, 1);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(0, 6)], [...PEER_BACK]);
  assert.deepEqual([...out.emitted[0]!.frame.subarray(6, 12)], [...cfg.interfaces[1]!.mac]);
});

Deno.test("split: a frame that came to our own MAC is dropped, never sent back", () => {
  const { cfg, out, engine } = solo();
  const bounced = tcpFrame({
    dstMac: cfg.interfaces[0]!.mac,
    src: CLIENT,
    dst: VIP,
    sport: 41002,
    dport: 7000,
    flags: TCP_ACK,
  });
  assert.equal(feed(engine, bounced, 0, 1), V_DROP);
  assert.equal(out.emitted.length, 0);
  assert.equal(engine.counters.get(DROP.tcp_no_flow), 1);
  assert.equal(engine.counters.get(EV.split_bounced), 0);
});

Deno.test("split: paired, or with the peer's MACs unknown, an unknown flow is dropped", () => {
  for (const t of [solo(false, true), solo(true, false)]) {
    assert.equal(feed(t.engine, clientSegment(t.cfg, 41003, { flags: TCP_ACK }), 0, 1), V_DROP);
    assert.equal(t.out.emitted.length, 0);
    assert.equal(t.engine.counters.get(DROP.tcp_no_flow), 1);
  }
});

Deno.test("split: SYNs open flows here and known flows are forwarded, not bounced", () => {
  const { cfg, out, engine } = solo();
  assert.equal(feed(engine, clientSyn(cfg, 41004), 0, 1), V_FORWARD);
  assert.equal(engine.flows.count, 1);
  assert.equal(feed(engine, clientSegment(cfg, 41004, { flags: TCP_ACK }), 0, 2), V_FORWARD);
  assert.ok(out.emitted.every((e) => e.iface === 1), "both toward the server");
  assert.equal(engine.counters.get(EV.split_bounced), 0);
});

Deno.test("split: the peer's MACs are taken only when they match our interfaces", () => {
  const { engine } = solo(true, false);
  assert.equal(engine.setPeerMacs(new Uint8Array(6)), false);
  assert.equal(engine.setPeerMacs(new Uint8Array(18)), false);
  assert.equal(engine.ownMacs().length, 12);
  assert.ok(engine.setPeerMacs(engine.ownMacs()));
});
