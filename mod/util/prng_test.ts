import assert from "node:assert/strict";
import { xorshift32, xorshift32Unit } from "./prng.ts";

Deno.test("xorshift32 repeats for a seed, differs across seeds, and moves from seed 0", () => {
  const a = xorshift32(7), b = xorshift32(7), c = xorshift32(8);
  const sa = [a(), a(), a()], sb = [b(), b(), b()], sc = [c(), c(), c()];
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  const z = xorshift32(0);
  assert.notEqual(z(), z());
  // Marsaglia's first output for seed 1: 1 ^ 1<<13 = 8193; ^ >>>17 = 8193; ^ <<5 = 270369.
  assert.equal(xorshift32(1)(), 270369);
});

Deno.test("xorshift32Unit stays in [0, 1)", () => {
  const next = xorshift32Unit(0);
  for (let i = 0; i < 10_000; i++) {
    const x = next();
    assert.ok(x >= 0 && x < 1, String(x));
  }
});
