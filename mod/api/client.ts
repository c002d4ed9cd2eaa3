/**
 * `tandem status [--api ADDR]`: fetch `/status` from a unit and print it as an
 * aligned table for a human at a terminal.
 * @module
 */

import type { StatusSnapshot } from "./snapshot.ts";
import { syncRatio } from "./metrics.ts";

export interface StatusCommandOptions {
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Where the table goes (default: stdout). */
  out?: (s: string) => void;
  /** Where errors go (default: stderr). */
  err?: (s: string) => void;
  /** Request timeout in ms (default 2000). */
  timeoutMs?: number;
}

/** `host:port` → `http://host:port/`; a full http(s) URL is used as given. Undefined if invalid. */
export function apiBaseUrl(api: string): URL | undefined {
  const text = /^https?:\/\//i.test(api) ? api : `http://${api}`;
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return url.hostname === "" ? undefined : url;
}

/** Structural check of the fields the table reads, so a foreign server cannot crash the CLI. */
function isSnapshot(x: unknown): x is StatusSnapshot {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  return typeof s.node === "string" && typeof s.mode === "string" &&
    typeof s.role === "string" && typeof s.state === "string" &&
    typeof s.receiver === "boolean" && typeof s.forwarder === "boolean" &&
    obj(s.peer) && typeof s.peer.state === "string" &&
    obj(s.sync) && typeof s.sync.done === "number" && typeof s.sync.total === "number" &&
    obj(s.flows) && typeof s.flows.count === "number" && typeof s.flows.digest === "string" &&
    obj(s.counters) && Array.isArray(s.events) && typeof s.uptimeSeconds === "number";
}

/** 3725 → "1h 2m 5s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (d || h) parts.push(`${h}h`);
  if (d || h || m) parts.push(`${m}m`);
  parts.push(`${s % 60}s`);
  return parts.join(" ");
}

function formatMs(v: number | null): string {
  if (v === null) return "–";
  return v < 1 ? `${Math.round(v * 1000)} µs` : `${v.toFixed(v < 10 ? 2 : 0)} ms`;
}

/** The table `tandem status` prints, one `key  value` row per line, keys padded to align. */
export function formatStatus(s: StatusSnapshot): string {
  const rows: [string, string][] = [];
  const duties = [s.receiver ? "receiver" : "", s.forwarder ? "forwarder" : ""].filter(Boolean);
  rows.push(["node", `${s.node} (tandem ${s.version})`]);
  rows.push(["mode", s.mode]);
  rows.push(["role/state", `${s.role} / ${s.state}`]);
  rows.push(["duties", duties.length ? duties.join(" + ") : "none (shadowing)"]);
  const peer: string[] = [s.peer.state];
  if (s.peer.address) peer.push(s.peer.address);
  peer.push(
    s.peer.lastHeartbeatAgeMs === null
      ? "no heartbeat yet"
      : `heartbeat ${formatMs(s.peer.lastHeartbeatAgeMs)} ago`,
  );
  if (s.peer.rttMs !== null) peer.push(`rtt ${formatMs(s.peer.rttMs)}`);
  if (s.peer.configMatch === false) peer.push("CONFIG DIFFERS");
  rows.push(["peer", peer.join("  ")]);
  const pct = Math.round(syncRatio(s.sync) * 100);
  rows.push(["sync", `${s.sync.state}  ${s.sync.done}/${s.sync.total} (${pct}%)`]);
  rows.push(["flows", `${s.flows.count} of ${s.flows.capacity}  digest ${s.flows.digest}`]);
  const c = s.counters;
  if (typeof c.rx_packets === "number" || typeof c.tx_packets === "number") {
    rows.push(["packets", `rx ${c.rx_packets ?? 0}  tx ${c.tx_packets ?? 0}`]);
  }
  const drops = Object.entries(c)
    .filter(([k, v]) => k.startsWith("drop_") && typeof v === "number" && v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  if (drops.length === 0) rows.push(["drops", "none"]);
  const dropWidth = Math.max(0, ...drops.map(([k]) => k.length - 5));
  drops.forEach(([k, v], i) =>
    rows.push([i === 0 ? "drops" : "", `${k.slice(5).padEnd(dropWidth)}  ${v}`])
  );
  const last = [...s.events].sort((a, b) => b.at - a.at)[0];
  if (last) {
    rows.push(["last event", `${new Date(last.at).toISOString()}  ${last.kind}: ${last.detail}`]);
  }
  rows.push(["uptime", formatDuration(s.uptimeSeconds)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/**
 * Short reason for a failed fetch: the innermost cause's last clause, e.g.
 * "connection refused" out of "error sending request …: tcp connect error:
 * Connection refused (os error 111)".
 */
function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  let inner: unknown = err;
  for (let depth = 0; depth < 8 && inner instanceof Error && inner.cause !== undefined; depth++) {
    inner = inner.cause;
  }
  const msg = inner instanceof Error ? inner.message : String(inner);
  const last = msg.split(": ").at(-1)!.replace(/\s*\(os error \d+\)$/, "").trim();
  return last === "" ? msg : last.charAt(0).toLowerCase() + last.slice(1);
}

/**
 * Runs `tandem status`. Returns the exit code: 0 after printing the table, 1 when
 * the unit is unreachable or answers with something that is not a status, 2 when
 * `api` is not an address.
 */
export async function statusCommand(api: string, opts: StatusCommandOptions = {}): Promise<number> {
  const doFetch = opts.fetch ?? fetch;
  const out = opts.out ?? ((s: string) => console.log(s));
  const err = opts.err ?? ((s: string) => console.error(s));
  const timeoutMs = opts.timeoutMs ?? 2000;
  const base = apiBaseUrl(api);
  if (!base) {
    err(`tandem: --api: expected host:port, got ${JSON.stringify(api)}`);
    return 2;
  }
  let body: unknown;
  try {
    const res = await doFetch(new URL("/status", base), {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json" },
    });
    if (!res.ok) {
      await res.body?.cancel();
      err(`tandem: bad answer from ${api}: HTTP ${res.status}`);
      return 1;
    }
    body = await res.json();
  } catch (e) {
    if (e instanceof SyntaxError) {
      err(`tandem: bad answer from ${api}: not JSON`);
    } else {
      err(`tandem: cannot reach ${api}: ${reasonOf(e, timeoutMs)}`);
    }
    return 1;
  }
  if (!isSnapshot(body)) {
    err(`tandem: bad answer from ${api}: not a tandem status`);
    return 1;
  }
  out(formatStatus(body));
  return 0;
}
