import assert from "node:assert/strict";
import { ST_PERSIST } from "../flow/states.ts";
import { H_DOWN } from "./backends.ts";
import type { EngineService } from "./config.ts";
import { EV } from "./counters.ts";
import { PROTO_PERSIST } from "./persist.ts";
import {
  CLIENT,
  clientSyn,
  engineUnderTest,
  feed,
  ip,
  labEngineConfig,
  learnNeighbors,
  relay,
  tcpFrame,
  VIP,
} from "./testing.ts";

const PERSIST_MS = 60_000;
const OTHER = ip("198.51.100.77");

function persistent(unit: "a" | "b" = "a", seed = 1, more: Partial<EngineService> = {}) {
  const base = labEngineConfig(unit).services;
  const t = engineUnderTest(unit, {
    services: [{ ...base[0]!, persistenceMs: PERSIST_MS, ...more }, base[1]!],
  }, seed);
  learnNeighbors(t.engine);
  return t;
}

type T = ReturnType<typeof persistent>;
const backendOf = (t: T, src: number, sport: number) =>
  t.engine.flows.c.backend[t.engine.flows.lookup(6, src, sport, VIP, 7000) >> 1]!;
const synFrom = (t: T, src: number, sport: number) =>
  tcpFrame({ dstMac: t.cfg.virtualMacs[0]!, src, dst: VIP, sport, dport: 7000 });

Deno.test("persist: a client's new flows follow its first one, round robin or not", () => {
  const t = persistent();
  for (let i = 0; i < 5; i++) feed(t.engine, clientSyn(t.cfg, 40000 + i), 0, i);
  const first = backendOf(t, CLIENT, 40000);
  for (let i = 1; i < 5; i++) assert.equal(backendOf(t, CLIENT, 40000 + i), first);
  assert.equal(t.engine.counters.get(EV.persistence_hits), 4);
  // Another client is scheduled on its own: round robin moves on to the other backend.
  feed(t.engine, synFrom(t, OTHER, 50000), 0, 9);
  assert.notEqual(backendOf(t, OTHER, 50000), first);
  const ref = t.engine.flows.lookup(PROTO_PERSIST, CLIENT, 0, VIP, 7000);
  assert.ok(ref >= 0 && (ref & 1) === 0, "the template is a flow-table row");
  const e = t.engine.flows.entry(ref >> 1);
  assert.deepEqual([e.state, e.service, e.backend, e.lastSeen], [ST_PERSIST, 0, first, 4]);
  assert.equal(t.engine.flows.count, 5 + 1 + 2, "6 flows and 2 templates");
});

Deno.test("persist: a backend that goes down loses its clients' affinity to a live one", () => {
  const t = persistent();
  feed(t.engine, clientSyn(t.cfg, 40000), 0, 0);
  const first = backendOf(t, CLIENT, 40000);
  t.engine.ctx.pools[0]!.setHealth(first, H_DOWN);
  feed(t.engine, clientSyn(t.cfg, 40001), 0, 1);
  const second = backendOf(t, CLIENT, 40001);
  assert.notEqual(second, first);
  const ref = t.engine.flows.lookup(PROTO_PERSIST, CLIENT, 0, VIP, 7000);
  assert.equal(t.engine.flows.c.backend[ref >> 1], second, "the template follows");
});

Deno.test("persist: the template expires `persistence` after the client's last new flow", () => {
  const t = persistent();
  t.engine.roles.mirror = true;
  feed(t.engine, clientSyn(t.cfg, 40000), 0, 0);
  t.engine.tick(PERSIST_MS - 1);
  assert.ok(t.engine.flows.lookup(PROTO_PERSIST, CLIENT, 0, VIP, 7000) >= 0);
  assert.equal(t.engine.flows.lookup(6, CLIENT, 40000, VIP, 7000), -1, "the SYN's flow ended");
  t.engine.tick(PERSIST_MS + 1000);
  assert.equal(t.engine.flows.lookup(PROTO_PERSIST, CLIENT, 0, VIP, 7000), -1);
  assert.equal(t.out.expired.at(-1)!.proto, PROTO_PERSIST, "the peer is told");
});

Deno.test("persist: the peer builds the same template from the mirror record (same digest)", () => {
  const a = persistent("a", 1), b = persistent("b", 2);
  Object.assign(a.engine.roles, { receiver: true, forwarder: true, mirror: true });
  Object.assign(b.engine.roles, { receiver: false, forwarder: false, mirror: true });
  for (let i = 0; i < 3; i++) feed(a.engine, clientSyn(a.cfg, 40000 + i), 0, i);
  feed(a.engine, synFrom(a, OTHER, 50000), 0, 5);
  relay(a.out, b.engine);
  assert.equal(b.engine.flows.count, a.engine.flows.count);
  assert.equal(b.engine.flows.digest, a.engine.flows.digest);
  const ref = b.engine.flows.lookup(PROTO_PERSIST, OTHER, 0, VIP, 7000);
  assert.equal(b.engine.flows.c.backend[ref >> 1], backendOf(a, OTHER, 50000));
});
