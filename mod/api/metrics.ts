/**
 * `/metrics`: a status snapshot rendered in the Prometheus text exposition
 * format 0.0.4 (`# HELP`, `# TYPE`, one sample per line, `\n` line ends).
 * @module
 */

import type { BackendHealth, BackendStatus, Histogram, StatusSnapshot } from "./snapshot.ts";

/** The Content-Type Prometheus expects for format 0.0.4. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
type Sample = { suffix?: string; labels?: Labels; value: number };

/** Label values escape `\`, `"` and newline (exposition format spec). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes only `\` and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Go-style float text: `NaN`, `+Inf`, `-Inf`, otherwise the shortest round-trip form. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** ms → s without binary noise such as 0.30000000000000004 in `le` labels. */
function msToSeconds(ms: number): number {
  return Number((ms / 1000).toPrecision(12));
}

/** Any string → a legal metric-name fragment `[a-z0-9_]`. */
function sanitizeName(s: string): string {
  const out = s.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return out === "" ? "unnamed" : out;
}

function renderLabels(labels: Labels | undefined): string {
  if (!labels) return "";
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return "{" + keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(",") + "}";
}

class Writer {
  readonly lines: string[] = [];

  family(
    name: string,
    type: "counter" | "gauge" | "histogram",
    help: string,
    samples: Sample[],
  ): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`);
    this.lines.push(`# TYPE ${name} ${type}`);
    for (const s of samples) {
      this.lines.push(`${name}${s.suffix ?? ""}${renderLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }

  histogram(name: string, help: string, h: Histogram): void {
    const samples: Sample[] = [];
    const n = Math.min(h.bounds.length, h.counts.length);
    for (let i = 0; i < n; i++) {
      samples.push({
        suffix: "_bucket",
        labels: { le: formatValue(msToSeconds(h.bounds[i]!)) },
        value: h.counts[i]!,
      });
    }
    // The +Inf bucket always equals _count (exposition format requirement).
    samples.push({ suffix: "_bucket", labels: { le: "+Inf" }, value: h.count });
    samples.push({ suffix: "_sum", value: msToSeconds(h.sum) });
    samples.push({ suffix: "_count", value: h.count });
    this.family(name, "histogram", help, samples);
  }
}

/** Counter keys with a dedicated labelled family instead of `tandem_<name>_total`. */
const DIRECTIONAL: Record<string, { family: "packets" | "bytes"; dir: "rx" | "tx" }> = {
  rx_packets: { family: "packets", dir: "rx" },
  tx_packets: { family: "packets", dir: "tx" },
  rx_bytes: { family: "bytes", dir: "rx" },
  tx_bytes: { family: "bytes", dir: "tx" },
};

/** Family stems used by this file; a generic counter with the same stem is renamed. */
const RESERVED_STEMS = new Set(["packets", "bytes", "drops"]);

/** Counters that are not monotonic: the loop's longest pauses, in µs, shown as seconds. */
const LOOP_GAUGES: Record<string, string> = {
  loop_longest_pause_us: "tandem_loop_longest_pause_seconds",
  loop_longest_pause_60s_us: "tandem_loop_longest_pause_60s_seconds",
};
const LOOP_GAUGE_HELP: Record<string, string> = {
  tandem_loop_longest_pause_seconds:
    "Longest time the data-plane loop went without reading frames, since start.",
  tandem_loop_longest_pause_60s_seconds:
    "Longest time the data-plane loop went without reading frames, in the last 60 s.",
};

/** Renders every counter, gauge and histogram of one snapshot. */
export function renderMetrics(s: StatusSnapshot): string {
  const w = new Writer();
  const packets: Sample[] = [];
  const bytes: Sample[] = [];
  const drops: Sample[] = [];
  const other = new Map<string, number>();
  const gauges: [name: string, seconds: number][] = [];

  for (const key of Object.keys(s.counters).sort()) {
    const value = s.counters[key]!;
    const d = DIRECTIONAL[key];
    if (d) {
      (d.family === "packets" ? packets : bytes).push({ labels: { dir: d.dir }, value });
    } else if (key.startsWith("drop_")) {
      drops.push({ labels: { reason: key.slice(5) }, value });
    } else if (LOOP_GAUGES[key]) {
      gauges.push([LOOP_GAUGES[key]!, value / 1e6]);
    } else {
      let stem = sanitizeName(key).replace(/_total$/, "");
      if (RESERVED_STEMS.has(stem)) stem = `counter_${stem}`;
      const name = `tandem_${stem}_total`;
      // Two keys that sanitize to the same name are summed rather than emitted twice.
      other.set(name, (other.get(name) ?? 0) + value);
    }
  }

  w.family("tandem_packets_total", "counter", "Frames read (rx) and written (tx).", packets);
  w.family("tandem_bytes_total", "counter", "Bytes read (rx) and written (tx).", bytes);
  w.family("tandem_drops_total", "counter", "Frames dropped, by reason.", drops);
  for (const [name, value] of other) {
    w.family(name, "counter", `Counter ${name.slice(7, -6)}.`, [{ value }]);
  }
  for (const [name, value] of gauges) {
    w.family(name, "gauge", LOOP_GAUGE_HELP[name]!, [{ value }]);
  }

  const bool = (b: boolean): number => (b ? 1 : 0);
  w.family("tandem_build_info", "gauge", "Version of this unit; always 1.", [
    { labels: { version: s.version, node: s.node }, value: 1 },
  ]);
  w.family("tandem_role_info", "gauge", "Boot role, current state and mode; always 1.", [
    { labels: { role: s.role, state: s.state, mode: s.mode }, value: 1 },
  ]);
  w.family("tandem_receiver", "gauge", "1 while this unit owns the floating addresses.", [
    { value: bool(s.receiver) },
  ]);
  w.family("tandem_forwarder", "gauge", "1 while this unit emits packets to endpoints.", [
    { value: bool(s.forwarder) },
  ]);
  w.family("tandem_flows", "gauge", "Flows in the connection table.", [{ value: s.flows.count }]);
  w.family("tandem_flow_capacity", "gauge", "Capacity of the connection table.", [
    { value: s.flows.capacity },
  ]);
  w.family("tandem_peer_up", "gauge", "1 while the peer's heartbeats arrive.", [
    { value: bool(s.peer.state === "up") },
  ]);
  // Unknown values are omitted rather than faked: an absent series is honest.
  w.family(
    "tandem_peer_heartbeat_age_seconds",
    "gauge",
    "Age of the peer's last authenticated heartbeat.",
    s.peer.lastHeartbeatAgeMs === null ? [] : [{ value: msToSeconds(s.peer.lastHeartbeatAgeMs) }],
  );
  w.family(
    "tandem_peer_rtt_seconds",
    "gauge",
    "Latest heartbeat round-trip time.",
    s.peer.rttMs === null ? [] : [{ value: msToSeconds(s.peer.rttMs) }],
  );
  w.family(
    "tandem_peer_config_match",
    "gauge",
    "1 when the peer's service definitions equal ours.",
    s.peer.configMatch === null ? [] : [{ value: bool(s.peer.configMatch) }],
  );
  w.family("tandem_sync_progress_ratio", "gauge", "Bulk sync progress, 0 to 1.", [
    { value: syncRatio(s.sync) },
  ]);
  w.family("tandem_uptime_seconds", "gauge", "Seconds since this unit started.", [
    { value: s.uptimeSeconds },
  ]);

  renderServices(w, s);
  renderFailsafe(w, s);
  renderConfig(w, s);

  w.histogram(
    "tandem_heartbeat_rtt_seconds",
    "Heartbeat round-trip time on the peer link.",
    s.histograms.heartbeatRttMs,
  );
  w.histogram(
    "tandem_mirror_lag_seconds",
    "Delay from mirroring a frame to the peer's ack.",
    s.histograms.mirrorLagMs,
  );
  return w.lines.join("\n") + "\n";
}

/** Every value of `BackendStatus.state`: one 0/1 series each, so a query can sum over them. */
export const BACKEND_STATES: readonly BackendStatus["state"][] = [
  "up",
  "down",
  "draining",
  "maintenance",
];

/** 1 up, 0 down; unchecked (or no peer) has no sample rather than a made-up one. */
function healthValue(h: BackendHealth | null): number | undefined {
  return h === "up" ? 1 : h === "down" ? 0 : undefined;
}

function renderServices(w: Writer, s: StatusSnapshot): void {
  const state: Sample[] = [], up: Sample[] = [], health: Sample[] = [];
  const flows: Sample[] = [], weight: Sample[] = [], serviceUp: Sample[] = [];
  for (const svc of s.services) {
    serviceUp.push({ labels: { service: svc.name }, value: svc.backendsUp });
    for (const b of svc.backends) {
      const labels = { service: svc.name, backend: b.address };
      for (const st of BACKEND_STATES) {
        state.push({ labels: { ...labels, state: st }, value: b.state === st ? 1 : 0 });
      }
      up.push({ labels, value: b.state === "up" ? 1 : 0 });
      for (const [view, h] of [["self", b.health], ["peer", b.peerHealth]] as const) {
        const value = healthValue(h);
        if (value !== undefined) health.push({ labels: { ...labels, view }, value });
      }
      flows.push({ labels, value: b.flows });
      weight.push({ labels, value: b.weight });
    }
  }
  w.family(
    "tandem_backend_state",
    "gauge",
    "1 for the backend's current state (up, down, draining, maintenance), 0 for the others.",
    state,
  );
  w.family("tandem_backend_up", "gauge", "1 while the backend takes new flows.", up);
  w.family(
    "tandem_backend_health",
    "gauge",
    "Health check verdict, 1 up, 0 down, by this unit (view=self) and its peer (view=peer).",
    health,
  );
  w.family("tandem_backend_flows", "gauge", "Flows in the table that go to the backend.", flows);
  w.family("tandem_backend_weight", "gauge", "Scheduler weight of the backend.", weight);
  w.family(
    "tandem_service_backends_up",
    "gauge",
    "Backends of the service that take new flows.",
    serviceUp,
  );
}

function renderFailsafe(w: Writer, s: StatusSnapshot): void {
  const f = s.failsafe;
  const bool = (b: boolean): number => (b ? 1 : 0);
  w.family(
    "tandem_failsafe_healthy",
    "gauge",
    "1 when every fail-safe check passes and this unit may hold the addresses.",
    [{ value: bool(f.healthy) }],
  );
  w.family(
    "tandem_peer_failsafe_healthy",
    "gauge",
    "The peer's tandem_failsafe_healthy, from its heartbeats.",
    f.peerHealthy === null ? [] : [{ value: bool(f.peerHealthy) }],
  );
  w.family(
    "tandem_failsafe_check_up",
    "gauge",
    "1 while the monitored link or gateway passes its check.",
    f.checks.map((c) => ({
      labels: { name: c.name, kind: c.kind, target: c.target },
      value: bool(c.up),
    })),
  );
  w.family(
    "tandem_maintenance",
    "gauge",
    "1 while the unit is in maintenance and will not hold the addresses.",
    [{ value: bool(f.maintenance) }],
  );
  w.family("tandem_preempt", "gauge", "1 when this unit takes the addresses back on return.", [
    { value: bool(f.preempt) },
  ]);
}

/**
 * Unix ms → s. Not {@link msToSeconds}: 12 significant digits would drop the milliseconds of a
 * current date; a correctly rounded division prints as the exact decimal anyway.
 */
function unixSeconds(ms: number): number {
  return ms / 1000;
}

function renderConfig(w: Writer, s: StatusSnapshot): void {
  const r = s.config.lastReload;
  w.family(
    "tandem_config_last_reload_ok",
    "gauge",
    "1 when the last reload applied, 0 when it was refused; absent before the first reload.",
    r === null ? [] : [{ value: r.ok ? 1 : 0 }],
  );
  w.family(
    "tandem_config_last_reload_timestamp_seconds",
    "gauge",
    "Unix time of the last reload, applied or not.",
    r === null ? [] : [{ value: unixSeconds(r.at) }],
  );
  w.family(
    "tandem_config_loaded_timestamp_seconds",
    "gauge",
    "Unix time of the last successful load or reload.",
    [{ value: unixSeconds(s.config.loadedAt) }],
  );
}

/** Progress of the bulk sync (claims 20, 21); a finished or empty sync counts as complete. */
export function syncRatio(sync: StatusSnapshot["sync"]): number {
  if (sync.state === "done") return 1;
  if (sync.total <= 0) return sync.state === "idle" ? 1 : 0;
  return Math.min(1, Math.max(0, sync.done / sync.total));
}
