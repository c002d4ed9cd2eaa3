import assert from "node:assert/strict";
import type { TrafficReport } from "../mod/lab/traffic.ts";
import {
  floodPace,
  type FloodSample,
  parseHpingSent,
  parseNetstat,
  type SynfloodFigures,
  synfloodResult,
} from "./synflood.ts";
import { textTable } from "./report.ts";

function report(o: { done?: number; churnDone?: number; stall?: number; churnStall?: number }) {
  return {
    tcp: {
      opened: 50,
      completed: o.done ?? 50,
      resets: 0,
      errors: 50 - (o.done ?? 50),
      corruptBytes: 0,
      maxStallMs: o.stall ?? 30,
      connectMaxMs: 3,
      p50RttMs: 0.5,
      p99RttMs: 2,
      bytes: 1,
      messages: 1,
    },
    churn: {
      opened: 200,
      completed: o.churnDone ?? 200,
      failed: 200 - (o.churnDone ?? 200),
      resets: 0,
      maxStallMs: o.churnStall ?? 40,
    },
    udp: { sent: 0, received: 0, corrupt: 0, lost: 0 },
    opsAroundMark: null,
    conns: [],
    errorSamples: [],
    startedAt: 0,
    endedAt: 1,
  } satisfies TrafficReport;
}

const tandemSample = (i: number): FloodSample => ({
  sent: 48_000 + 1000 * i,
  floodSeconds: 5,
  cookiesSent: 45_000 + 1000 * i,
  cookiesValid: 240 + i,
  cookiesInvalid: i,
  proxyEngaged: 1,
  backendCookiesSent: 0,
  backendCookiesValid: 0,
  backendCookiesInvalid: 0,
  tablePeak: 1200 + 100 * i,
  tableBefore: 60,
  tableCapacity: 1_048_576,
  report: report({ stall: 20 + 10 * i }),
});

const linuxSample = (i: number): FloodSample => ({
  sent: 50_000,
  floodSeconds: 5,
  backendCookiesSent: 40_000 + 5000 * i,
  backendCookiesValid: 0,
  backendCookiesInvalid: 0,
  tablePeak: 50_000 + 100 * i,
  tableBefore: 70,
  tableCapacity: 262_144,
  report: report({ churnDone: 198 + i, churnStall: 1000 }),
});

function figures(o: Partial<SynfloodFigures> = {}): SynfloodFigures {
  return {
    floodMs: 5000,
    pace: "-i u100",
    runs: 3,
    tandem: { label: "standby-forward", samples: [0, 1, 2].map(tandemSample) },
    linux: { label: "Linux pair (advert 1 s)", samples: [0, 1, 2].map(linuxSample) },
    ...o,
  };
}

const row = (r: ReturnType<typeof synfloodResult>, prefix: string) => {
  const x = r.rows.find((x) => x.metric.startsWith(prefix));
  assert.ok(x, `no row "${prefix}"`);
  return x;
};

Deno.test("synfloodResult: medians with ranges, rates per second, tandem-only rows n/a on Linux", () => {
  const r = synfloodResult(figures(), Date.UTC(2026, 10, 29));
  assert.equal(r.suite, "synflood");
  assert.equal(r.date, "2026-11-29");
  assert.equal(r.skipped, undefined);
  assert.deepEqual(row(r, "SYNs sent by hping3, per s"), {
    metric: "SYNs sent by hping3, per s",
    tandem: "9800 (9600–10000)",
    linux: "10000 (10000–10000)",
    target: "",
  });
  const answered = row(r, "SYNs answered with cookies by the appliance, per s");
  assert.equal(answered.tandem, "9200 (9000–9400)");
  assert.equal(answered.linux, "n/a");
  // 46 000 of 49 000 sent (the median run): 93.9%.
  assert.equal(row(r, "SYNs answered with cookies by the appliance, %").tandem, "93.9 (93.8–94.0)");
  assert.equal(row(r, "cookies validated").tandem, "241 (240–242)");
  assert.equal(row(r, "ACKs with an invalid cookie").linux, "n/a");
  assert.equal(row(r, "backend kernel: SYN cookies sent").linux, "9000 (8000–10000)");
  assert.equal(row(r, "backend kernel: SYN cookies sent").tandem, "0 (0–0)");
  assert.equal(row(r, "state table peak during").tandem, "1300 (1200–1400)");
  assert.equal(row(r, "state table peak during").linux, "50100 (50000–50200)");
  assert.equal(row(r, "state table peak, % of capacity").tandem, "0.12 (0.11–0.13)");
  assert.equal(row(r, "state table peak, % of capacity").linux, "19.11 (19.07–19.15)");
  assert.equal(row(r, "legitimate persistent").tandem, "150/150");
  assert.equal(row(r, "legitimate new sessions").linux, "597/600");
  assert.equal(row(r, "longest stall").tandem, "30 (20–40) / 40 (40–40)");
  assert.equal(row(r, "longest stall").linux, "30 (30–30) / 1000 (1000–1000)");
  assert.ok(r.notes.some((n) => /SYN cookies live on the backends/.test(n)));
  // The fabricated Linux backends did send cookies: no "sent no cookies" note.
  assert.ok(!r.notes.some((n) => /sent no cookies/.test(n)));
  assert.ok(
    r.notes.some((n) =>
      /Highest peak: tandem's flow table 1400 entries, Linux's conntrack 50200/.test(n)
    ),
  );
  assert.ok(textTable(r).includes("synflood"));
});

