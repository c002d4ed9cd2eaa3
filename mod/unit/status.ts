/**
 * The status projection: a running unit's parts (pair, engine, peer link, sync, clocks) as the
 * status snapshot that the API, `/metrics`, the dashboard and `tandem status` show (DESIGN.md
 * "Status API"). Pure: it reads what it is given and builds plain values.
 * @module
 */
import type {
  ConfigStatus,
  FailsafeStatus,
  FlowInfo,
  Histogram,
  Mode,
  ServiceStatus,
  StatusSnapshot,
  SyncState,
  TimelineEvent,
} from "../api/snapshot.ts";
import type { Engine } from "../engine/engine.ts";
import { STATE_NAMES } from "../flow/states.ts";
import type { FlowTable } from "../flow/table.ts";
import type { Pair } from "../ha/pair.ts";
import { ipToString, withPort } from "../wire/addr.ts";

export interface StatusParts {
  node: string;
  mode: Mode;
  version: string;
  now: number;
  started: number;
  pair: Pair;
  engine: Engine;
  /** `ip:port` of the peer, or null without one. */
  peerAddress: string | null;
  lastPeerHeardAt: number;
  rttMs: number | null;
  peerConfigMatch: boolean | null;
  sync: { state: SyncState; done: number; total: number };
  /** Counters kept outside the engine (peer link, bulk sync), merged over the engine's. */
  counters: Record<string, number>;
  histograms: { heartbeatRttMs: Histogram; mirrorLagMs: Histogram };
  events: readonly TimelineEvent[];
  services: ServiceStatus[];
  failsafe: FailsafeStatus;
  config: ConfigStatus;
  monotonicMs: number;
}

export function projectStatus(s: StatusParts): StatusSnapshot {
  const p = s.pair, ft = s.engine.flows;
  const counters = { ...s.engine.counters.toRecord(), ...s.counters };
  return {
    node: s.node,
    mode: s.mode,
    role: p.role,
    state: p.state,
    receiver: s.engine.roles.receiver,
    forwarder: s.engine.roles.forwarder,
    peer: {
      state: p.peer,
      address: s.peerAddress,
      lastHeartbeatAgeMs: s.lastPeerHeardAt > 0 ? s.now - s.lastPeerHeardAt : null,
      rttMs: s.rttMs,
      configMatch: s.peerConfigMatch,
    },
    sync: s.sync,
    flows: { count: ft.count, capacity: ft.capacity, digest: ft.digest },
    counters,
    histograms: s.histograms,
    events: [...s.events],
    services: s.services,
    failsafe: s.failsafe,
    config: s.config,
    version: s.version,
    uptimeSeconds: (s.now - s.started) / 1000,
    monotonicMs: s.monotonicMs,
  };
}

/** The `limit` busiest flows as the API shows them. */
export function projectFlows(ft: FlowTable, now: number, limit: number): FlowInfo[] {
  const c = ft.c;
  return ft.busiest(limit).map((f) => ({
    proto: c.proto[f] === 6 ? "tcp" : c.proto[f] === 17 ? "udp" : "icmp",
    client: withPort(
      ipToString(c.oSrc[f]!, c.oSrcHi0[f], c.oSrcHi1[f], c.oSrcHi2[f]),
      c.oSport[f]!,
    ),
    vip: withPort(ipToString(c.oDst[f]!, c.oDstHi0[f], c.oDstHi1[f], c.oDstHi2[f]), c.oDport[f]!),
    backend: withPort(
      ipToString(c.rSrc[f]!, c.rSrcHi0[f], c.rSrcHi1[f], c.rSrcHi2[f]),
      c.rSport[f]!,
    ),
    state: STATE_NAMES[c.state[f]!] ?? "unknown",
    packets: c.packets[f]!,
    bytes: c.bytes[f]!,
    ageSeconds: (now - c.created[f]!) / 1000,
  }));
}
