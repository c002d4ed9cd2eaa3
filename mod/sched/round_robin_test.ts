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
