import assert from "node:assert/strict";
import { TCP_ACK, TCP_RST } from "../wire/mod.ts";
import { A_DRAINING, NO_BACKEND } from "./backends.ts";
import type { EngineConfig } from "./config.ts";
import { DROP } from "./counters.ts";
import { V_DROP, V_FORWARD } from "./output.ts";
import { fixedPartsDiffer } from "./reconfigure.ts";
import {
  BACKENDS,
  CLIENT,
  clientSegment,
  clientSyn,
  engineUnderTest,
  feed,
  ip,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  serverSegment,
  tcpFrame,
  VIP,
} from "./testing.ts";

function running() {
  const t = engineUnderTest("a");
  learnNeighbors(t.engine);
  for (let i = 0; i < 4; i++) feed(t.engine, clientSyn(t.cfg, 40000 + i), 0, 1);
  return t;
}

const flowOf = (t: ReturnType<typeof running>, sport: number) =>
  t.engine.flows.lookup(6, CLIENT, sport, VIP, 7000) >> 1;

/** The lab config with `edit` applied to a copy of its services. */
function edited(edit: (s: EngineConfig["services"]) => EngineConfig["services"]): EngineConfig {
  const cfg = labEngineConfig("a");
  return { ...cfg, services: edit(cfg.services.map((s) => ({ ...s }))) };
}

Deno.test("reconfigure: an added service takes new flows at once; old flows keep going", () => {
  const t = running();
  const next = edited((s) => [
    { ...s[0]!, name: "web", port: 80, backends: BACKENDS.map((b) => ({ ip: b, port: 80 })) },
    ...s,
  ]);
  const r = t.engine.reconfigure(next);
  assert.deepEqual(r.added, ["web"]);
  assert.deepEqual(r.removed, []);
  // The echo service is index 1 now; its flows were renumbered.
  assert.equal(t.engine.flows.c.service[flowOf(t, 40000)], 1);
  const web = () =>
    tcpFrame({
      dstMac: t.cfg.virtualMacs[0]!,
      src: CLIENT,
      dst: VIP,
      sport: 41000,
      dport: 80,
    });
  assert.equal(feed(t.engine, web(), 0, 2), V_FORWARD);
  assert.equal(
    feed(t.engine, serverSegment(t.cfg, BACKENDS[0]!, 40000, { flags: 0x12 }), 1, 3),
    V_FORWARD,
  );
  // The table's digest is the one an engine holding these flows under the new numbers has.
  const fresh = engineUnderTest("a", next);
  learnNeighbors(fresh.engine);
  for (let i = 0; i < 4; i++) feed(fresh.engine, clientSyn(fresh.cfg, 40000 + i), 0, 1);
  feed(fresh.engine, web(), 0, 2);
  feed(fresh.engine, serverSegment(fresh.cfg, BACKENDS[0]!, 40000, { flags: 0x12 }), 1, 3);
  assert.equal(t.engine.flows.digest, fresh.engine.flows.digest);
});

Deno.test("reconfigure: a removed service keeps its flows (retired) but takes no new ones", () => {
  const t = running();
  const r = t.engine.reconfigure(edited((s) => [s[1]!]));
  assert.deepEqual(r.removed, ["echo"]);
  assert.deepEqual(r.retired, ["echo"]);
  assert.equal(feed(t.engine, clientSyn(t.cfg, 42000), 0, 2), V_DROP);
  assert.equal(t.engine.counters.get(DROP.no_service), 1, "refused like any closed port");
  const seg = clientSegment(t.cfg, 40000, { flags: TCP_ACK, seq: 1001, ack: 1 });
  assert.equal(feed(t.engine, seg, 0, 3), V_FORWARD, "an old flow goes on");
  // A second reload drops the retired service once its flows are gone.
  for (let i = 0; i < 4; i++) t.engine.flows.remove(flowOf(t, 40000 + i));
  assert.deepEqual(t.engine.reconfigure(edited((s) => [s[1]!])).retired, []);
});

Deno.test("reconfigure: on_service_removed reset answers the next packet with a RST", () => {
  const t = running();
  t.engine.reconfigure({ ...edited((s) => [s[1]!]), resetRemoved: true });
  const before = t.out.emitted.length;
  const seg = clientSegment(t.cfg, 40001, { flags: TCP_ACK, seq: 1001, ack: 1 });
  assert.equal(feed(t.engine, seg, 0, 3), V_DROP);
  assert.equal(t.engine.counters.get(DROP.flow_reset_backend_gone), 1);
  assert.equal(t.engine.flows.lookup(6, CLIENT, 40001, VIP, 7000), -1);
  const rst = parseOut(t.out.emitted[before]!.frame);
  assert.equal(rst.tcp!.flags & TCP_RST, TCP_RST);
  assert.equal(rst.ip.dst, CLIENT);
});

Deno.test("reconfigure: backends are matched by address; a removed one leaves NO_BACKEND", () => {
  const t = running();
  const b0 = t.engine.flows.c.backend[flowOf(t, 40000)]!;
  const b1 = t.engine.flows.c.backend[flowOf(t, 40001)]!;
  assert.deepEqual([b0, b1], [0, 1]);
  const extra = ip("203.0.113.22");
  const r = t.engine.reconfigure(edited((s) => [
    { ...s[0]!, backends: [{ ip: extra, port: 7000 }, { ip: BACKENDS[0]!, port: 7000 }] },
    s[1]!,
  ]));
  assert.equal(r.orphaned, 2, "the flows of 203.0.113.21");
  assert.equal(t.engine.flows.c.backend[flowOf(t, 40000)], 1, "203.0.113.20 is index 1 now");
  assert.equal(t.engine.flows.c.backend[flowOf(t, 40001)], NO_BACKEND);
  const seg = clientSegment(t.cfg, 40001, { flags: TCP_ACK, seq: 1001, ack: 1 });
  assert.equal(feed(t.engine, seg, 0, 3), V_FORWARD, "kept by default");
});

Deno.test("reconfigure: a drained backend stays drained unless the file changes its state", () => {
  const t = running();
  t.engine.ctx.pools[0]!.setAdmin(1, A_DRAINING);
  t.engine.reconfigure(edited((s) => s));
  assert.equal(t.engine.ctx.pools[0]!.admin[1], A_DRAINING);
  t.engine.reconfigure(edited((s) => [
    { ...s[0]!, backends: s[0]!.backends.map((b) => ({ ...b, admin: "maintenance" as const })) },
    s[1]!,
  ]));
  assert.equal(t.engine.ctx.pools[0]!.admin[1], 2, "the file said maintenance");
});

Deno.test("reconfigure: interfaces, floating addresses and capacity need a restart", () => {
  const cfg = labEngineConfig("a");
  assert.equal(fixedPartsDiffer(cfg, labEngineConfig("a")), undefined);
  assert.equal(fixedPartsDiffer(cfg, labEngineConfig("b")), "interfaces");
  assert.equal(fixedPartsDiffer(cfg, { ...cfg, floating: [] }), "floating");
  assert.equal(fixedPartsDiffer(cfg, { ...cfg, capacity: 2048 }), "flows.capacity");
});
