import assert from "node:assert/strict";
import { ST_TCP_ESTABLISHED, ST_TCP_SYN_SENT, TB_OFF_REPLY, TB_PROXY } from "../flow/states.ts";
import {
  findTcpOption,
  OPT_MSS,
  OPT_SACK,
  OPT_SACK_PERMITTED,
  OPT_WSCALE,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  type TcpSegment,
} from "../wire/mod.ts";
import type { EngineConfig } from "./config.ts";
import { DROP, EV } from "./counters.ts";
import { V_DROP, V_FORWARD, V_MIRROR, V_QUEUED, V_REPLY } from "./output.ts";
import { checkCookie, cookieMss, cookieSack, cookieWscale } from "./syncookie.ts";
import { CALM_WINDOWS, HELD_SLOTS, PROXY_WSCALE, SYN_RATE_ON, SYN_RESEND_MS } from "./synproxy.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  engineUnderTest,
  feed,
  learnNeighbors,
  parseOut,
  relay,
  serverSegment,
  VIP,
} from "./testing.ts";

/** MSS 1460, NOP + window scale 8, NOP NOP SACK-permitted: a Linux client's SYN, no timestamps. */
const SYN_OPTS = new Uint8Array([2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2]);

function withProxy(mode: "on" | "auto"): (cfg: EngineConfig) => Partial<EngineConfig> {
  return (cfg) => ({
    services: cfg.services.map((s) => s.proto === 6 ? { ...s, synProxy: mode } : s),
  });
}

function proxied(mode: "on" | "auto" = "on", unit: "a" | "b" = "a", seed = 1) {
  const base = engineUnderTest(unit, {}, seed);
  const t = engineUnderTest(unit, withProxy(mode)(base.cfg), seed);
  learnNeighbors(t.engine);
  return t;
}

function syn(cfg: EngineConfig, sport: number, seq: number, src = CLIENT): Uint8Array {
  return clientSegment(cfg, sport, { flags: TCP_SYN, seq, options: SYN_OPTS, src });
}

function tcpOf(frame: Uint8Array): TcpSegment {
  const t = parseOut(frame).tcp;
  assert.ok(t, "a TCP frame");
  return t;
}

function optAt(t: TcpSegment, kind: number): number {
  return findTcpOption(t.buf, t.optionsOff, t.payloadOff, kind);
}

Deno.test("synproxy: a SYN gets a cookie SYN-ACK from the VIP and creates no flow", () => {
  const { cfg, out, engine } = proxied();
  assert.equal(feed(engine, syn(cfg, 40000, 1000), 0, 5), V_REPLY);
  assert.equal(engine.flows.count, 0, "no state for a half-open connection");
  assert.equal(engine.counters.get(EV.syncookies_sent), 1);
  assert.equal(out.emitted.length, 1);
  const e = out.emitted[0]!;
  assert.equal(e.iface, 0);
  const { ip } = parseOut(e.frame);
  assert.equal(ip.src, VIP);
  assert.equal(ip.dst, CLIENT);
  assert.deepEqual([...e.frame.subarray(6, 12)], [...cfg.virtualMacs[0]!], "from the virtual MAC");
  const t = tcpOf(e.frame);
  assert.equal(t.flags, TCP_SYN | TCP_ACK);
  assert.equal(t.ackNumber, 1001);
  assert.equal(t.srcPort, 7000);
  assert.equal(t.dstPort, 40000);
  const c = t.seqNumber;
  assert.equal(checkCookie(engine.ctx.synSecret, CLIENT, VIP, 40000, 7000, 1000, c, 5), true);
  assert.equal(cookieMss(c), 1460);
  assert.equal(cookieWscale(c), 8);
  assert.equal(cookieSack(c), true);
  assert.equal(t.buf[optAt(t, OPT_WSCALE) + 2], PROXY_WSCALE);
  assert.ok(optAt(t, OPT_SACK_PERMITTED) >= 0);
  assert.equal(t.buf[optAt(t, OPT_MSS) + 2]! * 256 + t.buf[optAt(t, OPT_MSS) + 3]!, 1460);
});

