import assert from "node:assert/strict";
import { ARP_REPLY, ARP_REQUEST, ArpPacket, BROADCAST_MAC, buildArpFrame } from "../wire/mod.ts";
import { GatewayMonitor } from "./monitor.ts";
import { BACKENDS, CLIENT, CLIENT_MAC, engineUnderTest, feed, ip, SERVER_MAC } from "./testing.ts";

function arpFrame(op: number, sha: Uint8Array, spa: number, tpa: number, dst = BROADCAST_MAC) {
  const b = new Uint8Array(42);
  buildArpFrame(b, op, sha, spa, new Uint8Array(6), tpa, dst);
  return b;
}

function setup() {
  const { cfg, out, engine } = engineUnderTest();
  const mon = new GatewayMonitor([{ iface: 0, ip: CLIENT }, { iface: 1, ip: BACKENDS[0]! }]);
  engine.ctx.arpWatch = mon;
  return { cfg, out, engine, mon };
}

Deno.test("gateway monitor: each probe is an ARP request from the self address", () => {
  const { cfg, out, engine, mon } = setup();
  assert.deepEqual(mon.probe(engine.ctx, 0), [undefined, undefined], "no verdict before a probe");
  assert.equal(out.emitted.length, 2);
  const [f, b] = out.emitted.map((e) => ({
    iface: e.iface,
    a: ArpPacket.checked(e.frame.subarray(14))!,
  }));
  assert.equal(f!.iface, 0);
  assert.equal(f!.a.op, ARP_REQUEST);
  assert.equal(f!.a.spa, cfg.interfaces[0]!.ip, "never a floating address");
  assert.equal(f!.a.tpa, CLIENT);
  assert.equal(b!.iface, 1);
  assert.equal(b!.a.tpa, BACKENDS[0]);
});

Deno.test("gateway monitor: a reply since the last probe is a success, silence a failure", () => {
  const { cfg, engine, mon } = setup();
  mon.probe(engine.ctx, 0);
  // The client answers; the backend does not.
  const self = cfg.interfaces[0]!;
  feed(engine, arpFrame(ARP_REPLY, CLIENT_MAC, CLIENT, self.ip, self.mac), 0, 5);
  assert.deepEqual(mon.probe(engine.ctx, 1000), [true, false]);
  // Nothing since the second probe: both fail.
  assert.deepEqual(mon.probe(engine.ctx, 2000), [false, false]);
  // Any ARP from the address counts: the backend asks for someone else.
  feed(engine, arpFrame(ARP_REQUEST, SERVER_MAC, BACKENDS[0]!, ip("203.0.113.99")), 1, 2500);
  assert.deepEqual(mon.probe(engine.ctx, 3000), [false, true]);
});

Deno.test("gateway monitor: an ARP from the address on another interface does not count", () => {
  const { engine, mon } = setup();
  mon.probe(engine.ctx, 0);
  feed(engine, arpFrame(ARP_REQUEST, CLIENT_MAC, CLIENT, ip("198.51.100.99")), 1, 10);
  assert.deepEqual(mon.probe(engine.ctx, 1000), [false, false]);
});
