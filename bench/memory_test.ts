import assert from "node:assert/strict";
import { FlowTable } from "../mod/flow/table.ts";
import {
  conntrackObjectSize,
  fillTable,
  measureMemory,
  type MemoryFigures,
  memoryResult,
  parseGcTrace,
} from "./memory.ts";

Deno.test("parseGcTrace takes the main-thread pause of each V8 --trace-gc line", () => {
  const trace = [
    "[17653:0x558fb3e63000]       33 ms: Scavenge 3.3 (4.4) -> 3.2 (5.4) MB, pooled: 0.0 MB, " +
    "1.09 / 0.00 ms (average mu = 1.000, current mu = 1.000) allocation failure; ",
    '{"flows": 1}',
    "[17653:0x558fb3e63000]      912 ms: Mark-Compact 80.1 (90.0) -> 60.2 (91.0) MB, " +
    "12.50 / 3.00 ms (+ 1.2 ms in 3 steps since start of marking) finalize incremental marking",
    "[17653:0x558fb3e63000]      950 ms: Scavenge 5.5 (7.3) -> 4.9 (8.1) MB, 0.25 / 0.00 ms task",
  ].join("\n");
  assert.deepEqual(parseGcTrace(trace), { max: 12.5, count: 3, median: 1.09 });
  assert.deepEqual(parseGcTrace("no gc here"), { max: 0, count: 0, median: 0 });
});

Deno.test("conntrackObjectSize reads nf_conntrack's object size from /proc/slabinfo", () => {
  const slab = "slabinfo - version: 2.1\n" +
    "# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables\n" +
    "nf_conntrack_expect      0      0    208   19    1 : tunables    0    0    0\n" +
    "nf_conntrack          32     32    256   16    1 : tunables    0    0    0 : slabdata 2 2 0\n";
  assert.equal(conntrackObjectSize(slab), 256);
  assert.equal(conntrackObjectSize("kmalloc-64 1 1 64 64 1\n"), undefined);
});

Deno.test("fillTable inserts exactly n distinct flows with DNAT reply tuples", () => {
  const t = new FlowTable(5000);
  fillTable(t, 5000, 42);
  assert.equal(t.count, 5000);
  for (const f of [0, 1234, 4999]) {
    assert.equal(t.c.rDst[f], t.c.oSrc[f], "pure DNAT: replies go back to the client");
    assert.equal(t.c.rDport[f], t.c.oSport[f]);
    assert.ok([0xcb007114, 0xcb007115].includes(t.c.rSrc[f]!), "a lab backend");
  }
  const again = new FlowTable(5000);
  fillTable(again, 5000, 42);
  assert.equal(again.digest, t.digest, "the same seed gives the same table");
});

Deno.test("measureMemory fills and reaps the table and reports its pauses", async () => {
  const f = await measureMemory(20_000);
  assert.equal(f.flows, 20_000);
  assert.equal(f.storageBytes, new FlowTable(20_000).storageBytes());
  assert.ok(f.insertSeconds > 0 && f.reapSeconds > 0);
  assert.ok(f.maxInsertMs >= 0 && f.maxReapCallMs > 0);
  assert.ok(f.maxReapCallMs <= f.reapSeconds * 1000 + 1e-6, "one call is part of the total");
});

Deno.test("memoryResult compares against the targets and the kernel's entry size", () => {
  const f: MemoryFigures = {
    flows: 1_000_000,
    storageBytes: 120e6,
    rssBefore: 30e6,
    rssAfter: 150e6,
    insertSeconds: 1,
    maxInsertMs: 0.5,
    maxTurnMs: 5,
    reapSeconds: 0.6,
    maxReapCallMs: 70,
    maxGcMs: 2,
    gcCount: 10,
  };
  const r = memoryResult(f, 256, Date.UTC(2025, 0, 2));
  assert.equal(r.date, "2025-01-02");
  assert.equal(r.rows[0]!.linux, "244.1 (256 B/entry)");
  assert.equal(r.rows[1]!.tandem, "120");
  assert.match(r.notes[0]!, /^Misses: a reap call took 70.0 ms\.$/);
  const ok = memoryResult({ ...f, maxReapCallMs: 4 }, undefined, 0);
  assert.match(ok.notes[0]!, /^Meets both targets/);
  assert.equal(ok.rows[0]!.linux, "n/a");
});

Deno.test("fillTable with family 6 makes IPv6 flows of the lab's prefixes, as many and as distinct", () => {
  const t = new FlowTable(5000);
  fillTable(t, 5000, 42, 0, 6);
  assert.equal(t.count, 5000);
  for (const f of [0, 1234, 4999]) {
    assert.equal(t.isV6(f), true);
    assert.deepEqual([t.c.oDstHi0[f], t.c.oDstHi1[f], t.c.oDstHi2[f], t.c.oDst[f]], [
      0x20010db8,
      0x01000000,
      0,
      0x10,
    ], "the IPv6 VIP");
    assert.deepEqual([t.c.rSrcHi0[f], t.c.rSrcHi1[f]], [0x20010db8, 0x01130000], "a backend");
    assert.equal(t.c.rDstHi2[f], t.c.oSrcHi2[f], "pure DNAT: replies go back to the client");
  }
  const v4 = new FlowTable(5000);
  fillTable(v4, 5000, 42);
  assert.equal(v4.isV6(0), false);
  assert.equal(v4.storageBytes(), t.storageBytes(), "one row shape for both families");
});
