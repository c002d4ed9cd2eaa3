import assert from "node:assert/strict";
import {
  BACKEND_STATES,
  escapeLabelValue,
  formatValue,
  renderMetrics,
  syncRatio,
} from "./metrics.ts";
import { DROP_REASONS, fixtureSnapshot } from "./testdata/fixture.ts";

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = "(?:NaN|[+-]Inf|[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)";
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (${VALUE})$`);
const LABEL_RE = new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`, "g");

function unescape(v: string): string {
  return v.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(v: string): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  return Number(v);
}

/**
 * A strict reader of the text format 0.0.4: throws on any line that breaks the
 * grammar, on a sample without a preceding TYPE, on a family split in two, on
 * duplicate series, and on histogram rules (cumulative buckets, +Inf = _count).
 */
function parseExposition(text: string): { types: Map<string, string>; samples: ParsedSample[] } {
  assert.ok(text.endsWith("\n"), "output ends with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: ParsedSample[] = [];
  const seenSeries = new Set<string>();
  const closedFamilies = new Set<string>();
  let current: string | undefined;
  const familyOf = (name: string): string => {
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && types.get(base) === "histogram") return base;
    }
    return name;
  };
  const lines = text.slice(0, -1).split("\n");
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.match(name, new RegExp(`^${NAME}$`), where);
      if (kind === "HELP") {
        assert.ok(!helps.has(name), `duplicate HELP, ${where}`);
        assert.doesNotMatch(rest, /\\[^\\n]/, `bad HELP escape, ${where}`);
        helps.add(name);
      } else {
        assert.ok(!types.has(name), `duplicate TYPE, ${where}`);
        assert.ok(["counter", "gauge", "histogram", "summary", "untyped"].includes(rest), where);
        assert.ok(!closedFamilies.has(name), `TYPE after samples, ${where}`);
        types.set(name, rest);
      }
      continue;
    }
    assert.ok(!line.startsWith("#"), `unexpected comment, ${where}`);
    const m = SAMPLE_RE.exec(line);
    assert.ok(m, `not a sample, ${where}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? "").matchAll(LABEL_RE)) {
      assert.ok(!(lm[1]! in labels), `duplicate label, ${where}`);
      labels[lm[1]!] = unescape(lm[2]!);
    }
    const family = familyOf(name);
    assert.ok(types.has(family), `sample before its TYPE, ${where}`);
    if (current !== family) {
      assert.ok(!closedFamilies.has(family), `family ${family} is split, ${where}`);
      if (current) closedFamilies.add(current);
      current = family;
    }
    const series = name + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!seenSeries.has(series), `duplicate series, ${where}`);
    seenSeries.add(series);
    const type = types.get(family);
    if (type === "counter") assert.ok(name.endsWith("_total"), `counter without _total, ${where}`);
    if (type === "histogram" && name.endsWith("_bucket")) assert.ok("le" in labels, where);
    samples.push({ name, labels, value: parseValue(m[3]!) });
  }
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const buckets = samples.filter((s) => s.name === `${family}_bucket`);
    const les = buckets.map((b) => parseValue(b.labels.le!));
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(les[i]! > les[i - 1]!, `${family}: le increasing`);
      assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${family}: buckets cumulative`);
    }
    assert.equal(les.at(-1), Infinity, `${family}: last bucket is +Inf`);
    const count = samples.find((s) => s.name === `${family}_count`);
    assert.ok(count && samples.some((s) => s.name === `${family}_sum`), `${family}: sum+count`);
    assert.equal(buckets.at(-1)!.value, count.value, `${family}: +Inf equals _count`);
  }
  return { types, samples };
}

function find(samples: ParsedSample[], name: string, labels: Record<string, string> = {}) {
  return samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
}

Deno.test("metrics: output follows the text exposition grammar", () => {
  const { types, samples } = parseExposition(renderMetrics(fixtureSnapshot()));
  assert.equal(types.get("tandem_packets_total"), "counter");
  assert.equal(types.get("tandem_heartbeat_rtt_seconds"), "histogram");
  for (
    const g of [
      "tandem_flows",
      "tandem_flow_capacity",
      "tandem_role_info",
      "tandem_receiver",
      "tandem_forwarder",
      "tandem_peer_up",
      "tandem_peer_heartbeat_age_seconds",
      "tandem_sync_progress_ratio",
      "tandem_uptime_seconds",
    ]
  ) {
    assert.equal(types.get(g), "gauge", g);
    assert.equal(find(samples, g).length, 1, `${g} has one sample`);
  }
  assert.equal(find(samples, "tandem_packets_total", { dir: "rx" })[0]?.value, 1_234_567);
  assert.equal(find(samples, "tandem_bytes_total", { dir: "tx" })[0]?.value, 900_000_000);
  assert.equal(find(samples, "tandem_mirror_sent_total")[0]?.value, 1_234_000);
  // A counter name with characters illegal in metric names is sanitized, not dropped.
  assert.equal(find(samples, "tandem_garp_sent_total")[0]?.value, 3);
  assert.equal(
    find(samples, "tandem_role_info", { role: "active", state: "active", mode: "standby-forward" })
      .length,
    1,
  );
  assert.equal(find(samples, "tandem_receiver")[0]?.value, 1);
  assert.equal(find(samples, "tandem_forwarder")[0]?.value, 0);
  assert.equal(find(samples, "tandem_peer_heartbeat_age_seconds")[0]?.value, 0.004);
  assert.equal(find(samples, "tandem_sync_progress_ratio")[0]?.value, 0.75);
});

