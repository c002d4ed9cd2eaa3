import assert from "node:assert/strict";
import { Counters, DROP, EV } from "../engine/counters.ts";
import { MemoryPort } from "../port/memory.ts";
import { Trunks } from "./trunk.ts";

const MACS = [2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 2];
const PAYLOAD = [0x08, 0x00, 0x45, 0x00, 0x00, 0x14, 1, 2, 3, 4];
const untagged = () => new Uint8Array([...MACS, ...PAYLOAD]);
const tagged = (vid: number, pcp = 0) =>
  new Uint8Array([...MACS, 0x81, 0x00, (pcp << 5) | (vid >> 8), vid & 255, ...PAYLOAD]);

class VnetPort extends MemoryPort {
  readonly vnet = true;
}

/**
 * Interfaces: 0 untagged on trunk T, 1 VLAN 113 on T, 2 VLAN 114 on T, 3 alone on plain port P.
 */
function setup() {
  const t = new MemoryPort("trunk"), p = new MemoryPort("plain");
  const counters = new Counters();
  const tx = new Uint8Array(256).fill(0xa5);
  const trunks = new Trunks(
    [t, t, t, p],
    [0, 113, 114, 0],
    counters,
    tx,
    (dst, at, src, off, end) => dst.set(src.subarray(off, end), at),
  );
  return { t, p, counters, trunks };
}

/** `buf` holding `frame` at `off`, the rest 0xa5. */
function at(frame: Uint8Array, off: number, len = 128): Uint8Array {
  const buf = new Uint8Array(len).fill(0xa5);
  buf.set(frame, off);
  return buf;
}

Deno.test("trunk: one device per TAP, in order of first use", () => {
  const { t, p, trunks } = setup();
  assert.deepEqual(trunks.devices, [t, p]);
  assert.ok(trunks.isTrunk(0));
  assert.ok(!trunks.isTrunk(1));
  assert.deepEqual([...trunks.vids], [0, 113, 114, 0]);
});

Deno.test("trunk rx: a configured VID picks its interface and the tag is stripped", () => {
  const { trunks, counters } = setup();
  for (const [vid, iface] of [[113, 1], [114, 2]]) {
    const f = tagged(vid!, 5);
    const buf = at(f, 0);
    assert.equal(trunks.rx(0, buf, 0, f.length), iface);
    assert.equal(trunks.off, 4);
    assert.deepEqual(buf.subarray(trunks.off, f.length), untagged());
  }
  assert.equal(counters.drops(), 0);
});

Deno.test("trunk rx: untagged and priority-tagged (VID 0) frames go to the untagged interface", () => {
  const { trunks } = setup();
  const u = untagged(), buf = at(u, 0);
  assert.equal(trunks.rx(0, buf, 0, u.length), 0);
  assert.equal(trunks.off, 0);
  assert.deepEqual(buf.subarray(0, u.length), u, "untouched");
  const pri = tagged(0, 6), buf2 = at(pri, 0);
  assert.equal(trunks.rx(0, buf2, 0, pri.length), 0);
  assert.deepEqual(buf2.subarray(trunks.off, pri.length), untagged());
});

Deno.test("trunk rx: a VID not configured on the TAP is counted and dropped", () => {
  const { trunks, counters } = setup();
  for (const vid of [1, 112, 115, 4094, 4095]) {
    const f = tagged(vid);
    const buf = at(f, 0);
    assert.equal(trunks.rx(0, buf, 0, f.length), -1, `vid ${vid}`);
    assert.deepEqual(buf.subarray(0, f.length), f, "a dropped frame is not touched");
  }
  assert.equal(counters.get(DROP.vlan_unknown), 5);
  assert.equal(counters.get(EV.rx_packets), 5, "counted as received");
  assert.equal(counters.drops(), 5);
});

Deno.test("trunk rx: a tag cut short is a truncated frame", () => {
  const { trunks, counters } = setup();
  const f = tagged(113).subarray(0, 17);
  assert.equal(trunks.rx(0, at(f, 0), 0, f.length), -1);
  assert.equal(counters.get(DROP.truncated_frame), 1);
});

Deno.test("trunk rx: on a trunk with no untagged interface an untagged frame is unknown", () => {
  const t = new MemoryPort("trunk"), counters = new Counters();
  const trunks = new Trunks([t, t], [10, 20], counters, new Uint8Array(64), () => {});
  const u = untagged();
  assert.equal(trunks.rx(0, at(u, 0), 0, u.length), -1);
  assert.equal(counters.get(DROP.vlan_unknown), 1);
  const f = tagged(20);
  assert.equal(trunks.rx(0, at(f, 0), 0, f.length), 1);
});

Deno.test("trunk rx: a TAP without VLANs hands every frame through untouched", () => {
  const { trunks, counters } = setup();
  const f = tagged(113), buf = at(f, 10);
  assert.equal(trunks.rx(1, buf, 10, 10 + f.length), 3);
  assert.equal(trunks.off, 10);
  assert.deepEqual(buf.subarray(10, 10 + f.length), f, "the engine counts it (vlan_unknown)");
  assert.equal(counters.drops(), 0);
});

Deno.test("trunk send: a stripped frame is tagged in place, sent, and put back as it was", () => {
  const { trunks, t } = setup();
  // As the loop leaves a frame it stripped: the untagged frame 4 bytes into the buffer.
  const buf = at(tagged(114), 0);
  const off = (trunks.rx(0, buf, 0, tagged(114).length), trunks.off);
  const end = off + untagged().length;
  const before = buf.slice();
  assert.ok(trunks.send(1, buf, off, end));
  assert.deepEqual(t.take(), [tagged(113)], "left with VLAN 113's tag");
  assert.deepEqual(buf, before, "the buffer is unchanged (a mirror record may read it next)");
});

Deno.test("trunk send: any other frame is copied behind the tag", () => {
  const { trunks, t } = setup();
  for (const off of [0, 10, 14]) {
    const u = untagged(), buf = at(u, off);
    const before = buf.slice();
    assert.ok(trunks.send(2, buf, off, off + u.length));
    assert.deepEqual(t.take(), [tagged(114)], `from offset ${off}`);
    assert.deepEqual(buf, before);
  }
});

Deno.test("trunk: refuses what the config loader refuses", () => {
  const t = new MemoryPort("t"), c = new Counters(), tx = new Uint8Array(64);
  const make = (ports: MemoryPort[], vlans: number[]) => new Trunks(ports, vlans, c, tx, () => {});
  assert.throws(() => make([t, t], [7, 7]), /both VLAN 7/);
  assert.throws(() => make([t, t], [0, 0]), /both untagged/);
  assert.throws(() => make([t], [4095]), /out of range/);
  assert.throws(() => make([new VnetPort("v")], [5]), /offload/);
  assert.throws(() => make([t, t], [1]), /2 ports but 1/);
});
