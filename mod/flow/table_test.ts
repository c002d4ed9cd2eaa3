import assert from "node:assert/strict";
import { FlowTable, tupleHash } from "./table.ts";
import {
  decodeRow,
  DIGEST_COLS,
  encodeRow,
  FLOW_FIELDS,
  type FlowEntry,
  type FlowField,
  KIND_SIZE,
  SYNC_ROW,
} from "./fields.ts";
import {
  ST_NONE,
  ST_TCP_CLOSE,
  ST_TCP_ESTABLISHED,
  ST_TCP_SYN_SENT,
  ST_UDP_NEW,
} from "./states.ts";
import { flowN, IPV4_HI_FIELDS, SAMPLE } from "./test_util.ts";
import { xorshift32 } from "../util/prng.ts";

type Tuple = [
  proto: number,
  src: number,
  sport: number,
  dst: number,
  dport: number,
  hi?: Uint32Array,
];

const his = (e: Partial<FlowEntry>, a: "oSrc" | "rSrc", b: "oDst" | "rDst") =>
  Uint32Array.from(
    [`${a}Hi0`, `${a}Hi1`, `${a}Hi2`, `${b}Hi0`, `${b}Hi1`, `${b}Hi2`].map((k) =>
      e[k as FlowField] ?? 0
    ),
  );
function origOf(e: Partial<FlowEntry>): Tuple {
  return [e.proto!, e.oSrc!, e.oSport!, e.oDst!, e.oDport!, his(e, "oSrc", "oDst")];
}
function replyOf(e: Partial<FlowEntry>): Tuple {
  return [e.proto!, e.rSrc!, e.rSport!, e.rDst!, e.rDport!, his(e, "rSrc", "rDst")];
}
/** Looks `t` up by both paths: the IPv4 one (when `t` is IPv4) must agree with the general one. */
function find(ft: FlowTable, t: Tuple): number {
  const [proto, src, sport, dst, dport, hi = new Uint32Array(6)] = t;
  const any = ft.lookup6(proto, src, sport, dst, dport, hi);
  if (hi.every((w) => w === 0)) {
    assert.equal(ft.lookup(proto, src, sport, dst, dport), any, "lookup");
  } else {assert.equal(
      ft.lookup(proto, src, sport, dst, dport),
      -1,
      "no IPv6 flow for an IPv4 lookup",
    );}
  return any;
}

/** Everything observable about a table, to prove a refused operation changed nothing. */
function snapshot(ft: FlowTable) {
  const ids = [...ft.ids()];
  return { count: ft.count, digest: ft.digest, entries: ids.map((f) => [f, ft.entry(f)]) };
}

/** The digest of a table holding exactly `entries` (built fresh, by `add`). */
function digestOf(entries: Partial<FlowEntry>[]): string {
  const ft = new FlowTable(Math.max(1, entries.length));
  for (const e of entries) assert.ok(ft.addEntry(e) >= 0);
  return ft.digest;
}

const DIGEST_NAMES = new Set(DIGEST_COLS.map((i) => FLOW_FIELDS[i]!.name));
/** A value different from `v` that still fits field `name`'s kind. */
function bump(name: FlowField, v: number): number {
  const kind = FLOW_FIELDS.find((f) => f.name === name)!.kind;
  if (kind === "f64") return v + 1.5;
  const max = 2 ** (8 * KIND_SIZE[kind]);
  return (v + 1) % max;
}

Deno.test("table: capacity must be a positive integer; the stage is the row past the last", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new FlowTable(bad), RangeError, String(bad));
  }
  const ft = new FlowTable(3);
  assert.equal(ft.capacity, 3);
  assert.equal(ft.stage, 3);
  assert.equal(ft.count, 0);
  for (const col of ft.cols) assert.equal(col.length, 4, "capacity + stage rows");
  assert.equal(ft.cols.length, FLOW_FIELDS.length);
  FLOW_FIELDS.forEach((f, i) => assert.equal(ft.c[f.name], ft.cols[i], f.name));
});