Deno.test("metrics: one tandem_drops_total series per drop_* counter, with its value", () => {
  const snap = fixtureSnapshot();
  const { samples } = parseExposition(renderMetrics(snap));
  const drops = find(samples, "tandem_drops_total");
  assert.equal(drops.length, DROP_REASONS.length);
  for (const reason of DROP_REASONS) {
    const s = find(samples, "tandem_drops_total", { reason });
    assert.equal(s.length, 1, reason);
    assert.equal(s[0]!.value, snap.counters[`drop_${reason}`]);
  }
  // drop_* counters never leak out as generic counters.
  assert.ok(!samples.some((s) => s.name.startsWith("tandem_drop_")));
});

Deno.test("metrics: histograms are converted from ms, cumulative, +Inf equals count", () => {
  const snap = fixtureSnapshot();
  const { samples } = parseExposition(renderMetrics(snap));
  for (
    const [family, h] of [
      ["tandem_heartbeat_rtt_seconds", snap.histograms.heartbeatRttMs],
      ["tandem_mirror_lag_seconds", snap.histograms.mirrorLagMs],
    ] as const
  ) {
    const buckets = find(samples, `${family}_bucket`);
    assert.equal(buckets.length, h.bounds.length + 1);
    h.bounds.forEach((b, i) => {
      assert.ok(Math.abs(parseValue(buckets[i]!.labels.le!) - b / 1000) < 1e-15, `${family} le`);
      assert.equal(buckets[i]!.value, h.counts[i]);
    });
    assert.equal(buckets.at(-1)!.labels.le, "+Inf");
    assert.equal(buckets.at(-1)!.value, h.count);
    assert.ok(Math.abs(find(samples, `${family}_sum`)[0]!.value - h.sum / 1000) < 1e-12);
    assert.equal(find(samples, `${family}_count`)[0]!.value, h.count);
  }
  // The fixture's 2000 ms lag observation lands only in +Inf.
  const lag = find(samples, "tandem_mirror_lag_seconds_bucket");
  assert.equal(lag.at(-1)!.value - lag.at(-2)!.value, 1);
});

Deno.test("metrics: hostile label values are escaped and read back intact", () => {
  const snap = fixtureSnapshot();
  snap.node = 'a"b\\c\nd';
  snap.version = "1.0\\";
  snap.counters['drop_we"ird\nreason'] = 5;
  const { samples } = parseExposition(renderMetrics(snap));
  assert.equal(find(samples, "tandem_build_info")[0]?.labels.node, 'a"b\\c\nd');
  assert.equal(find(samples, "tandem_build_info")[0]?.labels.version, "1.0\\");
  assert.equal(find(samples, "tandem_drops_total", { reason: 'we"ird\nreason' })[0]?.value, 5);
  assert.equal(escapeLabelValue('"\\\n'), '\\"\\\\\\n');
});

Deno.test("metrics: unknown peer values are omitted, not faked; special floats use Go spelling", () => {
  const snap = fixtureSnapshot();
  snap.peer = {
    state: "down",
    address: null,
    lastHeartbeatAgeMs: null,
    rttMs: null,
    configMatch: null,
  };
  snap.counters.rx_packets = NaN;
  const { types, samples } = parseExposition(renderMetrics(snap));
  assert.equal(types.get("tandem_peer_heartbeat_age_seconds"), "gauge");
  assert.equal(find(samples, "tandem_peer_heartbeat_age_seconds").length, 0);
  assert.equal(find(samples, "tandem_peer_rtt_seconds").length, 0);
  assert.equal(find(samples, "tandem_peer_up")[0]?.value, 0);
  assert.ok(Number.isNaN(find(samples, "tandem_packets_total", { dir: "rx" })[0]?.value));
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
});

Deno.test("metrics: a counter named like a labelled family does not collide with it", () => {
  const snap = fixtureSnapshot();
  snap.counters.packets = 9;
  snap.counters["mirror-sent"] = 1; // sanitizes to the same name as mirror_sent: summed
  const { samples } = parseExposition(renderMetrics(snap));
  assert.equal(find(samples, "tandem_counter_packets_total")[0]?.value, 9);
  assert.equal(find(samples, "tandem_mirror_sent_total")[0]?.value, 1_234_001);
});

