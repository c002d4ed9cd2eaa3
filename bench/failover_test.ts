import assert from "node:assert/strict";
import type { TrafficReport } from "../mod/lab/traffic.ts";
import { type Column, failoverResult, type Sample, SCENARIOS } from "./failover.ts";

function report(o: { done?: number; stall?: number; churnStall?: number }): TrafficReport {
  return {
    tcp: {
      opened: 50,
      completed: o.done ?? 50,
      resets: 50 - (o.done ?? 50),
      errors: 0,
      corruptBytes: 0,
      maxStallMs: o.stall ?? 30,
      connectMaxMs: 3,
      p50RttMs: 0.5,
      p99RttMs: 2,
      bytes: 1,
      messages: 1,
    },
    churn: { opened: 300, completed: 300, failed: 0, resets: 0, maxStallMs: o.churnStall ?? 40 },
    udp: { sent: 100, received: 100, corrupt: 0, lost: 0 },
    opsAroundMark: null,
    conns: [],
    errorSamples: [],
    startedAt: 0,
    endedAt: 1,
  };
}

const sample = (o: Partial<Sample> & { stall?: number; done?: number } = {}): Sample => ({
  report: report({ stall: o.stall, done: o.done }),
  detectionMs: o.detectionMs,
  replayed: o.replayed ?? 0,
  resent: o.resent ?? 0,
  lost: o.lost ?? 0,
  commandMs: o.commandMs,
  falseFailovers: o.falseFailovers,
});

function column(label: string, f: (i: number) => Sample): Column {
  const c: Column = { label, samples: {} };
  for (const sc of SCENARIOS) c.samples[sc] = [0, 1, 2].map(f);
  return c;
}

Deno.test("failoverResult: each scenario's figures, three modes side by side beside Linux", () => {
  const modes = ["active-forward", "standby-forward", "standby-first"].map((m, k) =>
    column(m, (i) => sample({ stall: 20 + i + k, detectionMs: 24 + i, replayed: 5, resent: 1 }))
  );
  const linux: Column = {
    label: "Linux pair",
    samples: { "freeze active": [sample({ stall: 600, detectionMs: 280 })] },
  };
  const r = failoverResult(modes, linux, 0, 3);
  const row = (m: string) => r.rows.find((x) => x.metric === m)!;
  assert.equal(
    row("kill standby: longest stall, persistent / churn, ms").tandem,
    "21 (20–22) / 40 (40–40) · 22 (21–23) / 40 (40–40) · 23 (22–24) / 40 (40–40)",
  );
  assert.equal(row("freeze active: detection, ms").tandem, "25 (24–26) · 25 (24–26) · 25 (24–26)");
  assert.equal(row("freeze active: detection, ms").linux, "280");
  assert.equal(row("freeze active: longest stall, persistent / churn, ms").linux, "600 / 40");
  assert.equal(row("kill active: detection, ms").linux, "n/a", "not run on Linux");
  assert.equal(
    row("4 s split: connections surviving, done/opened").tandem,
    "1050/1050 · 1050/1050 · 1050/1050",
  );
  assert.equal(
    row("freeze standby: frames replayed / peer-link batches resent").tandem,
    "15 / 3 · 15 / 3 · 15 / 3",
  );
  assert.equal(row("5% peer-link loss: peer-link batches lost for good").tandem, "0 · 0 · 0");
  // Detection only for failures, false failovers only where no unit fails.
  assert.equal(r.rows.filter((x) => /detection/.test(x.metric)).length, 4);
  assert.deepEqual(
    r.rows.filter((x) => /false failovers/.test(x.metric)).map((x) => x.metric),
    ["planned switchover: false failovers", "5% peer-link loss: false failovers"],
  );
});

Deno.test("failoverResult: lost connections show in the counts; errors and skips are noted", () => {
  const bad = column("standby-first", (i) => (i === 1 ? { error: "lab: boom" } : sample()));
  bad.samples["kill active"] = [sample({ done: 49 })];
  const r = failoverResult([bad], undefined, 0, 3, "needs keepalived");
  const row = (m: string) => r.rows.find((x) => x.metric === m)!;
  assert.equal(row("kill active: connections surviving, done/opened").tandem, "349/350");
  assert.equal(row("kill active: connections surviving, done/opened").linux, "n/a");
  assert.equal(row("freeze active: connections surviving, done/opened").tandem, "700/700");
  assert.ok(r.notes.includes("Linux column not measured: needs keepalived."));
  assert.ok(r.notes.includes("Failed (standby-first, freeze active): lab: boom."));
});
