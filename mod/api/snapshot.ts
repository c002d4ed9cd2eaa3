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
}
