import assert from "node:assert/strict";
import { HistogramRecorder, LATENCY_BOUNDS_MS } from "./histogram.ts";

Deno.test("histogram: bounds are inclusive upper limits and counts are cumulative", () => {
  const h = new HistogramRecorder([1, 5, 10]);
  for (const v of [0.5, 1, 1.0001, 5, 9, 10, 11, 1000]) h.observe(v);
  const s = h.snapshot();
  assert.deepEqual(s.bounds, [1, 5, 10]);
  // <=1: 0.5, 1 | <=5: +1.0001, 5 | <=10: +9, 10 | overflow: 11, 1000
  assert.deepEqual(s.counts, [2, 4, 6]);
  assert.equal(s.count, 8);
  assert.equal(s.sum, 0.5 + 1 + 1.0001 + 5 + 9 + 10 + 11 + 1000);
});

Deno.test("histogram: NaN and infinities are ignored, negatives count as zero", () => {
  const h = new HistogramRecorder([1]);
  h.observe(NaN);
  h.observe(Infinity);
  h.observe(-Infinity);
  h.observe(-3);
  const s = h.snapshot();
  assert.equal(s.count, 1);
  assert.equal(s.sum, 0);
  assert.deepEqual(s.counts, [1]);
});

Deno.test("histogram: snapshot is a copy and reset clears", () => {
  const h = new HistogramRecorder();
  h.observe(0.2);
  const s = h.snapshot();
  h.observe(0.2);
  assert.equal(s.count, 1);
  assert.equal(s.bounds.length, LATENCY_BOUNDS_MS.length);
  h.reset();
  const r = h.snapshot();
  assert.equal(r.count, 0);
  assert.equal(r.sum, 0);
  assert.ok(r.counts.every((c) => c === 0));
});

Deno.test("histogram: unsorted or non-finite bounds are rejected", () => {
  assert.throws(() => new HistogramRecorder([1, 1]), RangeError);
  assert.throws(() => new HistogramRecorder([2, 1]), RangeError);
  assert.throws(() => new HistogramRecorder([1, Infinity]), RangeError);
});
