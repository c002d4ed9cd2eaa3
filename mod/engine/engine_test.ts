/**
 * The engine end to end: two engines as the two units of a pair in each topology, mixed
 * traffic into the receiver, its mirror records relayed through the real peer-link codec.
 */
import assert from "node:assert/strict";
import { TCP_ACK, TCP_FIN, TCP_SYN } from "../wire/mod.ts";
import { xorshift32 } from "../util/prng.ts";
import { DROP } from "./counters.ts";
import { V_DROP, V_FORWARD, V_MIRROR } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  learnNeighbors,
  relay,
  serverSegment,
  udpFrame,
  VIP,
} from "./testing.ts";

type Mode = "active-forward" | "standby-forward" | "standby-first";

/** The receiver and forwarder of a settled pair in `mode` (DESIGN.md table). */
function unitsFor(mode: Mode) {
  const a = engineUnderTest("a", {}, 3), b = engineUnderTest("b", {}, 4);
  const [recv, peer] = mode === "standby-first" ? [b, a] : [a, b];
  learnNeighbors(recv.engine);
  const recvForwards = mode === "active-forward";
  Object.assign(recv.engine.roles, { receiver: true, forwarder: recvForwards, mirror: true });
  Object.assign(peer.engine.roles, { receiver: false, forwarder: !recvForwards, mirror: true });
  return { recv, peer, recvForwards };
}

/** A deterministic mix: TCP handshakes, data, FINs, UDP, and frames that must be dropped. */
function traffic(seed: number, cfg = engineUnderTest().cfg) {
  const rnd = xorshift32(seed);
  const out: { frame: Uint8Array; ingress: number }[] = [];
  for (let i = 0; i < 60; i++) {
    const sport = 20000 + i;
    const backend = BACKENDS[i % 2]!; // round robin from a fresh engine
    out.push({ frame: clientSyn(cfg, sport, 1000), ingress: 0 });
    out.push({
      frame: serverSegment(cfg, backend, sport, { flags: TCP_SYN | TCP_ACK, seq: 5, ack: 1001 }),
      ingress: 1,
    });
    out.push({
      frame: clientSegment(cfg, sport, { seq: 1001, ack: 6, payload: new Uint8Array(rnd() % 200) }),
      ingress: 0,
    });
    if (rnd() % 3 === 0) {
      out.push({
        frame: clientSegment(cfg, sport, { flags: TCP_FIN | TCP_ACK, seq: 1001, ack: 6 }),
        ingress: 0,
      });
    }
    out.push({
      frame: udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport, dport: 7001 }),
      ingress: 0,
    });
    if (rnd() % 4 === 0) {
      const bad = clientSegment(cfg, sport);
      bad[51]! ^= 0x55;
      out.push({ frame: bad, ingress: 0 });
    }
  }
  return out;
}

for (const mode of ["active-forward", "standby-forward", "standby-first"] as Mode[]) {
  Deno.test(`engine ${mode}: exactly one unit emits each packet, and both tables are equal`, () => {
    const { recv, peer, recvForwards } = unitsFor(mode);
    const frames = traffic(7, recv.cfg);
    let drops = 0;
    for (const { frame, ingress } of frames) {
      const v = feed(recv.engine, frame, ingress, 10);
      assert.equal(
        v === V_DROP || v === (recvForwards ? V_FORWARD : V_MIRROR),
        true,
        `verdict ${v}`,
      );
      if (v === V_DROP) drops++;
      relay(recv.out, peer.engine);
    }
    const passed = frames.length - drops;
    assert.equal(drops, recv.engine.counters.get(DROP.bad_tcp_checksum));
    const emittedBy = [recv.out.emitted.length, peer.out.emitted.length];
    assert.deepEqual(emittedBy, recvForwards ? [passed, 0] : [0, passed]);
    assert.equal(peer.engine.flows.count, recv.engine.flows.count);
    assert.equal(peer.engine.flows.count, 120);
    assert.equal(peer.engine.flows.digest, recv.engine.flows.digest);
    for (const f of recv.engine.flows.ids()) {
      const e = recv.engine.flows.entry(f);
      const g = peer.engine.flows.lookup(e.proto, e.oSrc, e.oSport, e.oDst, e.oDport) >> 1;
      const p = peer.engine.flows.entry(g);
      // Everything but the local clock of creation matches (the peer stamps the receiver's).
      assert.deepEqual(p, e, `flow ${f}`);
    }
  });
}

Deno.test("engine: the same traffic leaves the same bytes in every mode (only the source MAC differs)", () => {
  const sent: Uint8Array[][] = [];
  for (const mode of ["active-forward", "standby-forward", "standby-first"] as Mode[]) {
    const { recv, peer, recvForwards } = unitsFor(mode);
    const cfg = engineUnderTest().cfg;
    for (const { frame, ingress } of traffic(11, cfg)) {
      // Both units' virtual MACs are the same (one pair identity), so one frame fits both.
      feed(recv.engine, frame, ingress, 10);
      relay(recv.out, peer.engine);
    }
    const out = (recvForwards ? recv : peer).out.emitted.map((e) => e.frame.slice(12));
    sent.push(out);
  }
  assert.equal(sent[0]!.length, sent[1]!.length);
  assert.deepEqual(sent[1], sent[0]);
  assert.deepEqual(sent[2], sent[0]);
});

Deno.test("engine: handle never throws on random bytes and keeps forwarding after them", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  const rnd = xorshift32(99);
  for (let i = 0; i < 5000; i++) {
    const len = rnd() % 200;
    const f = new Uint8Array(len);
    for (let j = 0; j < len; j++) f[j] = rnd() & 255;
    if (len > 14 && rnd() % 2) {
      f.set(cfg.virtualMacs[0]!, 0);
      f[12] = 0x08;
      f[13] = rnd() % 3 === 0 ? 0x06 : 0x00;
      f[14] = 0x45;
    }
    engine.handle(f, 0, f.length, rnd() % 2, i);
  }
  out.clear();
  assert.equal(feed(engine, clientSyn(cfg, 60000), 0, 6000), V_FORWARD);
  assert.equal(out.emitted.length, 1);
});