Deno.test("synfloodResult: a skipped Linux side is n/a with its reason; failed runs are noted", () => {
  const r = synfloodResult(
    figures({
      runs: 2,
      tandem: {
        label: "standby-forward",
        samples: [tandemSample(0), { error: "lab up failed" }],
      },
      linux: { label: "Linux pair (advert 1 s)", samples: [], skipped: "needs conntrackd" },
    }),
    0,
  );
  for (const x of r.rows) assert.equal(x.linux, "n/a", x.metric);
  // The failed run adds nothing: the one good run alone, no range.
  assert.equal(row(r, "SYNs sent by hping3").tandem, "48000");
  assert.equal(row(r, "legitimate persistent").tandem, "50/50");
  assert.ok(r.notes.some((n) => n === "Linux pair (advert 1 s) not measured: needs conntrackd."));
  assert.ok(r.notes.some((n) => n === "Failed (standby-forward): lab up failed."));
  assert.ok(!r.notes.some((n) => n.startsWith("Highest peak")));
});

Deno.test("synfloodResult: missing figures are n/a, not NaN or 0", () => {
  const r = synfloodResult(
    figures({
      tandem: { label: "standby-forward", samples: [{ sent: 100 }] },
      linux: { label: "Linux pair (advert 1 s)", samples: [{ error: "boom" }] },
    }),
    0,
  );
  assert.equal(row(r, "SYNs sent by hping3, per s").tandem, "n/a");
  assert.equal(row(r, "state table peak, % of capacity").tandem, "n/a");
  assert.equal(row(r, "legitimate persistent").tandem, "n/a");
  assert.equal(row(r, "longest stall").linux, "n/a / n/a");
  for (const x of r.rows) assert.ok(!/NaN|undefined/.test(x.tandem + x.linux), x.metric);
});

Deno.test("synfloodResult: Linux backends that sent no cookies get a note saying why", () => {
  const quiet = (i: number): FloodSample => ({ ...linuxSample(i), backendCookiesSent: 0 });
  const r = synfloodResult(
    figures({ linux: { label: "Linux pair (advert 1 s)", samples: [0, 1].map(quiet) } }),
    0,
  );
  assert.ok(r.notes.some((n) => /Linux backends sent no cookies/.test(n)));
});

Deno.test("parsers: hping3's statistics, TcpExt counters, the pace", () => {
  const hping = "HPING 198.51.100.10 (eth0 198.51.100.10): S set, 40 headers + 0 data bytes\n\n" +
    "--- 198.51.100.10 hping statistic ---\n" +
    "19874 packets transmitted, 19870 packets received, 1% packet loss\n";
  assert.equal(parseHpingSent(hping), 19874);
  assert.equal(parseHpingSent("hping3: bad"), undefined);
  const netstat = "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts\n" +
    "TcpExt: 12 3 1 0\n" +
    "IpExt: InNoRoutes InTruncatedPkts\n" +
    "IpExt: 0 0\n";
  assert.deepEqual(parseNetstat(netstat), {
    SyncookiesSent: 12,
    SyncookiesRecv: 3,
    SyncookiesFailed: 1,
    EmbryonicRsts: 0,
  });
  assert.deepEqual(floodPace(undefined), ["-i", "u100"]);
  assert.deepEqual(floodPace("flood"), ["--flood"]);
});
