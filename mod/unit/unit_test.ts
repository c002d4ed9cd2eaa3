/**
 * Two units in one process, each turning its own `run()` loop: memory ports for their data
 * interfaces, real UDP sockets on 127.0.0.1 for the peer link, the real clock, heartbeats sent
 * by the loops themselves. Every wait is on a condition, bounded by a multiple of the configured
 * intervals; nothing sleeps for a fixed time.
 */
import assert from "node:assert/strict";
import type { Mode, Role } from "../ha/types.ts";
import {
  BACKENDS,
  CLIENT,
  CLIENT_MAC,
  GW,
  labEngineConfig,
  learnNeighbors,
  parseOut,
  seeded,
  SERVER_MAC,
  serverSegment,
  tcpFrame,
  udpFrame,
  VIP,
} from "../engine/testing.ts";
import { type EngineTimeouts, VNET_HDR_LEN } from "../engine/config.ts";
import { HB_FORWARDER, HB_RECEIVER, HB_SYNC_COMPLETE } from "../peer/mod.ts";
import { FLOW_FIELDS, type FlowEntry } from "../flow/fields.ts";
import { ST_TCP_ESTABLISHED, ST_TCP_SYN_SENT } from "../flow/states.ts";
import { MemoryPort } from "../port/memory.ts";
import { libc } from "../port/ffi.ts";
import { BROADCAST_MAC as BROADCAST, macToString } from "../wire/addr.ts";
import { ARP_REQUEST, buildArpFrame } from "../wire/arp.ts";
import { HB, type HeartbeatThread, startHeartbeatWorker } from "./heartbeat.ts";
import { Unit, type UnitSetup } from "./unit.ts";
import { LOCAL, openLanes } from "./test_util.ts";

// Load libc before the tests: the sanitizer counts a library opened inside a test as a leak.
libc();

const KEY = new TextEncoder().encode("unit test pre-shared key 32 byte");
// Short, but with a dead time that a loaded 2-core machine does not cross by accident: both
// loops share one JS thread here, and a busy machine delays it by a hundred ms at times.
const INTERVAL_MS = 20;
const DEAD_AFTER = 25;
const DEAD_MS = INTERVAL_MS * DEAD_AFTER;
/** The pair's fixed timers (ha/pair.ts): boot wait, warm-up dead time. */
const STARTUP_MS = Math.max(1000, 4 * DEAD_MS);
const WARM_DEAD_MS = Math.max(DEAD_MS, 200);
/** Slack on top of a protocol time for a loaded 2-core machine: many heartbeat intervals. */
const SLACK_MS = 250 * INTERVAL_MS;

const ETH_IPV4 = 0x0800;
const ETH_ARP = 0x0806;
const etherType = (f: Uint8Array) => (f[12]! << 8) | f[13]!;
const ipv4Frames = (p: MemoryPort) => p.sent.filter((f) => etherType(f) === ETH_IPV4);

/** A memory port that, like a TAP with offload, puts a virtio_net_hdr before every frame. */
class VnetPort extends MemoryPort {
  readonly vnet = true;
  /** Injects `frame` behind an all-zero header (no offload: full checksums). */
  injectFrame(frame: Uint8Array): void {
    const b = new Uint8Array(VNET_HDR_LEN + frame.length);
    b.set(frame, VNET_HDR_LEN);
    this.inject(b);
  }
}

interface BuildOptions {
  holdMs?: number;
  digest?: string;
  probe?: boolean;
  timeouts?: Partial<EngineTimeouts>;
  capacity?: number;
  /** Heartbeats from a worker thread, as `main.ts` runs them, with this guard. */
  heartbeatGuardMs?: number;
}

/** One unit with its ports and sockets; `start` runs its loop until `stop`. */
class Node {
  readonly name: "a" | "b";
  readonly front: MemoryPort;
  readonly back: MemoryPort;
  readonly socks = openLanes();
  unit: Unit | undefined;
  heartbeats: HeartbeatThread | undefined;
  #ctrl: AbortController | undefined;
  #done: Promise<void> | undefined;

  constructor(name: "a" | "b", vnet: { front?: boolean; back?: boolean } = {}) {
    this.name = name;
    this.front = vnet.front ? new VnetPort("front") : new MemoryPort("front");
    this.back = vnet.back ? new VnetPort("back") : new MemoryPort("back");
  }

  /**
   * Builds the unit (its clock starts now) talking to `peer`'s sockets. A process that starts
   * now opens fresh sockets: what the peer sent to ours before (its boot heartbeats, say) is
   * dropped first, or this unit would take a stale "booting" heartbeat for a fresh pair.
   */
  build(
    role: Role,
    mode: Mode,
    peer: Node,
    extra: BuildOptions = {},
  ): Unit {
    const junk = new Uint8Array(65536);
    for (const s of this.socks.all) while (s.recvFrom(junk) > 0);
    const setup: UnitSetup = {
      node: this.name,
      mode,
      role,
      version: "test",
      engine: labEngineConfig(this.name, {
        timeouts: { ...labEngineConfig().timeouts, ...extra.timeouts },
        capacity: extra.capacity ?? 1024,
      }),
      configDigest: extra.digest ?? "00112233445566ff",
      rng: seeded(this.name === "a" ? 11 : 22),
      peer: {
        ip: LOCAL,
        port: peer.socks.base,
        key: KEY,
        intervalMs: INTERVAL_MS,
        deadAfter: DEAD_AFTER,
        holdNewFlowsMs: extra.holdMs ?? 0,
        garpRepeat: 3,
        probe: extra.probe ?? true,
      },
    };
    if (extra.heartbeatGuardMs !== undefined) {
      setup.epoch = performance.timeOrigin + performance.now();
      this.heartbeats = startHeartbeatWorker({
        listenFd: this.socks.hbLane.fd,
        bindIp: LOCAL,
        peerIp: LOCAL,
        peerPort: peer.socks.base + 2,
        key: KEY,
        epoch: setup.epoch,
        intervalMs: INTERVAL_MS,
        guardMs: extra.heartbeatGuardMs,
      });
      setup.heartbeat = this.heartbeats;
      setup.heartbeatGuardMs = extra.heartbeatGuardMs;
    }
    this.unit = new Unit(setup, [this.front, this.back], this.socks);
    learnNeighbors(this.unit.engine);
    return this.unit;
  }

