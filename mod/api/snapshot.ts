/**
 * The status snapshot: everything the API, the dashboard, `/metrics` and
 * `tandem status` show. The runtime builds one on request; the HTTP app is a
 * pure function of it (DESIGN.md "Status API").
 * @module
 */

import type { Mode, PeerState, Role, UnitState } from "../ha/types.ts";

export type { Mode, PeerState, Role, UnitState };
export type SyncState = "idle" | "sending" | "receiving" | "done";

/** Cumulative histogram: `counts[i]` observations were <= `bounds[i]`; `count` and `sum` as Prometheus. */
export interface Histogram {
  bounds: number[];
  counts: number[];
  count: number;
  sum: number;
}

export interface TimelineEvent {
  /** Unix time in ms. */
  at: number;
  kind: string;
  detail: string;
}

/** Operator state of a backend (`tandem backend drain|enable`, config `admin`). */
export type BackendAdmin = "enabled" | "draining" | "maintenance";
/** What a unit's own health checks say; `unchecked` for `health.kind: none`. */
export type BackendHealth = "up" | "down" | "unchecked";

export interface BackendStatus {
  /** `a.b.c.d:port`. */
  address: string;
  weight: number;
  admin: BackendAdmin;
  /** This unit's checks. */
  health: BackendHealth;
  /** The peer's checks, as it last reported them; null with no peer. */
  peerHealth: BackendHealth | null;
  /**
   * What this unit's scheduler sees: `up` takes new flows; `down` (checks failed), `draining`
   * and `maintenance` take none. Existing flows stay unless the service resets them.
   */
  state: "up" | "down" | "draining" | "maintenance";
  /** Flows in the table that go to this backend. */
  flows: number;
}

export interface ServiceStatus {
  name: string;
  /** `a.b.c.d:port`. */
  listen: string;
  protocol: "tcp" | "udp";
  scheduler: "round-robin" | "maglev";
  health: { kind: "tcp" | "http" | "none"; intervalMs: number };
  /** Source-IP affinity timeout, or null without persistence. */
  persistenceMs: number | null;
  /** Backends in state `up`. */
  backendsUp: number;
  backends: BackendStatus[];
}

/** Fail-safes: what the unit watches besides its peer, and its preemption policy. */
export interface FailsafeStatus {
  /** Unit-level maintenance: the unit gives its addresses to the peer and will not take them. */
  maintenance: boolean;
  preempt: boolean;
  preemptDelayMs: number;
  /** Each monitored link or gateway with its current verdict. */
  checks: { name: string; kind: "link" | "gateway"; target: string; up: boolean }[];
  /** True when every check passes (with hysteresis): the unit may hold the addresses. */
  healthy: boolean;
  /** The peer's `healthy`, from its heartbeats; null with no peer. */
  peerHealthy: boolean | null;
}

export interface ConfigStatus {
  /** The config file this unit runs, or null when it was built in memory. */
  path: string | null;
  /** Digest of the service definitions (exchanged with the peer). */
  digest: string;
  /** Unix time in ms of the last successful load or reload. */
  loadedAt: number;
  /** The last reload: when, whether it applied, and its one-line message. */
  lastReload: { at: number; ok: boolean; message: string } | null;
}

export interface StatusSnapshot {
  node: string;
  mode: Mode;
  role: Role;
  state: UnitState;
  receiver: boolean;
  forwarder: boolean;
  peer: {
    state: PeerState;
    address: string | null;
    /** ms since the last authenticated heartbeat, null before the first. */
    lastHeartbeatAgeMs: number | null;
    rttMs: number | null;
    /** false when the peer's service definitions differ from ours. */
    configMatch: boolean | null;
  };
  sync: { state: SyncState; done: number; total: number };
  flows: { count: number; capacity: number; digest: string };
  /** Monotonic counters: rx/tx packets and bytes, and `drop_<reason>` for every drop reason. */
  counters: Record<string, number>;
  histograms: { heartbeatRttMs: Histogram; mirrorLagMs: Histogram };
  events: TimelineEvent[];
  services: ServiceStatus[];
  failsafe: FailsafeStatus;
  config: ConfigStatus;
  version: string;
  uptimeSeconds: number;
  /**
   * The unit's monotonic clock (ms, e.g. `performance.now()`) when this snapshot
   * was taken. Optional; lets the dashboard turn successive counters into exact
   * rates instead of timing them by arrival.
   */
  monotonicMs?: number;
}

export interface FlowInfo {
  proto: "tcp" | "udp" | "icmp";
  client: string;
  vip: string;
  backend: string;
  state: string;
  packets: number;
  bytes: number;
  ageSeconds: number;
}

/** What the API reads from and asks of a running unit. */
export interface UnitControl {
  snapshot(): StatusSnapshot;
  flows(limit: number): FlowInfo[];
  /**
   * Planned switchover. Resolves with whether it started and, when refused, the typed reason
   * (the API answers 409 with it) and a human-readable message.
   */
  failover(): Promise<{ ok: boolean; reason?: string; message: string }>;
  /** True while the data-plane loop has turned within the last second. */
  healthy(): boolean;
  /** Re-reads the config file (SIGHUP, `POST /reload`); a bad file changes nothing. */
  reload(): Promise<ControlResult>;
  /** Sets a backend's operator state on this unit and its peer (`tandem backend`). */
  setBackend(service: string, address: string, admin: BackendAdmin): ControlResult;
  /** Unit-level maintenance (`tandem maintenance on|off`); survives a restart. */
  maintenance(on: boolean): Promise<ControlResult>;
  /** One sample per second for the dashboard's charts, oldest first. */
  history(): HistorySample[];
}

/** The outcome of a control request; `reason` is a stable word for a refusal (API: 409 or 400). */
export interface ControlResult {
  ok: boolean;
  reason?: string;
  message: string;
}

/** One point of the dashboard's charts. */
export interface HistorySample {
  /** Unix time in ms. */
  at: number;
  rxPps: number;
  txBps: number;
  flows: number;
  /** Mirror lag p50 over the second, ms (null without a peer). */
  mirrorLagMs: number | null;
  /** Heartbeat RTT, ms (null without a peer). */
  heartbeatRttMs: number | null;
  receiver: boolean;
}
