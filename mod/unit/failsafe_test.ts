import assert from "node:assert/strict";
import { ARP_REPLY, buildArpFrame } from "../wire/mod.ts";
import { CLIENT, CLIENT_MAC, engineUnderTest, feed } from "../engine/testing.ts";
import { Failsafe, type TrackSetup } from "./failsafe.ts";

function track(over: Partial<TrackSetup> = {}): TrackSetup {
  return {
    links: [{ interface: "front", device: "eth0" }],
    gateways: [{ interface: "front", iface: 0, ip: CLIENT }],
    intervalMs: 100,
    rise: 2,
    fall: 3,
    ...over,
  };
}

Deno.test("failsafe: nothing tracked is always healthy and settled, and never due", () => {
  const f = new Failsafe(null);
  const { engine } = engineUnderTest();
  assert.equal(f.tick(0, engine.ctx), false);
  assert.deepEqual([f.healthy, f.settled, f.nextDeadline(), f.checks()], [
    true,
    true,
    Infinity,
    [],
  ]);
});

Deno.test("failsafe: link and gateway verdicts with hysteresis, on the interval", () => {
  let carrier = true;
  const { cfg, engine } = engineUnderTest();
  const f = new Failsafe(track(), { carrier: () => carrier });
  engine.ctx.arpWatch = f.monitor;
  const self = cfg.interfaces[0]!;
  const answer = (t: number) => {
    const b = new Uint8Array(42);
    buildArpFrame(b, ARP_REPLY, CLIENT_MAC, CLIENT, self.mac, self.ip, self.mac);
    feed(engine, b, 0, t);
  };
  assert.equal(f.tick(0, engine.ctx), true, "the link's first result");
  assert.deepEqual([f.healthy, f.settled], [true, false], "the gateway awaits its first answer");
  assert.equal(f.tick(50, engine.ctx), false, "not due before the interval");
  answer(60);
  f.tick(100, engine.ctx);
  assert.deepEqual([f.healthy, f.settled], [true, true]);
  // The gateway goes silent: down after 3 intervals (fall), not before.
  f.tick(200, engine.ctx);
  f.tick(300, engine.ctx);
  assert.equal(f.healthy, true);
  f.tick(400, engine.ctx);
  assert.equal(f.healthy, false);
  assert.deepEqual(f.checks().map((c) => c.up), [true, false]);
  // It answers again: up after 2 (rise); meanwhile the link drops.
  answer(410);
  f.tick(500, engine.ctx);
  answer(510);
  carrier = false;
  f.tick(600, engine.ctx);
  assert.deepEqual(f.checks().map((c) => c.up), [true, true]);
  f.tick(700, engine.ctx);
  f.tick(800, engine.ctx);
  assert.deepEqual(f.checks().map((c) => c.up), [false, true], "3 link failures, 2 gateway");
  f.tick(900, engine.ctx);
  assert.deepEqual(f.checks().map((c) => c.up), [false, false]);
  assert.equal(f.healthy, false);
  assert.match(f.describe(), /link front eth0 down, gateway front 198\.51\.100\.2 down/);
  const n = f.counts();
  assert.ok(n.failures >= 6 && n.results > n.failures);
});
