import assert from "node:assert/strict";
import { HistogramRecorder } from "../api/histogram.ts";
import {
  counterDelta,
  HISTORY_CAPACITY,
  type HistoryInputs,
  HistorySampler,
  intervalP50,
} from "./history.ts";

const WALL0 = Date.UTC(2026, 0, 1);
const MONO0 = 5_000;

function inputs(over: Partial<HistoryInputs> = {}): HistoryInputs {
  return {
    rxPackets: 0,
    txBytes: 0,
    flows: 0,
    heartbeatRttMs: null,
    mirrorLagMs: null,
    receiver: false,
    ...over,
  };
}

Deno.test("history: the first reading is a baseline; rates use the exact elapsed time", () => {
  const h = new HistorySampler();
  assert.equal(h.observe(WALL0, MONO0, inputs({ rxPackets: 1000, txBytes: 5000 })), false);
  assert.deepEqual(h.samples(), []);
  // 1.25 s later (a late turn): 2500 packets and 10 kB → 2000 pkt/s and 64 kbit/s, not 2500/80k.
  const ok = h.observe(
    WALL0 + 1250,
    MONO0 + 1250,
    inputs({
      rxPackets: 3500,
      txBytes: 15_000,
      flows: 7,
      heartbeatRttMs: 0.2,
      mirrorLagMs: 0.05,
      receiver: true,
    }),
  );
  assert.equal(ok, true);
  assert.deepEqual(h.samples(), [{
    at: WALL0 + 1250,
    rxPps: 2000,
    txBps: 64_000,
    flows: 7,
    mirrorLagMs: 0.05,
    heartbeatRttMs: 0.2,
    receiver: true,
  }]);
});

Deno.test("history: nothing is recorded before a full second of monotonic time", () => {
  const h = new HistorySampler();
  h.observe(WALL0, MONO0, inputs());
  assert.equal(h.due(MONO0 + 999.9), false);
  assert.equal(h.observe(WALL0 + 999, MONO0 + 999.9, inputs({ rxPackets: 50 })), false);
  assert.deepEqual(h.samples(), []);
  // The wall clock jumping ahead (NTP step) does not make a sample due: only monotonic time counts.
  assert.equal(h.observe(WALL0 + 60_000, MONO0 + 500, inputs({ rxPackets: 50 })), false);
  assert.equal(h.due(MONO0 + 1000), true);
  assert.equal(h.observe(WALL0 + 1000, MONO0 + 1000, inputs({ rxPackets: 100 })), true);
  // Skipped readings changed nothing: the rate is over the whole second since the baseline.
  assert.equal(h.samples()[0]!.rxPps, 100);
  assert.equal(h.due(MONO0 + 1999), false);
  assert.equal(h.due(MONO0 + 2000), true);
});

Deno.test("history: a counter reset never yields a negative rate", () => {
  const h = new HistorySampler();
  h.observe(WALL0, MONO0, inputs({ rxPackets: 1_000_000, txBytes: 9_000_000 }));
  // The counters restarted from zero and have counted 300 packets and 1000 bytes since.
  h.observe(WALL0 + 1000, MONO0 + 1000, inputs({ rxPackets: 300, txBytes: 1000 }));
  h.observe(WALL0 + 2000, MONO0 + 2000, inputs({ rxPackets: 400, txBytes: 1000 }));
  const [a, b] = h.samples();
  assert.equal(a!.rxPps, 300);
  assert.equal(a!.txBps, 8000);
  assert.equal(b!.rxPps, 100);
  assert.equal(b!.txBps, 0);
  assert.equal(counterDelta(10, 4), 4);
  assert.equal(counterDelta(10, 10), 0);
  assert.equal(counterDelta(10, NaN), 0);
});

Deno.test("history: the ring keeps the newest 600 samples, oldest first", () => {
  const h = new HistorySampler();
  const total = HISTORY_CAPACITY + 137;
  for (let i = 0; i <= total; i++) {
    h.observe(WALL0 + i * 1000, MONO0 + i * 1000, inputs({ rxPackets: i * i, flows: i }));
  }
  const s = h.samples();
  assert.equal(s.length, HISTORY_CAPACITY);
  // Sample k (1-based) was taken at second k with flows = k; the first 137 fell out.
  assert.equal(s[0]!.flows, total - HISTORY_CAPACITY + 1);
  assert.equal(s.at(-1)!.flows, total);
  for (let i = 1; i < s.length; i++) {
    assert.equal(s[i]!.at - s[i - 1]!.at, 1000);
    // rx grew by k² - (k-1)² = 2k - 1 packets in second k.
    assert.equal(s[i]!.rxPps, 2 * s[i]!.flows - 1);
  }
});

Deno.test("history: a small ring wraps exactly, and samples() is a copy", () => {
  const h = new HistorySampler(3);
  for (let i = 0; i <= 5; i++) h.observe(i * 1000, i * 1000, inputs({ flows: i }));
  assert.deepEqual(h.samples().map((x) => x.flows), [3, 4, 5]);
  const copy = h.samples();
  copy[0]!.flows = 99;
  copy.pop();
  assert.deepEqual(h.samples().map((x) => x.flows), [3, 4, 5]);
  // Times are whole ms, like timeline events.
  h.observe(6000.4, 6000.4, inputs());
  h.observe(7000.6, 7000.6, inputs());
  assert.deepEqual(h.samples().map((x) => x.at), [5000, 6000, 7001]);
  assert.throws(() => new HistorySampler(0), RangeError);
});

Deno.test("history: mirror lag p50 covers only the observations of the interval", () => {
  const rec = new HistogramRecorder([0.1, 0.2, 0.5, 1]);
  const h = new HistorySampler();
  assert.equal(h.lagP50(rec.snapshot()), null, "nothing observed yet");
  // Second 1: everything slow.
  for (let i = 0; i < 10; i++) rec.observe(0.9);
  assert.equal(h.lagP50(rec.snapshot()), 0.75, "rank 5 of 10 in (0.5, 1]: halfway");
  // Second 2: everything fast; the slow second must not pull the median up.
  for (let i = 0; i < 4; i++) rec.observe(0.05);
  assert.equal(h.lagP50(rec.snapshot()), 0.05, "rank 2 of 4 in (0, 0.1]: halfway");
  // Second 3: no mirror traffic at all.
  assert.equal(h.lagP50(rec.snapshot()), null);
  // Second 4: only overflow observations → the highest finite bound.
  rec.observe(50);
  assert.equal(h.lagP50(rec.snapshot()), 1);
  // A reset histogram (fewer observations than before) counts from zero.
  rec.reset();
  rec.observe(0.15);
  rec.observe(0.15);
  assert.ok(Math.abs(h.lagP50(rec.snapshot())! - 0.15) < 1e-12);
  assert.equal(intervalP50(null, { bounds: [], counts: [], count: 0, sum: 0 }), null);
});
