/**
 * One running appliance: the engine, its frame ports, the peer link and the pair state
 * machine, turned by a single loop:
 *
 *   poll → drain (peer first, then each port up to a budget) → handle → timers → flush
 *
 * The peer socket is drained first and again between ports, so heartbeats never starve behind
 * data (DESIGN.md "Heartbeat"). When idle the loop sleeps in one `poll()` over every fd. The
 * unit only wires parts together: roles come from `ha/pair.ts`, bulk sync from
 * `ha/sync_sender.ts` and `ha/sync_receiver.ts`, the link from `peer_link.ts`, the status from
 * `status.ts`.
 * @module
 */
import type {
  BackendAdmin,
  ControlResult,
  FailsafeStatus,
  FlowInfo,
  HistorySample,
  StatusSnapshot,
  TimelineEvent,
  UnitControl,
} from "../api/snapshot.ts";
import { HistogramRecorder, LATENCY_BOUNDS_MS } from "../api/histogram.ts";
import { Engine } from "../engine/engine.ts";
import { DROP } from "../engine/counters.ts";
import type { EngineConfig } from "../engine/config.ts";
import { VNET_HDR_LEN } from "../engine/config.ts";
import { MF_RELAY, MF_WANT_ACK } from "../engine/output.ts";
import { decodeRow, SYNC_ROW } from "../flow/fields.ts";
import { type Action, type FailoverRefusal, Pair } from "../ha/pair.ts";
import { SyncReceiver, type SyncRxAction } from "../ha/sync_receiver.ts";
import { SyncSender } from "../ha/sync_sender.ts";
import { type Mode, type Role, ROLE_CODES, STATE_CODES } from "../ha/types.ts";
import { EV } from "../engine/counters.ts";
import {
  CTRL_BACKEND_ADMIN,
  CTRL_FAILOVER_REQUEST,
  CTRL_HEALTH,
  CTRL_MACS,
  CTRL_MERGE_BEGIN,
  CTRL_MERGE_END,
  CTRL_SECRET,
  CTRL_SYNC_BEGIN,
  CTRL_SYNC_END,
  CTRL_SYNC_PROGRESS,
  CTRL_SYNC_REQUEST,
  CTRL_TAKEOVER,
  HB_FORWARDER,
  HB_MAINTENANCE,
  HB_RECEIVER,
  HB_SYNC_COMPLETE,
  HB_UNHEALTHY,
  type HeartbeatRecord,
  type PeerRecordIn,
} from "../peer/mod.ts";
import type { FramePort } from "../port/frame_port.ts";
import { Poller } from "../port/poller.ts";
import { LoopYield } from "../port/loop_yield.ts";
import { LoopStats } from "./loop_stats.ts";
import { digestHex, digestWords } from "../config/digest.ts";
import { ipv4ToString } from "../wire/addr.ts";
import {
  HB,
  type HeartbeatThread,
  newHeartbeat,
  readPeer,
  SEQ,
  threadPaused,
} from "./heartbeat.ts";
import {
  LANES_ALL,
  PEER_BATCH_BUFFER,
  PEER_RX_BUFFER,
  PeerLink,
  type PeerSockets,
} from "./peer_link.ts";
import { Arena } from "./arena.ts";
import { type CarrierPort, Failsafe, type TrackSetup } from "./failsafe.ts";
import { Notifier, type NotifyRunner } from "./notify.ts";
import { loadState, saveState } from "./state_file.ts";
import { projectFlows, projectStatus } from "./status.ts";
import { Balancer, packAdmin } from "./balancer.ts";
import { type LoadedConfig, reloadEngine } from "./reload.ts";
import { HistorySampler } from "./history.ts";
import { Trunks } from "./trunk.ts";

export interface PeerSetup {
  ip: number;
  port: number;
  key: Uint8Array;
  intervalMs: number;
  deadAfter: number;
  /** 0 = off. Only in active-forward. */
  holdNewFlowsMs: number;
  garpRepeat: number;
  probe: boolean;
}

/** Fail-safes, preemption, unit maintenance and notify (docs/failsafe.md). */
export interface FailsafeSetup {
  track: TrackSetup | null;
  preempt: boolean;
  preemptDelayMs: number;
  /** Where maintenance survives a restart; null: not persisted (tests). */
  stateDir: string | null;
  /** `notify` script; null: none. */
  notify: string | null;
  /** Carrier reader (default: sysfs); tests inject one. */
  carrier?: CarrierPort;
  /** How notify scripts run (default: a child process); tests inject one. */
  notifyRunner?: NotifyRunner;
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
   * Heartbeats sent from their own thread (see `heartbeat.ts`); without it the loop sends them
   * itself on the control lane.
   */
  heartbeat?: HeartbeatThread;
  /** With `heartbeat`: how long the loop may pause before heartbeats stop. */
  heartbeatGuardMs?: number;
  /** This boot's epoch (wall ms): peers tell restarts apart by it. Default: now. */
  epoch?: number;
  /** Fail-safes; default: nothing tracked, no preempt, nothing persisted, no notify. */
  failsafe?: FailsafeSetup;
  /** The config file, for the status API. */
  configPath?: string;
  /**
   * Reads the config file again (SIGHUP, `POST /reload`): the engine's new config and digest,
   * or an exception whose message is the one clear line to log. Absent: reload is refused.
   */
  loadConfig?: () => LoadedConfig;
  /**
   * How long an idle loop keeps polling without sleeping before it sleeps in poll(): a frame
   * that comes within it is read at once instead of after a thread wake-up. 0: never spin.
   */
  busyPollMs?: number;
  /**
   * While traffic flows, sleep in a poll() that blocks the thread (see `run`): the fast wake-up.
   * Default off, for units that share a process and its event loop (tests), where one unit's
   * blocking wait would stall the others; a unit process (`unitSetup`) turns it on.
   */
  blockingWait?: boolean;
}

/**
 * Work per turn: small enough that a turn stays well under a heartbeat interval even when
 * every frame is mirrored, so timers and heartbeats run on time under full load.
 */
const TAP_BUDGET = 64;
/**
 * And bytes per port per turn: 64 GSO frames of 64 KiB, each mirrored, made a turn of 15-25 ms
 * (the loop's longest pauses under saturation); 256 KiB keeps a turn near a millisecond.
 */
