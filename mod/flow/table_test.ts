import assert from "node:assert/strict";
import { FlowTable, ST_TCP_ESTABLISHED, ST_TCP_SYN_SENT, ST_UDP_NEW, type Tuple } from "./table.ts";

function t(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): Tuple {
  return { proto, srcIp, srcPort, dstIp, dstPort };
}

/** Client 198.51.100.x:p -> VIP 198.51.100.10:7000, DNAT to 203.0.113.20:7000. */
function pair(i: number): [Tuple, Tuple] {
  const client = 0xc6336400 + (i % 250) + 2;
  const port = 1024 + (i % 60000);
  return [
    t(6, client, port, 0xc633640a, 7000),
    t(6, 0xcb007114, 7000, client, port),
  ];
}

Deno.test("insert then lookup finds both directions", () => {
  const ft = new FlowTable(16);
  const [o, r] = pair(1);
  const f = ft.insert(o, r, ST_TCP_SYN_SENT, 3, 0, 1000);
  assert.ok(f >= 0);
  assert.equal(ft.lookup(6, o.srcIp, o.srcPort, o.dstIp, o.dstPort), f * 2);
  assert.equal(ft.lookup(6, r.srcIp, r.srcPort, r.dstIp, r.dstPort), f * 2 + 1);
  assert.equal(
    ft.lookup(17, o.srcIp, o.srcPort, o.dstIp, o.dstPort),
    -1,
    "protocol is part of the key",
  );
  assert.equal(ft.service[f], 3);
  assert.equal(ft.count, 1);
});

Deno.test("a duplicate tuple or a full table is refused, not overwritten", () => {
  const ft = new FlowTable(2);
  const [o, r] = pair(1);
  assert.ok(ft.insert(o, r, ST_TCP_SYN_SENT, 0, 0, 0) >= 0);
  assert.equal(ft.insert(o, r, ST_TCP_SYN_SENT, 0, 0, 0), -1);
  const [o2, r2] = pair(2);
  assert.ok(ft.insert(o2, r2, ST_TCP_SYN_SENT, 0, 0, 0) >= 0);
  const [o3, r3] = pair(3);
  assert.equal(ft.insert(o3, r3, ST_TCP_SYN_SENT, 0, 0, 0), -1);
  assert.equal(ft.count, 2);
});

Deno.test("random inserts and removes keep every remaining flow findable (backward shift)", () => {
  const ft = new FlowTable(4096);
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const live = new Map<number, [Tuple, Tuple]>();
  for (let step = 0; step < 40000; step++) {
    const i = Math.floor(rnd() * 6000);
    const [o, r] = pair(i);
    const ref = ft.lookup(6, o.srcIp, o.srcPort, o.dstIp, o.dstPort);
    if (ref >= 0) {
      ft.remove(ref >> 1);
      live.delete(i);
    } else if (ft.insert(o, r, ST_UDP_NEW, 0, 0, step) >= 0) {
      live.set(i, [o, r]);
    }
  }
  assert.equal(ft.count, live.size);
  for (const [o, r] of live.values()) {
    const a = ft.lookup(6, o.srcIp, o.srcPort, o.dstIp, o.dstPort);
    const b = ft.lookup(6, r.srcIp, r.srcPort, r.dstIp, r.dstPort);
    assert.ok(a >= 0 && b === a + 1);
  }
});

Deno.test("digest is order-independent and tracks state changes", () => {
  const a = new FlowTable(64);
  const b = new FlowTable(64);
  const empty = a.digest;
  for (let i = 0; i < 20; i++) a.insert(...pair(i), ST_TCP_SYN_SENT, 0, i, 0);
  for (let i = 19; i >= 0; i--) b.insert(...pair(i), ST_TCP_SYN_SENT, 0, i, 5);
  assert.equal(a.digest, b.digest, "insertion order and timestamps do not matter");
  const f = a.lookup(6, pair(4)[0].srcIp, pair(4)[0].srcPort, pair(4)[0].dstIp, 7000) >> 1;
  a.setState(f, ST_TCP_ESTABLISHED);
  assert.notEqual(a.digest, b.digest);
  a.setState(f, ST_TCP_SYN_SENT);
  assert.equal(a.digest, b.digest);
  for (const id of [...a.ids()]) a.remove(id);
  assert.equal(a.digest, empty);
});

