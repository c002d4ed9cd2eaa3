import assert from "node:assert/strict";
import {
  allocColumns,
  colIndex,
  decodeRow,
  DIGEST_COLS,
  encodeRow,
  FLOW_FIELDS,
  type FlowEntry,
  type FlowField,
  KIND_SIZE,
  MIRROR6_ROW,
  MIRROR_ROW,
  type RowLayout,
  SYNC_ROW,
} from "./fields.ts";
import {
  SAMPLE,
  SAMPLE_MIRROR6_BYTES,
  SAMPLE_MIRROR_BYTES,
  SAMPLE_SYNC_BYTES,
} from "./test_util.ts";
import { xorshift32 } from "../util/prng.ts";

const NAMES: string[] = FLOW_FIELDS.map((f) => f.name);
const names = (cols: readonly number[]): string[] => cols.map((i) => NAMES[i]!);

/** The mirrored decision fields, in wire order (a wire contract: the peer reads them so). */
const MIRRORED = [
  "proto",
  "state",
  "service",
  "backend",
  "oSrc",
  "oSport",
  "oDst",
  "oDport",
  "rSrc",
  "rSport",
  "rDst",
  "rDport",
  "seqOffset",
  "tcpBits",
];

/** What a mirror record of an IPv6 flow carries besides, in wire order (a wire contract). */
const MIRRORED6 = [
  "oSrcHi0",
  "oSrcHi1",
  "oSrcHi2",
  "oDstHi0",
  "oDstHi1",
  "oDstHi2",
  "rSrcHi0",
  "rSrcHi1",
  "rSrcHi2",
  "rDstHi0",
  "rDstHi1",
  "rDstHi2",
];

/** Columns of `rows` rows holding SAMPLE in row `row` and zeros elsewhere. */
function sampleColumns(rows: number, row: number) {
  const { named, list } = allocColumns(rows);
  FLOW_FIELDS.forEach((f, i) => list[i]![row] = SAMPLE[f.name]);
  return { named, list };
}

Deno.test("fields: names are unique and sizes are 1, 2, 4, 8 bytes", () => {
  assert.equal(new Set(NAMES).size, NAMES.length);
  assert.equal(NAMES.length, 40);
  assert.deepEqual({ ...KIND_SIZE }, { u8: 1, u16: 2, u32: 4, f64: 8 });
});

Deno.test("fields: allocColumns gives one typed array of the field's kind per field", () => {
  const { named, list } = allocColumns(5);
  assert.equal(list.length, FLOW_FIELDS.length);
  const ctor = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f64: Float64Array };
  FLOW_FIELDS.forEach((f, i) => {
    const col = list[i]!;
    assert.equal(col.constructor, ctor[f.kind], f.name);
    assert.equal(col.length, 5, f.name);
    assert.equal(col.BYTES_PER_ELEMENT, KIND_SIZE[f.kind], f.name);
    assert.equal(named[f.name], col, `${f.name} by name is the same array`);
  });
  assert.equal(new Set(list).size, list.length, "no column is shared");
  assert.deepEqual(Object.keys(named), NAMES);
});

Deno.test("fields: colIndex is the field's position", () => {
  NAMES.forEach((n, i) => assert.equal(colIndex(n as FlowField), i, n));
  assert.equal(colIndex("nope" as FlowField), -1);
});

Deno.test("fields: SYNC_ROW carries every field, in order, packed", () => {
  assert.deepEqual(names(SYNC_ROW.cols), NAMES);
  assert.deepEqual(SYNC_ROW.kinds, FLOW_FIELDS.map((f) => f.kind));
  let at = 0;
  FLOW_FIELDS.forEach((f, i) => {
    assert.equal(SYNC_ROW.offsets[i], at, f.name);
    at += KIND_SIZE[f.kind];
  });
  assert.equal(SYNC_ROW.size, at);
  assert.equal(SYNC_ROW.size, 151, "wire contract: bulk-sync row size");
});

Deno.test("fields: MIRROR_ROW carries exactly the mirrored fields, in order, packed", () => {
  assert.deepEqual(names(MIRROR_ROW.cols), MIRRORED);
  assert.deepEqual(
    names(MIRROR_ROW.cols),
    FLOW_FIELDS.filter((f) => f.travel === "mirror").map((f) => f.name),
  );
  assert.deepEqual(MIRROR_ROW.kinds, MIRROR_ROW.cols.map((i) => FLOW_FIELDS[i]!.kind));
  let at = 0;
  MIRROR_ROW.cols.forEach((c, i) => {
    assert.equal(MIRROR_ROW.offsets[i], at, NAMES[c]);
    at += KIND_SIZE[FLOW_FIELDS[c]!.kind];
  });
  assert.equal(MIRROR_ROW.size, at);
  assert.equal(MIRROR_ROW.size, 35, "wire contract: mirror row size");
  // The mirror row is the head of the sync row: same offsets for the same fields.
  assert.deepEqual(SYNC_ROW.offsets.slice(0, MIRROR_ROW.cols.length), MIRROR_ROW.offsets);
});