Deno.test("table: add indexes both directions; ids come from 0 upwards", () => {
  const ft = new FlowTable(8);
  for (let i = 0; i < 3; i++) {
    const e = flowN(i);
    assert.equal(ft.addEntry(e), i, "ids in order");
    assert.equal(find(ft, origOf(e)), i * 2, "original direction");
    assert.equal(find(ft, replyOf(e)), i * 2 + 1, "reply direction");
    assert.equal(ft.count, i + 1);
  }
  const e = flowN(1);
  const o = origOf(e);
  assert.equal(ft.lookup(17, o[1], o[2], o[3], o[4]), -1, "the protocol is part of the key");
  assert.equal(ft.lookup(6, o[3], o[4], o[1], o[2]), -1, "reversed original is not the reply");
  assert.deepEqual([...ft.ids()], [0, 1, 2]);
  assert.equal(ft.live(1), true);
  assert.equal(ft.live(3), false, "a free slot");
  assert.equal(ft.live(-1), false);
  assert.equal(ft.live(8), false, "past the last flow");
});

Deno.test("table: lookup compares every tuple field, even when the index slot collides", () => {
  // Capacity 1: a 4-slot index, so a variant sharing the flow's home slot is easy to find.
  const ft = new FlowTable(1);
  const e = { ...SAMPLE };
  assert.equal(ft.addEntry(e), 0);
  const mask = 3;
  for (const [dir, t] of [[0, origOf(e)], [1, replyOf(e)]] as const) {
    assert.equal(find(ft, t), dir);
    const home = tupleHash(...t) & mask;
    // The five fields, then the six high address words of an IPv6 tuple.
    for (let k = 0; k < 11; k++) {
      const limit = k === 0 ? 0x100 : k === 2 || k === 4 ? 0x10000 : 2 ** 32;
      let found = false;
      for (let d = 1; d < 5000 && !found; d++) {
        const v = [...t] as Tuple;
        v[5] = Uint32Array.from(t[5]!);
        if (k < 5) v[k] = ((t[k] as number) + d) % limit;
        else v[5][k - 5] = (t[5]![k - 5]! + d) % limit;
        if ((tupleHash(...v) & mask) !== home) continue;
        found = true;
        assert.equal(find(ft, v), -1, `dir ${dir}: field ${k} differs by ${d}`);
      }
      assert.ok(found, `a colliding variant of field ${k}`);
    }
  }
});

Deno.test("table: lookupOrig finds original-direction hits only", () => {
  const ft = new FlowTable(8);
  const a = flowN(10), b = flowN(11);
  assert.equal(ft.addEntry(a), 0);
  assert.equal(ft.addEntry(b), 1);
  const c = ft.c, row = ft.stage;
  const put = (t: Tuple) => {
    ft.clearRow(row);
    [c.proto[row], c.oSrc[row], c.oSport[row], c.oDst[row], c.oDport[row]] = t;
  };
  put(origOf(a));
  assert.equal(ft.lookupOrig(row), 0, "flow 0 (ref 0)");
  put(origOf(b));
  assert.equal(ft.lookupOrig(row), 1, "flow 1 (ref 2)");
  put(replyOf(b));
  assert.equal(ft.lookupOrig(row), -1, "a reply-direction hit is not an original tuple");
  put(replyOf(a));
  assert.equal(ft.lookupOrig(row), -1);
  put(origOf(flowN(12)));
  assert.equal(ft.lookupOrig(row), -1, "unknown");
  // It reads the original tuple only: a reply tuple in the row changes nothing.
  put(origOf(b));
  [c.rSrc[row], c.rSport[row], c.rDst[row], c.rDport[row]] = [1, 2, 3, 4];
  assert.equal(ft.lookupOrig(row), 1);
});

Deno.test("table: add refuses a taken tuple in either direction, and a full table", () => {
  const ft = new FlowTable(3);
  const a = flowN(0);
  assert.equal(ft.addEntry(a), 0);
  const before = snapshot(ft);
  const refused: [string, Partial<FlowEntry>][] = [
    ["same flow again", a],
    ["same original tuple, other reply", { ...a, rSrc: 0x0a000001 }],
    ["same reply tuple, other original", { ...a, oSport: 999 }],
    [
      "original is the existing reply",
      { ...a, oSrc: a.rSrc, oSport: a.rSport, oDst: a.rDst, oDport: a.rDport, rSport: 1 },
    ],
    [
      "reply is the existing original",
      { ...a, rSrc: a.oSrc, rSport: a.oSport, rDst: a.oDst, rDport: a.oDport, oSport: 2 },
    ],
  ];
  for (const [why, e] of refused) {
    assert.equal(ft.addEntry(e), -1, why);
    assert.deepEqual(snapshot(ft), before, `${why}: nothing changed`);
  }
  assert.equal(ft.addEntry({ ...a, proto: 17 }), 1, "the same addresses over UDP are another flow");
  assert.equal(ft.addEntry(flowN(1)), 2);
  const full = snapshot(ft);
  assert.equal(ft.addEntry(flowN(2)), -1, "full");
  assert.deepEqual(snapshot(ft), full);
  ft.remove(1);
  assert.equal(ft.addEntry(flowN(2)), 1, "a freed id is reused");
  assert.equal(ft.addEntry(flowN(3)), -1, "full again");
  assert.equal(ft.count, 3);
});

