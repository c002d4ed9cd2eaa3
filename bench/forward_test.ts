import assert from "node:assert/strict";
import {
  busyPollPercent,
  emptySide,
  forwardResult,
  type ForwardSide,
  longestPause,
} from "./forward.ts";

const udp = (pps: number, loss: number) => ({
  sent: Math.round((pps * 3) / (1 - loss)),
  received: pps * 3,
  seconds: 3,
  pps,
  loss,
});
const tcp = (gbps: number, retransmits = 0) => ({ gbps, retransmits });
const rtt = (p50: number, p99 = 0) => ({ p50, p99 });
/** A CPU sample: unit a's loop thread busy and kernel %, machine idle, and unit b's if given. */
const cpu = (busy: number, kernel: number, idle: number, bBusy?: number, bKernel?: number) => ({
  threads: {
    a: { busy, kernel },
    ...(bBusy === undefined ? {} : { b: { busy: bBusy, kernel: bKernel! } }),
  },
  idle,
});

// Three runs per figure, the median never first and never an end, so taking the first sample,
// the mean, or swapping min and max shows in the cells.
const TANDEM: ForwardSide = {
  tcp1: [tcp(8.6, 300), tcp(7.9, 100), tcp(8.27, 197)],
  tcp8: [tcp(9), tcp(7), tcp(8)],
  udp: [udp(90_000, 0.25), udp(110_000, 0.1), udp(100_000, 0.2)],
  rtt: [rtt(700, 6000), rtt(450, 4000), rtt(500, 5000)],
  pairTcp1: [tcp(2.6, 4), tcp(3.4, 9), tcp(3, 5)],
  // Median loss 1.5%: the sender-bound note; the first run's 5% alone would say otherwise.
  pairUdp: [udp(70_000, 0.05), udp(90_000, 0.015), udp(80_000, 0.01)],
  pairRtt: [rtt(600, 7000), rtt(540, 5000), rtt(550, 6000)],
  afTcp1: [tcp(9, 1), tcp(5, 2), tcp(7, 3)],
  afRtt: [rtt(560), rtt(520), rtt(530)],
  pairBusyPoll: [30, 12.5, 20.04],
  // Medians never first: a: busy 97, kernel 90; idle 24.
  tcp8Cpu: [cpu(99, 85, 30), cpu(95, 92, 24), cpu(97, 90, 20)],
  udpCpu: [cpu(98, 91, 2), cpu(90, 88, 5), cpu(99, 89, 0)],
  pairTcp1Cpu: [cpu(70, 80, 25, 60, 85), cpu(60, 75, 15, 66, 83), cpu(66, 78, 21, 55, 90)],
  saturation: { gbps: 2.5, seconds: 60, pauseUs: { a: 1800, b: 4200 } },
  errors: [],
};
const LINUX: ForwardSide = {
  ...emptySide(),
  tcp1: [tcp(16, 500), tcp(15, 400), tcp(17, 600)],
  tcp8: [tcp(10), tcp(14), tcp(8)],
  udp: [udp(130_000, 0), udp(120_000, 0), udp(140_000, 0)],
  rtt: [rtt(250, 1000), rtt(150, 800), rtt(200, 900)],
  pairTcp1: [tcp(10, 700), tcp(15, 800), tcp(12, 600)],
  pairUdp: [udp(130_000, 0), udp(130_000, 0), udp(130_000, 0)],
  pairRtt: [rtt(260, 900), rtt(205, 700), rtt(210, 800)],
  tcp8Cpu: [{ threads: {}, idle: 3 }, { threads: {}, idle: 1 }, { threads: {}, idle: 2 }],
};

function row(r: ReturnType<typeof forwardResult>, metric: string) {
  const found = r.rows.find((x) => x.metric === metric);
  assert.ok(found, `row "${metric}"`);
  return found;
}

