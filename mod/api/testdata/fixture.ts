/**
 * Test fixtures: a realistic snapshot and a fake `UnitControl` whose snapshot
 * tests can change between requests.
 * @module
 */

import { HistogramRecorder } from "../histogram.ts";
import type {
  BackendAdmin,
  ControlResult,
  FlowInfo,
  HistorySample,
  StatusSnapshot,
  UnitControl,
} from "../snapshot.ts";

/** Every drop reason the fixture carries; tests check each reaches `/metrics`. */
export const DROP_REASONS = [
  "bad_checksum",
  "no_route",
  "no_backend",
  "table_full",
  "auth_failed",
  "replayed",
  "not_forwarder",
] as const;

export function fixtureSnapshot(): StatusSnapshot {
  const rtt = new HistogramRecorder();
  for (const v of [0.04, 0.09, 0.12, 0.2, 0.3, 0.31, 0.8, 1.4, 7, 60]) rtt.observe(v);
  const lag = new HistogramRecorder();
  for (const v of [0.02, 0.03, 0.05, 0.07, 0.11, 2000]) lag.observe(v);
  const counters: Record<string, number> = {
    rx_packets: 1_234_567,
    tx_packets: 1_200_001,
    rx_bytes: 987_654_321,
    tx_bytes: 900_000_000,
    mirror_sent: 1_234_000,
    "garp sent": 3,
  };
  DROP_REASONS.forEach((r, i) => counters[`drop_${r}`] = i * 7);
  return {
    node: "a",
    mode: "standby-forward",
    role: "active",
    state: "active",
    receiver: true,
    forwarder: false,
    peer: {
      state: "up",
      address: "192.0.2.2:4790",
      lastHeartbeatAgeMs: 4,
      rttMs: 0.21,
      configMatch: true,
    },
    sync: { state: "sending", done: 750, total: 1000 },
    flows: { count: 1234, capacity: 1_048_576, digest: "9f3a6c01d2e4b587" },
    counters,
    histograms: { heartbeatRttMs: rtt.snapshot(), mirrorLagMs: lag.snapshot() },
    events: [
      { at: Date.UTC(2025, 0, 2, 3, 4, 5), kind: "start", detail: "booted as active" },
      { at: Date.UTC(2025, 0, 2, 3, 4, 6), kind: "peer-up", detail: 'peer "b" <joined>' },
    ],
    services: [{
      name: "echo",
      listen: "198.51.100.10:7000",
      protocol: "tcp",
      scheduler: "round-robin",
      health: { kind: "tcp", intervalMs: 1000 },
      persistenceMs: null,
      backendsUp: 1,
      backends: [
        {
          address: "203.0.113.20:7000",
          weight: 1,
          admin: "enabled",
          health: "up",
          peerHealth: "up",
          state: "up",
          flows: 800,
        },
        {
          address: "203.0.113.21:7000",
          weight: 2,
          admin: "draining",
          health: "down",
          peerHealth: "up",
          state: "draining",
          flows: 434,
        },
      ],
    }],
    failsafe: {
      maintenance: false,
      preempt: false,
      preemptDelayMs: 0,
      checks: [{ name: "front", kind: "link", target: "tnd-front", up: true }],
      healthy: true,
      peerHealthy: true,
    },
    config: {
      path: "/etc/tandem/tandem.yaml",
      digest: "0123456789abcdef",
      loadedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
      lastReload: null,
    },
    version: "0.1.0",
    uptimeSeconds: 93_784,
  };
}

export function fixtureFlows(n: number): FlowInfo[] {
  const flows: FlowInfo[] = [];
  for (let i = 0; i < n; i++) {
    flows.push({
      proto: i % 3 === 0 ? "udp" : "tcp",
      client: `198.51.100.2:${40000 + i}`,
      vip: "198.51.100.10:7000",
      backend: `203.0.113.${20 + (i % 2)}:7000`,
      state: "established",
      // Deliberately not sorted: the app must order busiest first.
      packets: (i * 7919) % 1000,
      bytes: ((i * 7919) % 1000) * 100,
      ageSeconds: i,
    });
  }
  return flows;
}

/** A fake unit: mutate `snap`, `isHealthy`, `failoverResult` between requests. */
export class FakeUnit implements UnitControl {
  snap: StatusSnapshot = fixtureSnapshot();
  allFlows: FlowInfo[] = fixtureFlows(50);
  isHealthy = true;
  failoverCalls = 0;
  failoverResult: { ok: boolean; message: string } | Error = { ok: true, message: "switched" };
  flowLimits: number[] = [];

  snapshot(): StatusSnapshot {
    return this.snap;
  }
  flows(limit: number): FlowInfo[] {
    this.flowLimits.push(limit);
    return [...this.allFlows].sort((a, b) => b.packets - a.packets).slice(0, limit);
  }
  failover(): Promise<{ ok: boolean; message: string }> {
    this.failoverCalls++;
    const r = this.failoverResult;
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  }
  healthy(): boolean {
    return this.isHealthy;
  }
  reloadCalls = 0;
  reloadResult: ControlResult = { ok: true, message: "reloaded" };
  reload(): Promise<ControlResult> {
    this.reloadCalls++;
    return Promise.resolve(this.reloadResult);
  }
  backendCalls: [string, string, BackendAdmin][] = [];
  setBackend(service: string, address: string, admin: BackendAdmin): ControlResult {
    this.backendCalls.push([service, address, admin]);
    return { ok: true, message: `${service} ${address} ${admin}` };
  }
  maintenanceCalls: boolean[] = [];
  maintenance(on: boolean): Promise<ControlResult> {
    this.maintenanceCalls.push(on);
    return Promise.resolve({ ok: true, message: on ? "maintenance on" : "maintenance off" });
  }
  samples: HistorySample[] = [];
  history(): HistorySample[] {
    return this.samples;
  }
}

/**
 * `n` one-second samples ending at `endAt`: traffic ramps up; for the last quarter the peer is
 * gone (no RTT, no mirror lag) and this unit is the receiver.
 */
export function fixtureHistory(endAt: number, n = 120): HistorySample[] {
  const out: HistorySample[] = [];
  for (let i = 0; i < n; i++) {
    const peered = i < (n * 3) / 4;
    out.push({
      at: endAt - (n - 1 - i) * 1000,
      rxPps: 1000 + i * 100,
      txBps: (1000 + i * 100) * 8 * 600,
      flows: 200 + 5 * i,
      mirrorLagMs: peered ? 0.05 + (i % 10) / 100 : null,
      heartbeatRttMs: peered ? 0.2 + (i % 7) / 100 : null,
      receiver: !peered,
    });
  }
  return out;
}
