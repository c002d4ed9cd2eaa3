import assert from "node:assert/strict";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../wire/mod.ts";
import { A_DRAINING, A_ENABLED, H_DOWN, H_UP } from "./backends.ts";
import type { EngineHealth, EngineService } from "./config.ts";
import { DROP, EV } from "./counters.ts";
import { CHECK_PORT_MIN, CHECK_PORT_SPAN } from "./health.ts";
import { V_DROP, V_FORWARD, V_LOCAL } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  clientSyn,
  engineUnderTest,
  feed,
  ip,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  SERVER_MAC,
  tcpFrame,
  VIP,
} from "./testing.ts";

const SELF_BACK = ip("203.0.113.3");
const TCP_CHECK: EngineHealth = {
  kind: "tcp",
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 3,
  port: 0,
  path: "/",
  expect: 200,
};

function withHealth(health: EngineHealth, more: Partial<EngineService> = {}) {
  const base = labEngineConfig("a").services;
  const t = engineUnderTest("a", {
    services: [{ ...base[0]!, health, ...more }, base[1]!],
  });
  learnNeighbors(t.engine);
  return t;
}

type T = ReturnType<typeof withHealth>;

/** The SYNs of checks emitted since `from`, by backend address. */
function checkSyns(t: T, from = 0) {
  return t.out.emitted.slice(from).map((r) => parseOut(r.frame)).filter((o) =>
    o.tcp !== undefined && o.tcp.flags === TCP_SYN
  );
}

/** The backend answers the check in flight to it. */
function answer(t: T, backend: number, flags: number, now: number, payload?: string, seq = 5000) {
  const syn = checkSyns(t).filter((o) => o.ip.dst === BACKENDS[backend]).at(-1)!;
  return feed(
    t.engine,
    tcpFrame({
      srcMac: SERVER_MAC,
      dstMac: t.cfg.interfaces[1]!.mac,
      src: BACKENDS[backend]!,
      dst: SELF_BACK,
      sport: syn.tcp!.dstPort,
      dport: syn.tcp!.srcPort,
      seq,
      ack: syn.tcp!.seqNumber + 1 + (payload !== undefined ? 0 : 0),
      flags,
      payload: payload === undefined ? undefined : new TextEncoder().encode(payload),
    }),
    1,
    now,
  );
}

Deno.test("health: a tcp check is a SYN from the self back address; SYN-ACK is ok, then RST", () => {
  const t = withHealth(TCP_CHECK);
  t.engine.tick(0);
  const syns = checkSyns(t);
  assert.equal(syns.length, 1, "the first check leaves at once, the second 10 ms later");
  t.engine.tick(10);
  const both = checkSyns(t);
  assert.deepEqual(both.map((o) => o.ip.dst), [BACKENDS[0], BACKENDS[1]]);
  for (const o of both) {
    assert.equal(o.ip.src, SELF_BACK);
    assert.equal(o.tcp!.dstPort, 7000);
    const sport = o.tcp!.srcPort;
    assert.ok(sport >= CHECK_PORT_MIN && sport < CHECK_PORT_MIN + CHECK_PORT_SPAN);
  }
  const n = t.out.emitted.length;
  assert.equal(answer(t, 0, TCP_SYN | TCP_ACK, 20), V_LOCAL);
  const rst = parseOut(t.out.emitted[n]!.frame);
  assert.equal(rst.tcp!.flags & TCP_RST, TCP_RST);
  assert.equal(rst.tcp!.seqNumber, (both[0]!.tcp!.seqNumber + 1) >>> 0, "in window");
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 1);
  assert.equal(t.engine.ctx.health.status(0, 0)!.last, "ok");
});

Deno.test("health: fall 3 refusals take a backend out; rise 2 successes bring it back", () => {
  const t = withHealth(TCP_CHECK);
  let now = 0;
  const round = (flags1: number) => {
    t.engine.tick(now);
    t.engine.tick(now + 10);
    answer(t, 0, TCP_SYN | TCP_ACK, now + 20);
    answer(t, 1, flags1, now + 20);
    now += 1000;
  };
  round(TCP_RST | TCP_ACK);
  round(TCP_RST | TCP_ACK);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_UP, "two failures are not enough");
  round(TCP_RST | TCP_ACK);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_DOWN);
  assert.deepEqual(t.engine.ctx.health.changes, [
    { svc: 0, backend: 1, up: false, why: "refused" },
  ]);
  assert.equal(t.engine.counters.get(EV.backends_down), 1);
  // Every new flow now goes to backend 0.
  for (let i = 0; i < 4; i++) {
    assert.equal(feed(t.engine, clientSyn(t.cfg, 41000 + i), 0, now), V_FORWARD);
    const f = t.engine.flows.lookup(6, CLIENT, 41000 + i, VIP, 7000) >> 1;
    assert.equal(t.engine.flows.c.backend[f], 0);
  }
  round(TCP_SYN | TCP_ACK);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_DOWN, "one success is not enough");
  round(TCP_SYN | TCP_ACK);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_UP);
  assert.equal(t.engine.counters.get(EV.backends_up), 1);
});

