/**
 * A fixed-bucket latency histogram in milliseconds, the producer side of the
 * `Histogram` values in a status snapshot. `/metrics` converts it to seconds.
 * @module
 */

import type { Histogram } from "./snapshot.ts";

/**
 * Default bounds for peer-link latencies (heartbeat RTT, mirror lag): fine
 * below a millisecond, where a healthy link lives (target: mirroring adds
 * <= 100 µs), and coarse up to the 50 ms failure-detection budget and beyond.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  1000,
];

/** Records observations into fixed buckets; O(log buckets) per observation, no allocation. */
export class HistogramRecorder {
  readonly #bounds: readonly number[];
  /** Per-bucket (non-cumulative) counts; index `bounds.length` is the overflow (`+Inf`) bucket. */
  readonly #buckets: Float64Array;
  #count = 0;
  #sum = 0;

  /** Bounds must be finite, strictly increasing upper limits in ms (a programming error otherwise). */
  constructor(boundsMs: readonly number[] = LATENCY_BOUNDS_MS) {
    for (let i = 0; i < boundsMs.length; i++) {
      const b = boundsMs[i]!;
      if (!Number.isFinite(b) || (i > 0 && b <= boundsMs[i - 1]!)) {
        throw new RangeError("histogram bounds must be finite and strictly increasing");
      }
    }
    this.#bounds = [...boundsMs];
    this.#buckets = new Float64Array(boundsMs.length + 1);
  }

  /** Adds one observation. NaN and infinities are ignored; negatives count as 0 (clock steps). */
  observe(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const v = ms < 0 ? 0 : ms;
    // Binary search for the first bound >= v (Prometheus `le` is inclusive).
    let lo = 0;
    let hi = this.#bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#bounds[mid]! >= v) hi = mid;
      else lo = mid + 1;
    }
    this.#buckets[lo]!++;
    this.#count++;
    this.#sum += v;
  }

  /** A copy with cumulative counts, as `Histogram` in the snapshot defines them. */
  snapshot(): Histogram {
    const counts: number[] = [];
    let running = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      running += this.#buckets[i]!;
      counts.push(running);
    }
    return { bounds: [...this.#bounds], counts, count: this.#count, sum: this.#sum };
  }

  reset(): void {
    this.#buckets.fill(0);
    this.#count = 0;
    this.#sum = 0;
  }
}
