import assert from "node:assert/strict";
import { Arena } from "./arena.ts";

Deno.test("regions are laid out in order, back to back, over one buffer", () => {
  const a = new Arena([["rx", 4], ["tx", 3], ["peer", 5]]);
  assert.equal(a.whole.length, 12);
  const rx = a.region("rx"), tx = a.region("tx"), peer = a.region("peer");
  assert.deepEqual([rx.byteOffset, rx.length], [0, 4]);
  assert.deepEqual([tx.byteOffset, tx.length], [4, 3]);
  assert.deepEqual([peer.byteOffset, peer.length], [7, 5]);
  for (const r of [rx, tx, peer]) assert.equal(r.buffer, a.whole.buffer);
  tx.set([1, 2, 3]);
  assert.deepEqual([...a.whole], [0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0]);
});

Deno.test("an unknown region is a caller bug", () => {
  const a = new Arena([["rx", 4]]);
  assert.throws(() => a.region("tx"), RangeError);
});

Deno.test("copy between two regions of the arena moves exactly the range", () => {
  const a = new Arena([["pad", 2], ["src", 6], ["dst", 6]]);
  const src = a.region("src"), dst = a.region("dst");
  src.set([10, 11, 12, 13, 14, 15]);
  a.copy(dst, 1, src, 2, 5);
  assert.deepEqual([...dst], [0, 12, 13, 14, 0, 0]);
  assert.deepEqual([...src], [10, 11, 12, 13, 14, 15], "the source is left as it was");
  assert.deepEqual([...a.region("pad")], [0, 0]);
});

Deno.test("copy with one side outside the arena is a plain copy", () => {
  const a = new Arena([["pad", 3], ["dst", 4]]);
  const outside = Uint8Array.from([7, 8, 9, 10, 11]);
  a.copy(a.region("dst"), 1, outside, 1, 4);
  assert.deepEqual([...a.region("dst")], [0, 8, 9, 10]);
  assert.deepEqual([...a.region("pad")], [0, 0, 0]);
  // And out of the arena into a foreign buffer.
  const into = new Uint8Array(6);
  a.region("pad").set([1, 2, 3]);
  a.copy(into, 2, a.region("pad"), 0, 3);
  assert.deepEqual([...into], [0, 0, 1, 2, 3, 0]);
  assert.deepEqual([...a.region("dst")], [0, 8, 9, 10], "the arena is untouched");
});

Deno.test("copy within one region handles overlap like copyWithin", () => {
  const a = new Arena([["pad", 1], ["buf", 8]]);
  const b = a.region("buf");
  b.set([1, 2, 3, 4, 5, 6, 7, 8]);
  a.copy(b, 2, b, 0, 4);
  assert.deepEqual([...b], [1, 2, 1, 2, 3, 4, 7, 8]);
});