Deno.test("fields: MIRROR6_ROW carries the IPv6 high words, packed, right after the mirror row in a sync row", () => {
  assert.deepEqual(names(MIRROR6_ROW.cols), MIRRORED6);
  assert.deepEqual(MIRROR6_ROW.offsets, MIRRORED6.map((_, i) => i * 4));
  assert.equal(MIRROR6_ROW.size, 48, "wire contract: an IPv6 flow's extra mirror bytes");
  const n = MIRROR_ROW.cols.length;
  assert.deepEqual(
    SYNC_ROW.offsets.slice(n, n + MIRROR6_ROW.cols.length),
    MIRROR6_ROW.offsets.map((o) => o + MIRROR_ROW.size),
  );
  // Encoded alone, they are the golden bytes.
  const { list } = sampleColumns(2, 1);
  const buf = new Uint8Array(48);
  encodeRow(list, MIRROR6_ROW, 1, new DataView(buf.buffer), 0);
  assert.deepEqual([...buf], SAMPLE_MIRROR6_BYTES);
});

Deno.test("fields: the digest covers the mirrored decisions except tcpBits", () => {
  assert.deepEqual(
    names(DIGEST_COLS),
    [...MIRRORED.filter((n) => n !== "tcpBits"), ...MIRRORED6],
  );
  for (const i of DIGEST_COLS) assert.notEqual(FLOW_FIELDS[i]!.travel, "sync", NAMES[i]);
});

Deno.test("fields: encodeRow writes the golden bytes at the offset and nothing around them", () => {
  const cases: [RowLayout, readonly number[]][] = [
    [MIRROR_ROW, SAMPLE_MIRROR_BYTES],
    [SYNC_ROW, SAMPLE_SYNC_BYTES],
  ];
  for (const [layout, golden] of cases) {
    assert.equal(golden.length, layout.size);
    const { list } = sampleColumns(4, 2);
    const bytes = new Uint8Array(layout.size + 10).fill(0xa5);
    encodeRow(list, layout, 2, new DataView(bytes.buffer), 3);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xa5, 0xa5, 0xa5]);
    assert.deepEqual([...bytes.subarray(3, 3 + layout.size)], [...golden]);
    assert.deepEqual([...bytes.subarray(3 + layout.size)], new Array(7).fill(0xa5));
  }
});

Deno.test("fields: decodeRow reads the golden bytes into the row, every sync field exact", () => {
  const bytes = new Uint8Array([0xff, ...SAMPLE_SYNC_BYTES]);
  const { named, list } = allocColumns(3);
  decodeRow(list, SYNC_ROW, 1, new DataView(bytes.buffer), 1);
  for (const f of FLOW_FIELDS) {
    assert.equal(named[f.name][1], SAMPLE[f.name], f.name);
    assert.equal(named[f.name][0], 0, `${f.name}: row 0 untouched`);
    assert.equal(named[f.name][2], 0, `${f.name}: row 2 untouched`);
  }
});

Deno.test("fields: decodeRow of a mirror row leaves the sync fields as they were", () => {
  const bytes = new Uint8Array(SAMPLE_MIRROR_BYTES);
  const { named, list } = allocColumns(1);
  // Sentinels in every field: mirrored ones must be overwritten, the rest kept.
  FLOW_FIELDS.forEach((_, i) => list[i]![0] = 77);
  decodeRow(list, MIRROR_ROW, 0, new DataView(bytes.buffer), 0);
  const got: Partial<FlowEntry> = {};
  for (const f of FLOW_FIELDS) got[f.name] = named[f.name][0];
  const want: Partial<FlowEntry> = {};
  for (const f of FLOW_FIELDS) want[f.name] = f.travel === "mirror" ? SAMPLE[f.name] : 77;
  assert.deepEqual(got, want);
});

Deno.test("fields: encode then decode of a random row returns every value", () => {
  const rnd = xorshift32(0x1234567);
  const { list } = allocColumns(2);
  const back = allocColumns(2).list;
  const bytes = new Uint8Array(SYNC_ROW.size + 1);
  for (let round = 0; round < 50; round++) {
    FLOW_FIELDS.forEach((f, i) => {
      list[i]![0] = f.kind === "f64" ? rnd() * 1024 + rnd() / 2 ** 32 : rnd();
    });
    encodeRow(list, SYNC_ROW, 0, new DataView(bytes.buffer), 1);
    decodeRow(back, SYNC_ROW, 1, new DataView(bytes.buffer), 1);
    FLOW_FIELDS.forEach((f, i) => assert.equal(back[i]![1], list[i]![0], f.name));
  }
});
