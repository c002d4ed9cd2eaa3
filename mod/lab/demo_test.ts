import assert from "node:assert/strict";
import {
  type DemoRun,
  demoSummary,
  labDemo,
  linuxPrefix,
  progressBar,
  rolesOf,
  survivalLine,
} from "./demo.ts";
import { listNamespaces, requireLabTools } from "./harness.ts";
import { linuxMissing } from "./linux_pair.ts";
import { checkPrefix, labStateDir } from "./topology.ts";
import type { TrafficReport } from "./traffic.ts";

function report(over: Partial<TrafficReport["tcp"]> = {}): TrafficReport {
  return {
    tcp: {
      opened: 100,
      completed: 100,
      resets: 0,
      errors: 0,
      corruptBytes: 0,
      maxStallMs: 42.25,
      connectMaxMs: 3,
      p50RttMs: 0.2,
      p99RttMs: 1.5,
      bytes: 1,
      messages: 1,
      ...over,
    },
    churn: { opened: 1000, completed: 999, failed: 1, resets: 0, maxStallMs: 1012.6 },
    udp: { sent: 10, received: 9, corrupt: 0, lost: 1 },
    opsAroundMark: { markAt: 1, windowMs: 50, opened: 10, completed: 10, failed: 0 },
    conns: [],
    errorSamples: [],
    startedAt: 0,
    endedAt: 1,
  };
}

Deno.test("demo: roles, progress bar and survival line read as plain text", () => {
  assert.equal(
    rolesOf({ state: "solo", receiver: true, forwarder: true }),
    "solo, receiver+forwarder",
  );
  assert.equal(
    rolesOf({ state: "standby", receiver: false, forwarder: true }),
    "standby, forwarder",
  );
  assert.equal(rolesOf({ state: "active" }), "active, neither receiver nor forwarder");
  assert.equal(rolesOf("curl failed"), "no status");
  assert.equal(progressBar("traffic", 1500, 3000, 10), "traffic [#####.....] 1.5 / 3.0 s");
  assert.equal(progressBar("traffic", 4000, 3000, 4), "traffic [####] 3.0 / 3.0 s");
  assert.equal(
    survivalLine(report()),
    "100/100 echo connections and 999/1000 short ones completed (resets 0, corrupt bytes 0); " +
      "longest stall 42 ms",
  );
});

Deno.test("demo summary: tandem beside the Linux pair, figure by figure", () => {
  const tandem: DemoRun = {
    label: "tandem standby-forward",
    report: report(),
    detectionMs: 48.4,
    after: "b solo, receiver+forwarder",
    errors: [],
  };
  const linux: DemoRun = {
    label: "Linux pair (VRRP 0.1 s)",
    report: report({ completed: 97, maxStallMs: 660 }),
    detectionMs: 270,
    after: "b master",
    errors: ["traffic generator did not finish"],
  };
  const lines = demoSummary("a", tandem, linux);
  assert.equal(lines[0], "Unit a crashed under traffic:");
  const row = (name: string) => lines.find((l) => l.trimStart().startsWith(name)) ?? "";
  assert.match(lines[1]!, /^ +tandem standby-forward +Linux pair \(VRRP 0\.1 s\)$/);
  assert.match(row("echo connections that survived"), /100\/100 +97\/100$/);
  assert.match(row("failure detection"), /48 ms +270 ms$/);
  assert.match(row("longest stall, echo connections"), /42 ms +660 ms$/);
  assert.match(row("longest stall, short connections"), /1013 ms +1013 ms$/);
  assert.match(row("opened in the 50 ms before the crash"), /10\/10 +10\/10$/);
  assert.match(row("after the crash"), /b solo, receiver\+forwarder +b master$/);
  assert.equal(lines.at(-1), "Linux pair (VRRP 0.1 s): traffic generator did not finish");
  // Columns line up: every row's second column starts where the header's does.
  const col = lines[1]!.indexOf("tandem");
  assert.ok(
    lines.slice(2, 10).every((l) => l[col - 1] === " " && l[col] !== " "),
    lines.join("\n"),
  );

  const alone = demoSummary("b", { ...tandem, detectionMs: undefined }, {
    skipped: "Linux reference pair needs keepalived on PATH",
  });
  assert.match(alone[1]!, /^ +tandem standby-forward$/);
  assert.match(alone.find((l) => l.includes("failure detection"))!, /-$/);
  assert.equal(
    alone.at(-1),
    "Linux reference pair not run: Linux reference pair needs keepalived on PATH.",
  );
});

Deno.test("demo: the Linux lab's prefix is valid and never tandem's", () => {
  for (const p of ["tnd", "a", "abcdef", "abcdex"]) {
    const lx = linuxPrefix(p);
    assert.equal(checkPrefix(lx), null, lx);
    assert.notEqual(lx, p);
  }
});

const skip = requireLabTools();
if (skip !== null) console.warn(`skipping the lab demo run: ${skip}`);

Deno.test({
  name: "lab demo: tells each step, crashes unit b, reports both pairs, and leaves nothing behind",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prefix = "tdm";
    const lines: string[] = [];
    const progress: string[] = [];
    const r = await labDemo({
      prefix,
      mode: "standby-forward",
      crash: "b",
      conns: 20,
      phaseMs: 800,
      log: (l) => lines.push(l),
      progress: (p) => progress.push(p),
    });
    const text = lines.join("\n");
    const order = [
      /^tandem lab demo: mode standby-forward; unit b crashes under traffic/,
      /\] lab tdm up: /,
      /\] pair ready \(standby-forward\): a is active, receiver; b is standby, forwarder$/,
      /\] traffic steady: 20 echo connections/,
      /\] crashed unit b \(was standby, forwarder\)/,
      /\] takeover: unit a is solo, receiver\+forwarder, \d+ ms after the crash$/,
      /\] survival: 20\/20 echo connections/,
      /\] lab tdm down$/,
      /^Unit b crashed under traffic:$/,
    ];
    let at = 0;
    for (const re of order) {
      const i = lines.findIndex((l, k) => k >= at && re.test(l));
      assert.ok(i >= 0, `${re} after line ${at}:\n${text}`);
      at = i + 1;
    }
    assert.deepEqual(r.tandem.errors, [], text);
    assert.equal(r.tandem.report!.tcp.completed, 20, text);
    assert.equal(r.tandem.report!.churn.failed, 0, text);
    assert.ok(r.tandem.detectionMs !== undefined, text);
    assert.ok(progress.some((p) => /^traffic \[#+\.*\] /.test(p)), "a progress bar was shown");
    const lx = linuxMissing();
    if (lx === null) {
      assert.ok(!("skipped" in r.linux), text);
      assert.match(text, /\] Linux reference pair in lab tdmx: keepalived/);
      assert.match(text, /unit a stays the master/);
      assert.match(
        lines.find((l) => l.includes("echo connections that survived"))!,
        /20\/20 +\d+\/20$/,
      );
    } else {
      assert.match(text, new RegExp(`Linux reference pair skipped: `));
    }
    const left = (await listNamespaces()).filter((n) => /^tdmx?-/.test(n));
    assert.deepEqual(left, [], "every namespace removed");
    for (const p of [prefix, "tdmx"]) {
      await assert.rejects(Deno.stat(labStateDir(p)), Deno.errors.NotFound, `${p} state removed`);
    }
  },
});