Deno.test("health: silence until the timeout is a failure; a late SYN-ACK is not taken", () => {
  const t = withHealth({ ...TCP_CHECK, fall: 1 });
  t.engine.tick(0);
  t.engine.tick(10);
  t.engine.tick(499);
  assert.equal(t.engine.counters.get(EV.health_checks_failed), 0);
  t.engine.tick(500);
  assert.equal(t.engine.counters.get(EV.health_checks_failed), 1, "backend 0 timed out at 500");
  t.engine.tick(510);
  assert.equal(t.engine.counters.get(EV.health_checks_failed), 2, "backend 1 timed out at 510");
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_DOWN);
  assert.equal(t.engine.ctx.health.status(0, 1)!.last, "timeout");
  // Its answer arrives after the verdict: refused like any segment to a closed port.
  assert.notEqual(answer(t, 1, TCP_SYN | TCP_ACK, 600), V_LOCAL);
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 0);
});

Deno.test("health: an answer from the wrong address or to the wrong port is not a check's", () => {
  const t = withHealth(TCP_CHECK);
  t.engine.tick(0);
  const syn = checkSyns(t)[0]!;
  const spoof = tcpFrame({
    srcMac: SERVER_MAC,
    dstMac: t.cfg.interfaces[1]!.mac,
    src: BACKENDS[1]!,
    dst: SELF_BACK,
    sport: 7000,
    dport: syn.tcp!.srcPort,
    ack: syn.tcp!.seqNumber + 1,
    flags: TCP_SYN | TCP_ACK,
  });
  assert.notEqual(feed(t.engine, spoof, 1, 5), V_LOCAL);
  assert.equal(t.engine.counters.get(DROP.local_unhandled), 1);
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 0);
});

Deno.test("health: http sends one GET and judges the status line", () => {
  const t = withHealth({ ...TCP_CHECK, kind: "http", path: "/health", expect: 200, fall: 1 });
  t.engine.tick(0);
  t.engine.tick(10);
  const n = t.out.emitted.length;
  assert.equal(answer(t, 0, TCP_SYN | TCP_ACK, 20, undefined, 9000), V_LOCAL);
  const req = parseOut(t.out.emitted[n]!.frame);
  assert.equal(req.tcp!.flags, TCP_PSH | TCP_ACK);
  assert.equal(req.tcp!.ackNumber, 9001);
  const text = new TextDecoder().decode(req.tcp!.payload);
  assert.match(text, /^GET \/health HTTP\/1\.0\r\nHost: 203\.0\.113\.20:7000\r\n/);
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 0, "no verdict before the answer");
  answer(t, 0, TCP_PSH | TCP_ACK, 30, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 9001);
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 1);
  const rst = parseOut(t.out.emitted.at(-1)!.frame);
  assert.equal(rst.tcp!.flags & TCP_RST, TCP_RST);
  assert.equal(rst.tcp!.seqNumber, (req.tcp!.seqNumber + req.tcp!.payload.length) >>> 0);
  // Backend 1 answers 503: down at once with fall 1.
  answer(t, 1, TCP_SYN | TCP_ACK, 20, undefined, 7000);
  answer(t, 1, TCP_PSH | TCP_ACK, 30, "HTTP/1.0 503 Service Unavailable\r\n\r\n", 7001);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_DOWN);
  assert.equal(t.engine.ctx.health.status(0, 1)!.last, "http 503");
});

Deno.test("health: an http answer closed before its status line fails", () => {
  const t = withHealth({ ...TCP_CHECK, kind: "http", fall: 1 });
  t.engine.tick(0);
  answer(t, 0, TCP_SYN | TCP_ACK, 5, undefined, 100);
  answer(t, 0, TCP_FIN | TCP_ACK, 6, "HTT", 101);
  assert.equal(t.engine.ctx.health.status(0, 0)!.last, "closed before a status line");
  assert.equal(t.engine.ctx.pools[0]!.health[0], H_DOWN);
});

