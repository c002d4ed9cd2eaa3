import assert from "node:assert/strict";
import {
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_FIN_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_SYN_RECV,
  ST_TCP_SYN_SENT,
  ST_TCP_TIME_WAIT,
  ST_UDP_NEW,
  ST_UDP_STREAM,
  TB_FIN_ORIG,
  TB_FIN_REPLY,
} from "../flow/states.ts";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/mod.ts";
import { DROP, EV } from "./counters.ts";
import { V_DROP, V_FORWARD } from "./output.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  learnNeighbors,
  parseOut,
  SERVER_MAC,
  serverSegment,
  udpFrame,
  VIP,
} from "./testing.ts";

function setup() {
  const t = engineUnderTest();
  learnNeighbors(t.engine);
  return t;
}

const flowOf = (e: ReturnType<typeof setup>["engine"], sport: number) =>
  e.flows.lookup(6, CLIENT, sport, VIP, 7000) >> 1;

Deno.test("conntrack: a SYN creates the flow with both tuples; the reply finds it", () => {
  const { cfg, engine } = setup();
  assert.equal(feed(engine, clientSyn(cfg, 40000), 0, 10), V_FORWARD);
  assert.equal(engine.flows.count, 1);
  assert.equal(engine.counters.get(EV.flows_created), 1);
  const f = flowOf(engine, 40000);
  const e = engine.flows.entry(f);
  assert.deepEqual(
    [e.proto, e.oSrc, e.oSport, e.oDst, e.oDport, e.rSrc, e.rSport, e.rDst, e.rDport],
    [6, CLIENT, 40000, VIP, 7000, BACKENDS[0], 7000, CLIENT, 40000],
  );
  assert.equal(e.state, ST_TCP_SYN_SENT);
  assert.equal(e.service, 0);
  assert.equal(e.backend, 0);
  assert.equal(e.created, 10);
  assert.equal(e.lastSeen, 10);
  assert.equal(e.packets, 1);
  assert.equal(e.bytes, 40, "IP total length counted");
  assert.equal(
    engine.flows.lookup(6, BACKENDS[0]!, 7000, CLIENT, 40000),
    f * 2 + 1,
    "the reply tuple is indexed",
  );
  assert.equal(
    feed(engine, serverSegment(cfg, BACKENDS[0]!, 40000, { flags: TCP_SYN | TCP_ACK }), 1, 11),
    V_FORWARD,
  );
  assert.equal(engine.flows.count, 1, "no second flow for the reply");
  assert.equal(engine.flows.c.state[f], ST_TCP_SYN_RECV);
  assert.equal(engine.flows.c.packets[f], 2);
  assert.equal(engine.flows.c.lastSeen[f], 11);
});

Deno.test("conntrack: only a bare SYN opens a TCP flow", () => {
  const { cfg, out, engine } = setup();
  for (const flags of [TCP_ACK, TCP_SYN | TCP_ACK, TCP_RST, TCP_FIN | TCP_ACK, TCP_SYN | TCP_RST]) {
    assert.equal(
      feed(engine, clientSegment(cfg, 41000, { flags }), 0, 1),
      V_DROP,
      `flags ${flags}`,
    );
  }
  assert.equal(engine.counters.get(DROP.tcp_no_flow), 5);
  assert.equal(engine.flows.count, 0);
  assert.equal(out.emitted.length, 0, "no RST for a stray segment to a served port");
});

Deno.test("conntrack: a packet of no flow toward a non-floating address is dropped", () => {
  const { cfg, engine } = setup();
  assert.equal(feed(engine, serverSegment(cfg, BACKENDS[0]!, 45000), 1, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.tcp_no_flow), 1);
  const u = udpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: BACKENDS[0]!,
    dst: CLIENT,
    sport: 7001,
    dport: 45000,
  });
  assert.equal(feed(engine, u, 1, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.no_flow), 1);
});

Deno.test("conntrack: a VIP port with no service is refused and counted, with no flow", () => {
  const { cfg, out, engine } = setup();
  const syn = clientSyn(cfg);
  syn[36] = 0x1f; // dport 8080
  syn[37] = 0x90;
  const { ip, tcp } = parseOut(syn);
  tcp!.fillChecksum(ip.src, ip.dst);
  assert.equal(feed(engine, syn, 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.no_service), 1);
  assert.equal(parseOut(out.emitted[0]!.frame).tcp!.flags & TCP_RST, TCP_RST);
  assert.equal(engine.flows.count, 0);
});

Deno.test("conntrack: the TCP state follows a full open and close, with FIN bits per direction", () => {
  const { cfg, engine } = setup();
  const b = BACKENDS[0]!;
  feed(engine, clientSyn(cfg, 42000, 100), 0, 1);
  const f = flowOf(engine, 42000);
  const st = () => engine.flows.c.state[f];
  const bits = () => engine.flows.c.tcpBits[f]! & (TB_FIN_ORIG | TB_FIN_REPLY);
  feed(
    engine,
    serverSegment(cfg, b, 42000, { flags: TCP_SYN | TCP_ACK, seq: 900, ack: 101 }),
    1,
    2,
  );
  assert.equal(st(), ST_TCP_SYN_RECV);
  feed(engine, clientSegment(cfg, 42000, { seq: 101, ack: 901 }), 0, 3);
  assert.equal(st(), ST_TCP_ESTABLISHED);
  feed(engine, clientSegment(cfg, 42000, { flags: TCP_FIN | TCP_ACK, seq: 101, ack: 901 }), 0, 4);
  assert.equal(st(), ST_TCP_FIN_WAIT);
  assert.equal(bits(), TB_FIN_ORIG);
  feed(
    engine,
    serverSegment(cfg, b, 42000, { flags: TCP_FIN | TCP_ACK, seq: 901, ack: 102 }),
    1,
    5,
  );
  assert.equal(st(), ST_TCP_LAST_ACK);
  assert.equal(bits(), TB_FIN_ORIG | TB_FIN_REPLY);
  feed(engine, clientSegment(cfg, 42000, { seq: 102, ack: 902 }), 0, 6);
  assert.equal(st(), ST_TCP_TIME_WAIT);
  // Port reuse: a new SYN on the TIME_WAIT tuple reopens it with clean FIN bits.
  feed(engine, clientSyn(cfg, 42000, 5000), 0, 7);
  assert.equal(st(), ST_TCP_SYN_SENT);
  assert.equal(bits(), 0);
  assert.equal(engine.flows.count, 1);
});

