import assert from "node:assert/strict";
import { RoundRobin } from "./round_robin.ts";

Deno.test("RoundRobin cycles through every backend in order", () => {
  const rr = new RoundRobin(3);
  assert.deepEqual(Array.from({ length: 7 }, () => rr.pick()), [0, 1, 2, 0, 1, 2, 0]);
});

Deno.test("RoundRobin with one backend always picks it", () => {
  const rr = new RoundRobin(1);
  assert.deepEqual([rr.pick(), rr.pick(), rr.pick()], [0, 0, 0]);
});

Deno.test("RoundRobin rejects an empty or fractional backend count", () => {
  assert.throws(() => new RoundRobin(0), RangeError);
  assert.throws(() => new RoundRobin(2.5), RangeError);
});

Deno.test("RoundRobin: weights 5,1,1 interleave (smooth), and every 7 picks hold 5,1,1", () => {
  const rr = new RoundRobin(3, [5, 1, 1]);
  const picks = Array.from({ length: 14 }, () => rr.pick());
  assert.deepEqual(picks.slice(0, 7), [0, 0, 1, 0, 2, 0, 0]);
  assert.deepEqual(picks.slice(7), picks.slice(0, 7));
});

Deno.test("RoundRobin: a weight of 0 is never picked; all zero picks -1", () => {
  const rr = new RoundRobin(3, [2, 0, 1]);
  const picks = Array.from({ length: 9 }, () => rr.pick());
  assert.ok(!picks.includes(1));
  assert.equal(picks.filter((p) => p === 0).length, 6);
  assert.equal(new RoundRobin(2, [0, 0]).pick(), -1);
  assert.throws(() => new RoundRobin(2, [1]), RangeError);
  assert.throws(() => new RoundRobin(1, [-1]), RangeError);
});
