import assert from "node:assert/strict";
import type {
  ConfigStatus,
  FailsafeStatus,
  Histogram,
  ServiceStatus,
  TimelineEvent,
} from "../api/snapshot.ts";
import { Engine } from "../engine/engine.ts";
import { DROP, EV } from "../engine/counters.ts";
import { labEngineConfig, RecordingOutput, seeded } from "../engine/testing.ts";
import { ST_ICMP, ST_TCP_ESTABLISHED, ST_UDP_STREAM } from "../flow/states.ts";
import { Pair } from "../ha/pair.ts";
import { parseIpv4 } from "../wire/addr.ts";
import { projectFlows, projectStatus, type StatusParts } from "./status.ts";

const ip = (s: string) => parseIpv4(s)!;
const HIST: Histogram = { bounds: [1, 2], counts: [3, 4], count: 4, sum: 5.5 };
const LAG: Histogram = { bounds: [1], counts: [1], count: 1, sum: 0.25 };

function parts(over: Partial<StatusParts> = {}): StatusParts {
  const engine = new Engine(labEngineConfig("a"), new RecordingOutput(), seeded(1));
  const pair = new Pair({
    mode: "standby-forward",
    role: "active",
    intervalMs: 10,
    deadAfter: 5,
    peered: true,
    epoch: 1,
  }, 0);
  return {
    node: "a",
    mode: "standby-forward",
    version: "9.8.7",
    now: 10_000,
    started: 2_500,
    pair,
    engine,
    peerAddress: "192.0.2.2:4790",
    lastPeerHeardAt: 9_990,
    rttMs: 0.5,
    peerConfigMatch: true,
    sync: { state: "receiving", done: 3, total: 10 },
    counters: {},
    histograms: { heartbeatRttMs: HIST, mirrorLagMs: LAG },
    events: [],
    services: SERVICES,
    failsafe: FAILSAFE,
    config: CONFIG,
    monotonicMs: 123.5,
    ...over,
  };
}

const SERVICES: ServiceStatus[] = [{
  name: "web",
  listen: "198.51.100.10:80",
  protocol: "tcp",
  scheduler: "maglev",
  health: { kind: "http", intervalMs: 2000 },
  persistenceMs: 60_000,
  backendsUp: 0,
  backends: [],
}];
const FAILSAFE: FailsafeStatus = {
  maintenance: true,
  preempt: true,
  preemptDelayMs: 5000,
  checks: [],
  healthy: false,
  peerHealthy: true,
};
const CONFIG: ConfigStatus = { path: "/x.yaml", digest: "ab", loadedAt: 5, lastReload: null };

Deno.test("projectStatus: every field from its part", () => {
  const p = parts();
  p.engine.flows.addEntry({ proto: 6, state: ST_TCP_ESTABLISHED, oSrc: 1, oSport: 2, rSrc: 3 });
  const events: TimelineEvent[] = [{ at: 1, kind: "start", detail: "x" }];
  p.events = events;
  const s = projectStatus(p);
  assert.deepEqual(
    { ...s, counters: {} },
    {
      node: "a",
      mode: "standby-forward",
      role: "active",
      state: "joining",
      // The engine's roles, as applied: the engine starts as receiver and forwarder.
      receiver: true,
      forwarder: true,
      peer: {
        state: "unknown",
        address: "192.0.2.2:4790",
        lastHeartbeatAgeMs: 10,
        rttMs: 0.5,
        configMatch: true,
      },
      sync: { state: "receiving", done: 3, total: 10 },
      flows: { count: 1, capacity: 1024, digest: p.engine.flows.digest },
      counters: {},
      histograms: { heartbeatRttMs: HIST, mirrorLagMs: LAG },
      events: [{ at: 1, kind: "start", detail: "x" }],
      services: SERVICES,
      failsafe: FAILSAFE,
      config: CONFIG,
      version: "9.8.7",
      uptimeSeconds: 7.5,
      monotonicMs: 123.5,
    },
  );
  assert.notEqual(s.flows.digest, "0000000000000000");
  assert.notEqual(s.events, events, "a copy: later events do not change a taken snapshot");
  events.push({ at: 2, kind: "k", detail: "d" });
  assert.equal(s.events.length, 1);
});

Deno.test("projectStatus: roles are the engine's, role and state the pair's", () => {
  const p = parts();
  p.engine.roles.receiver = false;
  p.engine.roles.forwarder = true;
  const s = projectStatus(p);
  assert.equal(s.receiver, false);
  assert.equal(s.forwarder, true);
  p.engine.roles.receiver = true;
  p.engine.roles.forwarder = false;
  const t = projectStatus(p);
  assert.equal(t.receiver, true);
  assert.equal(t.forwarder, false);
  p.pair.tick(0);
  p.pair.tick(1000);
  const u = projectStatus(p);
  assert.equal(u.state, "solo");
  assert.equal(u.role, "active");
});