const TAP_BYTE_BUDGET = 256 * 1024;
/** Wall-clock ms of the host, whatever clock the unit was given (the loop's own pacing). */
const realNow = (): number => performance.timeOrigin + performance.now();
/** A busy loop still yields to the API and signal handlers this often, ms. */
const YIELD_MS = 5;
/** After the last frame, how long the loop keeps sleeping in a blocking poll(), ms. */
const HOT_MS = 200;
/** A ready mask with every fd set (see `Poller`): read everything. */
const ALL_READY = -1;
/** A GSO frame (64 KiB of IP) plus Ethernet and virtio_net_hdr. */
const RX_BUFFER = 65536 + 64;
const SYNC_BATCH_RECORDS = 2048;
/** Bulk-sync entries in flight (~2 MB of records: half the socket buffer). */
const SYNC_WINDOW = 20_000;
/** Timeline entries kept for the API. */
const EVENTS_KEPT = 200;

export class Unit implements UnitControl {
  readonly engine: Engine;
  readonly pair: Pair;
  readonly #s: UnitSetup;
  /** Interface i's port; interfaces on one TAP (VLANs of a trunk) share the port object. */
  readonly #ports: FramePort[];
  readonly #trunks: Trunks;
  readonly #link: PeerLink | null;
  /** Version of the SYN-cookie secret the peer last got from us or gave us. */
  #secretShared = 0;
  /** The peer boot (epoch) last heard, and the one that has our interfaces' MACs. */
  #macsWanted = -1;
  #macsSent = -1;
  readonly #clock: () => number;
  readonly #started: number;
  readonly #events: TimelineEvent[] = [];
  readonly #rtt = new HistogramRecorder(LATENCY_BOUNDS_MS);
  readonly #lag = new HistogramRecorder(LATENCY_BOUNDS_MS);
  readonly #syncOut = new SyncSender({ batch: SYNC_BATCH_RECORDS, window: SYNC_WINDOW });
  readonly #syncIn = new SyncReceiver();
  readonly #arena = new Arena([
    ["tapRx", RX_BUFFER],
    ["tapTx", RX_BUFFER],
    ["peerRx", PEER_RX_BUFFER],
    ["batch", PEER_BATCH_BUFFER],
  ]);
  readonly #tx = this.#arena.region("tapTx");
  readonly #onRecord: (rec: PeerRecordIn) => void;
  #configWords: [number, number];
  #configDigest: string;
  #loadedAt: number;
  #lastReload: { at: number; ok: boolean; message: string } | null = null;
  readonly #balancer: Balancer;
  #now = 0;
  #lastTurn = 0;
  readonly #loop = new LoopStats();
  /** The heartbeat thread's count of its own stalls, as last seen (`SEQ.selfStalls`). */
  #selfStalls = 0;
  #stopped = false;
  #nextHeartbeat = 0;
  #lastPeerSentAt = 0;
  #lastPeerHeardAt = 0;
  #rttMs: number | null = null;
  #peerConfigMatch: boolean | null = null;
  #garpLeft = 0;
  #nextGarp = 0;
  #syncEntriesSent = 0;
  #syncEntriesReceived = 0;
  readonly #hb: HeartbeatRecord = newHeartbeat();
  readonly #peerHb: HeartbeatRecord = newHeartbeat();
  #peerSeq = 0;
  #merging = false;
  #mergedFlows = 0;
  #mergeConflicts = 0;
  readonly #failsafe: Failsafe;
  readonly #notifier: Notifier | null;
  #maintenance = false;
  #healthy = true;
  #settled = true;
  readonly #history = new HistorySampler();

  /** `peer`: the link's sockets (data on the listen port, control and heartbeats above it). */
  constructor(setup: UnitSetup, ports: FramePort[], peer: PeerSockets | null) {
    this.#s = setup;
    this.#ports = ports;
    this.#clock = setup.clock ?? (() => performance.timeOrigin + performance.now());
    const now = this.#clock();
    this.#now = now;
    this.#started = now;
    this.#configWords = digestWords(setup.configDigest);
    this.#configDigest = setup.configDigest;
    this.#loadedAt = this.#clock();
    const rng = setup.rng ?? (() => crypto.getRandomValues(new Uint32Array(1))[0]!);
    const send = (
      iface: number,
      buf: Uint8Array,
      off: number,
      end: number,
      vnet: Uint8Array | null,
    ) => this.#send(iface, buf, off, end, vnet);
    const p = setup.peer;
    this.pair = new Pair({
      stallMs: setup.heartbeat ? setup.heartbeatGuardMs : undefined,
      mode: setup.mode,
      role: setup.role,
      intervalMs: p?.intervalMs ?? 10,
      deadAfter: p?.deadAfter ?? 5,
      peered: p !== null,
      epoch: setup.epoch ?? now,
      holdNewFlows: (p?.holdNewFlowsMs ?? 0) > 0,
      preempt: setup.failsafe?.preempt,
      preemptDelayMs: setup.failsafe?.preemptDelayMs,
    }, now);
    const fs = setup.failsafe;
    this.#failsafe = new Failsafe(fs?.track ?? null, fs?.carrier);
    this.#settled = this.#failsafe.settled;
    this.#notifier = fs?.notify
      ? new Notifier(
        fs.notify,
        (line) => this.#event(this.#clock(), "notify", line),
        fs.notifyRunner,
      )
      : null;
    // Unit maintenance survives a restart (set by the operator, cleared only by the operator).
    if (fs?.stateDir) {
      const { state, error } = loadState(fs.stateDir);
      this.#maintenance = state.maintenance;
      if (error) this.#event(now, "maintenance", `state file unreadable, ignored: ${error}`);
    }
    let link: PeerLink | null = null;
    this.engine = new Engine(setup.engine, {
      emit: send,
      mirror: (rec) => link ? link.mirror(rec) : 0,
      flush: () => link?.flush(),
      hold: (iface, buf, off, end, vnet, mseq) =>
        link?.hold(iface, buf, off, end, vnet, mseq, this.#now),
      expire: (flows, f) => link?.expire(flows, f),
      relay: (ingress, buf, off, end, vnet) => link?.relay(ingress, buf, off, end, vnet),
    }, rng);
    if (p && peer) {
      link = new PeerLink(
        peer,
        {
          ip: p.ip,
          port: p.port,
          key: p.key,
          epoch: this.pair.epoch,
          holdMs: p.holdNewFlowsMs,
        },
        this.engine.flows,
        send,
        {
          rx: this.#arena.region("peerRx"),
          batch: this.#arena.region("batch"),
        },
      );
    }
    this.#link = link;
    this.#trunks = new Trunks(
      ports,
      setup.engine.interfaces.map((i) => i.vlan ?? 0),
      this.engine.counters,
      this.#tx,
      (dst, at, src, off, end) => this.#arena.copy(dst, at, src, off, end),
    );
    this.engine.ctx.arpWatch = this.#failsafe.monitor;
    this.#balancer = new Balancer(this.engine);
    this.#onRecord = (rec) => this.#record(rec);
    this.#applyPolicy();
    if (this.pair.receiver) this.#announce(now);
    this.#event(
      now,
      "start",
      `${setup.node} ${setup.mode} as ${setup.role}, state ${this.pair.state}`,
    );
    this.#notifier?.push(this.pair.state, "start");
    if (this.#maintenance) {
      this.#event(now, "maintenance", "in maintenance (kept across the restart)");
      this.#notifier?.push("maintenance", "restart");
    }
    // The pair learns at once that checks are pending (no preemption before their verdicts)
    // and whether maintenance is on.
    this.#act(this.pair.setLocal(this.#localHealth(), now), now);
  }

  #localHealth() {
    return { healthy: this.#healthy, settled: this.#settled, maintenance: this.#maintenance };
  }

  // ---------------------------------------------------------------- loop

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const trunks = this.#trunks, devices = trunks.devices;
    const fds = devices.map((p) => p.fd).filter((fd) => fd >= 0);
    // Each port's bit in the poller's ready mask; a port with no fd (in memory) is always read.
    const deviceBits = devices.map((p) => p.fd >= 0 ? 1 << fds.indexOf(p.fd) : ALL_READY);
    let peerBits = 0;
    if (this.#link) {
      const [ctl, data] = this.#link.fds;
      fds.push(ctl!, data!);
      peerBits = (1 << (fds.length - 2)) | (1 << (fds.length - 1));
    }
    const peerShift = fds.length - 2;
    const poller = fds.length > 0 ? new Poller(fds) : null;
    const rx = this.#arena.region("tapRx");
    const plain = new Uint8Array(VNET_HDR_LEN);
    const rxVnet = rx.subarray(0, VNET_HDR_LEN);
    signal.addEventListener("abort", () => this.#stopped = true, { once: true });
    const busyPollMs = this.#s.busyPollMs ?? 0, loop = this.#loop;
    const hotMs = this.#s.blockingWait ? HOT_MS : 0;
    // Opened beside the first turns, not before them (the loop starts at once); until then, and
    // where Unix sockets are not allowed, yields fall back to a poll(0) on a helper thread.
    const yielder: { y: LoopYield | null; ended: boolean } = { y: null, ended: false };
    if (poller) {
      LoopYield.open().then((y) => yielder.ended ? y.close() : yielder.y = y, () => {});
    }
    // The loop's own pacing (yields, busy-poll, pauses) runs on real time, never on the unit's
    // clock: a test's frozen clock must not stop the loop from yielding.
    let lastYield = realNow(),
      lastStart = lastYield,
      slept = 0,
      lastWork = -Infinity,
      // What poll() last found readable: a turn reads only those fds, so a wake-up for one frame
      // costs one read, not a read of every port and lane (about 1-2 µs each in a VM, and two
      // turns of them per wake-up). Unknown (after a yield): all.
      ready = ALL_READY;
    try {
      while (!this.#stopped) {
        this.#lastTurn = this.#now = this.#clock();
        const start = realNow();
        loop.pause(start - lastStart - slept, start);
        lastStart = start;
        slept = 0;
        const dataBefore = this.#link?.dataRead ?? 0;
        let work = this.#drainPeer((ready & peerBits) >>> peerShift), frames = 0;
        for (let d = 0; d < devices.length; d++) {
          const bit = deviceBits[d]!;
          if (bit !== ALL_READY && (ready & bit) === 0) continue;
          const port = devices[d]!, before = frames;
          // Offload ports put the virtio_net_hdr before each frame; plain ports read at 0.
          const at = port.vnet ? VNET_HDR_LEN : 0;
          this.engine.vnet = port.vnet ? rxVnet : plain;
          for (let k = 0, bytes = 0; k < TAP_BUDGET && bytes < TAP_BYTE_BUDGET; k++) {
            const n = port.recv(rx);
            if (n <= at) {
              if (n <= 0) break;
              continue;
            }
            bytes += n;
            // One interface per TAP, or a trunk's VLAN with its tag stripped (trunk.ts).
            const iface = trunks.rx(d, rx, at, n);
            if (iface < 0) continue;
            this.engine.handle(rx, trunks.off, n, iface, this.#now);
            work++;
            frames++;
          }
          // The peer link is read again between ports so a flood on one cannot hold it back, and
          // stamped with the time of reading: a turn slowed by kernel work in TAP writes must
          // not make fresh records look old. Only after frames: an idle port took no time.
          if (frames > before) {
            this.#now = this.#clock();
            work += this.#drainPeer(LANES_ALL);
          }
        }
        // How long until the next timer, in ms of the unit's clock.
        const timerIn = this.#timers(this.#clock()) - this.#clock();
        this.#link?.flush();
        const after = realNow(), deadline = after + timerIn;
        // Traffic (frames, mirror records), not control or heartbeats, keeps the loop hot.
        if (frames > 0 || (this.#link?.dataRead ?? 0) !== dataBefore) {
          lastWork = after;
        }
        let idle = work === 0;
        if (!idle && poller) {
          if (after - lastYield > YIELD_MS) {
            // Busy: still let the API and signal handlers run every few ms.
            await (yielder.y ? yielder.y.yield() : poller.wait(0));
            lastYield = realNow();
            ready = ALL_READY;
            continue;
          }
          // One poll(0) says which fds have more; nothing: sleep now, without a turn of reads
          // that would all find nothing.
          ready = poller.waitSync(0);
          if (ready !== 0) continue;
          idle = true;
        }
        if (idle && poller) {
          // Busy-poll first (bounded, and never past a timer or the yield bound): a frame that
          // comes within it is read without sleeping at all.
          const spinEnd = Math.min(after + busyPollMs, deadline, lastYield + YIELD_MS);
          if (busyPollMs > 0 && spinEnd > after) {
            // Only a spin that ran is counted: with busy_poll off the counter stays at 0.
            ready = this.#spin(poller, spinEnd);
            loop.busyPollMs += realNow() - after;
            if (ready !== 0) {
              loop.busyPollHits++;
              continue;
            }
          }
          const before = realNow();
          if (before - lastWork < hotMs) {
            // Traffic is flowing: sleep in poll() on this thread, so the kernel wakes the loop
            // itself. The awaited wait runs poll() on a helper thread and costs a second wake-up
            // (that thread's, then the event loop's) per idle gap: measured here, most of the
            // RTT that mirroring added. Blocking holds the event loop, so it is bounded by the
            // yield interval, after which the API, timers and signal handlers get their turn.
            if (before - lastYield >= YIELD_MS) {
              await (yielder.y ? yielder.y.yield() : poller.wait(0));
              lastYield = realNow();
              ready = ALL_READY;
            } else {
              ready = poller.waitSync(Math.min(deadline, lastYield + YIELD_MS) - before);
            }
            slept = realNow() - before;
            continue;
          }
          // Idle for a while: sleep off the JS thread, the event loop free, until a frame or a timer.
          ready = await poller.wait(Math.max(0, deadline - before));
          lastYield = realNow();
          slept = lastYield - before;
        } else if (work === 0) {
          const before = realNow();
          await new Promise((r) => setTimeout(r, Math.max(0, Math.min(50, deadline - before))));
          lastYield = realNow();
          slept = lastYield - before;
        }
      }
    } finally {
      yielder.ended = true;
      yielder.y?.close();
    }
    this.#link?.flush();
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Polls without sleeping until an fd is ready (its mask) or `end` (real time) passes (0). */
  #spin(poller: Poller, end: number): number {
    do {
      const ready = poller.waitSync(0);
      if (ready !== 0) return ready;
    } while (realNow() < end);
    return 0;
  }

  /**
   * Writes a frame to a port. An offload port takes a virtio_net_hdr first: a frame handled in
   * place still has its header just before it in the receive buffer and goes out without a
   * copy; anything else is copied behind the given header (zeros: no offload). A VLAN
   * interface's frames get its 802.1Q tag (`trunk.ts`): every frame out of the unit, forwarded,
   * built by the engine or carried by a peer record, passes here.
   */
  #send(
    iface: number,
    buf: Uint8Array,
    off: number,
    end: number,
    vnet: Uint8Array | null,
  ): boolean {
    const port = this.#ports[iface]!;
    let ok: boolean;
    if (this.#trunks.vids[iface] !== 0) ok = this.#trunks.send(iface, buf, off, end);
    else if (!port.vnet && off === 0) ok = port.send(buf, end);
    else if (
      port.vnet && off === VNET_HDR_LEN && vnet !== null && vnet.buffer === buf.buffer &&
      vnet.byteOffset === buf.byteOffset
    ) {
      // Handled in place: the receive buffer holds the header right before the frame.
      ok = port.send(buf, end);
    } else {
      const tx = this.#tx, at = port.vnet ? VNET_HDR_LEN : 0;
      if (port.vnet) {
        if (vnet !== null) tx.set(vnet, 0);
        else tx.fill(0, 0, VNET_HDR_LEN);
      }
      this.#arena.copy(tx, at, buf, off, end);
      ok = port.send(tx, at + end - off);
    }
    if (!ok) this.engine.counters.drop(DROP.tx_full);
    return ok;
  }

  /** Reads the peer: the heartbeat thread's latest always, and the link's `lanes` (LANE_*). */
  #drainPeer(lanes: number): number {
    const link = this.#link;
    if (!link) return 0;
    this.#heartbeatThread();
    const n = link.drain(this.#onRecord, this.#now, lanes);
    if (n > 0) this.pair.heard(this.#now);
    return n;
  }

  /** The peer's latest heartbeat as the heartbeat thread read it, stamped when it was read. */
  #heartbeatThread(): void {
    const t = this.#s.heartbeat;
    if (!t) return;
    const stalls = Atomics.load(t.seq, SEQ.selfStalls);
    if (stalls !== this.#selfStalls) {
      this.#selfStalls = stalls;
      this.pair.selfStalled(this.#now);
    }
    // The thread counts its own stalls only once it runs again; if this loop runs first after
    // a pause of the whole host, the thread's idle lane must not read as the peer's silence.
    if (threadPaused(t.state, realNow(), this.#s.peer?.intervalMs ?? Infinity)) {
      this.pair.selfStalled(this.#now);
    }
    const got = readPeer(t.peer, t.seq, this.#peerSeq, this.#peerHb);
    if (!got) return;
    this.#peerSeq = got.seq;
    this.#heartbeat(this.#peerHb, got.heardAt);
  }

  // ---------------------------------------------------------------- records

  #record(rec: PeerRecordIn): void {
    const now = this.#now;
    switch (rec.type) {
      case "heartbeat":
        this.#heartbeat(rec, now);
        break;
      case "mirror":
        if (rec.flags & MF_RELAY) {
          this.engine.applyRelay(rec, now);
          break;
        }
        this.engine.applyMirror(rec);
        this.#lag.observe(Math.max(0, now - rec.time));
        if (rec.flags & MF_WANT_ACK) this.#link!.wantAck(rec.mseq);
        break;
      case "ack":
        this.#link!.release(rec.mseq, now);
        break;
      case "expire":
        this.engine.applyExpire(rec);
        break;
      case "flow":
        if (this.#merging) this.#mergeFlow(rec.view, rec.rowOff);
        else if (this.#syncIn.accepting) {
          const ft = this.engine.flows;
          ft.clearRow(ft.stage);
          decodeRow(ft.cols, SYNC_ROW, ft.stage, rec.view, rec.rowOff);
          ft.upsert(ft.stage);
          this.#syncIn.onEntry(now);
          this.#syncEntriesReceived++;
        }
        break;
      case "control":
        this.#control(rec.op, rec.arg, now, rec.buf.subarray(rec.dataOff, rec.dataEnd));
        break;
    }
  }

  #heartbeat(hb: HeartbeatRecord, now: number): void {
    const role = ROLE_CODES[hb.role], state = STATE_CODES[hb.state];
    if (role === undefined || state === undefined) return;
    this.#link?.peerAck(hb.dataAck, hb.dataTop, now);
    // Each boot of the peer hears our interfaces' MACs once (`#shareMacs`).
    this.#macsWanted = hb.epoch;
    this.#lastPeerHeardAt = now;
    this.#lastPeerSentAt = hb.sentAt;
    if (hb.echoSentAt > 0) {
      const rtt = now - hb.echoSentAt - hb.echoHeldMs;
      if (rtt >= 0) {
        this.#rttMs = rtt;
        this.#rtt.observe(rtt);
      }
    }
    const [hi, lo] = this.#configWords;
    const match = hb.configDigestHi === hi && hb.configDigestLo === lo;
    if (match !== this.#peerConfigMatch) {
      this.#peerConfigMatch = match;
      if (!match) {
        this.#balancer.forgetPeer();
        this.#event(now, "config", "peer's service definitions differ from ours");
      } else this.#event(now, "config", "peer's service definitions match ours");
    }
    this.#act(
      this.pair.onHeartbeat(now, {
        role,
        state,
        receiver: (hb.flags & HB_RECEIVER) !== 0,
        forwarder: (hb.flags & HB_FORWARDER) !== 0,
        syncComplete: (hb.flags & HB_SYNC_COMPLETE) !== 0,
        healthy: (hb.flags & HB_UNHEALTHY) === 0,
        maintenance: (hb.flags & HB_MAINTENANCE) !== 0,
        priority: hb.priority,
        epoch: hb.epoch,
        pairedEpoch: hb.pairedEpoch,
      }),
      now,
    );
  }

  #control(op: number, arg: number, now: number, data: Uint8Array): void {
    switch (op) {
      case CTRL_HEALTH:
        this.#balancer.onPeerHealth(arg, data, this.#peerConfigMatch);
        break;
      case CTRL_BACKEND_ADMIN: {
        const detail = this.#balancer.onPeerAdmin(arg, this.#peerConfigMatch);
        if (detail) this.#event(now, "backend", detail);
        break;
      }
      case CTRL_SYNC_REQUEST:
        // Claims 20, 21: the whole table, busiest first, while live mirroring goes on. A
        // repeated request starts over.
        if (this.pair.mayServeSync) {
          // The operator's backend states first, so the joiner schedules as we do.
          for (const a of this.#balancer.adminArgs()) {
            this.#link!.control(CTRL_BACKEND_ADMIN, a, undefined, true);
          }
          // And the cookie secret, so the joiner validates cookies sent before it came.
          this.#secretShared = 0;
          this.#shareSecret(this.#link!);
          const total = this.#syncOut.start(this.engine.flows.syncOrder());
          this.#link!.control(CTRL_SYNC_BEGIN, total);
          this.#event(now, "sync", `bulk sync to peer started: ${total} flows`);
        }
        break;
      case CTRL_MACS:
        // Where a split brain's frames of the peer's flows go (`engine/split.ts`).
        if (!this.engine.setPeerMacs(data)) {
          this.#event(
            now,
            "config",
            "peer has other interfaces than ours: split-brain frames stay dropped",
          );
        }
        break;
      case CTRL_SECRET:
        // Claims 23, 24: the receiver's cookie secret, so this unit validates its cookies.
        if (this.engine.installSynSecret(data, arg, now)) this.#secretShared = arg >>> 0 || 1;
        break;
      case CTRL_SYNC_PROGRESS:
        this.#syncOut.onProgress(arg);
        break;
      case CTRL_SYNC_BEGIN:
        this.#syncActs(this.#syncIn.onBegin(arg, now), now);
        break;
      case CTRL_SYNC_END:
        this.#syncActs(this.#syncIn.onEnd(arg), now);
        break;
      case CTRL_FAILOVER_REQUEST:
        this.#act(this.pair.onFailoverRequest(now), now);
        break;
      case CTRL_TAKEOVER: {
        const role = ROLE_CODES[arg];
        if (role) this.#act(this.pair.onTakeover(role, now), now);
        break;
      }
      case CTRL_MERGE_BEGIN:
        this.#merging = true;
        this.#event(now, "merge", `peer yields after a split brain: merging ${arg} flows`);
        break;
      case CTRL_MERGE_END:
        this.#merging = false;
        this.#event(
          now,
          "merge",
          `merged ${this.#mergedFlows} flows, ${this.#mergeConflicts} conflicts`,
        );
        break;
    }
  }

  // ---------------------------------------------------------------- actions

  #act(actions: Action[], now: number): void {
    for (const a of actions) {
      switch (a.kind) {
        case "roles":
          this.#applyPolicy();
          break;
        case "announce":
          this.#announce(now);
          break;
        case "recover": {
          // Replay first (the frames exist), then probe (for what died with the peer).
          const n = this.#link?.replay((rec) => this.engine.replay(rec)) ?? 0;
          const replayed = this.engine.counters.get(EV.replayed);
          this.#event(
            now,
            "recover",
            `replayed ${n} unconfirmed batches (${replayed} frames in all)`,
          );
          if (this.#s.peer?.probe !== false) this.engine.probe(now);
          break;
        }
        case "merge":
          this.#sendMerge(a.since, now);
          break;
        case "join":
          this.#syncActs(this.#syncIn.start(now), now);
          break;
        case "failover_request":
          this.#link?.control(CTRL_FAILOVER_REQUEST, 0);
          break;
        case "takeover":
          this.#link?.control(CTRL_TAKEOVER, ROLE_CODES.indexOf(a.role));
          break;
        case "event":
          this.#event(now, a.event, a.detail);
          break;
        case "notify":
          this.#notifier?.push(a.state, a.reason);
          break;
      }
    }
    // A unit that stopped joining (synced, or serving alone) takes no more entries.
    if (!this.pair.joining && this.#syncIn.active) this.#syncIn.stop();
  }

  #syncActs(actions: SyncRxAction[], now: number): void {
    for (const a of actions) {
      switch (a.kind) {
        case "request":
          // On the data lane: after any merge records, in order.
          this.#link?.control(CTRL_SYNC_REQUEST, 0, undefined, true);
          break;
        case "clear":
          this.engine.flows.clear();
          break;
        case "progress":
          this.#link?.control(CTRL_SYNC_PROGRESS, a.got);
          break;
        case "complete":
          this.#event(now, "sync", `bulk sync complete: ${a.got} flows`);
          this.#act(this.pair.syncComplete(now), now);
          break;
        case "event":
          this.#event(now, "sync", a.detail);
          break;
      }
    }
  }

  /**
   * This unit yields after a split brain: the flows it created during the split (since
   * `since`) go to the winner first, as FLOW records between MERGE_BEGIN and MERGE_END on the
   * ordered data lane; the sync request that follows comes after them.
   */
  #sendMerge(since: number, now: number): void {
    const link = this.#link;
    if (!link) return;
    const ft = this.engine.flows, created = ft.c.created;
    const ids: number[] = [];
    for (const f of ft.ids()) if (created[f]! >= since) ids.push(f);
    link.control(CTRL_MERGE_BEGIN, ids.length, undefined, true);
    for (const f of ids) link.flow(f);
    link.control(CTRL_MERGE_END, ids.length, undefined, true);
    this.#event(now, "merge", `sent the peer ${ids.length} flows opened during the split`);
  }

  /**
   * A flow the yielding peer opened during a split brain. The rule for conflicts: the unit
   * that keeps the addresses keeps its own decisions, so a flow whose original tuple we hold
   * already, or whose reply tuple (its backend and SNAT port) another flow of ours uses, is
   * not taken; each such conflict is counted.
   */
  #mergeFlow(view: DataView, rowOff: number): void {
    const ft = this.engine.flows;
    ft.clearRow(ft.stage);
    decodeRow(ft.cols, SYNC_ROW, ft.stage, view, rowOff);
    if (ft.lookupOrig(ft.stage) >= 0 || ft.add(ft.stage) < 0) this.#mergeConflicts++;
    else this.#mergedFlows++;
  }

  #applyPolicy(): void {
    const p = this.pair.policy, r = this.engine.roles;
    r.receiver = p.receiver;
    r.forwarder = p.forwarder;
    r.mirror = p.mirror && this.#link !== null;
    r.holdNewFlows = p.holdNewFlows && this.#link !== null;
    r.relay = p.relay && this.#link !== null;
    // Alone after losing a peer we had: a split brain, maybe (`engine/split.ts`).
    r.bounce = this.pair.state === "solo" && this.#link !== null;
  }

  #announce(now: number): void {
    this.engine.announce();
    this.#garpLeft = Math.max(0, (this.#s.peer?.garpRepeat ?? 3) - 1);
    this.#nextGarp = now + (this.#s.peer?.intervalMs ?? 10);
  }

  #event(now: number, kind: string, detail: string): void {
    const e = { at: Math.round(now), kind, detail };
    this.#events.push(e);
    if (this.#events.length > EVENTS_KEPT) this.#events.shift();
    this.#s.onEvent?.(e);
  }

  // ---------------------------------------------------------------- timers

  /** The reaper, the pair's timers, heartbeats, GARP repeats, holds and bulk sync. */
  #timers(now: number): number {
    this.#now = now;
    // The dashboard's once-a-second sample; `due` keeps the other turns free of work.
    if (this.#history.due(now)) {
      this.#history.observe(now, now, {
        rxPackets: this.engine.counters.get(EV.rx_packets),
        txBytes: this.engine.counters.get(EV.tx_bytes),
        flows: this.engine.flows.count,
        heartbeatRttMs: this.pair.peer === "up" ? this.#rttMs : null,
        mirrorLagMs: this.#link ? this.#history.lagP50(this.#lag.snapshot()) : null,
        receiver: this.engine.roles.receiver,
      });
    }
    let deadline = this.engine.tick(now);
    this.#checks(now);
    deadline = Math.min(deadline, this.#failsafe.nextDeadline());
    const flips = this.#balancer.takeChanges();
    for (const c of flips) this.#event(now, "health", this.#balancer.describe(c));
    // Read what the heartbeat thread heard *after* taking `now`: were this thread descheduled
    // between a read and the clock (a busy host, `nice`), a live peer would look silent for
    // that long; read in this order, a pause only makes the peer look younger.
    this.#heartbeatThread();
    this.#act(this.pair.tick(now), now);
    deadline = Math.min(deadline, this.pair.nextDeadline(now));
    // GARP repeats run with or without a peer (a unit alone announces at boot too).
    if (this.#garpLeft > 0 && now >= this.#nextGarp) {
      this.engine.announce();
      this.#garpLeft--;
      this.#nextGarp = now + (this.#s.peer?.intervalMs ?? 10);
    }
    if (this.#garpLeft > 0) deadline = Math.min(deadline, this.#nextGarp);
    const peer = this.#s.peer, link = this.#link;
    if (!peer || !link) return deadline;
    if (this.#s.heartbeat) this.#publishHeartbeat(now);
    else {
      if (now >= this.#nextHeartbeat) {
        link.send(this.#heartbeatRecord(now));
        this.#nextHeartbeat = now + peer.intervalMs;
      }
      deadline = Math.min(deadline, this.#nextHeartbeat);
    }
    this.#shareSecret(link);
    this.#shareMacs(link);
    link.release(0, now);
    deadline = Math.min(deadline, link.holdDeadline(), link.tick(now));
    // Our checks' view, for the peer's status (both views show) and its takeover.
    if (this.#balancer.shareDue(now, flips.length > 0)) {
      for (const svc of this.#balancer.checkedServices()) {
        link.control(CTRL_HEALTH, svc, this.#balancer.healthBytes(svc));
      }
    }
    deadline = Math.min(deadline, this.#balancer.nextShare);
    if (this.#syncOut.active) {
      const ft = this.engine.flows;
      const before = this.#syncOut.sent;
      const end = this.#syncOut.pump({ live: (f) => ft.live(f), sendFlow: (f) => link.flow(f) });
      this.#syncEntriesSent += this.#syncOut.sent - before;
      if (end >= 0) {
        link.control(CTRL_SYNC_END, end);
        this.#event(now, "sync", `bulk sync to peer sent ${end} flows`);
      }
      if (this.#syncOut.ready) deadline = now;
    }
    if (this.#syncIn.active) {
      this.#syncActs(this.#syncIn.tick(now, this.pair.peer === "up"), now);
      deadline = Math.min(deadline, this.#syncIn.nextDeadline(now));
    }
    return deadline;
  }

  /**
   * Sends the SYN-cookie secret (current and previous) when this unit has one the peer has not
   * (the receiver made it, or a bulk sync starts), on the reliable lane (claims 23, 24): either
   * unit then validates any cookie. Not by role: in standby-first the unit serving a bulk sync is
   * not the receiver. One received is not sent back (`#secretShared`).
   */
  #shareSecret(link: PeerLink): void {
    const sec = this.engine.synSecret;
    if (!sec.ready || sec.version === this.#secretShared) return;
    link.control(CTRL_SECRET, sec.version, sec.export(), true);
    this.#secretShared = sec.version;
  }

  /**
   * Sends our own MAC on each interface to a peer boot that has not had them: where it sends,
   * while solo, the frames of flows only we may hold (`engine/split.ts`).
   */
  #shareMacs(link: PeerLink): void {
    if (this.#macsWanted === this.#macsSent) return;
    const macs = this.engine.ownMacs();
    link.control(CTRL_MACS, macs.length / 6, macs, true);
    this.#macsSent = this.#macsWanted;
  }

  /** Tells the heartbeat thread what to say, and that the loop is turning. */
  #publishHeartbeat(now: number): void {
    const s = this.#s.heartbeat!.state, hb = this.#heartbeatRecord(now);
    s[HB.role] = hb.role;
    s[HB.state] = hb.state;
    s[HB.flags] = hb.flags;
    s[HB.priority] = hb.priority;
    s[HB.flowCount] = hb.flowCount;
    s[HB.digestHi] = hb.tableDigestHi;
    s[HB.digestLo] = hb.tableDigestLo;
    s[HB.echoSentAt] = this.#lastPeerSentAt;
    s[HB.echoHeardAt] = this.#lastPeerHeardAt;
    s[HB.dataAck] = hb.dataAck;
    s[HB.dataTop] = hb.dataTop;
    s[HB.configHi] = hb.configDigestHi;
    s[HB.configLo] = hb.configDigestLo;
    s[HB.pairedEpoch] = hb.pairedEpoch;
    s[HB.lastTurn] = now;
  }

  #heartbeatRecord(now: number): HeartbeatRecord {
    const p = this.pair, ft = this.engine.flows, hb = this.#hb;
    const [hi, lo] = ft.digestWords;
    hb.role = ROLE_CODES.indexOf(p.role);
    hb.state = STATE_CODES.indexOf(p.state);
    hb.flags = (p.receiver ? HB_RECEIVER : 0) | (p.forwarder ? HB_FORWARDER : 0) |
      (p.synced ? HB_SYNC_COMPLETE : 0) | (this.#healthy ? 0 : HB_UNHEALTHY) |
      (this.#maintenance ? HB_MAINTENANCE : 0);
    hb.priority = p.priority;
    hb.epoch = p.epoch;
    hb.configDigestHi = this.#configWords[0];
    hb.configDigestLo = this.#configWords[1];
    hb.flowCount = ft.count;
    hb.tableDigestHi = hi;
    hb.tableDigestLo = lo;
    hb.sentAt = now;
    hb.echoSentAt = this.#lastPeerSentAt;
    hb.echoHeldMs = this.#lastPeerSentAt > 0 ? now - this.#lastPeerHeardAt : 0;
    hb.dataAck = this.#link?.dataAck ?? 0;
    hb.dataTop = this.#link?.dataTop ?? 0;
    hb.pairedEpoch = p.pairedEpoch;
    return hb;
  }

  // ---------------------------------------------------------------- control

  healthy(): boolean {
    return this.#clock() - this.#lastTurn < 1000;
  }

  failover(): Promise<{ ok: boolean; reason?: string; message: string }> {
    const now = this.#clock();
    const outcome = this.pair.requestFailover(now);
    this.#act(outcome.actions, now);
    this.#link?.flush();
    return Promise.resolve(
      outcome.ok
        ? { ok: true, message: `switchover started (${this.pair.state}/${this.pair.role})` }
        : { ok: false, reason: outcome.reason, message: FAILOVER_REFUSALS[outcome.reason] },
    );
  }

  snapshot(): StatusSnapshot {
    const now = this.#clock();
    const peer = this.#s.peer;
    const syncState = this.#syncOut.active
      ? "sending"
      : this.#syncIn.state === "receiving"
      ? "receiving"
      : this.pair.synced
      ? "done"
      : "idle";
    const sync = this.#syncOut.active
      ? this.#syncOut.progress
      : { done: this.#syncIn.got, total: this.#syncIn.expected };
    return projectStatus({
      node: this.#s.node,
      mode: this.#s.mode,
      version: this.#s.version,
      now,
      started: this.#started,
      pair: this.pair,
      engine: this.engine,
      peerAddress: peer ? `${ipv4ToString(peer.ip)}:${peer.port}` : null,
      lastPeerHeardAt: this.#lastPeerHeardAt,
      rttMs: this.#rttMs,
      peerConfigMatch: this.#peerConfigMatch,
      sync: { state: syncState, ...sync },
      counters: this.#unitCounters(),
      histograms: { heartbeatRttMs: this.#rtt.snapshot(), mirrorLagMs: this.#lag.snapshot() },
      events: this.#events,
      services: this.#balancer.services(this.#link !== null, now),
      failsafe: this.#failsafeStatus(),
      config: {
        path: this.#s.configPath ?? null,
        digest: this.#configDigest,
        loadedAt: this.#loadedAt,
        lastReload: this.#lastReload,
      },
      monotonicMs: performance.now(),
    });
  }

  /**
   * Every counter: the engine's and the unit's own (peer link, heartbeat thread, loop, fail-safes,
   * sync). What the once-a-second drop watch reads: a whole snapshot (services, events, history)
   * took 7-13 ms of the loop's time under load.
   */
  counters(): Record<string, number> {
    return { ...this.engine.counters.toRecord(), ...this.#unitCounters() };
  }

  #unitCounters(): Record<string, number> {
    return {
      ...(this.#link?.counters() ?? {}),
      // Datagrams at the heartbeat lane that failed authentication or parsing.
      ...(this.#s.heartbeat
        ? {
          drop_peer_heartbeat_rejected: Atomics.load(this.#s.heartbeat.seq, SEQ.rejected),
          heartbeat_max_late_us: Atomics.load(this.#s.heartbeat.seq, SEQ.maxLateUs),
          heartbeat_max_gap_us: Atomics.load(this.#s.heartbeat.seq, SEQ.maxGapUs),
          heartbeat_self_stalls: Atomics.load(this.#s.heartbeat.seq, SEQ.selfStalls),
        }
        : {}),
      // The loop's longest pauses (loop_stats.ts) and what its busy-poll cost, in µs.
      loop_turns: this.#loop.turns,
      loop_longest_pause_us: Math.round(this.#loop.longestMs * 1000),
      loop_longest_pause_60s_us: Math.round(this.#loop.longestRecentMs(realNow()) * 1000),
      loop_busy_poll_us: Math.round(this.#loop.busyPollMs * 1000),
      loop_busy_poll_hits: this.#loop.busyPollHits,
      failsafe_checks: this.#failsafe.counts().results,
      failsafe_check_failures: this.#failsafe.counts().failures,
      ...(this.#notifier
        ? {
          notify_sent: this.#notifier.sent,
          notify_failed: this.#notifier.failed,
          notify_pending: this.#notifier.pending,
        }
        : {}),
      merged_flows: this.#mergedFlows,
      merge_conflicts: this.#mergeConflicts,
      sync_entries_sent: this.#syncEntriesSent,
      sync_entries_received: this.#syncEntriesReceived,
    };
  }

  #failsafeStatus(): FailsafeStatus {
    return {
      maintenance: this.#maintenance,
      preempt: this.pair.preempt,
      preemptDelayMs: this.pair.preemptDelayMs,
      checks: this.#failsafe.checks(),
      healthy: this.#healthy,
      peerHealthy: this.pair.peer === "none" ? null : this.pair.peerHealthy,
    };
  }

  /** Runs the fail-safe checks when due; a changed verdict goes to the pair. */
  #checks(now: number): void {
    if (!this.#failsafe.tick(now, this.engine.ctx)) return;
    const healthy = this.#failsafe.healthy, settled = this.#failsafe.settled;
    this.#event(now, "check", this.#failsafe.describe());
    if (healthy === this.#healthy && settled === this.#settled) return;
    this.#healthy = healthy;
    this.#settled = settled;
    this.#act(this.pair.setLocal(this.#localHealth(), now), now);
  }

  /**
   * Re-reads the config file and applies its services: nothing is lost (`reconfigure.ts`). A
   * bad file, or one that changes what only a restart can (interfaces, floating addresses,
   * the table size), changes nothing and says why in one line.
   */
  reload(): Promise<ControlResult> {
    const now = this.#clock();
    const { digest, ...result } = reloadEngine(this.engine, this.#s.loadConfig);
    if (digest !== undefined) {
      this.#configDigest = digest;
      this.#configWords = digestWords(digest);
      this.#loadedAt = now;
      // The peer's view was indexed by the old services; its next heartbeat says if we match.
      this.#balancer.forgetPeer();
      this.#peerConfigMatch = null;
    }
    this.#lastReload = { at: now, ok: result.ok, message: result.message };
    this.#event(now, result.ok ? "reload" : "reload-failed", result.message);
    return Promise.resolve(result);
  }

  setBackend(service: string, address: string, admin: BackendAdmin): ControlResult {
    const r = this.#balancer.setAdmin(service, address, admin);
    if (!r.ok) return r;
    if (r.changed) {
      this.#event(this.#clock(), "backend", r.message);
      // The peer applies it too, in order with everything else on the data lane.
      this.#link?.control(
        CTRL_BACKEND_ADMIN,
        packAdmin(r.svc, r.backend, r.admin),
        undefined,
        true,
      );
      this.#link?.flush();
    }
    return { ok: true, message: r.message };
  }

  /**
   * Unit maintenance (`tandem maintenance on|off`). On: a receiver hands its role to the peer
   * by planned switchover (refused, `peer-not-ready`, unless the peer is up, synced and out of
   * maintenance itself), then the unit keeps out of the receiver role until it is turned off,
   * except when the peer dies (availability first). Off: normal rules, preemption included.
   * Saved in `state_dir` before it takes effect, so it survives a restart.
   */
  maintenance(on: boolean): Promise<ControlResult> {
    const now = this.#clock();
    if (on === this.#maintenance) {
      return Promise.resolve({ ok: true, message: `maintenance already ${on ? "on" : "off"}` });
    }
    const p = this.pair, hb = p.peerHb;
    if (on && p.receiver) {
      const ready = p.peer === "up" && hb !== undefined && hb.syncComplete &&
        (hb.state === "active" || hb.state === "standby") && hb.maintenance !== true &&
        p.synced && (p.state === "active" || p.state === "standby");
      if (!ready) {
        return Promise.resolve({
          ok: false,
          reason: "peer-not-ready",
          message: "the peer is not up, synced and out of maintenance: nobody to hand over to",
        });
      }
    }
    const dir = this.#s.failsafe?.stateDir;
    if (dir) {
      try {
        saveState(dir, { maintenance: on });
      } catch (e) {
        return Promise.resolve({
          ok: false,
          reason: "state-not-saved",
          message: `cannot save the maintenance state in ${dir}: ${(e as Error).message}`,
        });
      }
    }
    this.#maintenance = on;
    this.#event(now, "maintenance", on ? "maintenance on" : "maintenance off");
    this.#notifier?.push(on ? "maintenance" : p.state, on ? "operator" : "maintenance-off");
    this.#act(p.setLocal(this.#localHealth(), now), now);
    this.#link?.flush();
    return Promise.resolve({
      ok: true,
      message: on
        ? (p.receiver ? "maintenance on: handing over to the peer" : "maintenance on")
        : "maintenance off",
    });
  }

  history(): HistorySample[] {
    return this.#history.samples();
  }

  flows(limit: number): FlowInfo[] {
    return projectFlows(this.engine.flows, this.#clock(), limit);
  }

  /** The table digest as the heartbeat carries it (tests compare it with the peer's). */
  get digest(): string {
    const [hi, lo] = this.engine.flows.digestWords;
    return digestHex(hi, lo);
  }
}

const FAILOVER_REFUSALS: Record<FailoverRefusal, string> = {
  no_peer: "no peer to hand over to",
  not_synced: "this unit has not finished its bulk sync",
  peer_not_synced: "the peer has not finished its bulk sync",
  in_progress: "a switchover is already in progress",
  peer_in_maintenance: "the peer is in maintenance",
  peer_unhealthy: "the peer's fail-safe checks fail (it would hand the role straight back)",
};