Deno.test("backends: with none up a new flow is refused with a RST and counted", () => {
  const t = withHealth({ ...TCP_CHECK, fall: 1 });
  t.engine.tick(0);
  t.engine.tick(10);
  answer(t, 0, TCP_RST | TCP_ACK, 20);
  answer(t, 1, TCP_RST | TCP_ACK, 20);
  const n = t.out.emitted.length;
  assert.equal(feed(t.engine, clientSyn(t.cfg, 40000), 0, 30), V_DROP);
  assert.equal(t.engine.counters.get(DROP.no_backend_up), 1);
  assert.equal(t.engine.flows.count, 0);
  const rst = parseOut(t.out.emitted[n]!.frame);
  assert.equal(rst.ip.src, VIP);
  assert.equal(rst.ip.dst, CLIENT);
  assert.equal(rst.tcp!.flags & TCP_RST, TCP_RST);
});

Deno.test("backends: draining takes no new flows but its flows go on; weights share the rest", () => {
  const base = labEngineConfig("a").services;
  const t = engineUnderTest("a", {
    services: [{
      ...base[0]!,
      backends: [
        { ip: BACKENDS[0]!, port: 7000, weight: 3 },
        { ip: BACKENDS[1]!, port: 7000, weight: 1 },
      ],
    }, base[1]!],
  });
  learnNeighbors(t.engine);
  const picks: number[] = [];
  for (let i = 0; i < 8; i++) {
    feed(t.engine, clientSyn(t.cfg, 40000 + i), 0, 1);
    picks.push(
      t.engine.flows.c.backend[t.engine.flows.lookup(6, CLIENT, 40000 + i, VIP, 7000) >> 1]!,
    );
  }
  assert.equal(picks.filter((b) => b === 0).length, 6, `3:1 by weight: ${picks}`);
  const pool = t.engine.ctx.pools[0]!;
  assert.equal(pool.setAdmin(1, A_DRAINING), true);
  assert.equal(pool.upCount, 1);
  for (let i = 0; i < 4; i++) {
    feed(t.engine, clientSyn(t.cfg, 41000 + i), 0, 2);
    assert.equal(
      t.engine.flows.c.backend[t.engine.flows.lookup(6, CLIENT, 41000 + i, VIP, 7000) >> 1],
      0,
    );
  }
  // An existing flow of the draining backend still finds its flow.
  const old = picks.indexOf(1);
  assert.ok(old >= 0);
  assert.ok(t.engine.flows.lookup(6, CLIENT, 40000 + old, VIP, 7000) >= 0);
  pool.setAdmin(1, A_ENABLED);
  assert.equal(pool.upCount, 2);
});

Deno.test("evict: on_backend_down reset ends a down backend's flows at their next packet", () => {
  const t = withHealth(TCP_CHECK, { resetOnDown: true });
  feed(t.engine, clientSyn(t.cfg, 40000), 0, 1); // backend 0
  feed(t.engine, clientSyn(t.cfg, 40001), 0, 1); // backend 1
  t.engine.ctx.pools[0]!.setHealth(1, H_DOWN);
  const seg = (sport: number) =>
    tcpFrame({
      dstMac: t.cfg.virtualMacs[0]!,
      src: CLIENT,
      dst: VIP,
      sport,
      dport: 7000,
      seq: 1001,
      ack: 1,
      flags: TCP_ACK,
    });
  assert.equal(feed(t.engine, seg(40000), 0, 2), V_FORWARD, "backend 0 is up");
  const n = t.out.emitted.length;
  assert.equal(feed(t.engine, seg(40001), 0, 2), V_DROP);
  assert.equal(t.engine.counters.get(DROP.flow_reset_backend_gone), 1);
  assert.equal(t.engine.flows.lookup(6, CLIENT, 40001, VIP, 7000), -1);
  assert.equal(parseOut(t.out.emitted[n]!.frame).tcp!.flags & TCP_RST, TCP_RST);
  // Without the option the flow goes on.
  const keep = withHealth(TCP_CHECK);
  feed(keep.engine, clientSyn(keep.cfg, 40000), 0, 1);
  feed(keep.engine, clientSyn(keep.cfg, 40001), 0, 1);
  keep.engine.ctx.pools[0]!.setHealth(1, H_DOWN);
  const s = tcpFrame({
    dstMac: keep.cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 40001,
    dport: 7000,
    seq: 1001,
    ack: 1,
    flags: TCP_ACK,
  });
  assert.equal(feed(keep.engine, s, 0, 2), V_FORWARD);
});

Deno.test("health: a backend in maintenance is not checked; back to enabled, it is again", () => {
  const t = withHealth(TCP_CHECK);
  t.engine.ctx.pools[0]!.setAdmin(1, 2);
  t.engine.tick(0);
  t.engine.tick(10);
  t.engine.tick(600);
  t.engine.tick(1000);
  assert.deepEqual(checkSyns(t).map((o) => o.ip.dst), [BACKENDS[0], BACKENDS[0]]);
  t.engine.ctx.pools[0]!.setAdmin(1, 0);
  t.engine.tick(3010);
  assert.ok(checkSyns(t).some((o) => o.ip.dst === BACKENDS[1]));
});

