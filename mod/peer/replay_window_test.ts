import assert from "node:assert/strict";
import { ReplayWindow } from "./replay_window.ts";
import { xorshift32 as xorshift } from "../util/prng.ts";

Deno.test("replay window agrees with a set-based model over 50k random sequences", () => {
  for (const size of [32, 64, 1024]) {
    const w = new ReplayWindow(size);
    const seen = new Set<number>();
    let top = 0;
    const rnd = xorshift(size);
    for (let i = 0; i < 50_000; i++) {
      // Mostly near the top (reordering and duplicates), sometimes far ahead or behind.
      const r = rnd() % 100;
      const seq = r < 70
        ? top + 8 - (rnd() % (size + 40))
        : r < 95
        ? top + 1 + (rnd() % 3)
        : top + (rnd() % (size * 4));
      const want = seq >= 1 && !seen.has(seq) && (seq > top || top - seq < size);
      assert.equal(w.check(seq), want, `size ${size} seq ${seq} top ${top}`);
      if (want) {
        w.update(seq);
        seen.add(seq);
        if (seq > top) top = seq;
      }
    }
    assert.equal(w.top, top);
  }
});

Deno.test("replay window near the top of the u32 range", () => {
  const w = new ReplayWindow(64);
  for (const s of [0xfffffff0, 0xffffffff, 0xfffffff5]) {
    assert.ok(w.check(s));
    w.update(s);
  }
  assert.equal(w.check(0xfffffff0), false);
  assert.equal(w.check(0xfffffff1), true);
  assert.equal(w.check(0x100000000), false, "beyond u32");
});

Deno.test("reset forgets every sequence", () => {
  const w = new ReplayWindow();
  w.update(1);
  w.update(2);
  assert.equal(w.check(2), false);
  w.reset();
  assert.equal(w.top, 0);
  assert.equal(w.check(1), true);
  assert.equal(w.check(2), true);
});

Deno.test("window size must be a positive multiple of 32", () => {
  assert.throws(() => new ReplayWindow(0), RangeError);
  assert.throws(() => new ReplayWindow(48), RangeError);
  assert.doesNotThrow(() => new ReplayWindow(96));
});

Deno.test("reset forgets old bits even in the block the new top lands in", () => {
  const w = new ReplayWindow(64);
  assert.equal(w.top, 0, "nothing seen yet");
  for (let s = 1; s <= 20; s++) w.update(s);
  w.reset();
  w.update(10);
  assert.equal(w.top, 10);
  for (let s = 1; s <= 9; s++) assert.equal(w.check(s), true, `seq ${s} after reset`);
  assert.equal(w.check(10), false);
  for (let s = 11; s <= 20; s++) assert.equal(w.check(s), true, `seq ${s} after reset`);
});

Deno.test("window size limit is 2^24", () => {
  assert.equal(new ReplayWindow(1 << 24).size, 1 << 24);
  assert.throws(() => new ReplayWindow((1 << 24) + 32), RangeError);
  assert.throws(() => new ReplayWindow(1.5 * 32), RangeError);
  assert.throws(() => new ReplayWindow(-32), RangeError);
  assert.equal(new ReplayWindow(32).size, 32);
  assert.equal(new ReplayWindow().size, 1024);
});
