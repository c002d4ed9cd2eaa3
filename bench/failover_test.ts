import assert from "node:assert/strict";
import type { TrafficReport } from "../mod/lab/traffic.ts";
import { failoverResult, type FailoverRun } from "./failover.ts";

function report(over: { tcpDone?: number; stall?: number; churnStall?: number }): TrafficReport {
  return {
    tcp: {
      opened: 50,
      completed: over.tcpDone ?? 50,
      resets: 50 - (over.tcpDone ?? 50),
      errors: 0,
      corruptBytes: 0,
      maxStallMs: over.stall ?? 80,
      connectMaxMs: 3,
      p50RttMs: 0.5,
      p99RttMs: 2,
      bytes: 1,
      messages: 1,
    },
    churn: {
      opened: 600,
      completed: 600,
      failed: 0,
      resets: 0,
      maxStallMs: over.churnStall ?? 90,
    },
    udp: { sent: 3000, received: 2990, corrupt: 0, lost: 10 },
    opsAroundMark: { markAt: 0, windowMs: 50, opened: 5, completed: 5, failed: 0 },
    conns: [],
    errorSamples: [],
    startedAt: 0,
    endedAt: 1,
  };
}

const run = (label: string, r: TrafficReport, detectionMs: number): FailoverRun => ({
  label,
  report: r,
  detectionMs,
  crashMs: 20,
  gbps: 2.5,
  errors: [],
});

Deno.test("failoverResult lists the three modes side by side beside Linux", () => {
  const r = failoverResult(
    [
      run("active-forward", report({}), 40),
      run("standby-forward", report({}), 45),
      run("standby-first", report({}), 48),
    ],
    run("Linux pair", report({ stall: 600 }), 290),
    0,
  );
  const row = (re: RegExp) => r.rows.find((x) => re.test(x.metric))!;
  assert.equal(row(/^persistent TCP/).tandem, "100 (50/50) · 100 (50/50) · 100 (50/50)");
  assert.equal(row(/^detection/).tandem, "40 · 45 · 48");
  assert.equal(row(/^detection/).linux, "290");
  assert.equal(row(/persistent conns, ms$/).linux, "600");
  assert.equal(row(/^churn opened/).tandem, "5/5 · 5/5 · 5/5");
  assert.ok(
    r.notes.includes(
      "Every tandem mode meets the survival, detection and stall targets in this run.",
    ),
  );
});

Deno.test("failoverResult names the modes that miss a target and why", () => {
  const r = failoverResult(
    [
      run("active-forward", report({ tcpDone: 49 }), 40),
      run("standby-forward", report({ churnStall: 1030 }), 61),
      { label: "standby-first", errors: ["lab: boom"] },
    ],
    undefined,
    0,
    "needs keepalived",
  );
  assert.equal(
    r.rows.find((x) => /^persistent TCP/.test(x.metric))!.tandem,
    "98 (49/50) · 100 (50/50) · n/a",
  );
  assert.ok(r.notes.includes("Connections lost in: active-forward."));
  assert.ok(r.notes.some((n) => /^Detection over 50 ms in: standby-forward /.test(n)));
  assert.ok(r.notes.some((n) => /^Churn stall near 1 s in: standby-forward:/.test(n)));
  assert.ok(r.notes.includes("Linux column not measured: needs keepalived."));
  assert.ok(r.notes.includes("Failed (standby-first): lab: boom."));
});