Deno.test("table: clearRow, copyRow, addEntry and entry cover every field", () => {
  const ft = new FlowTable(4);
  const row = ft.stage;
  FLOW_FIELDS.forEach((f, i) => ft.cols[i]![row] = SAMPLE[f.name]);
  ft.copyRow(row, 2);
  assert.deepEqual(ft.entry(2), SAMPLE);
  ft.clearRow(row);
  for (const f of FLOW_FIELDS) assert.equal(ft.c[f.name][row], 0, f.name);
  assert.deepEqual(ft.entry(2), SAMPLE, "clearRow touches its row only");
  ft.clearRow(2);
  // addEntry starts from a zeroed stage, whatever was there.
  FLOW_FIELDS.forEach((_, i) => ft.cols[i]![row] = 9);
  const f = ft.addEntry(flowN(5));
  const want = Object.fromEntries(FLOW_FIELDS.map((x) => [x.name, 0])) as FlowEntry;
  assert.deepEqual(ft.entry(f), { ...want, ...flowN(5) });
  const g = ft.addEntry(SAMPLE);
  assert.deepEqual(ft.entry(g), SAMPLE, "every field stored");
});

Deno.test("table: remove frees both directions and the slot; a non-live flow is a no-op", () => {
  const ft = new FlowTable(2);
  const a = flowN(0), b = flowN(1);
  const empty = ft.digest;
  assert.equal(ft.addEntry(a), 0);
  const withA = ft.digest;
  assert.equal(ft.addEntry(b), 1);
  ft.remove(0);
  assert.equal(find(ft, origOf(a)), -1);
  assert.equal(find(ft, replyOf(a)), -1);
  assert.equal(find(ft, origOf(b)), 2);
  assert.equal(find(ft, replyOf(b)), 3);
  assert.equal(ft.c.state[0], ST_NONE);
  assert.equal(ft.live(0), false);
  assert.equal(ft.count, 1);
  assert.deepEqual([...ft.ids()], [1]);
  // Removing again, or a slot that is no flow, changes nothing and frees nothing twice.
  const before = snapshot(ft);
  for (const f of [0, -1, 2, ft.stage, 99]) ft.remove(f);
  assert.deepEqual(snapshot(ft), before);
  assert.equal(find(ft, origOf(b)), 2, "the stage (holding b's last copy) is not a flow");
  assert.equal(ft.addEntry(a), 0);
  assert.equal(ft.addEntry(flowN(2)), -1, "one free slot, used once");
  ft.remove(1);
  assert.equal(ft.digest, withA);
  ft.remove(0);
  assert.equal(ft.digest, empty);
  assert.equal(ft.count, 0);
});

Deno.test("table: setState and touch", () => {
  const ft = new FlowTable(4);
  const f = ft.addEntry(flowN(0, { state: ST_TCP_SYN_SENT, lastSeen: 100 }));
  const d0 = ft.digest;
  ft.setState(f, ST_TCP_ESTABLISHED);
  assert.equal(ft.c.state[f], ST_TCP_ESTABLISHED);
  assert.notEqual(ft.digest, d0);
  assert.equal(ft.digest, digestOf([flowN(0, { state: ST_TCP_ESTABLISHED })]));
  ft.setState(f, ST_TCP_ESTABLISHED);
  assert.equal(ft.digest, digestOf([flowN(0, { state: ST_TCP_ESTABLISHED })]), "same state");
  ft.setState(f, ST_TCP_SYN_SENT);
  assert.equal(ft.digest, d0);

  ft.touch(f, 60, 150);
  ft.touch(f, 1440, 120);
  assert.equal(ft.c.packets[f], 2);
  assert.equal(ft.c.bytes[f], 1500);
  assert.equal(ft.c.lastSeen[f], 150, "an older time does not move lastSeen back");
  ft.touch(f, 0, 151);
  assert.equal(ft.c.lastSeen[f], 151);
  assert.equal(ft.c.packets[f], 3);
  assert.equal(ft.digest, d0, "counters are not in the digest");
});