Deno.test("forwardResult: each cell is median (min–max) of the runs, both sides in one row", () => {
  const r = forwardResult(TANDEM, LINUX, Date.UTC(2025, 5, 1), 3);
  assert.equal(r.date, "2025-06-01");
  assert.deepEqual(row(r, "one unit: TCP 1 stream, Gbit/s"), {
    metric: "one unit: TCP 1 stream, Gbit/s",
    tandem: "8.27 (7.90–8.60), 197 retr",
    linux: "16.00 (15.00–17.00), 500 retr",
    target: "",
  });
  assert.equal(row(r, "one unit: UDP 64 B delivered, pkt/s").tandem, "100 000 (90 000–110 000)");
  assert.equal(row(r, "one unit: UDP 64 B loss, %").tandem, "20.0 (10.0–25.0)");
  assert.equal(row(r, "one unit: TCP echo RTT p50, µs").tandem, "500 (450–700)");
  assert.equal(row(r, "one unit: TCP echo RTT p99, µs").linux, "900 (800–1000)");
  assert.equal(
    row(r, "pair: UDP 64 B offered by the sender, pkt/s").tandem,
    "80 808 (73 684–91 371)",
  );
  assert.ok(
    r.notes.some((n) => /^Each figure: median \(min–max\) of 3 runs in the same lab;/.test(n)),
  );
});

