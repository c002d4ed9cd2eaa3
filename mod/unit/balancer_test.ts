import assert from "node:assert/strict";
import { A_DRAINING, A_MAINTENANCE, H_DOWN, H_UP } from "../engine/backends.ts";
import { Engine } from "../engine/engine.ts";
import {
  BACKENDS,
  clientSyn,
  feed,
  labEngineConfig,
  learnNeighbors,
  RecordingOutput,
  seeded,
} from "../engine/testing.ts";
import { parseIpv6 } from "../wire/addr.ts";
import { Balancer, endpointText, packAdmin, unpackAdmin } from "./balancer.ts";

function balancer() {
  const base = labEngineConfig("a");
  const cfg = {
    ...base,
    services: [
      {
        ...base.services[0]!,
        health: {
          kind: "tcp" as const,
          intervalMs: 1000,
          timeoutMs: 500,
          rise: 2,
          fall: 3,
          port: 0,
          path: "/",
          expect: 200,
        },
      },
      base.services[1]!,
    ],
  };
  const engine = new Engine(cfg, new RecordingOutput(), seeded(1));
  learnNeighbors(engine);
  return { engine, b: new Balancer(engine) };
}

Deno.test("balancer: admin arguments pack and unpack every field", () => {
  for (const [svc, backend, admin] of [[0, 0, 0], [1023, 255, 2], [5, 17, 1]] as const) {
    assert.deepEqual(unpackAdmin(packAdmin(svc, backend, admin)), { svc, backend, admin });
  }
});

Deno.test("balancer: setAdmin by name and address; unknown ones are typed refusals", () => {
  const { engine, b } = balancer();
  const r = b.setAdmin("echo", "203.0.113.21:7000", "draining");
  assert.deepEqual(r.ok && [r.svc, r.backend, r.admin, r.changed], [0, 1, A_DRAINING, true]);
  assert.equal(engine.ctx.pools[0]!.admin[1], A_DRAINING);
  const again = b.setAdmin("echo", "203.0.113.21:7000", "draining");
  assert.ok(again.ok && !again.changed);
  assert.deepEqual(b.setAdmin("nope", "203.0.113.21:7000", "draining"), {
    ok: false,
    reason: "unknown-service",
    message: "no service named nope",
  });
  const nb = b.setAdmin("echo", "203.0.113.99:7000", "draining");
  assert.equal(!nb.ok && nb.reason, "unknown-backend");
});

Deno.test("balancer: the peer's admin and health records apply only when configs match", () => {
  const { engine, b } = balancer();
  const arg = packAdmin(0, 0, A_MAINTENANCE);
  assert.equal(b.onPeerAdmin(arg, false), undefined);
  assert.equal(b.onPeerAdmin(arg, null), undefined);
  assert.equal(engine.ctx.pools[0]!.admin[0], 0);
  assert.match(b.onPeerAdmin(arg, true)!, /echo 203\.0\.113\.20:7000: maintenance/);
  assert.equal(b.onPeerAdmin(packAdmin(7, 0, 1), true), undefined, "no such service");
  assert.equal(b.onPeerAdmin(packAdmin(0, 9, 1), true), undefined, "no such backend");
  b.onPeerHealth(0, new Uint8Array([H_UP, H_DOWN]), false);
  assert.equal(b.services(true, 0)[0]!.backends[1]!.peerHealth, null, "ignored: configs differ");
  b.onPeerHealth(0, new Uint8Array([H_UP]), true);
  assert.equal(b.services(true, 0)[0]!.backends[1]!.peerHealth, null, "ignored: wrong length");
  b.onPeerHealth(0, new Uint8Array([H_UP, 7]), true);
  assert.equal(b.services(true, 0)[0]!.backends[1]!.peerHealth, null, "ignored: bad value");
  b.onPeerHealth(0, new Uint8Array([H_UP, H_DOWN]), true);
  assert.equal(b.services(true, 0)[0]!.backends[1]!.peerHealth, "down");
  b.forgetPeer();
  assert.equal(b.services(true, 0)[0]!.backends[1]!.peerHealth, null);
});