Deno.test("table: digest pins the hash of a known flow; empty is zero", () => {
  const ft = new FlowTable(2);
  assert.equal(ft.digest, "0000000000000000");
  assert.deepEqual(ft.digestWords, [0, 0]);
  ft.addEntry(SAMPLE);
  // Two builds must agree on this value: units compare digests across a rolling upgrade.
  assert.equal(ft.digest, "e0335ed6c725cf6e");
  assert.deepEqual(ft.digestWords, [0xe0335ed6, 0xc725cf6e]);
});

Deno.test("table: digest changes with every digest field and with no other field", () => {
  const base = digestOf([SAMPLE]);
  const baseWords = (() => {
    const ft = new FlowTable(1);
    ft.addEntry(SAMPLE);
    return ft.digestWords;
  })();
  for (const f of FLOW_FIELDS) {
    const changed = { ...SAMPLE, [f.name]: bump(f.name, SAMPLE[f.name]) };
    const ft = new FlowTable(1);
    assert.equal(ft.addEntry(changed), 0, f.name);
    if (DIGEST_NAMES.has(f.name)) {
      assert.notEqual(ft.digest, base, `${f.name} is in the digest`);
      assert.notEqual(ft.digestWords[0], baseWords[0], `${f.name}: high word`);
      assert.notEqual(ft.digestWords[1], baseWords[1], `${f.name}: low word`);
    } else {
      assert.equal(ft.digest, base, `${f.name} is not in the digest`);
    }
  }
  // Position matters: the same values in swapped fields are another flow.
  for (const [x, y] of [["oSport", "oDport"], ["service", "backend"], ["oSrc", "rDst"]] as const) {
    const swapped = { ...SAMPLE, [x]: SAMPLE[y], [y]: SAMPLE[x] };
    assert.notEqual(digestOf([swapped]), base, `${x} <-> ${y}`);
  }
});

Deno.test("table: digest is independent of order, slots and non-digest fields", () => {
  const rnd = xorshift32(99);
  const n = 40;
  const a = new FlowTable(64), b = new FlowTable(64);
  for (let i = 0; i < n; i++) a.addEntry(flowN(i, { tcpBits: 1, packets: i }));
  // b: reverse order, churned slots, other counters and TCP bits.
  for (let i = 0; i < 10; i++) b.addEntry(flowN(1000 + i));
  for (let i = n - 1; i >= 0; i--) {
    b.addEntry(flowN(i, { tcpBits: rnd() & 15, packets: rnd(), bytes: rnd(), oAck: rnd() }));
  }
  for (let i = 0; i < 10; i++) b.remove(b.lookupOrig(stageWith(b, flowN(1000 + i))));
  assert.equal(b.count, n);
  assert.equal(a.digest, b.digest);
  // And it is the XOR of single-flow digests: adding a flow then removing it restores it.
  const d = a.digest;
  const f = a.addEntry(flowN(500));
  assert.notEqual(a.digest, d);
  a.remove(f);
  assert.equal(a.digest, d);
  for (const id of [...a.ids()]) a.remove(id);
  assert.equal(a.digest, "0000000000000000");
});

/** Puts `e` in `ft`'s stage row and returns the row. */
function stageWith(ft: FlowTable, e: Partial<FlowEntry>): number {
  const row = ft.stage;
  ft.clearRow(row);
  FLOW_FIELDS.forEach((f, i) => {
    const v = e[f.name];
    if (v !== undefined) ft.cols[i]![row] = v;
  });
  return row;
}

Deno.test("table: digest is the two words as 16 hex digits, zero-padded", () => {
  const rnd = xorshift32(7);
  let padded = 0;
  for (let i = 0; i < 200; i++) {
    const ft = new FlowTable(1);
    ft.addEntry(flowN(rnd() % 100000, { seqOffset: rnd() }));
    const [hi, lo] = ft.digestWords;
    assert.ok(Number.isInteger(hi) && hi >= 0 && hi <= 0xffffffff);
    assert.ok(Number.isInteger(lo) && lo >= 0 && lo <= 0xffffffff);
    const want = hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
    assert.equal(ft.digest, want);
    assert.match(ft.digest, /^[0-9a-f]{16}$/);
    if (hi < 0x10000000 || lo < 0x10000000) padded++;
  }
  assert.ok(padded > 0, "some halves needed padding");
});