Deno.test("projectStatus: no heartbeat yet means no age", () => {
  assert.equal(projectStatus(parts({ lastPeerHeardAt: 0 })).peer.lastHeartbeatAgeMs, null);
  assert.equal(projectStatus(parts({ lastPeerHeardAt: 1 })).peer.lastHeartbeatAgeMs, 9999);
  const alone = projectStatus(parts({ peerAddress: null, rttMs: null, peerConfigMatch: null }));
  assert.equal(alone.peer.address, null);
  assert.equal(alone.peer.rttMs, null);
  assert.equal(alone.peer.configMatch, null);
});

Deno.test("projectStatus: the unit's counters are merged over the engine's", () => {
  const p = parts({ counters: { sync_entries_sent: 4, drop_peer_bad_mac: 2, forwarded: 99 } });
  p.engine.counters.add(EV.forwarded, 5);
  p.engine.counters.drop(DROP.no_flow);
  p.engine.counters.drop(DROP.no_flow);
  const c = projectStatus(p).counters;
  assert.equal(c.sync_entries_sent, 4);
  assert.equal(c.drop_peer_bad_mac, 2);
  assert.equal(c.drop_no_flow, 2);
  assert.equal(c.forwarded, 99, "the unit's value wins");
  assert.equal(c.drop_tx_full, 0, "every engine counter is present");
  assert.deepEqual(
    Object.keys(c).length,
    Object.keys(p.engine.counters.toRecord()).length + 2,
  );
});

Deno.test("projectFlows: the busiest first, as the API shows them", () => {
  const p = parts();
  const ft = p.engine.flows;
  ft.addEntry({
    proto: 6,
    state: ST_TCP_ESTABLISHED,
    oSrc: ip("198.51.100.2"),
    oSport: 40000,
    oDst: ip("198.51.100.10"),
    oDport: 7000,
    rSrc: ip("203.0.113.20"),
    rSport: 7000,
    rDst: ip("198.51.100.2"),
    rDport: 40000,
    packets: 3,
    bytes: 180,
    created: 4_000,
  });
  ft.addEntry({
    proto: 17,
    state: ST_UDP_STREAM,
    oSrc: ip("198.51.100.2"),
    oSport: 5353,
    oDst: ip("198.51.100.10"),
    oDport: 7001,
    rSrc: ip("203.0.113.21"),
    rSport: 7001,
    rDst: ip("198.51.100.2"),
    rDport: 5353,
    packets: 10,
    bytes: 1000,
    created: 9_000,
  });
  ft.addEntry({
    proto: 1,
    state: ST_ICMP,
    oSrc: ip("198.51.100.2"),
    oSport: 7,
    oDst: ip("198.51.100.10"),
    oDport: 0,
    rSrc: ip("203.0.113.20"),
    rSport: 0,
    rDst: ip("198.51.100.2"),
    rDport: 7,
    packets: 1,
    bytes: 84,
    created: 9_500,
  });
  assert.deepEqual(projectFlows(ft, 10_000, 10), [
    {
      proto: "udp",
      client: "198.51.100.2:5353",
      vip: "198.51.100.10:7001",
      backend: "203.0.113.21:7001",
      state: "udp_stream",
      packets: 10,
      bytes: 1000,
      ageSeconds: 1,
    },
    {
      proto: "tcp",
      client: "198.51.100.2:40000",
      vip: "198.51.100.10:7000",
      backend: "203.0.113.20:7000",
      state: "established",
      packets: 3,
      bytes: 180,
      ageSeconds: 6,
    },
    {
      proto: "icmp",
      client: "198.51.100.2:7",
      vip: "198.51.100.10:0",
      backend: "203.0.113.20:0",
      state: "icmp",
      packets: 1,
      bytes: 84,
      ageSeconds: 0.5,
    },
  ]);
  assert.deepEqual(projectFlows(ft, 10_000, 1).map((f) => f.proto), ["udp"]);
  assert.deepEqual(projectFlows(ft, 10_000, 0), []);
});

Deno.test("projectFlows: an unknown state code shows as unknown", () => {
  const p = parts();
  p.engine.flows.addEntry({ proto: 6, state: 200, oSport: 1 });
  assert.equal(projectFlows(p.engine.flows, 0, 5)[0]!.state, "unknown");
});