Deno.test("metrics: the loop's longest pauses are gauges in seconds, not counters", () => {
  const snap = fixtureSnapshot();
  snap.counters.loop_longest_pause_us = 12_500;
  snap.counters.loop_longest_pause_60s_us = 3_000;
  snap.counters.loop_turns = 77;
  const { types, samples } = parseExposition(renderMetrics(snap));
  assert.equal(types.get("tandem_loop_longest_pause_seconds"), "gauge");
  assert.equal(find(samples, "tandem_loop_longest_pause_seconds")[0]?.value, 0.0125);
  assert.equal(find(samples, "tandem_loop_longest_pause_60s_seconds")[0]?.value, 0.003);
  assert.equal(find(samples, "tandem_loop_longest_pause_us_total").length, 0);
  assert.equal(find(samples, "tandem_loop_turns_total")[0]?.value, 77);
});

Deno.test("metrics: sync ratio", () => {
  assert.equal(syncRatio({ state: "receiving", done: 250, total: 1000 }), 0.25);
  assert.equal(syncRatio({ state: "receiving", done: 0, total: 0 }), 0);
  assert.equal(syncRatio({ state: "done", done: 0, total: 0 }), 1);
  assert.equal(syncRatio({ state: "idle", done: 0, total: 0 }), 1);
  assert.equal(syncRatio({ state: "sending", done: 2000, total: 1000 }), 1);
});

Deno.test("metrics: the grammar checker itself rejects broken exposition text", () => {
  const good = "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n";
  parseExposition(good);
  const broken = [
    "# TYPE x_total counter\nx_total 1", // no final newline
    "x_total 1\n", // sample without TYPE
    '# TYPE x gauge\nx{a="b"c"} 1\n', // unescaped quote
    "# TYPE x gauge\nx 1 2 3\n", // junk after the value
    "# TYPE x gauge\nx one\n", // not a number
    "# TYPE x gauge\nx 1\nx 2\n", // duplicate series
    '# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a="1"} 1\n', // split family
    "# TYPE h histogram\n" + 'h_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    "# TYPE h histogram\n" + 'h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    "# TYPE h histogram\n" + 'h_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', // no +Inf
  ];
  for (const text of broken) assert.throws(() => parseExposition(text), JSON.stringify(text));
});

Deno.test("metrics: backends: one state series per possible state, exactly one of them 1", () => {
  const snap = fixtureSnapshot();
  const { types, samples } = parseExposition(renderMetrics(snap));
  for (
    const g of [
      "tandem_backend_state",
      "tandem_backend_up",
      "tandem_backend_health",
      "tandem_backend_flows",
      "tandem_backend_weight",
      "tandem_service_backends_up",
    ]
  ) {
    assert.equal(types.get(g), "gauge", g);
  }
  const at = (backend: string) => ({ service: "echo", backend });
  const A = "203.0.113.20:7000", B = "203.0.113.21:7000";
  for (const [backend, current] of [[A, "up"], [B, "draining"]] as const) {
    const states = find(samples, "tandem_backend_state", at(backend));
    assert.deepEqual(states.map((x) => x.labels.state).sort(), [...BACKEND_STATES].sort());
    for (const x of states) assert.equal(x.value, x.labels.state === current ? 1 : 0, backend);
  }
  assert.equal(find(samples, "tandem_backend_up", at(A))[0]?.value, 1);
  assert.equal(find(samples, "tandem_backend_up", at(B))[0]?.value, 0);
  assert.equal(find(samples, "tandem_backend_flows", at(A))[0]?.value, 800);
  assert.equal(find(samples, "tandem_backend_flows", at(B))[0]?.value, 434);
  assert.equal(find(samples, "tandem_backend_weight", at(B))[0]?.value, 2);
  assert.equal(find(samples, "tandem_service_backends_up", { service: "echo" })[0]?.value, 1);
  // Own view and peer view: B is down here but up at the peer.
  assert.equal(find(samples, "tandem_backend_health", { ...at(B), view: "self" })[0]?.value, 0);
  assert.equal(find(samples, "tandem_backend_health", { ...at(B), view: "peer" })[0]?.value, 1);
  assert.equal(find(samples, "tandem_backend_health").length, 4);
});