Deno.test("table: upsert adds a new flow, overwrites the same one, replaces a changed reply", () => {
  const ft = new FlowTable(4);
  const a = flowN(0), b = flowN(1);
  assert.equal(ft.upsert(stageWith(ft, a)), 0, "new: added");
  assert.equal(ft.upsert(stageWith(ft, b)), 1);
  // The same tuples: overwritten in place, every field, digest as if added so.
  const a2 = { ...SAMPLE, ...a, state: ST_TCP_CLOSE, service: 4, backend: 2, seqOffset: 77 };
  assert.equal(ft.upsert(stageWith(ft, a2)), 0);
  assert.equal(ft.count, 2);
  assert.deepEqual(ft.entry(0), { ...SAMPLE, ...a2 });
  assert.equal(ft.digest, digestOf([a2, b]));
  assert.equal(find(ft, origOf(a)), 0);
  assert.equal(find(ft, replyOf(a)), 1);
  // A reply differing in any one field replaces the flow: the old reply is gone.
  let cur = a2;
  for (const k of ["rSrc", "rSport", "rDst", "rDport"] as const) {
    const next = { ...cur, [k]: bump(k, cur[k]!) };
    const f = ft.upsert(stageWith(ft, next));
    assert.ok(f >= 0, k);
    assert.equal(ft.count, 2, k);
    assert.equal(find(ft, replyOf(cur)), -1, `${k}: old reply forgotten`);
    assert.equal(find(ft, replyOf(next)), f * 2 + 1, `${k}: new reply indexed`);
    assert.equal(find(ft, origOf(next)), f * 2, k);
    assert.deepEqual(ft.entry(f), { ...SAMPLE, ...next }, k);
    assert.equal(ft.digest, digestOf([next, b]), k);
    cur = next;
  }
  assert.equal(find(ft, origOf(b)), 2, "the other flow is untouched");
});

Deno.test("table: upsert refusals leave the table as it was", () => {
  const ft = new FlowTable(2);
  ft.addEntry(flowN(0));
  ft.addEntry(flowN(1));
  const before = snapshot(ft);
  assert.equal(ft.upsert(stageWith(ft, flowN(2))), -1, "full");
  // A new original whose reply tuple is another flow's: refused.
  const clash = flowN(7, { rSrc: flowN(1).rSrc, rDst: flowN(1).rDst, rDport: flowN(1).rDport });
  ft.remove(0);
  const one = snapshot(ft);
  assert.equal(ft.upsert(stageWith(ft, clash)), -1);
  assert.deepEqual(snapshot(ft), one);
  assert.notDeepEqual(one, before);
});

Deno.test("table: a bulk sync through SYNC_ROW rebuilds the same table over stale entries", () => {
  const rnd = xorshift32(4242);
  const a = new FlowTable(300), b = new FlowTable(300);
  for (let i = 0; i < 250; i++) {
    const f = a.addEntry(flowN(i, { seqOffset: rnd(), tcpBits: rnd() & 15, created: i }));
    for (let k = rnd() % 5; k > 0; k--) a.touch(f, 100, 1000 + k);
    a.c.oAck[f] = rnd();
  }
  for (let i = 0; i < 250; i += 7) a.remove(a.lookupOrig(stageWith(a, flowN(i))));
  // b holds stale versions: other states, other replies, other counters.
  for (let i = 0; i < 250; i += 3) {
    b.addEntry(flowN(i, { state: ST_UDP_NEW, rSport: 9, packets: 5 }));
  }
  const buf = new Uint8Array(SYNC_ROW.size);
  const view = new DataView(buf.buffer);
  for (const f of a.syncOrder()) {
    encodeRow(a.cols, SYNC_ROW, f, view, 0);
    b.clearRow(b.stage);
    decodeRow(b.cols, SYNC_ROW, b.stage, view, 0);
    const g = b.upsert(b.stage);
    assert.ok(g >= 0);
    assert.deepEqual(b.entry(g), a.entry(f));
  }
  // Drop b's stale extras (flows a removed), then the tables agree.
  for (let i = 0; i < 250; i += 7) {
    if (i % 3 === 0) b.remove(b.lookupOrig(stageWith(b, flowN(i))));
  }
  assert.equal(b.count, a.count);
  assert.equal(b.digest, a.digest);
});

