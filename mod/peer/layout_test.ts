import assert from "node:assert/strict";
import { Layout } from "./layout.ts";
import type { RowLayout } from "../flow/fields.ts";

/** A 7-byte stand-in for a flow row: only its size matters to a Layout. */
const ROW: RowLayout = { cols: [0, 1], kinds: ["u8", "u16"], offsets: [0, 1], size: 7 };

/** One field of every kind, numbers between blocks, so each offset depends on all before it. */
const ALL = new Layout(
  [
    ["a8", "u8"],
    ["b16", "u16"],
    ["c32", "u32"],
    ["mac", "bytes", 6],
    ["d32f", "f32"],
    ["row", "row", ROW],
    ["e64", "f64"],
    ["tail", "u8"],
  ] as const,
);

/** Bytes 0xa5 everywhere, so fields a codec must not touch show. */
function filled(n: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(n).fill(0xa5);
  return { bytes, view: new DataView(bytes.buffer) };
}

Deno.test("Layout: offsets follow the field order and sizes; size is the sum", () => {
  assert.deepEqual(
    { ...ALL.at },
    { a8: 0, b16: 1, c32: 3, mac: 7, d32f: 13, row: 17, e64: 24, tail: 32 },
  );
  assert.equal(ALL.size, 33);
  assert.equal(ALL.fields.length, 8);
  assert.equal(new Layout([] as const).size, 0);
  const one = (kind: "u8" | "u16" | "u32" | "f32" | "f64") =>
    new Layout([["x", kind], ["y", "u8"]] as const);
  assert.deepEqual(
    (["u8", "u16", "u32", "f32", "f64"] as const).map((k) => [one(k).at.y, one(k).size]),
    [[1, 2], [2, 3], [4, 5], [4, 5], [8, 9]],
  );
  const blocks = new Layout([["b", "bytes", 3], ["r", "row", ROW], ["z", "u16"]] as const);
  assert.deepEqual({ ...blocks.at }, { b: 0, r: 3, z: 10 });
  assert.equal(blocks.size, 12);
});

Deno.test("Layout: encode writes each numeric kind big-endian at its offset, nothing else", () => {
  const { bytes, view } = filled(40);
  ALL.encode(view, 2, {
    a8: 0x81,
    b16: 0x1234,
    c32: 0xdeadbeef,
    d32f: 1.5,
    e64: -2.25,
    tail: 0x7e,
  });
  // deno-fmt-ignore
  const want = [
    0xa5, 0xa5,
    0x81, // a8
    0x12, 0x34, // b16
    0xde, 0xad, 0xbe, 0xef, // c32
    ...new Array(6).fill(0xa5), // mac: untouched
    0x3f, 0xc0, 0x00, 0x00, // d32f 1.5
    ...new Array(7).fill(0xa5), // row: untouched
    0xc0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // e64 -2.25
    0x7e, // tail
    ...new Array(5).fill(0xa5),
  ];
  assert.deepEqual([...bytes], want);
});

Deno.test("Layout: decode reads every numeric field back; bytes and rows only get offsets", () => {
  const { view } = filled(40);
  const src = {
    a8: 0xfe,
    b16: 0xfffd,
    c32: 0xfffffffc,
    d32f: 0.1,
    e64: 1_700_000_000_123.625,
    tail: 3,
  };
  ALL.encode(view, 5, src);
  const dst = { a8: 0, b16: 0, c32: 0, d32f: 0, e64: 0, tail: 0 };
  ALL.decode(view, 5, dst);
  assert.deepEqual(dst, { ...src, d32f: Math.fround(0.1) });
  assert.notEqual(dst.d32f, 0.1, "f32 keeps single precision only");
  // Into a bare object: exactly the numeric fields appear, in field order.
  const bare = {} as typeof dst;
  ALL.decode(view, 5, bare);
  assert.deepEqual(Object.keys(bare), ["a8", "b16", "c32", "d32f", "e64", "tail"]);
  assert.deepEqual(bare, dst);
  // Decoding at another offset reads other bytes: the offset is honoured.
  const shifted = { a8: 0, b16: 0, c32: 0, d32f: 0, e64: 0, tail: 0 };
  ALL.decode(view, 6, shifted);
  assert.notDeepEqual(shifted, dst);
});

Deno.test("Layout: integers wrap to their width; u32 takes negative numbers as unsigned", () => {
  const l = new Layout([["a", "u8"], ["b", "u16"], ["c", "u32"], ["d", "u32"]] as const);
  const { bytes, view } = filled(l.size);
  l.encode(view, 0, { a: 0x1ff, b: 0x12345, c: -1, d: 2 ** 32 + 7 });
  assert.deepEqual([...bytes], [0xff, 0x23, 0x45, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7]);
  const out = { a: 0, b: 0, c: 0, d: 0 };
  l.decode(view, 0, out);
  assert.deepEqual(out, { a: 0xff, b: 0x2345, c: 0xffffffff, d: 7 });
});

Deno.test("Layout: each kind round-trips at its limits", () => {
  const cases: [kind: "u8" | "u16" | "u32" | "f32" | "f64", values: number[]][] = [
    ["u8", [0, 1, 0x80, 0xff]],
    ["u16", [0, 1, 0x8000, 0xffff]],
    ["u32", [0, 1, 0x80000000, 0xffffffff]],
    ["f32", [0, -1, 3.5, 16777216, Math.fround(1e-3), Infinity]],
    ["f64", [0, -0.5, Number.MAX_SAFE_INTEGER, 2 ** 60 + 2 ** 8, 1e-300, -Infinity]],
  ];
  for (const [kind, values] of cases) {
    const l = new Layout([["pad", "u8"], ["v", kind]] as const);
    const { view } = filled(l.size + 1);
    for (const v of values) {
      l.encode(view, 1, { pad: 9, v });
      const out = { pad: 0, v: 12345 };
      l.decode(view, 1, out);
      assert.deepEqual(out, { pad: 9, v }, `${kind} ${v}`);
    }
  }
  // f32 rounds to single precision; f64 does not.
  const f32 = new Layout([["v", "f32"]] as const);
  const f64 = new Layout([["v", "f64"]] as const);
  const { view } = filled(8);
  const out = { v: 0 };
  f32.encode(view, 0, { v: 16777217 });
  f32.decode(view, 0, out);
  assert.equal(out.v, 16777216);
  f64.encode(view, 0, { v: 16777217.25 });
  f64.decode(view, 0, out);
  assert.equal(out.v, 16777217.25);
  f32.encode(view, 0, { v: NaN });
  f32.decode(view, 0, out);
  assert.ok(Number.isNaN(out.v));
});
