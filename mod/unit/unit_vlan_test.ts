/**
 * A solo unit whose three interfaces are all on one trunk (memory) port: `front` on VLAN 10,
 * `back` on VLAN 113, `mgmt` untagged ("router on a stick"). What the engine answers, announces
 * and forwards leaves with the tag of the interface it leaves from; frames of other VLANs are
 * counted and dropped.
 * @module
 */
import assert from "node:assert/strict";
import {
  BACKENDS,
  CLIENT,
  clientSyn,
  ip,
  labEngineConfig,
  learnNeighbors,
  mac,
  parseOut,
  seeded,
  SERVER_MAC,
  serverSegment,
} from "../engine/testing.ts";
import type { EngineConfig } from "../engine/config.ts";
import { MemoryPort } from "../port/memory.ts";
import { BROADCAST_MAC } from "../wire/addr.ts";
import { ARP_REPLY, ARP_REQUEST, ArpPacket, buildArpFrame } from "../wire/arp.ts";
import { Unit } from "./unit.ts";

const MGMT_IP = ip("10.9.0.3");

function trunkConfig(): EngineConfig {
  const base = labEngineConfig("a");
  return {
    ...base,
    interfaces: [
      { ...base.interfaces[0]!, vlan: 10 },
      { ...base.interfaces[1]!, vlan: 113 },
      { name: "mgmt", mac: mac("02:00:00:00:03:03"), ip: MGMT_IP, prefix: 24 },
    ],
    virtualMacs: [...base.virtualMacs, mac("02:74:6e:00:00:03")],
  };
}

/** `frame` with an 802.1Q tag for `vid`. */
function tag(frame: Uint8Array, vid: number): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12));
  out.set([0x81, 0x00, vid >> 8, vid & 255], 12);
  out.set(frame.subarray(12), 16);
  return out;
}

/** The VID of a sent frame, or -1 when it is untagged; and the frame without its tag. */
function untag(frame: Uint8Array): { vid: number; frame: Uint8Array } {
  if (frame[12] !== 0x81 || frame[13] !== 0x00) return { vid: -1, frame };
  const out = new Uint8Array(frame.length - 4);
  out.set(frame.subarray(0, 12));
  out.set(frame.subarray(16), 12);
  return { vid: ((frame[14]! << 8) | frame[15]!) & 0xfff, frame: out };
}

function arpRequest(target: number, sender = BACKENDS[0]!): Uint8Array {
  const f = new Uint8Array(42);
  buildArpFrame(f, ARP_REQUEST, SERVER_MAC, sender, new Uint8Array(6), target, BROADCAST_MAC);
  return f;
}

/** True for a gratuitous ARP (sender = target): the unit repeats its boot announcements. */
function isGarp(frame: Uint8Array): boolean {
  const f = untag(frame).frame;
  if (f[12] !== 0x08 || f[13] !== 0x06) return false;
  const a = ArpPacket.checked(f.subarray(14));
  return a !== undefined && a.spa === a.tpa;
}

/** What the unit sent besides its announcements, taken off the port. */
function answers(port: MemoryPort): Uint8Array[] {
  return port.take().filter((f) => !isGarp(f));
}