Deno.test("reaper removes idle flows only and reports its next deadline", () => {
  const ft = new FlowTable(100);
  for (let i = 0; i < 10; i++) ft.insert(...pair(i), ST_UDP_NEW, 0, 0, i < 5 ? 0 : 900);
  const expired: number[] = [];
  const next = ft.reap(1000, 1000, () => 500, (f) => expired.push(f), 250);
  assert.equal(expired.length, 5);
  assert.equal(ft.count, 5);
  assert.equal(next, 1250, "a full pass returns now + period");
  const many = new FlowTable(100);
  for (let i = 0; i < 50; i++) many.insert(...pair(i), ST_UDP_NEW, 0, 0, 0);
  let gone = 0;
  assert.equal(many.reap(1000, 100, () => 500, () => gone++, 250, 10), 1001, "bounded: again soon");
  assert.equal(gone, 10, "at most maxExpire per call");
  while (many.count > 0) many.reap(1000, 100, () => 500, () => gone++, 250, 10);
  assert.equal(gone, 50);
  const partial = new FlowTable(100);
  assert.equal(partial.reap(0, 10, () => 1, () => {}), 1, "a partial pass asks to run again soon");
});

Deno.test("upsert from a bulk-sync entry reproduces the same digest", () => {
  const a = new FlowTable(64);
  const b = new FlowTable(64);
  for (let i = 0; i < 30; i++) {
    const f = a.insert(...pair(i), ST_TCP_ESTABLISHED, 1, i * 7, 0);
    a.touch(f, 100 * i, 10);
  }
  for (const f of a.syncOrder()) b.upsert(a.entry(f));
  assert.equal(b.digest, a.digest);
  assert.equal(b.count, 30);
});

Deno.test("busiest and syncOrder put the busiest flows first", () => {
  const ft = new FlowTable(256);
  for (let i = 0; i < 200; i++) {
    const f = ft.insert(...pair(i), ST_TCP_ESTABLISHED, 0, 0, 0);
    for (let k = 0; k < (i * 37) % 101; k++) ft.touch(f, 100, 1);
  }
  const top = ft.busiest(5).map((f) => ft.packets[f]!);
  assert.deepEqual(top, [100, 100, 99, 99, 98]);
  const order = [...ft.syncOrder()].map((f) => ft.packets[f]!);
  assert.equal(order.length, 200);
  const log2 = (n: number) => Math.floor(Math.log2(n + 1));
  for (let i = 1; i < order.length; i++) assert.ok(log2(order[i - 1]!) >= log2(order[i]!));
});

Deno.test("clear empties the table and its digest; it is usable again", () => {
  const ft = new FlowTable(64);
  const empty = ft.digest;
  for (let i = 0; i < 50; i++) ft.insert(...pair(i), ST_TCP_ESTABLISHED, 0, 0, 0);
  ft.clear();
  assert.equal(ft.count, 0);
  assert.equal(ft.digest, empty);
  assert.equal(ft.lookup(6, pair(3)[0].srcIp, pair(3)[0].srcPort, pair(3)[0].dstIp, 7000), -1);
  for (let i = 0; i < 64; i++) assert.ok(ft.insert(...pair(i), ST_TCP_ESTABLISHED, 0, 0, 0) >= 0);
});

Deno.test("a table sized for 1M flows holds its storage under 300 MB", () => {
  // DESIGN.md target; `deno task bench` measures RSS and GC pauses with the table full.
  const ft = new FlowTable(1_000_000);
  const bytes = ft.storageBytes();
  assert.ok(bytes < 300e6, `${bytes} bytes`);
  assert.ok(bytes > 50e6, "every per-flow array is counted");
});