/** Reference order for `busiest`: most packets first, ties by slot. */
function refBusiest(ft: FlowTable, limit: number): number[] {
  return [...ft.ids()].sort((x, y) => ft.c.packets[y]! - ft.c.packets[x]! || x - y).slice(
    0,
    limit,
  );
}

/** Reference order for `syncOrder`: descending power-of-two bucket (capped at 63), ties by slot. */
function refSyncOrder(ft: FlowTable): number[] {
  const bucket = (f: number) => Math.min(63, Math.floor(Math.log2(ft.c.packets[f]! + 1)));
  return [...ft.ids()].sort((x, y) => bucket(y) - bucket(x) || x - y);
}

Deno.test("table: busiest returns the top flows by packets, ties in slot order", () => {
  const ft = new FlowTable(64);
  const packets = [5, 9, 5, 7, 9, 1, 0, 9, 3, 7];
  packets.forEach((p, i) => ft.addEntry(flowN(i, { packets: p })));
  assert.deepEqual(ft.busiest(3), [1, 4, 7]);
  assert.deepEqual(ft.busiest(5), [1, 4, 7, 3, 9]);
  assert.deepEqual(ft.busiest(1), [1]);
  assert.deepEqual(ft.busiest(100), [1, 4, 7, 3, 9, 0, 2, 8, 5, 6]);
  ft.remove(4);
  assert.deepEqual(ft.busiest(3), [1, 7, 3], "removed flows are skipped");
  const rnd = xorshift32(5);
  const big = new FlowTable(200);
  for (let i = 0; i < 150; i++) big.addEntry(flowN(i, { packets: rnd() % 20 }));
  for (let i = 0; i < 150; i += 4) big.remove(i);
  assert.deepEqual(big.busiest(), refBusiest(big, 20), "default limit 20");
  for (const limit of [1, 2, 7, 50, 200]) {
    assert.deepEqual(big.busiest(limit), refBusiest(big, limit), `limit ${limit}`);
  }
  assert.deepEqual(new FlowTable(4).busiest(), []);
});

Deno.test("table: syncOrder lists every live flow once, busiest power-of-two bucket first", () => {
  const ft = new FlowTable(16);
  const packets = [5, 1, 2, 3, 2 ** 62, 7, 8, 2 ** 63, 2 ** 70, 1e6, 0, 6];
  packets.forEach((p, i) => ft.addEntry(flowN(i, { packets: p })));
  // Buckets (floor(log2(packets + 1)), at most 63): 2,1,1,2,62,3,3,63,63,19,0,2.
  assert.deepEqual([...ft.syncOrder()], [7, 8, 4, 9, 5, 6, 0, 3, 11, 1, 2, 10]);
  ft.remove(9);
  assert.deepEqual([...ft.syncOrder()], [7, 8, 4, 5, 6, 0, 3, 11, 1, 2, 10]);
  const rnd = xorshift32(77);
  const big = new FlowTable(500);
  for (let i = 0; i < 480; i++) {
    const p = rnd() % 4 === 0 ? 0 : 2 ** (rnd() % 40) + (rnd() % 1000);
    big.addEntry(flowN(i, { packets: p }));
  }
  for (let i = 0; i < 480; i += 3) big.remove(i);
  const order = big.syncOrder();
  assert.ok(order instanceof Int32Array);
  assert.equal(order.length, big.count);
  assert.deepEqual([...order], refSyncOrder(big));
  assert.equal(new FlowTable(3).syncOrder().length, 0);
});

Deno.test("table: clear empties everything at once and the table fills again from id 0", () => {
  const ft = new FlowTable(20);
  for (let i = 0; i < 20; i++) ft.addEntry(flowN(i, { packets: i }));
  for (let i = 0; i < 20; i += 2) ft.remove(i);
  ft.clear();
  assert.equal(ft.count, 0);
  assert.equal(ft.digest, "0000000000000000");
  assert.deepEqual([...ft.ids()], []);
  assert.deepEqual(ft.busiest(), []);
  assert.equal(ft.syncOrder().length, 0);
  for (let i = 0; i < 20; i++) {
    assert.equal(find(ft, origOf(flowN(i))), -1);
    assert.equal(find(ft, replyOf(flowN(i))), -1);
    assert.equal(ft.live(i), false);
  }
  for (let i = 0; i < 20; i++) assert.equal(ft.addEntry(flowN(100 + i)), i, "ids from 0 again");
  assert.equal(ft.addEntry(flowN(200)), -1, "exactly capacity");
  assert.equal(ft.digest, digestOf(Array.from({ length: 20 }, (_, i) => flowN(100 + i))));
});