async function until(what: string, cond: () => boolean, limitMs = 3000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) assert.fail(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Runs `fn` against a solo unit on one trunk port, its loop turning. */
async function withTrunkUnit(
  fn: (u: Unit, trunk: MemoryPort, cfg: EngineConfig) => Promise<void>,
): Promise<void> {
  const trunk = new MemoryPort("trunk");
  const cfg = trunkConfig();
  const u = new Unit(
    {
      node: "a",
      mode: "standby-forward",
      role: "active",
      version: "test",
      engine: cfg,
      configDigest: "0011223344556677",
      peer: null,
      rng: seeded(3),
    },
    [trunk, trunk, trunk],
    null,
  );
  const ctrl = new AbortController();
  const done = u.run(ctrl.signal);
  try {
    await fn(u, trunk, cfg);
  } finally {
    ctrl.abort();
    await done;
  }
}

/** Injects `frame` and waits for the loop to have read it. */
async function push(u: Unit, port: MemoryPort, frame: Uint8Array): Promise<void> {
  const rx = u.snapshot().counters.rx_packets!;
  port.inject(frame);
  await until("the frame read", () => u.snapshot().counters.rx_packets! > rx);
}

Deno.test("unit vlan: boot GARPs leave tagged with their floating address's VLAN", async () => {
  await withTrunkUnit(async (_u, trunk, cfg) => {
    await until("GARPs", () => trunk.sent.length >= 2);
    const garps = trunk.take().map(untag).map(({ vid, frame }) => {
      const a = ArpPacket.checked(frame.subarray(14))!;
      return [vid, a.spa];
    });
    assert.deepEqual(
      garps.slice(0, 2).sort((x, y) => x[0]! - y[0]!),
      [[10, cfg.floating[0]!.ip], [113, cfg.floating[1]!.ip]],
    );
  });
});

Deno.test("unit vlan: a tagged ARP request for a VLAN's self address is answered tagged", async () => {
  await withTrunkUnit(async (u, trunk, cfg) => {
    await push(u, trunk, tag(arpRequest(cfg.interfaces[1]!.ip), 113));
    await until("the reply", () => trunk.sent.some((f) => !isGarp(f)));
    const sent = answers(trunk);
    assert.equal(sent.length, 1);
    const { vid, frame } = untag(sent[0]!);
    assert.equal(vid, 113, "the reply carries VLAN 113's tag");
    const a = ArpPacket.checked(frame.subarray(14))!;
    assert.equal(a.op, ARP_REPLY);
    assert.equal(a.spa, cfg.interfaces[1]!.ip);
    assert.deepEqual(a.sha, cfg.interfaces[1]!.mac);
    assert.deepEqual(frame.subarray(0, 6), SERVER_MAC);

    // The untagged interface answers untagged.
    await push(u, trunk, arpRequest(MGMT_IP, ip("10.9.0.7")));
    await until("the untagged reply", () => trunk.sent.some((f) => !isGarp(f)));
    const plain = untag(answers(trunk)[0]!);
    assert.equal(plain.vid, -1);
    assert.equal(ArpPacket.checked(plain.frame.subarray(14))!.spa, MGMT_IP);
  });
});

Deno.test("unit vlan: self addresses are per VLAN; unknown VLANs are counted and dropped", async () => {
  await withTrunkUnit(async (u, trunk, cfg) => {
    const before = u.snapshot().counters;
    // back's address asked on VLAN 10 (front's segment), and on VLANs nobody configured.
    await push(u, trunk, tag(arpRequest(cfg.interfaces[1]!.ip), 10));
    await push(u, trunk, tag(arpRequest(cfg.interfaces[1]!.ip), 114));
    await push(u, trunk, tag(arpRequest(cfg.interfaces[1]!.ip), 4095));
    const after = u.snapshot().counters;
    assert.equal(after.drop_vlan_unknown! - before.drop_vlan_unknown!, 2);
    assert.equal(after.drop_not_for_us! - before.drop_not_for_us!, 1, "VLAN 10: not ours");
    assert.deepEqual(answers(trunk), [], "nothing answered");
  });
});

Deno.test("unit vlan: traffic crosses from VLAN 10 to VLAN 113 and back, retagged", async () => {
  await withTrunkUnit(async (u, trunk, cfg) => {
    learnNeighbors(u.engine);
    await push(u, trunk, tag(clientSyn(cfg, 40001), 10));
    await until("the SYN forwarded", () => trunk.sent.some((f) => !isGarp(f)));
    const out = untag(answers(trunk)[0]!);
    assert.equal(out.vid, 113, "toward the servers on VLAN 113");
    const syn = parseOut(out.frame);
    assert.ok(BACKENDS.includes(syn.ip.dst));
    assert.equal(syn.tcp!.dstPort, 7000);
    assert.ok(syn.ip.verifyChecksum());

    await push(u, trunk, tag(serverSegment(cfg, syn.ip.dst, 40001, { flags: 0x12 }), 113));
    await until("the SYN-ACK forwarded", () => trunk.sent.some((f) => !isGarp(f)));
    const back = untag(answers(trunk)[0]!);
    assert.equal(back.vid, 10, "toward the client on VLAN 10");
    const synAck = parseOut(back.frame);
    assert.equal(synAck.ip.src, cfg.floating[0]!.ip);
    assert.equal(synAck.ip.dst, CLIENT);
    assert.equal(synAck.tcp!.flags, 0x12);
    assert.equal(u.snapshot().flows.count, 1);
  });
});
