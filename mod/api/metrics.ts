/**
 * `/metrics`: a status snapshot rendered in the Prometheus text exposition
 * format 0.0.4 (`# HELP`, `# TYPE`, one sample per line, `\n` line ends).
 * @module
 */

import type { Histogram, StatusSnapshot } from "./snapshot.ts";

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

/** Renders every counter, gauge and histogram of one snapshot. */
export function renderMetrics(s: StatusSnapshot): string {
  const w = new Writer();
  const packets: Sample[] = [];
  const bytes: Sample[] = [];
  const drops: Sample[] = [];
  const other = new Map<string, number>();

  for (const key of Object.keys(s.counters).sort()) {
    const value = s.counters[key]!;
    const d = DIRECTIONAL[key];
    if (d) {
      (d.family === "packets" ? packets : bytes).push({ labels: { dir: d.dir }, value });
    } else if (key.startsWith("drop_")) {
      drops.push({ labels: { reason: key.slice(5) }, value });
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

/** Progress of the bulk sync (claims 20, 21); a finished or empty sync counts as complete. */
export function syncRatio(sync: StatusSnapshot["sync"]): number {
  if (sync.state === "done") return 1;
  if (sync.total <= 0) return sync.state === "idle" ? 1 : 0;
  return Math.min(1, Math.max(0, sync.done / sync.total));
}