Deno.test("table: backward-shift deletion keeps every flow findable under random churn", () => {
  for (const [cap, seed] of [[1, 1], [3, 2], [8, 3], [64, 4], [200, 5]] as const) {
    const ft = new FlowTable(cap);
    const rnd = xorshift32(seed);
    const live = new Map<number, number>(); // flowN index -> flow id
    const universe = cap * 3;
    for (let step = 0; step < 6000; step++) {
      const i = rnd() % universe;
      const e = flowN(i);
      const ref = find(ft, origOf(e));
      if (live.has(i)) {
        assert.equal(ref, live.get(i)! * 2, `cap ${cap} step ${step}: present`);
        ft.remove(live.get(i)!);
        live.delete(i);
      } else {
        assert.equal(ref, -1, `cap ${cap} step ${step}: absent`);
        const f = ft.addEntry(e);
        if (live.size === cap) assert.equal(f, -1, "full");
        else {
          assert.ok(f >= 0 && f < cap && !ft.live(-1));
          live.set(i, f);
        }
      }
      if (step % 7 === 0 || cap <= 8) {
        for (const [j, f] of live) {
          assert.equal(find(ft, origOf(flowN(j))), f * 2, `cap ${cap} step ${step} flow ${j}`);
          assert.equal(find(ft, replyOf(flowN(j))), f * 2 + 1);
        }
      }
    }
    assert.equal(ft.count, live.size);
    assert.deepEqual([...ft.ids()], [...live.values()].sort((x, y) => x - y));
    for (let i = 0; i < universe; i++) {
      const want = live.has(i) ? live.get(i)! * 2 : -1;
      assert.equal(find(ft, origOf(flowN(i))), want, `cap ${cap} final ${i}`);
    }
    assert.equal(ft.digest, digestOf([...live.keys()].map((i) => flowN(i))), `cap ${cap}`);
  }
});

Deno.test("table: storage is the columns, the free list and a 4x power-of-two index", () => {
  const perFlow = FLOW_FIELDS.reduce((n, f) => n + KIND_SIZE[f.kind], 0);
  assert.equal(perFlow, 151, "103 bytes, and 48 for the high words of IPv6 addresses");
  const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));
  const expected = (cap: number) => (cap + 1) * perFlow + 4 * cap + 4 * pow2(4 * cap);
  assert.equal(new FlowTable(1).storageBytes(), 322);
  assert.equal(new FlowTable(5).storageBytes(), 1054);
  for (const cap of [1, 2, 3, 5, 1000, 4096]) {
    assert.equal(new FlowTable(cap).storageBytes(), expected(cap), `cap ${cap}`);
  }
  // DESIGN.md: 1M flows in at most 300 MB.
  const million = new FlowTable(1_000_000).storageBytes();
  assert.equal(million, expected(1_000_000));
  assert.equal(million, 1_000_001 * 151 + 4_000_000 + 4 * 4_194_304);
  assert.ok(million <= 300e6, `${million} bytes`);
});

