import assert from "node:assert/strict";
import {
  ST_ICMP,
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  ST_UDP_NEW,
  ST_UDP_STREAM,
} from "../flow/states.ts";
import { FlowTable } from "../flow/table.ts";
import { EV } from "./counters.ts";
import { REAP_MAX_EXPIRE, REAP_PERIOD_MS, Reaper, timeoutOf } from "./reaper.ts";
import {
  CLIENT,
  engineUnderTest,
  feed,
  labEngineConfig,
  learnNeighbors,
  udpFrame,
  VIP,
} from "./testing.ts";

const T = labEngineConfig().timeouts;

Deno.test("reaper: each state has its configured timeout", () => {
  const t = {
    tcpSyn: 1,
    tcpEstablished: 2,
    tcpFin: 3,
    tcpTimeWait: 4,
    tcpClose: 5,
    udp: 6,
    udpStream: 7,
    icmp: 8,
  };
  const got = [
    ST_TCP_SYN_SENT,
    ST_TCP_SYN_RECV,
    ST_TCP_ESTABLISHED,
    ST_TCP_FIN_WAIT,
    ST_TCP_LAST_ACK,
    ST_TCP_TIME_WAIT,
    ST_TCP_CLOSE,
    ST_UDP_NEW,
    ST_UDP_STREAM,
    ST_ICMP,
    99,
  ].map((s) => timeoutOf(t, s));
  assert.deepEqual(got, [1, 1, 2, 3, 3, 4, 5, 6, 7, 8, 5]);
});

Deno.test("reaper: the receiver expires an idle flow exactly at its timeout and tells the peer", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  engine.roles.mirror = true;
  feed(
    engine,
    udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 9, dport: 7001 }),
    0,
    0,
  );
  out.clear();
  engine.tick(T.udp - 1);
  assert.equal(engine.flows.count, 1, "not yet");
  engine.tick(T.udp - 1 + REAP_PERIOD_MS);
  assert.equal(engine.flows.count, 0);
  assert.equal(out.expired.length, 1);
  assert.equal(out.expired[0]!.oSrc, CLIENT);
  assert.equal(out.expired[0]!.oSport, 9);
  assert.equal(engine.counters.get(EV.flows_expired), 1);
});

Deno.test("reaper: a non-receiver never reaps; without a peer nothing is sent", () => {
  const { cfg, out, engine } = engineUnderTest();
  learnNeighbors(engine);
  feed(
    engine,
    udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 9, dport: 7001 }),
    0,
    0,
  );
  engine.roles.receiver = false;
  engine.tick(1e9);
  assert.equal(engine.flows.count, 1, "expiry is the receiver's decision");
  engine.roles.receiver = true;
  engine.roles.mirror = false;
  engine.tick(1e9);
  assert.equal(engine.flows.count, 0);
  assert.equal(out.expired.length, 0, "no peer to tell");
});

Deno.test("reaper: a sweep is spread over turns and bounded per turn", () => {
  const ft = new FlowTable(5000);
  for (let i = 0; i < 3000; i++) {
    ft.addEntry({
      proto: 17,
      state: ST_UDP_NEW,
      oSrc: 1,
      oSport: i,
      oDst: 2,
      oDport: 7,
      rSrc: 3,
      rSport: 7,
      rDst: 1,
      rDport: i,
    });
  }
  const r = new Reaper();
  const seen: number[] = [];
  let next = r.sweep(ft, T, 1e9, (f) => seen.push(f));
  assert.equal(seen.length, REAP_MAX_EXPIRE, "bounded removals per turn");
  assert.equal(next, 1e9 + 1, "comes back soon while the sweep is under way");
  assert.equal(r.sweep(ft, T, 1e9, () => seen.push(-1)), 1e9 + 1, "not before it is due");
  next = r.sweep(ft, T, 1e9 + 1, (f) => seen.push(f));
  next = r.sweep(ft, T, 1e9 + 2, (f) => seen.push(f));
  assert.equal(ft.count, 0);
  assert.equal(seen.length, 3000);
  assert.ok(!seen.includes(-1));
  assert.equal(next, 1e9 + 2 + REAP_PERIOD_MS, "a period after a full pass");
});

Deno.test("reaper: a flow idle for exactly its timeout goes; one millisecond less stays", () => {
  const ft = new FlowTable(8);
  const f = ft.addEntry({
    proto: 6,
    state: ST_TCP_ESTABLISHED,
    oSrc: 1,
    oSport: 1,
    oDst: 2,
    oDport: 2,
    rSrc: 3,
    rSport: 2,
    rDst: 1,
    rDport: 1,
    lastSeen: 100,
  });
  assert.ok(f >= 0);
  new Reaper().sweep(ft, T, 100 + T.tcpEstablished - 1, () => {});
  assert.equal(ft.count, 1);
  new Reaper().sweep(ft, T, 100 + T.tcpEstablished, () => {});
  assert.equal(ft.count, 0);
});