Deno.test("metrics: unchecked backends and a missing peer view have no health sample", () => {
  const snap = fixtureSnapshot();
  const svc = snap.services[0]!;
  svc.backends[0] = { ...svc.backends[0]!, health: "unchecked", peerHealth: null };
  svc.backends[1] = { ...svc.backends[1]!, health: "up", peerHealth: "unchecked" };
  const { samples } = parseExposition(renderMetrics(snap));
  const health = find(samples, "tandem_backend_health");
  assert.deepEqual(health.map((x) => [x.labels.backend, x.labels.view, x.value]), [
    ["203.0.113.21:7000", "self", 1],
  ]);
  // No services at all: the families are still declared, with no samples.
  snap.services = [];
  const empty = parseExposition(renderMetrics(snap));
  assert.equal(empty.types.get("tandem_backend_state"), "gauge");
  assert.equal(find(empty.samples, "tandem_backend_state").length, 0);
});

Deno.test("metrics: hostile service and backend names are escaped and read back intact", () => {
  const snap = fixtureSnapshot();
  snap.services[0]!.name = 'we"b\\n\nx';
  snap.failsafe.checks = [{ name: 'gw"1', kind: "gateway", target: "a\nb\\", up: false }];
  const { samples } = parseExposition(renderMetrics(snap));
  assert.equal(find(samples, "tandem_service_backends_up", { service: 'we"b\\n\nx' }).length, 1);
  assert.equal(find(samples, "tandem_backend_up", { service: 'we"b\\n\nx' }).length, 2);
  assert.equal(
    find(samples, "tandem_failsafe_check_up", {
      name: 'gw"1',
      kind: "gateway",
      target: "a\nb\\",
    })[0]
      ?.value,
    0,
  );
});

Deno.test("metrics: fail-safes, maintenance and preemption", () => {
  const snap = fixtureSnapshot();
  let { types, samples } = parseExposition(renderMetrics(snap));
  for (
    const g of [
      "tandem_failsafe_healthy",
      "tandem_peer_failsafe_healthy",
      "tandem_failsafe_check_up",
      "tandem_maintenance",
      "tandem_preempt",
    ]
  ) {
    assert.equal(types.get(g), "gauge", g);
  }
  assert.equal(find(samples, "tandem_failsafe_healthy")[0]?.value, 1);
  assert.equal(find(samples, "tandem_peer_failsafe_healthy")[0]?.value, 1);
  assert.equal(
    find(samples, "tandem_failsafe_check_up", {
      name: "front",
      kind: "link",
      target: "tnd-front",
    })[0]
      ?.value,
    1,
  );
  assert.equal(find(samples, "tandem_maintenance")[0]?.value, 0);
  assert.equal(find(samples, "tandem_preempt")[0]?.value, 0);
  snap.failsafe = {
    ...snap.failsafe,
    maintenance: true,
    preempt: true,
    healthy: false,
    peerHealthy: null,
    checks: [
      { name: "front", kind: "link", target: "tnd-front", up: false },
      { name: "gw", kind: "gateway", target: "203.0.113.254", up: true },
    ],
  };
  ({ samples } = parseExposition(renderMetrics(snap)));
  assert.equal(find(samples, "tandem_failsafe_healthy")[0]?.value, 0);
  assert.equal(find(samples, "tandem_peer_failsafe_healthy").length, 0, "no peer: no sample");
  assert.equal(find(samples, "tandem_failsafe_check_up", { name: "front" })[0]?.value, 0);
  assert.equal(find(samples, "tandem_failsafe_check_up", { name: "gw" })[0]?.value, 1);
  assert.equal(find(samples, "tandem_maintenance")[0]?.value, 1);
  assert.equal(find(samples, "tandem_preempt")[0]?.value, 1);
});

Deno.test("metrics: config load and reload times in seconds, reload result 0/1", () => {
  const snap = fixtureSnapshot();
  let { types, samples } = parseExposition(renderMetrics(snap));
  assert.equal(types.get("tandem_config_last_reload_ok"), "gauge");
  assert.equal(find(samples, "tandem_config_last_reload_ok").length, 0, "no reload yet");
  assert.equal(find(samples, "tandem_config_last_reload_timestamp_seconds").length, 0);
  assert.equal(
    find(samples, "tandem_config_loaded_timestamp_seconds")[0]?.value,
    Date.UTC(2025, 0, 2, 3, 4, 5) / 1000,
  );
  // Milliseconds survive: 13 significant digits.
  snap.config.lastReload = { at: 1_767_225_600_123, ok: false, message: "bad backend" };
  ({ samples } = parseExposition(renderMetrics(snap)));
  assert.equal(find(samples, "tandem_config_last_reload_ok")[0]?.value, 0);
  assert.ok(
    renderMetrics(snap).includes("\ntandem_config_last_reload_timestamp_seconds 1767225600.123\n"),
  );
  snap.config.lastReload = { ...snap.config.lastReload, ok: true };
  ({ samples } = parseExposition(renderMetrics(snap)));
  assert.equal(find(samples, "tandem_config_last_reload_ok")[0]?.value, 1);
});