Deno.test("health: a status line split over two segments is read whole", () => {
  const t = withHealth({ ...TCP_CHECK, kind: "http", fall: 1 });
  t.engine.tick(0);
  answer(t, 0, TCP_SYN | TCP_ACK, 5, undefined, 100);
  answer(t, 0, TCP_PSH | TCP_ACK, 6, "HTTP/1.", 101);
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 0);
  // A retransmission of the first part changes nothing; the next part completes the line.
  answer(t, 0, TCP_PSH | TCP_ACK, 7, "HTTP/1.", 101);
  answer(t, 0, TCP_PSH | TCP_ACK, 8, "1 200 OK\r\n", 108);
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 1);
  assert.equal(t.engine.ctx.health.status(0, 0)!.last, "ok");
});

Deno.test("health: 64 bytes without a status line are not HTTP; 63 still wait", () => {
  const t = withHealth({ ...TCP_CHECK, kind: "http", fall: 1 });
  t.engine.tick(0);
  answer(t, 0, TCP_SYN | TCP_ACK, 5, undefined, 100);
  answer(t, 0, TCP_PSH | TCP_ACK, 6, "x".repeat(63), 101);
  assert.equal(t.engine.counters.get(EV.health_checks_failed), 0);
  answer(t, 0, TCP_PSH | TCP_ACK, 7, "y", 164);
  assert.equal(t.engine.ctx.health.status(0, 0)!.last, "not http");
});

Deno.test("health: a late answer to an earlier check's port is refused, not taken", () => {
  const t = withHealth({ ...TCP_CHECK, fall: 5 });
  t.engine.tick(0);
  const first = checkSyns(t)[0]!;
  t.engine.tick(500); // backend 0's first check times out
  t.engine.tick(1000); // its second check is in flight, from another port
  const second = checkSyns(t).filter((o) => o.ip.dst === BACKENDS[0]).at(-1)!;
  assert.notEqual(second.tcp!.srcPort, first.tcp!.srcPort);
  const late = (dport: number, ack: number) =>
    tcpFrame({
      srcMac: SERVER_MAC,
      dstMac: t.cfg.interfaces[1]!.mac,
      src: BACKENDS[0]!,
      dst: SELF_BACK,
      sport: 7000,
      dport,
      ack,
      flags: TCP_SYN | TCP_ACK,
    });
  assert.notEqual(
    feed(t.engine, late(first.tcp!.srcPort, first.tcp!.seqNumber + 1), 1, 1001),
    V_LOCAL,
  );
  // A port no check ever used is nobody's either.
  assert.notEqual(feed(t.engine, late(CHECK_PORT_MIN + 999, 1), 1, 1002), V_LOCAL);
  assert.equal(t.engine.counters.get(DROP.local_unhandled), 2, "both refused like a closed port");
  assert.equal(t.engine.counters.get(EV.health_checks_ok), 0);
});

Deno.test("health: a reload keeps each check's state and count (same service, same backend)", () => {
  const t = withHealth(TCP_CHECK);
  const fail = (now: number) => {
    t.engine.tick(now);
    t.engine.tick(now + 10);
    answer(t, 1, TCP_RST | TCP_ACK, now + 20);
  };
  fail(0);
  fail(1000);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_UP, "2 of 3 failures");
  t.engine.reconfigure(t.engine.config);
  fail(2000);
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_DOWN, "the third failure counts after a reload");
  t.engine.reconfigure({ ...t.engine.config, services: [...t.engine.config.services] });
  assert.equal(t.engine.ctx.pools[0]!.health[1], H_DOWN, "still down after another reload");
  assert.equal(t.engine.ctx.pools[0]!.upCount, 1);
  assert.equal(t.engine.ctx.health.status(0, 1)!.failed, 3, "counts carried over");
});

Deno.test("backends: a backend without a weight weighs 1 beside one of weight 2", () => {
  const base = labEngineConfig("a").services;
  const t = engineUnderTest("a", {
    services: [{
      ...base[0]!,
      backends: [{ ip: BACKENDS[0]!, port: 7000 }, { ip: BACKENDS[1]!, port: 7000, weight: 2 }],
    }, base[1]!],
  });
  learnNeighbors(t.engine);
  for (let i = 0; i < 6; i++) feed(t.engine, clientSyn(t.cfg, 40000 + i), 0, 1);
  const c = t.engine.flows.c;
  const to0 = [...t.engine.flows.ids()].filter((f) => c.backend[f] === 0).length;
  assert.equal(to0, 2, "1 in 3");
});