/** Runs the proxied handshake on `engine`; returns the cookie and the backend's ISN. */
function handshake(t: ReturnType<typeof proxied>, sport = 40000, isn = 1000, b = 5_000_000) {
  const { cfg, out, engine } = t;
  feed(engine, syn(cfg, sport, isn), 0, 10);
  const cookie = tcpOf(out.emitted.at(-1)!.frame).seqNumber;
  out.emitted = [];
  const ack = clientSegment(cfg, sport, { flags: TCP_ACK, seq: isn + 1, ack: cookie + 1 });
  const v1 = feed(engine, ack, 0, 20);
  const bsyn = out.emitted.at(-1);
  const f = engine.flows.lookup(6, CLIENT, sport, VIP, 7000) >> 1;
  const backend = BACKENDS[engine.flows.c.backend[f]!]!;
  out.emitted = [];
  const synAck = serverSegment(cfg, backend, sport, {
    flags: TCP_SYN | TCP_ACK,
    seq: b,
    ack: isn + 1,
  });
  return { cookie, f, backend, v1, bsyn, synAck };
}

Deno.test("synproxy: a valid ACK opens a pending flow and replays the handshake to the backend", () => {
  const t = proxied();
  const { engine, out, cfg } = t;
  const { cookie, f, backend, v1, bsyn, synAck } = handshake(t);
  assert.equal(v1, V_FORWARD);
  assert.equal(engine.counters.get(EV.syncookies_valid), 1);
  assert.equal(engine.flows.count, 1);
  const c = engine.flows.c;
  assert.equal(c.state[f], ST_TCP_SYN_SENT);
  assert.equal(c.tcpBits[f]! & (TB_PROXY | TB_OFF_REPLY), TB_PROXY | TB_OFF_REPLY);
  assert.equal(c.seqOffset[f], cookie, "pending: the offset holds the cookie");
  // The SYN to the backend: the client's ISN and the options its cookie carried.
  assert.ok(bsyn);
  assert.equal(bsyn.iface, 1);
  const s = tcpOf(bsyn.frame), sip = parseOut(bsyn.frame).ip;
  assert.equal(sip.src, CLIENT);
  assert.equal(sip.dst, backend);
  assert.equal(s.flags, TCP_SYN);
  assert.equal(s.seqNumber, 1000);
  assert.equal(s.dstPort, 7000);
  assert.equal(s.srcPort, 40000);
  assert.equal(s.buf[optAt(s, OPT_MSS) + 2]! * 256 + s.buf[optAt(s, OPT_MSS) + 3]!, 1460);
  assert.equal(s.buf[optAt(s, OPT_WSCALE) + 2], 8, "the client's own window scale");
  assert.ok(optAt(s, OPT_SACK_PERMITTED) >= 0);
  assert.ok(s.verifyChecksum(sip.src, sip.dst));
  // The client's first data while pending: held; a second one dropped and counted.
  const early = clientSegment(cfg, 40000, {
    flags: TCP_ACK,
    seq: 1001,
    ack: cookie + 1,
    payload: new Uint8Array([1, 2, 3]),
  });
  assert.equal(feed(engine, early, 0, 25), V_QUEUED);
  assert.equal(engine.counters.get(EV.syn_proxy_held), 1);
  const second = clientSegment(cfg, 40000, {
    flags: TCP_ACK,
    seq: 1004,
    ack: cookie + 1,
    payload: new Uint8Array([4]),
  });
  assert.equal(feed(engine, second, 0, 26), V_DROP);
  assert.equal(engine.counters.get(DROP.syn_proxy_pending), 1);
  assert.equal(out.emitted.length, 0, "no SYN again before SYN_RESEND_MS");
  // The backend answers: the offset is set, the backend gets the handshake's ACK, then the
  // held segment, translated.
  const b = 5_000_000;
  assert.equal(feed(engine, synAck, 1, 30), V_FORWARD);
  assert.equal(c.state[f], ST_TCP_ESTABLISHED);
  assert.equal(c.tcpBits[f]! & TB_PROXY, 0);
  assert.equal(c.seqOffset[f], (cookie - b) >>> 0);
  assert.equal(engine.counters.get(EV.syn_proxy_established), 1);
  assert.equal(out.emitted.length, 2, "the ACK and the held data: the client had its SYN-ACK");
  const a = tcpOf(out.emitted[0]!.frame);
  assert.equal(out.emitted[0]!.iface, 1);
  assert.equal(a.flags, TCP_ACK);
  assert.equal(a.seqNumber, 1001);
  assert.equal(a.ackNumber, b + 1);
  const held = tcpOf(out.emitted[1]!.frame), hip = parseOut(out.emitted[1]!.frame).ip;
  assert.equal(out.emitted[1]!.iface, 1);
  assert.equal(held.seqNumber, 1001);
  assert.equal(held.ackNumber, b + 1, "its ack moved into the backend's space");
  assert.deepEqual([...held.payload], [1, 2, 3]);
  assert.ok(held.verifyChecksum(hip.src, hip.dst));
  out.clear();
  // Server → client: its sequence numbers move into the cookie's space.
  const data = serverSegment(cfg, backend, 40000, {
    flags: TCP_ACK,
    seq: b + 1,
    ack: 1001,
    payload: new Uint8Array([9, 9]),
  });
  assert.equal(feed(engine, data, 1, 40), V_FORWARD);
  const toClient = tcpOf(out.emitted[0]!.frame), cip = parseOut(out.emitted[0]!.frame).ip;
  assert.equal(toClient.seqNumber, (cookie + 1) >>> 0);
  assert.equal(toClient.ackNumber, 1001, "the client's space is untouched");
  assert.ok(toClient.verifyChecksum(cip.src, cip.dst));
  out.clear();
  // Client → server: its acknowledgment and SACK edges move back into the backend's space.
  const sack = new Uint8Array([1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  const dv = new DataView(sack.buffer);
  dv.setUint32(4, (cookie + 100) >>> 0);
  dv.setUint32(8, (cookie + 200) >>> 0);
  const fromClient = clientSegment(cfg, 40000, {
    flags: TCP_ACK,
    seq: 1001,
    ack: (cookie + 3) >>> 0,
    options: sack,
  });
  assert.equal(feed(engine, fromClient, 0, 50), V_FORWARD);
  const toServer = tcpOf(out.emitted[0]!.frame), sip2 = parseOut(out.emitted[0]!.frame).ip;
  assert.equal(toServer.seqNumber, 1001);
  assert.equal(toServer.ackNumber, b + 3);
  const at = optAt(toServer, OPT_SACK);
  const sv = new DataView(toServer.buf.buffer, toServer.buf.byteOffset);
  assert.equal(sv.getUint32(at + 2), b + 100);
  assert.equal(sv.getUint32(at + 6), b + 200);
  assert.ok(toServer.verifyChecksum(sip2.src, sip2.dst));
});

Deno.test("synproxy: an ACK with a bad cookie is counted and dropped, and opens nothing", () => {
  const { cfg, engine } = proxied();
  feed(engine, syn(cfg, 40000, 1000), 0, 5);
  const bad = clientSegment(cfg, 40001, { flags: TCP_ACK, seq: 1001, ack: 12345 });
  assert.equal(feed(engine, bad, 0, 6), V_DROP);
  assert.equal(engine.counters.get(DROP.syncookie_invalid), 1);
  assert.equal(engine.flows.count, 0);
});

Deno.test("synproxy: the backend refusing resets the client and ends the flow", () => {
  const t = proxied();
  const { cookie, f, backend } = handshake(t);
  const rst = serverSegment(t.cfg, backend, 40000, { flags: TCP_RST | TCP_ACK, seq: 0, ack: 1001 });
  assert.equal(feed(t.engine, rst, 1, 30), V_DROP);
  assert.equal(t.engine.flows.live(f), false);
  assert.equal(t.engine.counters.get(EV.syn_proxy_backend_refused), 1);
  const r = tcpOf(t.out.emitted.at(-1)!.frame);
  assert.equal(r.flags, TCP_RST);
  assert.equal(r.seqNumber, (cookie + 1) >>> 0);
  assert.equal(t.out.emitted.at(-1)!.iface, 0);
});

Deno.test("synproxy: thousands of SYNs from random sources leave the flow table empty", () => {
  const { cfg, engine } = proxied();
  let x = 12345;
  for (let i = 0; i < 5000; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const src = (0xc6336400 | (x & 0xff)) >>> 0;
    feed(engine, syn(cfg, 1024 + (x >>> 16) % 60000, x, src), 0, i);
  }
  assert.equal(engine.flows.count, 0);
  assert.equal(engine.counters.get(EV.syncookies_sent), 5000);
});

Deno.test("synproxy: auto engages above the SYN rate and lets go after calm seconds", () => {
  const { cfg, engine } = proxied("auto");
  // Below the rate: flows as today.
  for (let i = 0; i < 10; i++) feed(engine, syn(cfg, 30000 + i, 1), 0, 100 + i);
  assert.equal(engine.flows.count, 10);
  assert.equal(engine.counters.get(EV.syncookies_sent), 0);
  // A flood inside one second: the first SYN_RATE_ON create flows, then cookies.
  for (let i = 0; i < SYN_RATE_ON + 500; i++) feed(engine, syn(cfg, 1024 + i, i), 0, 1000 + i / 10);
  assert.equal(engine.counters.get(EV.syn_proxy_engaged), 1);
  assert.equal(engine.ctx.syn.engaged[0], 1);
  const flows = engine.flows.count;
  assert.ok(flows <= SYN_RATE_ON + 10, `${flows}`);
  assert.equal(engine.counters.get(EV.syncookies_sent), SYN_RATE_ON + 510 - flows);
  // Quiet, but not for long enough: still engaged.
  engine.tick(1000 + (CALM_WINDOWS - 1) * 1000);
  assert.equal(engine.ctx.syn.engaged[0], 1);
  feed(engine, syn(cfg, 50000, 1), 0, 1000 + (CALM_WINDOWS - 1) * 1000 + 1);
  assert.equal(engine.flows.count, flows, "a SYN while engaged: a cookie, no flow");
  engine.tick(2000 + CALM_WINDOWS * 1000);
  assert.equal(engine.ctx.syn.engaged[0], 0);
  assert.equal(engine.counters.get(EV.syn_proxy_disengaged), 1);
  feed(engine, syn(cfg, 50001, 1), 0, 2000 + CALM_WINDOWS * 1000 + 1);
  assert.equal(engine.flows.count, flows + 1, "released: flows as today");
});

Deno.test("synproxy: a flood that straddles two rate windows engages near SYN_RATE_ON SYNs, not twice", () => {
  const { cfg, engine } = proxied("auto");
  // 0.6 s of flood at 2000 SYN/s, starting 0.7 s into a window.
  const n = 1200;
  for (let i = 0; i < n; i++) feed(engine, syn(cfg, 1024 + i, i), 0, 700 + i / 2);
  assert.equal(engine.ctx.syn.engaged[0], 1);
  const flows = engine.flows.count;
  // Fixed windows would let 600 + 1001 through; the sliding estimate about SYN_RATE_ON.
  assert.ok(flows < 1.1 * SYN_RATE_ON, `${flows} flows before engaging`);
});

Deno.test("synproxy: auto without a flood changes nothing (a SYN creates its flow)", () => {
  const { cfg, out, engine } = proxied("auto");
  assert.equal(feed(engine, syn(cfg, 40000, 1000), 0, 5), V_FORWARD);
  assert.equal(engine.flows.count, 1);
  assert.equal(tcpOf(out.emitted[0]!.frame).flags, TCP_SYN);
  assert.equal(engine.ctx.synSecret.ready, false, "no secret drawn: the rng is untouched");
});

/** a: receiver, b: the peer that emits (standby-forward), both proxying. */
function pair() {
  const a = proxied("on", "a", 1), b = proxied("on", "b", 2);
  Object.assign(a.engine.roles, { receiver: true, forwarder: false, mirror: true });
  Object.assign(b.engine.roles, { receiver: false, forwarder: true, mirror: true });
  return { a, b };
}

function shareSecret(from: ReturnType<typeof proxied>, to: ReturnType<typeof proxied>): void {
  const s = from.engine.synSecret;
  assert.equal(to.engine.installSynSecret(s.export(), s.version, 0), true);
}

Deno.test("synproxy: the peer holds the pending flow and then the offset, and emits the handshake", () => {
  const { a, b } = pair();
  const { cookie, synAck } = handshake(a);
  assert.deepEqual(relay(a.out, b.engine), [V_FORWARD], "b emits the SYN to the backend");
  const fb = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  assert.ok(fb >= 0);
  const cb = b.engine.flows.c;
  assert.equal(cb.tcpBits[fb]! & TB_PROXY, TB_PROXY);
  assert.equal(cb.seqOffset[fb], cookie);
  assert.equal(tcpOf(b.out.emitted[0]!.frame).flags, TCP_SYN);
  assert.equal(feed(a.engine, synAck, 1, 30), V_MIRROR);
  relay(a.out, b.engine);
  assert.equal(cb.seqOffset[fb], (cookie - 5_000_000) >>> 0);
  assert.equal(cb.state[fb], ST_TCP_ESTABLISHED);
  assert.equal(cb.tcpBits[fb]! & TB_PROXY, 0);
  assert.equal(tcpOf(b.out.emitted.at(-1)!.frame).flags, TCP_ACK);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
});

Deno.test("synproxy: after a takeover the survivor validates the dead unit's cookies", () => {
  const { a, b } = pair();
  feed(a.engine, syn(a.cfg, 40000, 1000), 0, 10);
  const cookie = tcpOf(a.out.emitted.at(-1)!.frame).seqNumber;
  shareSecret(a, b);
  // a dies; b is solo.
  Object.assign(b.engine.roles, { receiver: true, forwarder: true, mirror: false });
  learnNeighbors(b.engine);
  const ack = clientSegment(b.cfg, 40000, { flags: TCP_ACK, seq: 1001, ack: cookie + 1 });
  assert.equal(feed(b.engine, ack, 0, 20), V_FORWARD);
  assert.equal(b.engine.counters.get(EV.syncookies_valid), 1);
  assert.equal(tcpOf(b.out.emitted.at(-1)!.frame).flags, TCP_SYN);
  // Without the secret it would not have: a third engine refuses the same ACK.
  const c = proxied("on", "b", 3);
  feed(c.engine, syn(c.cfg, 1, 1), 0, 0);
  assert.equal(feed(c.engine, ack, 0, 20), V_DROP);
  assert.equal(c.engine.counters.get(DROP.syncookie_invalid), 1);
});

Deno.test("synproxy: a takeover mid-handshake: the survivor finishes a pending flow", () => {
  const { a, b } = pair();
  const { cookie, synAck } = handshake(a);
  relay(a.out, b.engine);
  // a dies before the backend answers; its SYN-ACK reaches b.
  Object.assign(b.engine.roles, { receiver: true, forwarder: true, mirror: false });
  b.out.clear();
  assert.equal(feed(b.engine, synAck, 1, 30), V_FORWARD);
  const fb = b.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000) >> 1;
  assert.equal(b.engine.flows.c.seqOffset[fb], (cookie - 5_000_000) >>> 0);
  assert.equal(b.engine.flows.c.state[fb], ST_TCP_ESTABLISHED);
  const ackOut = tcpOf(b.out.emitted[0]!.frame);
  assert.equal(ackOut.flags, TCP_ACK);
  assert.equal(ackOut.seqNumber, 1001);
  assert.equal(ackOut.ackNumber, 5_000_001);
});

Deno.test("synproxy: the secret rotates on the receiver's tick, the previous one still validates", () => {
  const { cfg, out, engine } = proxied();
  feed(engine, syn(cfg, 40000, 1000), 0, 10);
  const cookie = tcpOf(out.emitted.at(-1)!.frame).seqNumber;
  const v = engine.synSecret.version;
  engine.tick(engine.synSecret.nextRotate);
  assert.notEqual(engine.synSecret.version, v);
  assert.equal(engine.counters.get(EV.syn_secret_rotations), 2);
  const ack = clientSegment(cfg, 40000, { flags: TCP_ACK, seq: 1001, ack: cookie + 1 });
  // Within the cookie's life (2 slots) of its making.
  assert.equal(
    checkCookie(engine.synSecret, CLIENT, VIP, 40000, 7000, 1000, cookie, 60_000),
    true,
  );
  assert.equal(feed(engine, ack, 0, 60_000), V_FORWARD);
});

Deno.test("synproxy: off (the engine's default) leaves SYNs alone", () => {
  const { cfg, engine } = engineUnderTest();
  learnNeighbors(engine);
  assert.equal(feed(engine, syn(cfg, 40000, 1000), 0, 5), V_FORWARD);
  assert.equal(engine.flows.count, 1);
  assert.equal(engine.counters.get(EV.syncookies_sent), 0);
});

Deno.test("synproxy: takeover probes of a proxied flow speak to each endpoint in its own terms", () => {
  const t = proxied();
  const { cfg, out, engine } = t;
  const { cookie, backend, synAck } = handshake(t);
  const b = 5_000_000;
  feed(engine, synAck, 1, 30);
  const data = serverSegment(cfg, backend, 40000, {
    flags: TCP_ACK,
    seq: b + 1,
    ack: 1001,
    payload: new Uint8Array([9, 9]),
  });
  feed(engine, data, 1, 40);
  feed(engine, clientSegment(cfg, 40000, { flags: TCP_ACK, seq: 1001, ack: cookie + 3 }), 0, 50);
  out.clear();
  assert.equal(engine.probe(60), 2);
  const [toClient, toServer] = out.emitted.map((e) => ({ iface: e.iface, t: tcpOf(e.frame) }));
  assert.equal(toClient!.iface, 0);
  // The client's RCV.NXT − 1, counted from the cookie; its own next byte as ack.
  assert.equal(toClient!.t.seqNumber, (cookie + 2) >>> 0);
  assert.equal(toClient!.t.ackNumber, 1001);
  assert.equal(toServer!.iface, 1);
  // The backend's RCV.NXT − 1 in the client's (untranslated) space; its own next byte as ack.
  assert.equal(toServer!.t.seqNumber, 1000);
  assert.equal(toServer!.t.ackNumber, b + 3);
});

Deno.test("synproxy: held segments are bounded; a late segment re-sends the SYN; stale slots are never released", () => {
  const t = proxied();
  const { cfg, out, engine } = t;
  const opened: { sport: number; cookie: number }[] = [];
  for (let i = 0; i <= HELD_SLOTS; i++) {
    const sport = 41000 + i;
    feed(engine, syn(cfg, sport, 7), 0, 10);
    const cookie = tcpOf(out.emitted.at(-1)!.frame).seqNumber;
    feed(engine, clientSegment(cfg, sport, { flags: TCP_ACK, seq: 8, ack: cookie + 1 }), 0, 10);
    opened.push({ sport, cookie });
  }
  out.clear();
  const data = (sport: number, cookie: number) =>
    clientSegment(cfg, sport, {
      flags: TCP_ACK,
      seq: 8,
      ack: cookie + 1,
      payload: new Uint8Array([5]),
    });
  const verdicts = opened.map((o) => feed(engine, data(o.sport, o.cookie), 0, 11));
  assert.equal(verdicts.filter((v) => v === V_QUEUED).length, HELD_SLOTS);
  assert.equal(verdicts.at(-1), V_DROP, "no slot left: dropped");
  assert.equal(out.emitted.length, 0);
  // After SYN_RESEND_MS, a client segment re-sends the SYN.
  const last = opened.at(-1)!;
  feed(engine, data(last.sport, last.cookie), 0, 10 + SYN_RESEND_MS);
  assert.equal(tcpOf(out.emitted.at(-1)!.frame).flags, TCP_SYN);
  // The first flow ends (client RST): its slot is stale and goes to the next one that asks.
  const first = opened[0]!;
  feed(engine, clientSegment(cfg, first.sport, { flags: TCP_RST, seq: 8 }), 0, 12);
  assert.equal(engine.flows.lookup(6, CLIENT, first.sport, VIP, 7000), -1);
  assert.equal(feed(engine, data(last.sport, last.cookie), 0, 13), V_QUEUED);
});
