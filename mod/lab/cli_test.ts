import assert from "node:assert/strict";
import { labMain } from "./cli.ts";
import { demoSummary } from "./demo.ts";
import type { TrafficReport } from "./traffic.ts";

/** Runs `labMain` with console.error captured. */
async function quiet(args: string[]): Promise<{ code: number; err: string }> {
  const orig = console.error;
  let err = "";
  console.error = (...a: unknown[]) => {
    err += a.join(" ") + "\n";
  };
  try {
    return { code: await labMain(args), err };
  } finally {
    console.error = orig;
  }
}

Deno.test("lab CLI: bad usage exits 2 with one message naming the problem", async () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [["bogus"], /unknown command "bogus"/],
    [["up", "--mode", "sideways"], /--mode/],
    [["up", "--prefix", "Bad-Prefix"], /--prefix/],
    [["up", "--units", "a,c"], /--units/],
    [["up", "--hold-new-flows", "soon"], /--hold-new-flows/],
    [["crash", "c"], /unit a or b/],
    [["restart", "a"], /--role/],
    [["down", "--frobnicate"], /frobnicate/],
    [["traffic", "--conns", "many"], /--conns/],
  ];
  for (const [args, re] of cases) {
    const r = await quiet(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err, re, args.join(" "));
  }
});

Deno.test("demo summary reports survival, stall and the survivor's state", () => {
  const report: TrafficReport = {
    tcp: {
      opened: 100,
      completed: 100,
      resets: 0,
      errors: 0,
      corruptBytes: 0,
      maxStallMs: 42.25,
      p50RttMs: 0.2,
      p99RttMs: 1.5,
      bytes: 1,
      messages: 1,
    },
    churn: { opened: 1000, completed: 999, failed: 1, resets: 0, maxStallMs: 50 },
    udp: { sent: 10, received: 9, corrupt: 0, lost: 1 },
    opsAroundMark: { markAt: 1, windowMs: 50, opened: 10, completed: 10, failed: 0 },
    conns: [],
    errorSamples: [],
    startedAt: 0,
    endedAt: 1,
  };
  const lines = demoSummary("standby-forward", "a", "b", report, {
    state: "solo",
    receiver: true,
    forwarder: true,
  }).join("\n");
  assert.match(lines, /connections survived: 100\/100 \(resets 0, errors 0, corrupt bytes 0\)/);
  assert.match(lines, /longest stall: 42\.3 ms/);
  assert.match(lines, /999\/1000 completed; 10\/10 of those opened in the 50 ms before the crash/);
  assert.match(lines, /udp: 10 sent, 9 echoed, 1 lost/);
  assert.match(lines, /took over: unit b \(state solo, receiver\+forwarder\)/);
  const noStatus = demoSummary("standby-first", "a", "b", report, "curl failed").join("\n");
  assert.match(noStatus, /unit b did not report a status \(curl failed\)/);
});
