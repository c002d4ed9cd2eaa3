import assert from "node:assert/strict";
import { forwardResult, type ForwardSide } from "./forward.ts";

const udp = (pps: number, loss: number) => ({
  sent: Math.round((pps * 3) / (1 - loss)),
  received: pps * 3,
  seconds: 3,
  pps,
  loss,
});

const TANDEM: ForwardSide = {
  tcp1: { gbps: 8, retransmits: 10 },
  tcp8: { gbps: 9, retransmits: 0 },
  udp: udp(100_000, 0.2),
  rtt: { p50: 500, p99: 5000 },
  pairTcp1: { gbps: 3, retransmits: 4 },
  pairUdp: udp(80_000, 0.01),
  pairRtt: { p50: 550, p99: 6000 },
  errors: [],
};
const LINUX: ForwardSide = {
  tcp1: { gbps: 16, retransmits: 500 },
  tcp8: { gbps: 16, retransmits: 0 },
  udp: udp(130_000, 0),
  rtt: { p50: 200, p99: 900 },
  pairTcp1: { gbps: 15, retransmits: 700 },
  pairUdp: udp(130_000, 0),
  pairRtt: { p50: 210, p99: 800 },
  errors: [],
};

function row(r: ReturnType<typeof forwardResult>, metric: string) {
  const found = r.rows.find((x) => x.metric === metric);
  assert.ok(found, `row "${metric}"`);
  return found;
}

Deno.test("forwardResult puts both sides in one row and derives ratios and differences", () => {
  const r = forwardResult(TANDEM, LINUX, Date.UTC(2025, 5, 1));
  assert.equal(r.date, "2025-06-01");
  assert.deepEqual(row(r, "one unit: TCP 1 stream, Gbit/s"), {
    metric: "one unit: TCP 1 stream, Gbit/s",
    tandem: "8.00 (10 retr)",
    linux: "16.00 (500 retr)",
    target: "",
  });
  assert.equal(row(r, "one unit: RTT p50 added over Linux, µs").tandem, "300");
  assert.equal(row(r, "pair: tandem / Linux throughput, %").tandem, "20");
  assert.equal(row(r, "RTT p50 added by mirroring (pair − one unit), µs").tandem, "50");
  assert.equal(row(r, "RTT p50 added by mirroring (pair − one unit), µs").linux, "10");
  assert.equal(row(r, "one unit: UDP 64 B loss, %").tandem, "20.0");
  assert.ok(r.notes.some((n) => /20% of the Linux pair, short of 50%/.test(n)));
  assert.ok(r.notes.some((n) => /Mirroring adds 50 µs to the p50 RTT, within 100 µs/.test(n)));
  // 1% loss: the sender, not the pair, was the limit.
  assert.ok(r.notes.some((n) => /only offered/.test(n)));
});

Deno.test("forwardResult shows n/a and the reason when Linux was skipped or a step failed", () => {
  const r = forwardResult(
    { ...TANDEM, pairTcp1: undefined, errors: ["pair iperf3: refused"] },
    { errors: [], skipped: "Linux reference pair needs keepalived on PATH" },
    0,
  );
  assert.equal(row(r, "one unit: TCP 1 stream, Gbit/s").linux, "n/a");
  assert.equal(row(r, "pair: TCP 1 stream, Gbit/s").tandem, "n/a");
  assert.equal(row(r, "pair: tandem / Linux throughput, %").tandem, "n/a");
  assert.ok(
    r.notes.includes("Linux column not measured: Linux reference pair needs keepalived on PATH."),
  );
  assert.ok(r.notes.includes("Failed: tandem pair iperf3: refused."));
});
