/**
 * One running appliance: the engine, its frame ports, the peer link and the
 * pair state machine, turned by a single loop. Each turn drains the peer
 * socket first (heartbeats must never starve behind data, DESIGN.md
 * "Heartbeat"), then each TAP up to a budget, then runs timers and flushes
 * the peer batch. When idle it sleeps in one `poll()` over every fd.
 * @module
 */
import type {
  FlowInfo,
  Mode,
  Role,
  StatusSnapshot,
  TimelineEvent,
  UnitControl,
} from "../api/snapshot.ts";
import { HistogramRecorder } from "../api/histogram.ts";
import { Engine } from "../engine/engine.ts";
import { DROP, EV } from "../engine/counters.ts";
import type { EngineConfig, EngineSink, MirrorRecord } from "../engine/types.ts";
import { MF_WANT_ACK, VNET_HDR_LEN } from "../engine/types.ts";
import { STATE_NAMES } from "../flow/table.ts";
import { type Action, Pair } from "../ha/pair.ts";
import {
  CTRL_FAILOVER_REQUEST,
  CTRL_SYNC_BEGIN,
  CTRL_SYNC_END,
  CTRL_SYNC_PROGRESS,
  CTRL_SYNC_REQUEST,
  CTRL_TAKEOVER,
  type PeerRecord,
} from "../peer/mod.ts";
import type { FramePort } from "../port/frame_port.ts";
import { Poller } from "../port/poller.ts";
import type { UdpPort } from "../port/udp.ts";
import { PeerChannel } from "./channel.ts";
import { HB, type HeartbeatSender, ROLES, STATES } from "./heartbeat.ts";
import { ipv4ToString } from "../wire/addr.ts";

export interface PeerSetup {
  ip: number;
  port: number;
  key: Uint8Array;
  intervalMs: number;
  deadAfter: number;
  /** 0 = off. Only in active-forward. */
  holdNewFlowsMs: number;
  garpRepeat: number;
  nudge: boolean;
}

export interface UnitSetup {
  node: string;
  mode: Mode;
  role: Role;
  version: string;
  engine: EngineConfig;
  peer: PeerSetup | null;
  configDigest: string;
  /** Wall-clock ms; both units stamp mirror records with it. */
  clock?: () => number;
  /** Uniform u32 source (SNAT ports, sequence offsets). */
  rng?: () => number;
  onEvent?: (e: TimelineEvent) => void;
  /**
   * Heartbeats sent from their own thread (see `heartbeat.ts`); without it the
   * loop sends them itself on the control lane.
   */
  heartbeat?: HeartbeatSender;
  /** With `heartbeat`: how long the loop may pause before heartbeats stop. */
  heartbeatGuardMs?: number;
  /** This boot's epoch (wall ms): peers tell restarts apart by it. Default: now. */
  epoch?: number;
}

interface Held {
  iface: number;
  frame: Uint8Array;
  vnet: Uint8Array | undefined;
  mseq: number;
  deadline: number;
}

/**
 * Work per turn: small enough that a turn stays well under a heartbeat
 * interval even when every frame is mirrored (a peer datagram holds up to
 * ~50 records), so timers and heartbeats run on time under full load.
 */
const TAP_BUDGET = 64;
/** The largest UDP payload over IPv4 (65535 − 20 − 8). */
const MAX_DATAGRAM = 65507;
/** Batch header and MAC, record header and MIRROR fields around the frame. */
const MAX_MIRROR_FRAME = MAX_DATAGRAM - 20 - 16 - 3 - 65;
/** A GSO frame (64 KiB of IP) plus Ethernet and virtio_net_hdr. */
const RX_BUFFER = 65536 + 64;
const PEER_BUDGET = 8;
const SYNC_BATCH_RECORDS = 2048;
/** Bulk-sync entries in flight (~2 MB of records: half the socket buffer). */
const SYNC_WINDOW = 20_000;