Deno.test("tupleHash: every argument counts, direction counts, and the value is pinned", () => {
  const t: Tuple = [6, 0xc0000201, 40001, 0xcb007101, 443];
  const h = tupleHash(...t);
  assert.equal(h, 0x72c2c1a7);
  assert.equal(tupleHash(17, 1, 2, 3, 4), 0x076fe59e);
  for (let k = 0; k < 5; k++) {
    const v = [...t] as Tuple;
    v[k] = (v[k] as number) + 1;
    assert.notEqual(tupleHash(...v), h, `argument ${k}`);
  }
  // IPv4's high words are zero: the same hash as without them (the v4 path pays nothing).
  assert.equal(tupleHash(t[0], t[1], t[2], t[3], t[4], new Uint32Array(6)), h);
  for (let k = 0; k < 6; k++) {
    const hi = new Uint32Array(6);
    hi[k] = 1;
    assert.notEqual(tupleHash(t[0], t[1], t[2], t[3], t[4], hi), h, `high word ${k}`);
  }
  assert.notEqual(tupleHash(6, t[3], t[4], t[1], t[2]), h, "reversed");
  assert.notEqual(tupleHash(6, t[1], t[4], t[3], t[2]), h, "ports swapped");
  const rnd = xorshift32(3);
  for (let i = 0; i < 1000; i++) {
    const x = tupleHash(rnd() & 255, rnd(), rnd() & 0xffff, rnd(), rnd() & 0xffff);
    assert.ok(Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
  }
});

Deno.test("FlowTable.relabel: the digest is the one of a table built with the new labels", () => {
  const a = new FlowTable(64), b = new FlowTable(64);
  const fa = a.addEntry({ proto: 6, state: 3, service: 2, backend: 1, oSrc: 7, oSport: 9 });
  b.addEntry({ proto: 6, state: 3, service: 0, backend: 4, oSrc: 7, oSport: 9 });
  assert.notEqual(a.digest, b.digest);
  a.relabel(fa, 0, 4);
  assert.equal(a.digest, b.digest);
  assert.deepEqual([a.c.service[fa], a.c.backend[fa]], [0, 4]);
});

Deno.test("table: setSeqOffset keeps the digest the XOR of every flow's fields", () => {
  const a = new FlowTable(16), b = new FlowTable(16);
  for (const t of [a, b]) {
    const c = t.c, row = t.stage;
    t.clearRow(row);
    c.proto[row] = 6;
    c.state[row] = 3;
    c.oSrc[row] = 1;
    c.oSport[row] = 2;
    c.oDst[row] = 3;
    c.oDport[row] = 4;
    c.rSrc[row] = 5;
    c.rSport[row] = 6;
    c.rDst[row] = 1;
    c.rDport[row] = 2;
    c.seqOffset[row] = t === a ? 0 : 77;
    t.add(row);
  }
  assert.notEqual(a.digest, b.digest);
  const f = a.lookup(6, 1, 2, 3, 4) >> 1;
  a.setSeqOffset(f, 77);
  assert.equal(a.c.seqOffset[f], 77);
  assert.equal(a.digest, b.digest);
});

Deno.test("table: the four addresses of a flow are one family; IPv6 replies are told apart by their high words", () => {
  const ft = new FlowTable(4);
  const v6 = { ...SAMPLE };
  // Any one address of the other family: refused, nothing changes.
  for (const a of ["oDst", "rSrc", "rDst"] as const) {
    const before = snapshot(ft);
    const v4addr = { [`${a}Hi0`]: 0, [`${a}Hi1`]: 0, [`${a}Hi2`]: 0 };
    assert.equal(ft.addEntry({ ...v6, ...v4addr }), -1, `${a} IPv4 in an IPv6 flow`);
    assert.deepEqual(snapshot(ft), before, a);
  }
  assert.equal(ft.addEntry({ ...flowN(1), rSrcHi1: 5 }), -1, "an IPv4 flow with one IPv6 address");
  const f = ft.addEntry(v6);
  assert.ok(f >= 0);
  // A reply differing only in a high word is another flow's: upsert replaces, old reply gone.
  const next = { ...v6, rSrcHi1: bump("rSrcHi1", v6.rSrcHi1) };
  const g = ft.upsert(stageWith(ft, next));
  assert.ok(g >= 0);
  assert.equal(ft.count, 1);
  assert.equal(find(ft, replyOf(v6)), -1);
  assert.equal(find(ft, replyOf(next)), g * 2 + 1);
  assert.equal(ft.digest, digestOf([next]));
});

Deno.test("table: an IPv4 flow in a row an IPv6 flow left has zero high words (remove and clear zero them)", () => {
  const ft = new FlowTable(1);
  const f6 = ft.addEntry({ ...SAMPLE });
  assert.equal(f6, 0);
  ft.remove(f6);
  const f4 = ft.addEntry(flowN(3));
  assert.equal(f4, 0, "the same row");
  assert.equal(ft.isV6(f4), false);
  assert.deepEqual(ft.entry(f4), { ...ft.entry(f4), ...IPV4_HI_FIELDS }, "no stale high word");
  assert.equal(find(ft, origOf(flowN(3))), 0);
  assert.equal(ft.digest, digestOf([flowN(3)]));
  ft.clear();
  const g = ft.addEntry({ ...SAMPLE });
  ft.c.state[g] = 0; // as if freed without remove: clear must still zero the row's words
  ft.clear();
  assert.equal(ft.addEntry(flowN(4)), 0);
  assert.equal(ft.isV6(0), false);
  assert.deepEqual(ft.entry(0), { ...ft.entry(0), ...IPV4_HI_FIELDS });
});