Deno.test("conntrack: a RST closes the flow from either side", () => {
  const { cfg, engine } = setup();
  feed(engine, clientSyn(cfg, 43000), 0, 1);
  const f = flowOf(engine, 43000);
  feed(engine, serverSegment(cfg, BACKENDS[0]!, 43000, { flags: TCP_RST }), 1, 2);
  assert.equal(engine.flows.c.state[f], ST_TCP_CLOSE);
});

Deno.test("conntrack: a UDP flow is new until its first reply, then a stream", () => {
  const { cfg, out, engine } = setup();
  const d = udpFrame({
    dstMac: cfg.virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport: 5555,
    dport: 7001,
  });
  assert.equal(feed(engine, d, 0, 1), V_FORWARD);
  const f = engine.flows.lookup(17, CLIENT, 5555, VIP, 7001) >> 1;
  assert.equal(engine.flows.c.state[f], ST_UDP_NEW);
  feed(engine, d.slice(), 0, 2);
  assert.equal(engine.flows.c.state[f], ST_UDP_NEW, "more client datagrams do not assure it");
  const to = parseOut(out.emitted[0]!.frame).ip.dst;
  const back = udpFrame({
    srcMac: SERVER_MAC,
    dstMac: cfg.virtualMacs[1]!,
    src: to,
    dst: CLIENT,
    sport: 7001,
    dport: 5555,
  });
  assert.equal(feed(engine, back, 1, 3), V_FORWARD);
  assert.equal(engine.flows.c.state[f], ST_UDP_STREAM);
});

Deno.test("conntrack: TTL 1 is answered with time exceeded from the self address, and its new flow removed", () => {
  const { cfg, out, engine } = setup();
  const syn = clientSyn(cfg, 44000);
  syn[22] = 1;
  const { ip } = parseOut(syn);
  ip.fillChecksum();
  assert.equal(feed(engine, syn, 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.ttl_exceeded), 1);
  assert.equal(engine.flows.count, 0, "the flow it created is gone");
  const t = parseOut(out.emitted[0]!.frame);
  assert.equal(t.icmp!.type, 11);
  assert.equal(t.icmp!.code, 0);
  assert.equal(t.ip.src, cfg.interfaces[0]!.ip);
  assert.equal(t.ip.dst, CLIENT);
  assert.equal(engine.counters.get(EV.icmp_errors_sent), 1);
  // On an existing flow, TTL 1 keeps the flow.
  feed(engine, clientSyn(cfg, 44001), 0, 2);
  const seg = clientSegment(cfg, 44001, { ttl: 1 });
  assert.equal(feed(engine, seg, 0, 3), V_DROP);
  assert.equal(engine.flows.count, 1);
  assert.equal(engine.counters.get(DROP.ttl_exceeded), 2);
});

Deno.test("conntrack: a full table refuses new flows and counts them", () => {
  const { cfg, engine } = engineUnderTest("a", { capacity: 2 });
  learnNeighbors(engine);
  assert.equal(feed(engine, clientSyn(cfg, 1), 0, 1), V_FORWARD);
  assert.equal(feed(engine, clientSyn(cfg, 2), 0, 1), V_FORWARD);
  assert.equal(feed(engine, clientSyn(cfg, 3), 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.flow_table_full), 1);
  assert.equal(engine.counters.get(EV.flows_created), 2);
});

Deno.test("conntrack: mid-stream pickup re-creates a maglev flow from a non-SYN segment, counted", () => {
  const base = engineUnderTest().cfg;
  const t = engineUnderTest("a", {
    services: base.services.map((s) => ({ ...s, scheduler: "maglev" as const, pickup: true })),
  });
  learnNeighbors(t.engine);
  const seg = clientSegment(t.cfg, 47000, { seq: 5000, ack: 77 });
  assert.equal(feed(t.engine, seg, 0, 1), V_FORWARD);
  const f = t.engine.flows.lookup(6, CLIENT, 47000, VIP, 7000) >> 1;
  assert.equal(t.engine.flows.c.state[f], ST_TCP_ESTABLISHED);
  assert.equal(t.engine.counters.get(EV.flows_picked_up), 1);
  // The same backend a unit that saw the SYN would have picked.
  const other = engineUnderTest("b", {
    services: base.services.map((s) => ({ ...s, scheduler: "maglev" as const })),
  });
  learnNeighbors(other.engine);
  feed(other.engine, clientSyn(other.cfg, 47000), 0, 1);
  const g = other.engine.flows.lookup(6, CLIENT, 47000, VIP, 7000) >> 1;
  assert.equal(t.engine.flows.c.rSrc[f], other.engine.flows.c.rSrc[g]);
  // A RST or a SYN-ACK of an unknown flow is still not picked up.
  for (const flags of [TCP_RST, TCP_SYN | TCP_ACK]) {
    assert.equal(feed(t.engine, clientSegment(t.cfg, 47001, { flags }), 0, 2), V_DROP);
  }
  assert.equal(t.engine.counters.get(EV.flows_picked_up), 1);
});