export class Unit implements UnitControl {
  readonly engine: Engine;
  readonly pair: Pair;
  readonly #s: UnitSetup;
  readonly #ports: FramePort[];
  /** Data lane (mirror, bulk sync, expiry) and control lane (heartbeat, ack, switchover). */
  readonly #data: PeerChannel | null;
  readonly #ctl: PeerChannel | null;
  /** Heartbeat lane (listen port + 2): read first; written by the heartbeat thread. */
  readonly #hbIn: PeerChannel | null;
  readonly #clock: () => number;
  readonly #started: number;
  readonly #events: TimelineEvent[] = [];
  readonly #rtt = new HistogramRecorder([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100]);
  readonly #lag = new HistogramRecorder([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100]);
  #mseq = 0;
  #ackWanted = 0;
  #ackSent = 0;
  #held: Held[] = [];
  #lastTurn = 0;
  #stopped = false;
  #nextHeartbeat = 0;
  #lastPeerSentAt = 0;
  #lastPeerHeardAt = 0;
  #rttMs: number | null = null;
  #peerConfigMatch: boolean | null = null;
  #garpLeft = 0;
  #nextGarp = 0;
  #syncOut: Int32Array | null = null;
  #syncPos = 0;
  /** Entries sent and entries the joiner reported received: at most SYNC_WINDOW in flight. */
  #syncSent = 0;
  #syncAcked = 0;
  #syncIn = { expected: -1, got: 0, requestedAt: -Infinity, lastRx: 0, progressAt: 0 };
  readonly #tx = new Uint8Array(RX_BUFFER);
  #counters = {
    sync_entries_sent: 0,
    sync_entries_received: 0,
  };

  /** `peer`: the data and control sockets, bound to the peer listen port and the one above it. */
  constructor(
    setup: UnitSetup,
    ports: FramePort[],
    peer: { data: UdpPort; control: UdpPort; heartbeat?: UdpPort } | null,
  ) {
    this.#s = setup;
    this.#ports = ports;
    this.#clock = setup.clock ?? (() => performance.timeOrigin + performance.now());
    const now = this.#clock();
    this.#started = now;
    const rng = setup.rng ?? (() => crypto.getRandomValues(new Uint32Array(1))[0]!);
    this.engine = new Engine(setup.engine, this.#sink(), rng);
    this.pair = new Pair({
      stallMs: setup.heartbeat ? setup.heartbeatGuardMs : undefined,
      mode: setup.mode,
      role: setup.role,
      intervalMs: setup.peer?.intervalMs ?? 10,
      deadAfter: setup.peer?.deadAfter ?? 5,
      peered: setup.peer !== null,
      epoch: setup.epoch ?? now,
    }, now);
    const p = setup.peer;
    if (p && peer) {
      // Data batches may carry a whole GSO frame: up to the largest UDP datagram.
      this.#data = new PeerChannel(peer.data, p.key, this.pair.epoch, p.ip, p.port, MAX_DATAGRAM);
      this.#ctl = new PeerChannel(peer.control, p.key, this.pair.epoch, p.ip, p.port + 1);
      this.#hbIn = peer.heartbeat
        ? new PeerChannel(peer.heartbeat, p.key, this.pair.epoch, p.ip, p.port + 2)
        : null;
    } else {
      this.#data = null;
      this.#ctl = null;
      this.#hbIn = null;
    }
    this.#applyRoles();
    if (this.pair.receiver) this.#announce(now);
    this.#event(
      now,
      "start",
      `${setup.node} ${setup.mode} as ${setup.role}, state ${this.pair.state}`,
    );
  }

  // ---------------------------------------------------------------- engine sink

  #sink(): EngineSink {
    return {
      emit: (iface, frame, vnet) => this.#send(iface, frame, vnet),
      mirror: (rec) => this.#sendMirror(rec),
      hold: (iface, frame, mseq, vnet) => {
        this.#held.push({
          iface,
          frame: Uint8Array.from(frame),
          vnet: vnet ? Uint8Array.from(vnet) : undefined,
          mseq,
          deadline: this.#clock() + this.#s.peer!.holdNewFlowsMs,
        });
      },
      expire: (proto, srcIp, srcPort, dstIp, dstPort) => {
        this.#queue({ type: "expire", proto, srcIp, srcPort, dstIp, dstPort });
      },
    };
  }

  /**
   * Writes a frame to a port. A port with offload takes a virtio_net_hdr
   * first: a frame forwarded in place still has its header just before it in
   * the receive buffer and goes out without a copy; anything else is copied
   * behind the given header (zeros: no offload) in the transmit buffer.
   */
  #send(iface: number, frame: Uint8Array, vnet: Uint8Array | undefined): boolean {
    const port = this.#ports[iface]!;
    let ok: boolean;
    if (!port.vnet) ok = port.send(frame);
    else if (
      vnet !== undefined && vnet.buffer === frame.buffer &&
      vnet.byteOffset + VNET_HDR_LEN === frame.byteOffset
    ) {
      ok = port.send(new Uint8Array(frame.buffer, vnet.byteOffset, VNET_HDR_LEN + frame.length));
    } else {
      const tx = this.#tx;
      if (vnet !== undefined && vnet.length === VNET_HDR_LEN) tx.set(vnet, 0);
      else tx.fill(0, 0, VNET_HDR_LEN);
      tx.set(frame, VNET_HDR_LEN);
      ok = port.send(tx.subarray(0, VNET_HDR_LEN + frame.length));
    }
    if (!ok) this.engine.counters.drop(DROP.tx_full);
    return ok;
  }

  #sendMirror(rec: MirrorRecord): number {
    if (rec.frame.length > MAX_MIRROR_FRAME) {
      // Cannot happen with the TAP's gso_max_size capped (see lab/deploy); counted if it does.
      this.engine.counters.drop(DROP.mirror_too_big);
      return 0;
    }
    const mseq = ++this.#mseq;
    this.#queue({ type: "mirror", mseq, ...rec });
    return mseq;
  }

  /** Records for the control lane go ahead of all data (see `channel.ts`). */
  #queue(rec: PeerRecord): void {
    const control = rec.type === "heartbeat" || rec.type === "ack" ||
      (rec.type === "control" && rec.op !== CTRL_SYNC_BEGIN && rec.op !== CTRL_SYNC_END);
    (control ? this.#ctl : this.#data)?.queue(rec);
  }

  #flush(): void {
    this.#ctl?.flush();
    this.#data?.flush();
  }

  // ---------------------------------------------------------------- loop

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const fds = this.#ports.map((p) => p.fd).filter((fd) => fd >= 0);
    if (this.#ctl && this.#data) fds.push(this.#ctl.udp.fd, this.#data.udp.fd);
    if (this.#hbIn) fds.push(this.#hbIn.udp.fd);
    const poller = fds.length > 0 ? new Poller(fds) : null;
    const rx = new Uint8Array(RX_BUFFER);
    const prx = new Uint8Array(RX_BUFFER + 64);
    const plain = new Uint8Array(VNET_HDR_LEN);
    signal.addEventListener("abort", () => this.#stopped = true, { once: true });
    let lastYield = this.#clock();
    while (!this.#stopped) {
      const now = this.#clock();
      this.#lastTurn = now;
      let work = this.#drainPeer(prx, now);
      for (let i = 0; i < this.#ports.length; i++) {
        const port = this.#ports[i]!;
        for (let k = 0; k < TAP_BUDGET; k++) {
          const n = port.recv(rx);
          if (n <= 0) break;
          if (port.vnet) {
            if (n <= VNET_HDR_LEN) continue;
            this.engine.vnet = rx.subarray(0, VNET_HDR_LEN);
            this.engine.handle(rx.subarray(VNET_HDR_LEN, n), i, now);
          } else {
            this.engine.vnet = plain;
            this.engine.handle(rx.subarray(0, n), i, now);
          }
          work++;
        }
        // Heartbeats are read again between ports so a flood on one cannot delay them.
        // Stamped with the time of reading, not of the turn's start: a turn slowed by
        // kernel work in TAP writes must not make fresh heartbeats look old.
        if (this.#data) work += this.#drainPeer(prx, this.#clock());
      }
      const deadline = this.#timers(this.#clock());
      this.#flush();
      const after = this.#clock();
      if (work === 0 && poller) {
        await poller.wait(Math.max(0, deadline - after));
        lastYield = this.#clock();
      } else if (work === 0) {
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(50, deadline - after))));
        lastYield = this.#clock();
      } else if (after - lastYield > 5 && poller) {
        // Busy: still let the API and signal handlers run every few ms.
        await poller.wait(0);
        lastYield = this.#clock();
      }
    }
    this.#flush();
  }

  stop(): void {
    this.#stopped = true;
  }

  #drainPeer(buf: Uint8Array, now: number): number {
    const ctl = this.#ctl, data = this.#data;
    if (!ctl || !data) return 0;
    const onRecord = (rec: PeerRecord) => this.#onRecord(rec, now);
    // Heartbeats and control first, whatever is waiting on the data lane.
    let n = this.#hbIn ? this.#hbIn.drain(buf, PEER_BUDGET, onRecord) : 0;
    n += ctl.drain(buf, PEER_BUDGET, onRecord);
    n += data.drain(buf, PEER_BUDGET, onRecord);
    if (n > 0) this.pair.heard(now);
    if (this.#ackWanted > this.#ackSent) {
      this.#queue({ type: "ack", mseq: this.#ackWanted });
      this.#ackSent = this.#ackWanted;
    }
    return n;
  }

  #onRecord(rec: PeerRecord, now: number): void {
    switch (rec.type) {
      case "heartbeat": {
        this.#lastPeerHeardAt = now;
        this.#lastPeerSentAt = rec.sentAt;
        if (rec.echoSentAt > 0) {
          const rtt = now - rec.echoSentAt - rec.echoHeldMs;
          if (rtt >= 0) {
            this.#rttMs = rtt;
            this.#rtt.observe(rtt);
          }
        }
        const match = rec.configDigest === this.#s.configDigest;
        if (match !== this.#peerConfigMatch) {
          this.#peerConfigMatch = match;
          if (!match) {
            this.#event(now, "config", "peer's service definitions differ from ours");
          }
        }
        this.#act(
          this.pair.onHeartbeat(now, {
            role: rec.role,
            state: rec.state,
            receiver: rec.receiver,
            forwarder: rec.forwarder,
            syncComplete: rec.syncComplete,
            priority: rec.priority,
            epoch: rec.epoch,
          }),
          now,
        );
        break;
      }
      case "mirror":
        this.engine.applyMirror(rec, now);
        this.#lag.observe(Math.max(0, now - rec.time));
        if (rec.flags & MF_WANT_ACK && rec.mseq > this.#ackWanted) this.#ackWanted = rec.mseq;
        break;
      case "ack":
        this.#release(rec.mseq, now);
        break;
      case "expire":
        this.engine.applyExpire(rec.proto, rec.srcIp, rec.srcPort, rec.dstIp, rec.dstPort);
        break;
      case "flow":
        if (this.pair.state === "joining") {
          this.engine.flows.upsert(rec.entry);
          this.#syncIn.got++;
          this.#syncIn.lastRx = now;
          this.#counters.sync_entries_received++;
        }
        break;
      case "control":
        this.#onControl(rec.op, rec.arg, now);
        break;
    }
  }

  #onControl(op: number, arg: number, now: number): void {
    switch (op) {
      case CTRL_SYNC_REQUEST:
        // A repeated request means the joiner lost the start or stalled: start over.
        if (this.pair.synced) {
          // Claims 20, 21: the whole table, busiest connections first, while live mirroring goes on.
          this.#syncOut = this.engine.flows.syncOrder();
          this.#syncPos = 0;
          this.#syncSent = 0;
          this.#syncAcked = 0;
          this.#queue({ type: "control", op: CTRL_SYNC_BEGIN, arg: this.#syncOut.length });
          this.#event(now, "sync", `bulk sync to peer started: ${this.#syncOut.length} flows`);
        }
        break;
      case CTRL_SYNC_PROGRESS:
        if (this.#syncOut && arg > this.#syncAcked) this.#syncAcked = arg;
        break;
      case CTRL_SYNC_BEGIN:
        if (this.pair.state === "joining") {
          // Everything live at the sender now follows, then live mirroring: start clean
          // (a restarted sync must not keep flows the sender has since dropped).
          this.engine.flows.clear();
          this.#syncIn.expected = arg;
          this.#syncIn.got = 0;
          this.#syncIn.lastRx = now;
          this.#event(now, "sync", `bulk sync from peer started: ${arg} flows`);
        }
        break;
      case CTRL_SYNC_END:
        if (this.pair.state === "joining" && this.#syncIn.expected >= 0) {
          if (this.#syncIn.got >= arg) {
            this.#event(now, "sync", `bulk sync complete: ${this.#syncIn.got} flows`);
            this.#act(this.pair.syncComplete(), now);
          } else {
            // Lost entries on the peer link: ask again rather than serve with holes.
            this.#event(now, "sync", `bulk sync incomplete (${this.#syncIn.got}/${arg}); retrying`);
            this.#syncIn.expected = -1;
            this.#syncIn.requestedAt = -Infinity;
          }
        }
        break;
      case CTRL_FAILOVER_REQUEST:
        this.#act(this.pair.onFailoverRequest(), now);
        break;
      case CTRL_TAKEOVER:
        this.#act(this.pair.onTakeover(), now);
        break;
    }
  }

  #release(acked: number, now: number): void {
    if (this.#held.length === 0) return;
    const keep: Held[] = [];
    for (const h of this.#held) {
      if (h.mseq <= acked) this.#emitHeld(h);
      else if (now >= h.deadline) {
        this.engine.counters.add(EV.hold_timeouts);
        this.#emitHeld(h);
      } else keep.push(h);
    }
    this.#held = keep;
  }

  #emitHeld(h: Held): void {
    if (this.#send(h.iface, h.frame, h.vnet)) {
      this.engine.counters.add(EV.tx_packets);
      this.engine.counters.add(EV.tx_bytes, h.frame.length);
    }
  }

  /** Heartbeats, dead-peer detection, GARP repeats, sync pacing, holds, the reaper. */
  #timers(now: number): number {
    let deadline = this.engine.tick(now);
    this.#act(this.pair.tick(now), now);
    deadline = Math.min(deadline, this.pair.nextDeadline(now));
    const peer = this.#s.peer;
    if (peer) {
      if (this.#s.heartbeat) {
        this.#publishHeartbeat(now);
      } else {
        if (now >= this.#nextHeartbeat) {
          this.#sendHeartbeat(now);
          this.#nextHeartbeat = now + peer.intervalMs;
        }
        deadline = Math.min(deadline, this.#nextHeartbeat);
      }
      if (this.#garpLeft > 0 && now >= this.#nextGarp) {
        this.engine.announce();
        this.#garpLeft--;
        this.#nextGarp = now + peer.intervalMs;
      }
      if (this.#garpLeft > 0) deadline = Math.min(deadline, this.#nextGarp);
      if (this.#held.length > 0) {
        this.#release(0, now);
        for (const h of this.#held) deadline = Math.min(deadline, h.deadline);
      }
      this.#paceSync(now);
      if (this.#syncOut && this.#syncSent - this.#syncAcked < SYNC_WINDOW) deadline = now;
      const sin = this.#syncIn;
      if (this.pair.state === "joining" && sin.expected >= 0) {
        // Report progress: it opens the sender's window.
        if (now - sin.progressAt >= 20) {
          sin.progressAt = now;
          this.#queue({ type: "control", op: CTRL_SYNC_PROGRESS, arg: sin.got });
        }
        // Nothing for a second (a lost end record, a stalled sender): ask again.
        if (now - sin.lastRx > 1000) {
          this.#event(now, "sync", `bulk sync stalled at ${sin.got}/${sin.expected}; asking again`);
          sin.expected = -1;
          sin.requestedAt = -Infinity;
        } else deadline = Math.min(deadline, now + 20);
      }
      if (
        this.pair.state === "joining" && this.pair.peer === "up" && this.#syncIn.expected < 0 &&
        now - this.#syncIn.requestedAt > 200
      ) {
        this.#syncIn.requestedAt = now;
        this.#queue({ type: "control", op: CTRL_SYNC_REQUEST, arg: 0 });
      }
    }
    return deadline;
  }

  /**
   * Sends the next bulk-sync entries: at most SYNC_BATCH_RECORDS a turn and
   * SYNC_WINDOW beyond what the joiner reported, so its socket never
   * overflows (it did at a million flows).
   */
  #paceSync(now: number): void {
    const ids = this.#syncOut;
    if (!ids) return;
    const ft = this.engine.flows;
    const room = Math.min(SYNC_BATCH_RECORDS, SYNC_WINDOW - (this.#syncSent - this.#syncAcked));
    let sent = 0;
    for (; this.#syncPos < ids.length && sent < room; this.#syncPos++) {
      const f = ids[this.#syncPos]!;
      if (!ft.live(f)) continue;
      this.#queue({ type: "flow", entry: ft.entry(f) });
      sent++;
    }
    this.#syncSent += sent;
    this.#counters.sync_entries_sent += sent;
    if (this.#syncPos >= ids.length) {
      this.#queue({ type: "control", op: CTRL_SYNC_END, arg: this.#syncSent });
      this.#event(now, "sync", `bulk sync to peer sent ${this.#syncSent} flows`);
      this.#syncOut = null;
    }
  }

  /** Tells the heartbeat thread what to say, and that the loop is turning. */
  #publishHeartbeat(now: number): void {
    const s = this.#s.heartbeat!.state, p = this.pair, ft = this.engine.flows;
    const d = ft.digest;
    s[HB.role] = ROLES.indexOf(p.role);
    s[HB.state] = STATES.indexOf(p.state);
    s[HB.flags] = (p.receiver ? 1 : 0) | (p.forwarder ? 2 : 0) | (p.synced ? 4 : 0);
    s[HB.priority] = p.priority;
    s[HB.flowCount] = ft.count;
    s[HB.digestHi] = parseInt(d.slice(0, 8), 16);
    s[HB.digestLo] = parseInt(d.slice(8), 16);
    s[HB.echoSentAt] = this.#lastPeerSentAt;
    s[HB.echoHeardAt] = this.#lastPeerHeardAt;
    s[HB.lastTurn] = now;
  }

  #sendHeartbeat(now: number): void {
    const p = this.pair;
    this.#queue({
      type: "heartbeat",
      role: p.role,
      state: p.state,
      receiver: p.receiver,
      forwarder: p.forwarder,
      syncComplete: p.synced,
      priority: p.priority,
      epoch: p.epoch,
      configDigest: this.#s.configDigest,
      flowCount: this.engine.flows.count,
      tableDigest: this.engine.flows.digest,
      sentAt: now,
      echoSentAt: this.#lastPeerSentAt,
      echoHeldMs: this.#lastPeerSentAt > 0 ? now - this.#lastPeerHeardAt : 0,
    });
  }

  #act(actions: Action[], now: number): void {
    for (const a of actions) {
      switch (a.kind) {
        case "roles":
          this.#applyRoles();
          break;
        case "announce":
          this.#announce(now);
          break;
        case "nudge":
          if (this.#s.peer?.nudge !== false) this.engine.nudge(now);
          break;
        case "clear":
          this.engine.flows.clear();
          this.#syncIn = { expected: -1, got: 0, requestedAt: -Infinity, lastRx: 0, progressAt: 0 };
          break;
        case "sync_request":
          this.#syncIn.requestedAt = now;
          this.#queue({ type: "control", op: CTRL_SYNC_REQUEST, arg: 0 });
          break;
        case "failover_request":
          this.#queue({ type: "control", op: CTRL_FAILOVER_REQUEST, arg: 0 });
          break;
        case "takeover":
          this.#queue({ type: "control", op: CTRL_TAKEOVER, arg: 0 });
          break;
        case "event":
          this.#event(now, a.event, a.detail);
          break;
      }
    }
  }

  #applyRoles(): void {
    const p = this.pair, e = this.engine;
    e.receiver = p.receiver;
    e.forwarder = p.forwarder;
    e.mirroring = p.peer === "up";
    e.holdNewFlows = this.#s.mode === "active-forward" && (this.#s.peer?.holdNewFlowsMs ?? 0) > 0 &&
      p.peer === "up";
  }

  #announce(now: number): void {
    this.engine.announce();
    const repeat = this.#s.peer?.garpRepeat ?? 3;
    this.#garpLeft = Math.max(0, repeat - 1);
    this.#nextGarp = now + (this.#s.peer?.intervalMs ?? 10);
  }

  #event(now: number, kind: string, detail: string): void {
    const e = { at: Math.round(now), kind, detail };
    this.#events.push(e);
    if (this.#events.length > 200) this.#events.shift();
    this.#s.onEvent?.(e);
  }

  // ---------------------------------------------------------------- control

  healthy(): boolean {
    return this.#clock() - this.#lastTurn < 1000;
  }

  failover(): Promise<{ ok: boolean; message: string }> {
    const now = this.#clock();
    const actions = this.pair.requestFailover();
    this.#act(actions, now);
    this.#flush();
    const refused = actions.find((a) => a.kind === "event" && a.detail.startsWith("refused"));
    return Promise.resolve(
      refused
        ? { ok: false, message: "no synced peer to hand over to" }
        : { ok: true, message: `switchover started (${this.pair.state}/${this.pair.role})` },
    );
  }

  snapshot(): StatusSnapshot {
    const now = this.#clock();
    const p = this.pair;
    const peer = this.#s.peer;
    const counters = this.engine.counters.toRecord();
    counters.drop_peer_bad_record = 0;
    for (const ch of [this.#ctl, this.#data]) {
      if (!ch) continue;
      for (const [k, v] of Object.entries(ch.reader.counters)) {
        counters[`drop_peer_${k}`] = (counters[`drop_peer_${k}`] ?? 0) + v;
        counters.drop_peer_bad_record += v;
      }
      counters.peer_tx_full = (counters.peer_tx_full ?? 0) + ch.txFull;
      counters.drop_peer_wrong_source = (counters.drop_peer_wrong_source ?? 0) + ch.wrongSource;
    }
    for (const [k, v] of Object.entries(this.#counters)) counters[k] = v;
    const syncState = this.#syncOut
      ? "sending"
      : p.state === "joining" && this.#syncIn.expected >= 0
      ? "receiving"
      : p.synced
      ? "done"
      : "idle";
    return {
      node: this.#s.node,
      mode: this.#s.mode,
      role: p.role,
      state: p.state,
      receiver: this.engine.receiver,
      forwarder: this.engine.forwarder,
      peer: {
        state: p.peer,
        address: peer ? `${ipv4ToString(peer.ip)}:${peer.port}` : null,
        lastHeartbeatAgeMs: this.#lastPeerHeardAt > 0 ? now - this.#lastPeerHeardAt : null,
        rttMs: this.#rttMs,
        configMatch: this.#peerConfigMatch,
      },
      sync: {
        state: syncState,
        done: this.#syncOut ? this.#syncPos : this.#syncIn.got,
        total: this.#syncOut ? this.#syncOut.length : Math.max(0, this.#syncIn.expected),
      },
      flows: {
        count: this.engine.flows.count,
        capacity: this.engine.flows.capacity,
        digest: this.engine.flows.digest,
      },
      counters,
      histograms: { heartbeatRttMs: this.#rtt.snapshot(), mirrorLagMs: this.#lag.snapshot() },
      events: [...this.#events],
      version: this.#s.version,
      uptimeSeconds: (now - this.#started) / 1000,
      monotonicMs: performance.now(),
    };
  }

  flows(limit: number): FlowInfo[] {
    const ft = this.engine.flows;
    const now = this.#clock();
    return ft.busiest(limit).map((f) => ({
      proto: ft.proto[f] === 6 ? "tcp" : ft.proto[f] === 17 ? "udp" : "icmp",
      client: `${ipv4ToString(ft.oSrc[f]!)}:${ft.oSport[f]}`,
      vip: `${ipv4ToString(ft.oDst[f]!)}:${ft.oDport[f]}`,
      backend: `${ipv4ToString(ft.rSrc[f]!)}:${ft.rSport[f]}`,
      state: STATE_NAMES[ft.state[f]!] ?? "unknown",
      packets: ft.packets[f]!,
      bytes: ft.bytes[f]!,
      ageSeconds: (now - ft.created[f]!) / 1000,
    }));
  }
}