  get u(): Unit {
    assert.ok(this.unit, `${this.name} not built`);
    return this.unit;
  }

  start(): void {
    this.#ctrl = new AbortController();
    this.#done = this.u.run(this.#ctrl.signal);
  }

  /** Stops the loop (the unit falls silent, as a dead one does) and waits for it to end. */
  async stop(): Promise<void> {
    this.#ctrl?.abort();
    await this.#done;
    this.#ctrl = undefined;
    this.#done = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    this.heartbeats?.stop();
    for (const s of this.socks.all) s.close();
  }
}

/** Waits until `cond` holds, checking every few ms; fails after `limitMs` with `what`. */
async function until(what: string, cond: () => boolean, limitMs: number): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) assert.fail(`not within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - start;
}

/** The pair policy as the unit applied it to its engine. */
function policyOf(u: Unit) {
  const { receiver, forwarder, mirror, holdNewFlows } = u.engine.roles;
  return { receiver, forwarder, mirror, holdNewFlows };
}

const paired = (a: Node, b: Node) => () =>
  a.u.pair.state === "active" && b.u.pair.state === "standby" && a.u.pair.peer === "up" &&
  b.u.pair.peer === "up";

/** A client SYN to the TCP echo service, with a timestamps option. */
function syn(sport: number, seq: number, tsVal = 0): Uint8Array {
  return tcpFrame({
    dstMac: labEngineConfig("a").virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport,
    dport: 7000,
    seq,
    flags: 0x02,
    options: tsVal ? tsOption(tsVal, 0) : undefined,
  });
}

/** NOP, NOP, timestamps (RFC 7323). */
function tsOption(val: number, ecr: number): Uint8Array {
  const o = new Uint8Array(12);
  o.set([1, 1, 8, 10]);
  new DataView(o.buffer).setUint32(4, val);
  new DataView(o.buffer).setUint32(8, ecr);
  return o;
}

function clientData(sport: number, seq: number, ack: number, len: number, ts: number) {
  return tcpFrame({
    dstMac: labEngineConfig("a").virtualMacs[0]!,
    src: CLIENT,
    dst: VIP,
    sport,
    dport: 7000,
    seq,
    ack,
    flags: 0x18,
    payload: new Uint8Array(len).fill(0x61),
    options: tsOption(ts, ts + 1000),
  });
}

function flowOf(u: Unit, sport: number, proto = 6, dport = 7000): number {
  const ref = u.engine.flows.lookup(proto, CLIENT, sport, VIP, dport);
  return ref >= 0 && (ref & 1) === 0 ? ref >> 1 : -1;
}

/** Every field of every flow of `from` equals the same flow's in `to`. */
function assertTablesEqual(from: Unit, to: Unit): void {
  const ft = from.engine.flows, gt = to.engine.flows;
  assert.equal(gt.count, ft.count, "flow counts");
  for (const f of ft.ids()) {
    const e = ft.entry(f);
    const ref = gt.lookup(e.proto, e.oSrc, e.oSport, e.oDst, e.oDport);
    assert.ok(ref >= 0 && (ref & 1) === 0, `flow ${e.oSport} missing on the peer`);
    const g = gt.entry(ref >> 1);
    for (const { name } of FLOW_FIELDS) {
      assert.equal(g[name as keyof FlowEntry], e[name as keyof FlowEntry], `${e.oSport}.${name}`);
    }
  }
  assert.equal(to.digest, from.digest);
}

Deno.test({
  name: "standby-forward: two units pair up, b forwards what a receives, b survives a's death",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const a = new Node("a"), b = new Node("b");
    try {
      a.build("active", "standby-forward", b);
      b.build("standby", "standby-forward", a);
      a.start();
      b.start();
      await until("a active, b standby", paired(a, b), STARTUP_MS + SLACK_MS);
      assert.deepEqual(policyOf(a.u), {
        receiver: true,
        forwarder: false,
        mirror: true,
        holdNewFlows: false,
      });
      assert.deepEqual(policyOf(b.u), {
        receiver: false,
        forwarder: true,
        mirror: true,
        holdNewFlows: false,
      });
      // a took the addresses: gratuitous ARP, repeated garpRepeat times per floating address.
      await until("a's GARPs", () => a.front.sent.length + a.back.sent.length >= 6, SLACK_MS);
      // Ten more heartbeat round trips (the GARPs take two intervals): exactly three rounds.
      const rtts = a.u.snapshot().histograms.heartbeatRttMs.count;
      await until(
        "10 heartbeat round trips",
        () => a.u.snapshot().histograms.heartbeatRttMs.count >= rtts + 10,
        SLACK_MS,
      );
      assert.equal(a.front.sent.length, 3);
      assert.equal(a.back.sent.length, 3);
      assert.equal(a.u.snapshot().counters.garp_sent, 6);
      assert.ok([...a.front.sent, ...a.back.sent].every((f) => etherType(f) === ETH_ARP));
      const rtt = a.u.snapshot().peer.rttMs;
      assert.ok(rtt !== null && rtt >= 0 && rtt < SLACK_MS, `rtt ${rtt}`);
      // Heartbeats go out once per interval, not once per turn: 20 more take well over 10
      // intervals (a few may have queued unread before we started counting).
      const hb0 = b.u.snapshot().histograms.heartbeatRttMs.count, t0 = performance.now();
      await until(
        "20 heartbeats",
        () => b.u.snapshot().histograms.heartbeatRttMs.count >= hb0 + 20,
        SLACK_MS,
      );
      assert.ok(performance.now() - t0 > 10 * INTERVAL_MS, "paced by the interval");
      assert.equal(b.front.sent.length + b.back.sent.length, 0, "b never announces");
      a.front.take();
      a.back.take();

      // A SYN to the VIP reaches a (the receiver); b (the forwarder) emits it.
      const sport = 41000;
      a.front.inject(syn(sport, 5000));
      await until("b forwards the SYN", () => ipv4Frames(b.back).length === 1, SLACK_MS);
      const out = ipv4Frames(b.back)[0]!;
      assert.equal(out.length, syn(sport, 5000).length, "the frame, exactly");
      const p = parseOut(out);
      assert.ok(p.tcp);
      assert.equal(p.ip.src, CLIENT);
      const backend = p.ip.dst;
      assert.ok(BACKENDS.includes(backend), "rewritten to a backend");
      assert.equal(p.tcp.srcPort, sport);
      assert.equal(p.tcp.dstPort, 7000);
      assert.equal(p.tcp.seqNumber, 5000);
      assert.equal(macToString(out.subarray(0, 6)), macToString(SERVER_MAC));
      assert.equal(
        macToString(out.subarray(6, 12)),
        macToString(labEngineConfig("b").interfaces[1]!.mac),
        "b's own back MAC",
      );
      assert.deepEqual(ipv4Frames(a.front), [], "a emits no data packet");
      assert.deepEqual(ipv4Frames(a.back), []);
      assert.equal(b.front.sent.length, 0);
      // Both hold the same flow.
      await until("digests equal", () => b.u.engine.flows.count === 1, SLACK_MS);
      assert.equal(a.u.engine.flows.count, 1);
      assert.equal(b.u.digest, a.u.digest);
      assert.notEqual(a.u.digest, "0000000000000000");
      const af = flowOf(a.u, sport), bf = flowOf(b.u, sport);
      assert.equal(a.u.engine.flows.c.rSrc[af], backend);
      assert.equal(b.u.engine.flows.c.state[bf], ST_TCP_SYN_SENT);
      // Nothing was rejected on the link.
      const sa = a.u.snapshot();
      for (const [k, v] of Object.entries(sa.counters)) {
        if (k.startsWith("drop_peer")) assert.equal(v, 0, k);
      }
      assert.equal(sa.peer.state, "up");
      assert.equal(sa.peer.configMatch, true);
      assert.equal(sa.flows.digest, b.u.snapshot().flows.digest);

      // The server answers to the gateway address a owns; b forwards the answer too. Then the
      // client's ACK with data: the flow is established on both, field for field.
      const cfg = labEngineConfig("a");
      a.back.inject(serverSegment(cfg, backend, sport, {
        flags: 0x12,
        seq: 9000,
        ack: 5001,
        options: tsOption(300, 200),
      }));
      await until("b forwards the SYN-ACK", () => ipv4Frames(b.front).length === 1, SLACK_MS);
      const synAck = parseOut(ipv4Frames(b.front)[0]!);
      assert.equal(synAck.ip.src, VIP, "the reply leaves from the VIP");
      assert.equal(synAck.ip.dst, CLIENT);
      assert.equal(macToString(ipv4Frames(b.front)[0]!.subarray(0, 6)), macToString(CLIENT_MAC));
      a.front.inject(clientData(sport, 5001, 9001, 10, 201));
      await until("b forwards the data", () => ipv4Frames(b.back).length === 2, SLACK_MS);
      await until(
        "b tracked the data",
        () => b.u.engine.flows.c.oSeqNext[flowOf(b.u, sport)] === 5011,
        SLACK_MS,
      );
      assert.equal(a.u.engine.flows.c.state[af], ST_TCP_ESTABLISHED);
      assertTablesEqual(a.u, b.u);
      assert.deepEqual(ipv4Frames(a.front), []);
      assert.deepEqual(ipv4Frames(a.back), []);

      // a dies. b goes solo after the dead time, not before.
      b.front.take();
      b.back.take();
      await a.stop();
      const stoppedAt = performance.now();
      await until("b solo", () => b.u.pair.state === "solo", WARM_DEAD_MS + SLACK_MS);
      const down = b.u.snapshot().events.find((e) =>
        e.kind === "peer" && e.detail.startsWith("peer down")
      );
      assert.ok(down, "the timeline says why");
      const silent = Number(/no heartbeat for (\d+) ms/.exec(down.detail)?.[1]);
      // (rounded in the message: the pair waits for strictly more than the dead time)
      assert.ok(silent >= DEAD_MS, `declared dead after ${silent} ms of silence`);
      assert.ok(performance.now() - stoppedAt < WARM_DEAD_MS + SLACK_MS);
      assert.deepEqual(policyOf(b.u), {
        receiver: true,
        forwarder: true,
        mirror: false,
        holdNewFlows: false,
      });
      assert.equal(b.u.snapshot().peer.state, "down");
      // b claimed the addresses from the virtual MAC.
      await until("b's GARPs", () => b.front.sent.some((f) => etherType(f) === ETH_ARP), SLACK_MS);
      const garp = b.front.sent.find((f) => etherType(f) === ETH_ARP)!;
      assert.equal(
        macToString(garp.subarray(6, 12)),
        macToString(labEngineConfig("b").virtualMacs[0]!),
      );
      // In the same turn it probed the established flow's endpoints (probe).
      const probes = [...ipv4Frames(b.front), ...ipv4Frames(b.back)].map(parseOut).filter((o) =>
        o.tcp && (o.tcp.srcPort === sport || o.tcp.dstPort === sport)
      );
      assert.ok(probes.length > 0, "b probed the endpoints of the established flow");

      // The next packet, of the old flow and of a new one, b forwards itself.
      b.back.take();
      b.front.inject(clientData(sport, 5011, 9001, 10, 202));
      b.front.inject(syn(sport + 1, 7000));
      await until("b forwards both", () => ipv4Frames(b.back).length === 2, SLACK_MS);
      const [old, fresh] = ipv4Frames(b.back).map(parseOut);
      assert.equal(old!.tcp!.srcPort, sport);
      assert.equal(old!.ip.dst, backend, "the old flow keeps its backend");
      assert.equal(old!.tcp!.payload.length, 10);
      assert.equal(fresh!.tcp!.srcPort, sport + 1);
      assert.ok(BACKENDS.includes(fresh!.ip.dst));
      assert.equal(b.u.engine.flows.count, 2);
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "bulk sync: a unit that starts later gets the whole table, every field, then pairs up",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const a = new Node("a"), b = new Node("b");
    try {
      a.build("active", "standby-forward", b, { capacity: 4096 });
      a.start();
      await until("a alone goes solo", () => a.u.pair.state === "solo", STARTUP_MS + SLACK_MS);
      assert.equal(a.u.pair.peer, "unknown");

      // Traffic through a alone: full handshakes with data and timestamps, and UDP.
      const cfg = labEngineConfig("a");
      const N_TCP = 6;
      for (let i = 0; i < N_TCP; i++) {
        const sport = 42000 + i, isn = 100_000 * (i + 1);
        a.front.inject(syn(sport, isn, 500 + i));
        await until(`SYN ${i} forwarded`, () => ipv4Frames(a.back).length === 1, SLACK_MS);
        const fwd = parseOut(a.back.take().find((f) => etherType(f) === ETH_IPV4)!);
        a.back.inject(serverSegment(cfg, fwd.ip.dst, sport, {
          flags: 0x12,
          seq: 900_000 + i,
          ack: isn + 1,
          options: tsOption(7000 + i, 500 + i),
        }));
        await until(`SYN-ACK ${i} forwarded`, () => ipv4Frames(a.front).length === 1, SLACK_MS);
        a.front.take();
        // The busier flows get more segments.
        for (let k = 0; k <= i; k++) {
          a.front.inject(clientData(sport, isn + 1 + 20 * k, 900_001 + i, 20, 600 + k));
        }
        await until(`data ${i} forwarded`, () => ipv4Frames(a.back).length === i + 1, SLACK_MS);
        a.back.take();
      }
      a.front.inject(
        udpFrame({ dstMac: cfg.virtualMacs[0]!, src: CLIENT, dst: VIP, sport: 5300, dport: 7001 }),
      );
      await until("UDP forwarded", () => ipv4Frames(a.back).length === 1, SLACK_MS);
      a.back.take();
      // And more opening flows than one turn of the sync sends (2048 entries per turn).
      const N_SYN = 2100;
      for (let i = 0; i < N_SYN; i++) a.front.inject(syn(20000 + i, i + 1));
      await until("SYNs forwarded", () => ipv4Frames(a.back).length === N_SYN, SLACK_MS);
      a.back.take();
      const n = N_TCP + 1 + N_SYN;
      assert.equal(a.u.engine.flows.count, n);
      const f0 = a.u.engine.flows.entry(flowOf(a.u, 42000));
      assert.equal(f0.state, ST_TCP_ESTABLISHED);
      assert.ok(f0.oSeqNext > 0 && f0.rSeqNext > 0 && f0.oTsVal > 0 && f0.rTsVal > 0);
      assert.ok(f0.oAck > 0 && f0.rAck > 0 && f0.oWin > 0 && f0.rWin > 0 && f0.oTsEcr > 0);

      // b starts now: it hears a solo, joins, and receives the table.
      b.build("standby", "standby-forward", a, { capacity: 4096 });
      const boot = b.u.snapshot();
      assert.equal(boot.state, "joining");
      assert.deepEqual(boot.sync, { state: "idle", done: 0, total: 0 });
      assert.equal(boot.peer.lastHeartbeatAgeMs, null);
      b.start();
      await until("b synced, a active", paired(a, b), STARTUP_MS + SLACK_MS);
      assert.equal(b.u.pair.synced, true);
      assert.equal(b.u.engine.flows.count, n);
      assertTablesEqual(a.u, b.u);
      const sb = b.u.snapshot(), sa = a.u.snapshot();
      assert.equal(sb.counters.sync_entries_received, n);
      assert.equal(sa.counters.sync_entries_sent, n);
      assert.equal(sb.sync.state, "done");
      assert.ok(sb.events.some((e) => e.detail === `bulk sync complete: ${n} flows`));
      assert.ok(sa.events.some((e) => e.detail === `bulk sync to peer sent ${n} flows`));
      assert.deepEqual(ipv4Frames(b.front), [], "a joiner emits nothing");
      assert.deepEqual(ipv4Frames(b.back), []);

      // Live mirroring after the sync keeps every field equal: b forwards, a receives.
      const sport = 42000 + N_TCP - 1;
      const e = a.u.engine.flows.entry(flowOf(a.u, sport));
      a.front.inject(clientData(sport, e.oSeqNext, e.oAck, 30, 9999));
      await until("b forwards live traffic", () => ipv4Frames(b.back).length === 1, SLACK_MS);
      await until(
        "b applied it",
        () => b.u.engine.flows.c.oTsVal[flowOf(b.u, sport)] === 9999,
        SLACK_MS,
      );
      assertTablesEqual(a.u, b.u);
      assert.deepEqual(ipv4Frames(a.back), []);
      assert.equal(macToString(ipv4Frames(b.back)[0]!.subarray(0, 6)), macToString(SERVER_MAC));
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "active-forward with hold_new_flows, a planned switchover, and a config mismatch",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const a = new Node("a"), b = new Node("b");
    try {
      // A bound far beyond the test's waits: a held frame can only leave by the peer's ack.
      const holdMs = 60_000;
      a.build("active", "active-forward", b, { holdMs, probe: false });
      b.build("standby", "active-forward", a, { holdMs, digest: "00112233445566fe", probe: false });
      a.start();
      b.start();
      await until("a active, b standby", paired(a, b), STARTUP_MS + SLACK_MS);
      assert.deepEqual(policyOf(a.u), {
        receiver: true,
        forwarder: true,
        mirror: true,
        holdNewFlows: true,
      });
      assert.deepEqual(policyOf(b.u), {
        receiver: false,
        forwarder: false,
        mirror: true,
        holdNewFlows: false,
      });
      // Each warns that the other's service definitions differ.
      await until("mismatch seen", () => b.u.snapshot().peer.configMatch === false, SLACK_MS);
      const sa = a.u.snapshot();
      assert.equal(sa.peer.configMatch, false);
      assert.ok(sa.events.some((e) => e.detail === "peer's service definitions differ from ours"));
      assert.equal(sa.peer.address, "127.0.0.1:" + b.socks.base);
      await until("an RTT measured", () => a.u.snapshot().peer.rttMs !== null, SLACK_MS);
      assert.ok(a.u.snapshot().peer.rttMs! >= 0);
      assert.equal(a.u.healthy(), true);

      // A new flow's first packet leaves a only once b has acked its mirror record.
      a.back.take();
      a.front.inject(syn(43000, 1234));
      await until("a emits the held SYN", () => ipv4Frames(a.back).length === 1, SLACK_MS);
      // Both loops share this thread: when a's SYN is out, b has applied (and acked) it.
      assert.equal(b.u.engine.flows.count, 1, "b held the flow before a emitted");
      const held = a.u.snapshot().counters;
      assert.equal(held.held_new_flows, 1);
      assert.equal(held.hold_timeouts, 0, "released by the ack, not the bound");
      assert.equal(parseOut(ipv4Frames(a.back)[0]!).tcp!.srcPort, 43000);
      assert.equal(b.u.digest, a.u.digest);
      assert.deepEqual(ipv4Frames(b.back), [], "active-forward: the standby emits nothing");
      assert.deepEqual(ipv4Frames(b.front), []);
      // The server's answer and the client's next segment are not new: they leave unheld.
      const backend = parseOut(ipv4Frames(a.back)[0]!).ip.dst;
      a.back.inject(serverSegment(labEngineConfig("a"), backend, 43000, {
        flags: 0x12,
        seq: 777,
        ack: 1235,
      }));
      await until("a forwards the SYN-ACK", () => ipv4Frames(a.front).length === 1, SLACK_MS);
      a.front.inject(clientData(43000, 1235, 778, 5, 0));
      await until("a forwards the next segment", () => ipv4Frames(a.back).length === 2, SLACK_MS);
      assert.equal(a.u.snapshot().counters.held_new_flows, 1);
      assert.equal(a.u.engine.flows.c.state[flowOf(a.u, 43000)], ST_TCP_ESTABLISHED);

      // Planned switchover asked of the active: b takes over, a steps down.
      const r = await a.u.failover();
      assert.deepEqual(r, { ok: true, message: "switchover started (active/active)" });
      await until(
        "b active, a standby",
        () => b.u.pair.state === "active" && a.u.pair.state === "standby",
        SLACK_MS,
      );
      assert.deepEqual(policyOf(b.u), {
        receiver: true,
        forwarder: true,
        mirror: true,
        holdNewFlows: true,
      });
      assert.deepEqual(policyOf(a.u), {
        receiver: false,
        forwarder: false,
        mirror: true,
        holdNewFlows: false,
      });
      // The old flow goes through b now, unheld, to the same backend.
      b.back.take();
      b.front.inject(clientData(43000, 1240, 778, 5, 0));
      await until("b forwards", () => ipv4Frames(b.back).length === 1, SLACK_MS);
      assert.equal(parseOut(ipv4Frames(b.back)[0]!).ip.dst, backend);

      // b dies: a serves alone, announces, but probes nobody (probe: false); a switchover is
      // refused with its reason.
      await until("b's flow tracked on a", () => a.u.digest === b.u.digest, SLACK_MS);
      a.front.take();
      a.back.take();
      await b.stop();
      await until("a solo", () => a.u.pair.state === "solo", WARM_DEAD_MS + SLACK_MS);
      await until("a's GARP", () => a.front.sent.some((f) => etherType(f) === ETH_ARP), SLACK_MS);
      assert.deepEqual(ipv4Frames(a.front), [], "no probes");
      assert.deepEqual(ipv4Frames(a.back), []);
      assert.deepEqual(await a.u.failover(), {
        ok: false,
        reason: "no_peer",
        message: "no peer to hand over to",
      });
      // A loop that stopped turning is unhealthy within a second.
      await until("b unhealthy", () => !b.u.healthy(), 1000 + SLACK_MS);
      assert.equal(a.u.healthy(), true);
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "standby-first: b receives, a forwards through an offload port; expiries reach the peer",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    // a's front port carries a virtio_net_hdr before every frame, as a TAP with offload does;
    // its back port is plain.
    const a = new Node("a", { front: true }), b = new Node("b");
    const timeouts = { tcpSyn: 50 * INTERVAL_MS, udp: 50 * INTERVAL_MS };
    const hdr = (f: Uint8Array) => [...f.subarray(0, VNET_HDR_LEN)];
    const ZERO_HDR = new Array(VNET_HDR_LEN).fill(0);
    try {
      a.build("active", "standby-first", b, { timeouts });
      b.build("standby", "standby-first", a, { timeouts });
      a.start();
      b.start();
      await until("a active, b standby", paired(a, b), STARTUP_MS + SLACK_MS);
      assert.deepEqual([a.u.engine.roles.receiver, a.u.engine.roles.forwarder], [false, true]);
      assert.deepEqual([b.u.engine.roles.receiver, b.u.engine.roles.forwarder], [true, false]);
      // The standby owns the addresses here: it announces, a does not.
      await until("b's GARPs", () => b.front.sent.length + b.back.sent.length >= 6, SLACK_MS);
      assert.equal(a.front.sent.length + a.back.sent.length, 0, "a never announces");

      // A SYN reaches b; a emits it. The server's answer reaches b; a emits it toward the
      // client, behind an offload header. Then a UDP datagram.
      const cfg = labEngineConfig("a");
      const synFrame = syn(44000, 1);
      b.front.inject(synFrame);
      await until("a forwards the SYN", () => a.back.sent.length === 1, SLACK_MS);
      const fwd = a.back.sent[0]!;
      assert.equal(fwd.length, synFrame.length, "the frame, exactly");
      const tcp = parseOut(fwd);
      assert.equal(tcp.tcp!.srcPort, 44000);
      const synAck = serverSegment(cfg, tcp.ip.dst, 44000, { flags: 0x12, seq: 50, ack: 2 });
      b.back.inject(synAck);
      await until("a forwards the SYN-ACK", () => a.front.sent.length === 1, SLACK_MS);
      const back = a.front.sent[0]!;
      assert.equal(back.length, VNET_HDR_LEN + synAck.length);
      assert.deepEqual(hdr(back), ZERO_HDR);
      const rep = parseOut(back.subarray(VNET_HDR_LEN));
      assert.equal(rep.ip.src, VIP);
      assert.equal(rep.tcp!.dstPort, 44000);
      const udpIn = udpFrame({
        dstMac: cfg.virtualMacs[0]!,
        src: CLIENT,
        dst: VIP,
        sport: 5400,
        dport: 7001,
      });
      b.front.inject(udpIn);
      await until("a forwards the datagram", () => a.back.sent.length === 2, SLACK_MS);
      assert.equal(a.back.sent[1]!.length, udpIn.length);
      assert.equal(parseOut(a.back.sent[1]!).udp!.srcPort, 5400);
      assert.deepEqual(ipv4Frames(b.back), [], "the receiver emits no data");
      assert.deepEqual(ipv4Frames(b.front), []);
      await until("both hold both flows", () => a.u.engine.flows.count === 2, SLACK_MS);
      assert.equal(a.u.digest, b.u.digest);
      // Mirror lag is measured on the peer that applies the records.
      const lag = a.u.snapshot().histograms.mirrorLagMs;
      assert.equal(lag.count, 3);
      assert.ok(lag.sum >= 0 && lag.sum < 3 * SLACK_MS, `lag ${lag.sum}`);

      // The receiver reaps idle flows; its expiries empty the peer's table too.
      await until(
        "both tables empty",
        () => b.u.engine.flows.count === 0 && a.u.engine.flows.count === 0,
        timeouts.tcpSyn + SLACK_MS,
      );
      assert.equal(a.u.digest, "0000000000000000");
      assert.equal(b.u.digest, a.u.digest);

      // b dies and comes back: the bulk sync of an empty table completes at once (END 0).
      await b.stop();
      await until("a solo", () => a.u.pair.state === "solo", WARM_DEAD_MS + SLACK_MS);
      b.build("standby", "standby-first", a, { timeouts });
      b.start();
      await until("b back as standby", paired(a, b), STARTUP_MS + SLACK_MS);
      assert.ok(b.u.snapshot().events.some((e) => e.detail === "bulk sync complete: 0 flows"));

      // b dies again: a serves alone, announcing (an all-zero offload header before each
      // GARP on the front port), and forwards itself.
      a.front.take();
      a.back.take();
      await b.stop();
      await until("a solo again", () => a.u.pair.state === "solo", WARM_DEAD_MS + SLACK_MS);
      await until("a's GARPs", () => a.front.sent.length > 0, SLACK_MS);
      const garp = a.front.sent[0]!;
      assert.deepEqual(hdr(garp), ZERO_HDR);
      assert.equal(etherType(garp.subarray(VNET_HDR_LEN)), ETH_ARP);
      // A read shorter than the offload header is skipped; the frame after it is handled.
      a.front.inject(new Uint8Array(VNET_HDR_LEN - 1));
      const own = syn(44001, 2);
      (a.front as VnetPort).injectFrame(own);
      await until("a forwards itself", () => ipv4Frames(a.back).length === 1, SLACK_MS);
      const out = ipv4Frames(a.back)[0]!;
      assert.equal(out.length, own.length);
      const o = parseOut(out);
      assert.equal(o.tcp!.srcPort, 44001);
      assert.ok(BACKENDS.includes(o.ip.dst));
      assert.equal(macToString(out.subarray(0, 6)), macToString(SERVER_MAC));
      assert.deepEqual(a.u.flows(10).map((f) => f.client), [`198.51.100.2:44001`]);
      // A full device queue drops the frame and counts it (after the last GARP round).
      const arps = (p: MemoryPort, at: number) =>
        p.sent.filter((f) => etherType(f.subarray(at)) === ETH_ARP).length;
      await until(
        "three GARP rounds",
        () => arps(a.front, VNET_HDR_LEN) === 3 && arps(a.back, 0) === 3,
        SLACK_MS,
      );
      assert.ok(a.front.sent.every((f) => hdr(f).every((x) => x === 0)));
      assert.equal(a.u.snapshot().counters.drop_tx_full, 0);
      a.back.capacity = a.back.sent.length;
      (a.front as VnetPort).injectFrame(syn(44002, 3));
      await until("tx_full counted", () => a.u.snapshot().counters.drop_tx_full === 1, SLACK_MS);
      assert.equal(a.back.refused, 1);
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "a unit without a peer serves alone: both roles, garp_repeat announcements, no switchover",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    // A clock the test moves: the loop runs on it, so every count below is exact.
    let now = 1_000_000;
    const front = new MemoryPort("front"), back = new MemoryPort("back");
    const u = new Unit(
      {
        node: "solo",
        mode: "standby-forward",
        role: "standby",
        version: "test",
        engine: labEngineConfig("a"),
        configDigest: "0011223344556677",
        peer: null,
        clock: () => now,
        rng: seeded(5),
      },
      [front, back],
      null,
    );
    learnNeighbors(u.engine);
    assert.equal(u.pair.state, "solo");
    assert.deepEqual(policyOf(u), {
      receiver: true,
      forwarder: true,
      mirror: false,
      holdNewFlows: false,
    });
    // Announced at once, one GARP per floating address.
    assert.equal(front.sent.length + back.sent.length, 2);
    const ctrl = new AbortController();
    const done = u.run(ctrl.signal);
    const t0 = now;
    const garps = () => front.sent.length + back.sent.length;
    /** Sets the clock, then waits for the loop to turn at that time (it counts a junk frame). */
    const turnAt = async (t: number) => {
      now = t;
      const rx = u.snapshot().counters.rx_packets!;
      front.inject(new Uint8Array(60)); // to a MAC nobody has: dropped, but counted
      await until(
        `a turn at ${t - t0}`,
        () => u.snapshot().counters.rx_packets === rx + 1,
        SLACK_MS,
      );
    };
    try {
      // Repeats every 10 ms (the default interval without a peer), 3 rounds in all.
      await turnAt(t0 + 9.9);
      assert.equal(garps(), 2, "not before 10 ms");
      await turnAt(t0 + 10);
      assert.equal(garps(), 4);
      await turnAt(t0 + 19.9);
      assert.equal(garps(), 4);
      await turnAt(t0 + 20);
      assert.equal(garps(), 6);
      await turnAt(t0 + 10_000);
      assert.equal(garps(), 6, "three rounds, no more");
      assert.ok([...front.sent, ...back.sent].every((f) => etherType(f) === ETH_ARP));
      // It forwards what it receives.
      front.inject(syn(45000, 1));
      await until("forwarded", () => ipv4Frames(back).length === 1, SLACK_MS);
      const s = u.snapshot();
      assert.equal(s.state, "solo");
      assert.deepEqual(s.peer, {
        state: "none",
        address: null,
        lastHeartbeatAgeMs: null,
        rttMs: null,
        configMatch: null,
      });
      assert.deepEqual(s.sync, { state: "done", done: 0, total: 0 });
      assert.equal(s.counters.drop_peer_bad_record, undefined, "no link, no link counters");
      assert.equal(s.counters.sync_entries_sent, 0);
      assert.equal(s.flows.count, 1);
      assert.equal(s.uptimeSeconds, 10);
      assert.deepEqual(await u.failover(), {
        ok: false,
        reason: "no_peer",
        message: "no peer to hand over to",
      });
      // A loop that does not turn for a second is unhealthy.
      ctrl.abort();
      await done;
      assert.equal(u.healthy(), true);
      now += 999;
      assert.equal(u.healthy(), true);
      now += 1;
      assert.equal(u.healthy(), false);
    } finally {
      ctrl.abort();
      await done;
    }
  },
});

Deno.test({
  name: "a flood on one port cannot starve another: 64 frames per port per turn",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const now = 2_000_000; // a clock that does not move: no timers fire
    const front = new MemoryPort("front"), back = new MemoryPort("back");
    const cfg = labEngineConfig("a");
    const u = new Unit(
      {
        node: "solo",
        mode: "active-forward",
        role: "active",
        version: "test",
        engine: cfg,
        configDigest: "0011223344556677",
        peer: null,
        clock: () => now,
        rng: seeded(6),
      },
      [front, back],
      null,
    );
    learnNeighbors(u.engine);
    assert.equal(back.sent.length, 1, "the boot GARP for the gateway address");
    for (let i = 0; i < 100; i++) front.inject(syn(46000 + i, 1));
    // A server asks who has the gateway address: the reply goes out of the back port too.
    const arp = new Uint8Array(42);
    buildArpFrame(arp, ARP_REQUEST, SERVER_MAC, BACKENDS[0]!, new Uint8Array(6), GW, BROADCAST);
    back.inject(arp);
    const ctrl = new AbortController();
    const done = u.run(ctrl.signal);
    try {
      // A unit without a peer that answers for a floating address announces them all again.
      const garps = cfg.floating.filter((f) => f.iface === 1).length;
      await until("all handled", () => back.sent.length === 1 + 100 + 1 + garps, SLACK_MS);
      const kinds = back.sent.map((f) => etherType(f) === ETH_ARP ? "arp" : "ip");
      // Turn 1: 64 SYNs from the front, then the back port's ARP; turn 2: the other 36.
      assert.equal(kinds.indexOf("arp", 1), 1 + 64);
      assert.equal(kinds.filter((k) => k === "ip").length, 100);
      assert.equal((back.sent[65]![20]! << 8) | back.sent[65]![21]!, 2, "an ARP reply");
    } finally {
      ctrl.abort();
      await done;
    }
  },
});

Deno.test({
  name: "heartbeats from their own threads: a loop that stops turning falls silent after the guard",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    const a = new Node("a"), b = new Node("b");
    const heartbeatGuardMs = 10 * INTERVAL_MS;
    try {
      a.build("active", "active-forward", b, { heartbeatGuardMs });
      b.build("standby", "active-forward", a, { heartbeatGuardMs });
      a.start();
      b.start();
      await until("a active, b standby", paired(a, b), STARTUP_MS + SLACK_MS);
      // active-forward without hold_new_flows: nothing is held.
      assert.deepEqual(policyOf(a.u), {
        receiver: true,
        forwarder: true,
        mirror: true,
        holdNewFlows: false,
      });
      // The shared state says what the loop would: the worker's heartbeats carry it.
      const s = a.heartbeats!.state;
      assert.equal(s[HB.role], 0, "active");
      assert.equal(s[HB.state], 0, "active");
      assert.equal(s[HB.flags], HB_RECEIVER | HB_FORWARDER | HB_SYNC_COMPLETE);
      assert.equal(s[HB.priority], 200);
      assert.equal(b.heartbeats!.state[HB.flags], HB_SYNC_COMPLETE);
      assert.equal(b.heartbeats!.state[HB.state], 1, "standby");
      a.front.inject(syn(47000, 1));
      await until("a forwards", () => ipv4Frames(a.back).length === 1, SLACK_MS);
      assert.equal(a.u.snapshot().counters.held_new_flows, 0);
      await until("flow counts published", () => s[HB.flowCount] === 1, SLACK_MS);
      const [hi, lo] = a.u.engine.flows.digestWords;
      assert.deepEqual([s[HB.digestHi], s[HB.digestLo]], [hi, lo]);
      await until("an RTT from the echoes", () => b.u.snapshot().peer.rttMs !== null, SLACK_MS);
      assert.ok(s[HB.echoSentAt]! > 0 && s[HB.echoHeardAt]! > 0);

      // a's loop stops; its worker goes on for the guard, then falls silent: b takes over.
      await a.stop();
      const stoppedAt = performance.timeOrigin + performance.now();
      await until("b solo", () => b.u.pair.state === "solo", heartbeatGuardMs + DEAD_MS + SLACK_MS);
      assert.ok(
        b.u.pair.lastHeard > stoppedAt + heartbeatGuardMs / 2,
        `heard ${b.u.pair.lastHeard - stoppedAt} ms after the loop stopped`,
      );
      assert.ok(b.u.pair.lastHeard <= stoppedAt + heartbeatGuardMs + SLACK_MS);
    } finally {
      await a.close();
      await b.close();
    }
  },
});
