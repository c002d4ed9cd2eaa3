import assert from "node:assert/strict";
import { ReplayWindow } from "./replay_window.ts";
import { xorshift } from "./test_util.ts";

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
