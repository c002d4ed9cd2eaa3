import assert from "node:assert/strict";
import { RiseFall } from "./rise_fall.ts";

Deno.test("RiseFall: down after `fall` failures in a row, not before", () => {
  const h = new RiseFall(2, 3);
  assert.equal(h.record(false), false);
  assert.equal(h.record(false), false);
  assert.equal(h.up, true);
  assert.equal(h.record(false), true);
  assert.equal(h.up, false);
});

Deno.test("RiseFall: a success in between starts the count again (no flapping)", () => {
  const h = new RiseFall(2, 3);
  for (const ok of [false, false, true, false, false, true, false, false]) h.record(ok);
  assert.equal(h.up, true);
});

Deno.test("RiseFall: up again after `rise` successes in a row", () => {
  const h = new RiseFall(2, 1, false);
  assert.equal(h.record(true), false);
  assert.equal(h.record(false), false);
  assert.equal(h.record(true), false);
  assert.equal(h.up, false);
  assert.equal(h.record(true), true);
  assert.equal(h.up, true);
  assert.equal(h.record(false), true, "fall 1: one failure is enough");
});

Deno.test("RiseFall rejects zero counts", () => {
  assert.throws(() => new RiseFall(0, 3), RangeError);
  assert.throws(() => new RiseFall(2, 0), RangeError);
});
