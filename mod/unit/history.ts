/**
 * The dashboard's history: one {@link HistorySample} per second of the unit's monotonic clock,
 * kept in a bounded ring (600 samples, ten minutes). Pure: the unit passes in the time and its
 * cumulative counters; nothing here reads a clock or runs a timer.
 * @module
 */

import type { Histogram, HistorySample } from "../api/snapshot.ts";

/** Ten minutes at one sample a second. */
export const HISTORY_CAPACITY = 600;
/** Shortest monotonic time between two samples. */
export const HISTORY_STEP_MS = 1000;

/** What the unit knows at the moment of sampling. */
export interface HistoryInputs {
  /** Cumulative frames read, as `counters.rx_packets`. */
  rxPackets: number;
  /** Cumulative bytes written, as `counters.tx_bytes`. */
  txBytes: number;
  flows: number;
  /** Latest heartbeat RTT, or null without a live peer. */
  heartbeatRttMs: number | null;
  /** Mirror lag over the last interval (see {@link HistorySampler.lagP50}), or null. */
  mirrorLagMs: number | null;
  receiver: boolean;
}

/**
 * Counter delta that survives a reset (a restarted engine, a cleared table): when the counter went
 * down it restarted from zero, so everything it counted since is the delta, as Prometheus'
 * `rate()` assumes. Never negative.
 */
export function counterDelta(prev: number, cur: number): number {
  if (!Number.isFinite(prev) || !Number.isFinite(cur)) return 0;
  return cur >= prev ? cur - prev : Math.max(0, cur);
}

/**
 * Median of the observations that fell between two cumulative snapshots of one histogram,
 * interpolated linearly inside its bucket (as Prometheus' `histogram_quantile`); an answer in
 * the overflow bucket is the highest finite bound. Null when nothing was observed in between, or
 * when the two snapshots do not share their bounds.
 */
export function intervalP50(prev: Histogram | null, cur: Histogram): number | null {
  const n = cur.bounds.length;
  const same = prev !== null && prev.bounds.length === n &&
    prev.bounds.every((b, i) => b === cur.bounds[i]) && prev.count <= cur.count;
  const before = (i: number): number => (same ? prev.counts[i] ?? 0 : 0);
  const total = cur.count - (same ? prev.count : 0);
  if (total <= 0) return null;
  const rank = total / 2;
  let below = 0;
  for (let i = 0; i < n; i++) {
    const upTo = (cur.counts[i] ?? 0) - before(i);
    if (upTo >= rank) {
      const lo = i === 0 ? 0 : cur.bounds[i - 1]!;
      const hi = cur.bounds[i]!;
      const inBucket = upTo - below;
      return inBucket > 0 ? lo + (hi - lo) * ((rank - below) / inBucket) : hi;
    }
    below = upTo;
  }
  return n > 0 ? cur.bounds[n - 1]! : null;
}

/** The ring of samples; the unit keeps one and calls {@link observe} on every loop turn. */
export class HistorySampler {
  readonly #capacity: number;
  readonly #stepMs: number;
  readonly #ring: (HistorySample | undefined)[];
  /** Index of the next write. */
  #next = 0;
  #size = 0;
  #last: { mono: number; rxPackets: number; txBytes: number } | null = null;
  #lagSeen: Histogram | null = null;

  constructor(capacity = HISTORY_CAPACITY, stepMs = HISTORY_STEP_MS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be >= 1");
    this.#capacity = capacity;
    this.#stepMs = stepMs;
    this.#ring = new Array(capacity);
  }

  /**
   * True when a sample is due at `monotonicNowMs`: the unit asks first, so that on the loop's
   * hot path it builds no inputs until once a second.
   */
  due(monotonicNowMs: number): boolean {
    return this.#last === null || monotonicNowMs - this.#last.mono >= this.#stepMs;
  }

  /**
   * Records one sample if at least one step of monotonic time has passed since the last one;
   * returns whether it did. The first call only sets the baseline: a rate needs two readings.
   * Rates divide the counter deltas by the exact monotonic time elapsed, so a late turn does
   * not inflate them.
   */
  observe(wallNowMs: number, monotonicNowMs: number, inputs: HistoryInputs): boolean {
    const last = this.#last;
    if (last !== null && !(monotonicNowMs - last.mono >= this.#stepMs)) return false;
    this.#last = { mono: monotonicNowMs, rxPackets: inputs.rxPackets, txBytes: inputs.txBytes };
    if (last === null) return false;
    const seconds = (monotonicNowMs - last.mono) / 1000;
    this.#ring[this.#next] = {
      // Whole ms, as timeline events: the dashboard asks for samples `since` one of these.
      at: Math.round(wallNowMs),
      rxPps: counterDelta(last.rxPackets, inputs.rxPackets) / seconds,
      txBps: (counterDelta(last.txBytes, inputs.txBytes) * 8) / seconds,
      flows: inputs.flows,
      mirrorLagMs: inputs.mirrorLagMs,
      heartbeatRttMs: inputs.heartbeatRttMs,
      receiver: inputs.receiver,
    };
    this.#next = (this.#next + 1) % this.#capacity;
    this.#size = Math.min(this.#size + 1, this.#capacity);
    return true;
  }

  /**
   * The median mirror lag since the previous call, from the cumulative lag histogram; call it
   * only when a sample is {@link due}, so that the interval is the sample's.
   */
  lagP50(lag: Histogram): number | null {
    const p50 = intervalP50(this.#lagSeen, lag);
    this.#lagSeen = lag;
    return p50;
  }

  /** The samples, oldest first; a copy the caller may keep. */
  samples(): HistorySample[] {
    const out: HistorySample[] = [];
    const start = (this.#next - this.#size + this.#capacity) % this.#capacity;
    for (let i = 0; i < this.#size; i++) {
      out.push({ ...this.#ring[(start + i) % this.#capacity]! });
    }
    return out;
  }
}