Deno.test("balancer: services show states, health views and each backend's flows", () => {
  const { engine, b } = balancer();
  for (let i = 0; i < 5; i++) feed(engine, clientSyn(engine.config, 40000 + i), 0, 1);
  engine.ctx.pools[0]!.setAdmin(1, A_DRAINING);
  const [echo, udp] = b.services(false, 0);
  assert.equal(echo!.listen, "198.51.100.10:7000");
  assert.deepEqual(echo!.health, { kind: "tcp", intervalMs: 1000 });
  assert.equal(echo!.backendsUp, 1);
  assert.deepEqual(
    echo!.backends.map((x) => [x.address, x.admin, x.health, x.peerHealth, x.state, x.flows]),
    [
      [`203.0.113.20:7000`, "enabled", "up", null, "up", 3],
      [`203.0.113.21:7000`, "draining", "up", null, "draining", 2],
    ],
  );
  assert.equal(udp!.backends[0]!.health, "unchecked");
  engine.ctx.pools[0]!.setAdmin(1, 0);
  engine.ctx.pools[0]!.setHealth(0, H_DOWN);
  assert.equal(b.services(false, 0)[0]!.backends[0]!.state, "down");
  assert.deepEqual(b.adminArgs().map(unpackAdmin).filter((a) => a.svc === 0).map((a) => a.admin), [
    0,
    0,
  ]);
  assert.equal(BACKENDS.length, 2);
});

Deno.test("balancer: the health view goes out at once on a change, else once a second", () => {
  const { b } = balancer();
  assert.equal(b.shareDue(0, false), true, "the first one");
  assert.equal(b.nextShare, 1000);
  assert.equal(b.shareDue(500, false), false);
  assert.equal(b.shareDue(600, true), true, "a flip goes out at once");
  assert.equal(b.nextShare, 1600);
  assert.equal(b.shareDue(1599, false), false);
  assert.equal(b.shareDue(1600, false), true);
  assert.deepEqual(b.checkedServices(), [0], "only the service with checks");
  assert.deepEqual([...b.healthBytes(0)], [H_UP, H_UP]);
});

Deno.test("balancer: each backend's flow count is reused for a second, then counted again", () => {
  const { engine, b } = balancer();
  feed(engine, clientSyn(engine.config, 40000), 0, 1);
  assert.equal(b.services(false, 0)[0]!.backends[0]!.flows, 1);
  feed(engine, clientSyn(engine.config, 40001), 0, 1);
  feed(engine, clientSyn(engine.config, 40002), 0, 1);
  assert.equal(b.services(false, 999)[0]!.backends[0]!.flows, 1, "within the second: reused");
  assert.equal(b.services(false, 1000)[0]!.backends[0]!.flows, 2, "then counted again");
});

Deno.test("balancer: an IPv6 service shows [v6]:port and finds a backend by any spelling", () => {
  const w = (text: string) => parseIpv6(text)!;
  const base = labEngineConfig("a");
  const v4 = base.services[0]!;
  const six = {
    ...v4,
    name: "echo6",
    vip: 0x10,
    vip6: w("2001:db8:100::10"),
    backends: [
      { ip: 0x20, ip6: w("2001:db8:113::20"), port: 7000 },
      { ip: 0x21, ip6: w("2001:db8:113::21"), port: 7000 },
    ],
  };
  const engine = new Engine({ ...base, services: [v4, six] }, new RecordingOutput(), seeded(1));
  const b = new Balancer(engine);
  const st = b.services(false, 0).find((s) => s.name === "echo6")!;
  assert.equal(st.listen, "[2001:db8:100::10]:7000");
  assert.deepEqual(st.backends.map((x) => x.address), [
    "[2001:db8:113::20]:7000",
    "[2001:db8:113::21]:7000",
  ]);
  const r = b.setAdmin("echo6", "[2001:DB8:113:0::21]:7000", "maintenance");
  assert.deepEqual(r.ok && [r.svc, r.backend, r.admin], [1, 1, A_MAINTENANCE]);
  const low = b.setAdmin("echo6", "0.0.0.33:7000", "maintenance");
  assert.equal(!low.ok && low.reason, "unknown-backend", "the low word alone is no address");
  assert.equal(endpointText(0xcb007114, undefined, 80), "203.0.113.20:80");
});