Deno.test("forwardResult: derived rows use each side's medians; ratios give per-run ranges", () => {
  const r = forwardResult(TANDEM, LINUX, 0, 3);
  // Medians 500 and 200; the first runs (700, 250) would give 450.
  assert.equal(row(r, "one unit: RTT p50 added over Linux, µs").tandem, "300");
  assert.equal(row(r, "RTT p50 added by mirroring (pair − one unit), µs").tandem, "50");
  assert.equal(row(r, "RTT p50 added by mirroring (pair − one unit), µs").linux, "10");
  // Medians 3 / 12; runs 2.6/10, 3.4/15, 3/12 give 26, 23, 25.
  assert.deepEqual(row(r, "pair: tandem / Linux throughput, %"), {
    metric: "pair: tandem / Linux throughput, %",
    tandem: "25 (23–26)",
    linux: "100",
    target: "≥ 50",
  });
  // Medians 8 / 10 = 80, where the median of the per-run ratios (90, 50, 100) would be 90.
  assert.deepEqual(row(r, "one unit: tandem / kernel, TCP 8 streams, %"), {
    metric: "one unit: tandem / kernel, TCP 8 streams, %",
    tandem: "80 (50–100)",
    linux: "100",
    target: "≥ 80",
  });
  assert.equal(
    row(r, "pair: UDP 64 B delivered, pkt/s").target,
    "≥ 300k pkt/s per unit, < 1% loss",
  );
  assert.ok(
    r.notes.some((n) => /tandem carries 52% of the kernel's throughput: every GSO/.test(n)),
  );
  assert.ok(r.notes.some((n) => /8 streams: tandem carries 80% .* meeting the 80% target/.test(n)));
  assert.ok(r.notes.some((n) => /25% of the Linux pair, short of 50%/.test(n)));
  // active-forward: medians 7 / 12 (runs 9/10, 5/15, 7/12); 530 − 500 added over one unit.
  assert.equal(row(r, "active-forward pair: tandem / Linux throughput, %").tandem, "58 (33–90)");
  assert.equal(row(r, "active-forward pair: TCP echo RTT p50, µs").tandem, "530 (520–560)");
  assert.equal(
    row(r, "active-forward: RTT p50 added by mirroring (pair − one unit), µs").tandem,
    "30",
  );
  assert.ok(r.notes.some((n) => /active-forward pair carries 58% .* adds 30 µs/.test(n)));
  assert.ok(r.notes.some((n) => /Mirroring adds 50 µs to the p50 RTT, within 100 µs/.test(n)));
  // 1.5% median loss: the sender, not the pair, was the limit.
  assert.ok(r.notes.some((n) => /below 300k; the sender itself only offered 80 808\/s/.test(n)));
});

Deno.test("forwardResult: CPU rows give each loop thread's medians and the machine's idle", () => {
  const r = forwardResult(TANDEM, LINUX, 0, 3);
  assert.deepEqual(row(r, "one unit, TCP 8 streams: the unit's loop thread, % of a core"), {
    metric: "one unit, TCP 8 streams: the unit's loop thread, % of a core",
    tandem: "97 (90% in the kernel)",
    linux: "n/a",
    target: "",
  });
  assert.equal(row(r, "one unit, TCP 8 streams: machine idle, %").tandem, "24 (20–30)");
  assert.equal(row(r, "one unit, TCP 8 streams: machine idle, %").linux, "2 (1–3)");
  assert.equal(
    row(r, "one unit, UDP 64 B: the unit's loop thread, % of a core").tandem,
    "98 (89% in the kernel)",
  );
  assert.equal(row(r, "one unit, UDP 64 B: machine idle, %").linux, "n/a");
  assert.equal(
    row(r, "pair, TCP 1 stream: unit a's loop thread, % of a core").tandem,
    "66 (78% in the kernel)",
  );
  assert.equal(
    row(r, "pair, TCP 1 stream: unit b's loop thread, % of a core").tandem,
    "60 (85% in the kernel)",
  );
  assert.equal(row(r, "pair, TCP 1 stream: machine idle, %").tandem, "21 (15–25)");
  // A sample whose thread could not be read is left out, not counted as 0.
  const partial = forwardResult(
    { ...TANDEM, tcp8Cpu: [{ threads: { a: undefined }, idle: 10 }, ...TANDEM.tcp8Cpu] },
    LINUX,
    0,
    3,
  );
  assert.equal(
    row(partial, "one unit, TCP 8 streams: the unit's loop thread, % of a core").tandem,
    "97 (90% in the kernel)",
  );
});

Deno.test("forwardResult: a ratio over one run pair has no range; runs pair by index", () => {
  const r = forwardResult(
    { ...TANDEM, pairTcp1: [tcp(3), tcp(6)] },
    { ...LINUX, pairTcp1: [tcp(12)] },
    0,
  );
  // Medians 4.5 / 12; only run 0 exists on both sides.
  assert.equal(row(r, "pair: tandem / Linux throughput, %").tandem, "38");
  assert.equal(row(r, "pair: TCP 1 stream, Gbit/s").linux, "12.00, 0 retr");
});

Deno.test("forwardResult: the loop pause row is the larger unit's in ms, n/a for Linux", () => {
  const r = forwardResult(TANDEM, LINUX, 0, 3);
  assert.deepEqual(row(r, "pair: longest loop pause under saturation, ms"), {
    metric: "pair: longest loop pause under saturation, ms",
    tandem: "4.2 (unit b)",
    linux: "n/a",
    target: "≤ 10",
  });
  assert.ok(
    r.notes.some((n) => /at 2\.50 Gbit\/s, .* unit b's loop .* 4\.2 ms, within 10 ms/.test(n)),
  );
  const over = forwardResult(
    { ...TANDEM, saturation: { gbps: 1, seconds: 60, pauseUs: { a: 12_340, b: 900 } } },
    LINUX,
    0,
  );
  assert.equal(row(over, "pair: longest loop pause under saturation, ms").tandem, "12.3 (unit a)");
  assert.ok(over.notes.some((n) => /12\.3 ms, over 10 ms/.test(n)));
});

Deno.test("longestPause: the larger unit, the one that counts it, none when neither does", () => {
  const sat = (a?: number, b?: number) => ({ gbps: 1, seconds: 60, pauseUs: { a, b } });
  assert.deepEqual(longestPause(sat(5, 7)), { us: 7, unit: "b" });
  assert.deepEqual(longestPause(sat(8, 7)), { us: 8, unit: "a" });
  assert.deepEqual(longestPause(sat(undefined, 3)), { us: 3, unit: "b" });
  assert.deepEqual(longestPause(sat(3, undefined)), { us: 3, unit: "a" });
  assert.equal(longestPause(sat()), undefined);
  assert.equal(longestPause(undefined), undefined);
});

Deno.test("forwardResult: busy-poll CPU is median (min–max) with 1 digit, n/a for Linux", () => {
  const r = forwardResult(TANDEM, LINUX, 0, 3);
  assert.deepEqual(row(r, "pair: busy-poll CPU during the RTT test, % of a core"), {
    metric: "pair: busy-poll CPU during the RTT test, % of a core",
    tandem: "20.0 (12.5–30.0)",
    linux: "n/a",
    target: "",
  });
});

Deno.test("busyPollPercent: both units' deltas over the wall time; none without a counter", () => {
  // (300 000 + 600 000) µs busy over 3 s: 30% of a core.
  assert.equal(busyPollPercent({ a: 1000, b: 2000 }, { a: 301_000, b: 602_000 }, 3e6), 30);
  assert.equal(busyPollPercent({ a: 1000 }, { a: 301_000 }, 3e6), undefined);
  assert.equal(busyPollPercent({ a: 0, b: 0 }, { a: 1, b: undefined }, 3e6), undefined);
  assert.equal(busyPollPercent(undefined, { a: 1, b: 1 }, 3e6), undefined);
});

Deno.test("forwardResult: small packets meet 300k only under 1% loss", () => {
  const fast = (loss: number) =>
    forwardResult({ ...TANDEM, pairUdp: [udp(310_000, loss)] }, LINUX, 0, 1).notes;
  assert.ok(fast(0.005).some((n) => /310 000\/s, meeting 300k with 0\.5% lost\./.test(n)));
  assert.ok(fast(0.03).some((n) => /310 000\/s, meeting 300k, but 3\.0% lost, over 1%/.test(n)));
  const lossy = forwardResult({ ...TANDEM, pairUdp: [udp(80_000, 0.05)] }, LINUX, 0, 1);
  assert.ok(lossy.notes.some((n) => /below 300k; 5\.0% lost in the pair/.test(n)));
  assert.ok(lossy.notes.some((n) => /^Each figure: median \(min–max\) of 1 run in/.test(n)));
});

Deno.test("forwardResult shows n/a and the reason when Linux was skipped or a step failed", () => {
  const r = forwardResult(
    {
      ...TANDEM,
      pairTcp1: [],
      pairBusyPoll: [],
      saturation: undefined,
      errors: ["pair iperf3: refused"],
    },
    { ...emptySide(), skipped: "Linux reference pair needs keepalived on PATH" },
    0,
  );
  assert.equal(row(r, "one unit: TCP 1 stream, Gbit/s").linux, "n/a");
  assert.equal(row(r, "one unit: TCP echo RTT p50, µs").linux, "n/a");
  assert.equal(row(r, "pair: TCP 1 stream, Gbit/s").tandem, "n/a");
  assert.equal(row(r, "pair: tandem / Linux throughput, %").tandem, "n/a");
  assert.equal(row(r, "pair: tandem / Linux throughput, %").linux, "n/a");
  assert.equal(row(r, "one unit: tandem / kernel, TCP 8 streams, %").tandem, "n/a");
  assert.equal(row(r, "one unit: RTT p50 added over Linux, µs").tandem, "n/a");
  assert.equal(row(r, "pair: longest loop pause under saturation, ms").tandem, "n/a");
  assert.equal(row(r, "pair: busy-poll CPU during the RTT test, % of a core").tandem, "n/a");
  assert.ok(!r.notes.some((n) => /Loop pause/.test(n)));
  assert.ok(
    r.notes.includes("Linux column not measured: Linux reference pair needs keepalived on PATH."),
  );
  assert.ok(r.notes.includes("Failed: tandem pair iperf3: refused."));
});
