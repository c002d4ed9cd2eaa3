import assert from "node:assert/strict";
import { DROP } from "./counters.ts";
import { SNAT_PORT_MIN } from "./decide.ts";
import { V_DROP, V_FORWARD } from "./output.ts";
import { Engine } from "./engine.ts";
import {
  BACKENDS,
  CLIENT,
  clientSyn,
  engineUnderTest,
  feed,
  GW,
  labEngineConfig,
  learnNeighbors,
  RecordingOutput,
  udpFrame,
  VIP,
} from "./testing.ts";
import type { EngineConfig } from "./config.ts";

type Service = EngineConfig["services"][number];

function withServices(patch: (s: Service) => Partial<Service>, rng: () => number) {
  const base = labEngineConfig("a");
  const cfg = labEngineConfig("a", {
    capacity: 8192,
    services: base.services.map((s) => ({ ...s, ...patch(s) })),
  });
  const engine = new Engine(cfg, new RecordingOutput(), rng);
  learnNeighbors(engine);
  return { cfg, engine };
}

Deno.test("decide: round robin sends successive flows to successive backends", () => {
  const { cfg, engine } = engineUnderTest();
  learnNeighbors(engine);
  const picks: number[] = [];
  for (let i = 0; i < 5; i++) {
    feed(engine, clientSyn(cfg, 1000 + i), 0, 1);
    const f = engine.flows.lookup(6, CLIENT, 1000 + i, VIP, 7000) >> 1;
    picks.push(engine.flows.c.backend[f]!);
    assert.equal(
      engine.flows.c.rSrc[f],
      BACKENDS[engine.flows.c.backend[f]!],
      "rSrc is that backend",
    );
  }
  assert.deepEqual(picks, [0, 1, 0, 1, 0]);
});

Deno.test("decide: maglev picks by the tuple, the same on two units whatever their randomness", () => {
  const a = engineUnderTest("a", {}, 1), b = engineUnderTest("b", {}, 99);
  learnNeighbors(a.engine);
  learnNeighbors(b.engine);
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const d = (cfg: EngineConfig) =>
      udpFrame({
        dstMac: cfg.virtualMacs[0]!,
        src: CLIENT,
        dst: VIP,
        sport: 2000 + i,
        dport: 7001,
      });
    feed(a.engine, d(a.cfg), 0, 1);
    feed(b.engine, d(b.cfg), 0, 1);
    const fa = a.engine.flows.lookup(17, CLIENT, 2000 + i, VIP, 7001) >> 1;
    const fb = b.engine.flows.lookup(17, CLIENT, 2000 + i, VIP, 7001) >> 1;
    assert.equal(a.engine.flows.c.backend[fa], b.engine.flows.c.backend[fb]);
    seen.add(a.engine.flows.c.backend[fa]!);
  }
  assert.deepEqual([...seen].sort(), [0, 1], "both backends get flows");
});

Deno.test("decide: a sequence offset is drawn only for TCP services with randomize_isn", () => {
  let calls = 0;
  const rng = () => (calls++, 0xdeadbeef);
  const on = withServices(() => ({ randomizeIsn: true }), rng);
  feed(on.engine, clientSyn(on.cfg, 7), 0, 1);
  const f = on.engine.flows.lookup(6, CLIENT, 7, VIP, 7000) >> 1;
  assert.equal(on.engine.flows.c.seqOffset[f], 0xdeadbeef);
  assert.equal(calls, 1);
  feed(
    on.engine,
    udpFrame({ dstMac: on.cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 7, dport: 7001 }),
    0,
    1,
  );
  const u = on.engine.flows.lookup(17, CLIENT, 7, VIP, 7001) >> 1;
  assert.equal(on.engine.flows.c.seqOffset[u], 0, "UDP has no sequence");
  const off = withServices(() => ({ randomizeIsn: false }), rng);
  calls = 0;
  feed(off.engine, clientSyn(off.cfg, 7), 0, 1);
  assert.equal(off.engine.flows.c.seqOffset[0] ?? 0, 0);
  assert.equal(calls, 0, "no randomness drawn");
});

Deno.test("decide: SNAT takes the floating address and a free port from a random start", () => {
  const rng = () => 5000;
  const { cfg, engine } = withServices(
    () => ({ snatIp: GW, backends: [{ ip: BACKENDS[0]!, port: 7000 }] }),
    rng,
  );
  feed(engine, clientSyn(cfg, 1), 0, 1);
  feed(engine, clientSyn(cfg, 2), 0, 1);
  const c = engine.flows.c;
  const f1 = engine.flows.lookup(6, CLIENT, 1, VIP, 7000) >> 1;
  const f2 = engine.flows.lookup(6, CLIENT, 2, VIP, 7000) >> 1;
  assert.equal(c.rDst[f1], GW);
  assert.equal(c.rDport[f1], SNAT_PORT_MIN + 5000);
  assert.equal(c.rDport[f2], SNAT_PORT_MIN + 5001, "the next free port");
  assert.equal(engine.flows.lookup(6, BACKENDS[0]!, 7000, GW, SNAT_PORT_MIN + 5000), f1 * 2 + 1);
});

Deno.test("decide: SNAT ports run out after 4096 probes, counted, no flow created", () => {
  const rng = () => 0;
  const { cfg, engine } = withServices(
    () => ({ snatIp: GW, backends: [{ ip: BACKENDS[0]!, port: 7000 }] }),
    rng,
  );
  for (let i = 0; i < 4096; i++) {
    assert.equal(feed(engine, clientSyn(cfg, 10_000 + i), 0, 1), V_FORWARD);
  }
  assert.equal(feed(engine, clientSyn(cfg, 9999), 0, 1), V_DROP);
  assert.equal(engine.counters.get(DROP.snat_ports_exhausted), 1);
  assert.equal(engine.flows.count, 4096);
});
